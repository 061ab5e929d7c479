"""A logged-in customer's chat history, behind the online bank's signed assertion.

The bank promises a signed-in customer sees their chats for three years
(``[chat.history] visible_months``), whatever the analysis class does with its own copy:
a chat of a logged-in customer keeps a history copy until then (:mod:`recorder.chat.classes`).
The customer is found by the keyed digest of their customer id (every pepper version),
never by the id itself; a chat past its window, destroyed, or of someone else is simply
not there. Every listing and every refusal is audited (the customer as a digest prefix).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recorder.audit_events import record
from recorder.chat import digests, render
from recorder.chat.assertion import verify_assertion
from recorder.chat.sealed import read_conversation
from recorder.chat.settings import ChatSettings
from recorder.errors import BadAssertion, SecretRefused
from storage import chats
from storage.models import ArtefactKind, State
from storage.vault import Vault

_KINDS = (ArtefactKind.CHAT_HISTORY, ArtefactKind.CHAT)


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryItem:
    """One chat in the customer's history (no text: that is one more request)."""

    chat_id: str
    started_at: datetime
    ended_at: datetime | None
    messages: int
    visible_until: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "chat_id": self.chat_id,
            "started_at": self.started_at.isoformat(),
            "ended_at": None if self.ended_at is None else self.ended_at.isoformat(),
            "messages": self.messages,
            "visible_until": self.visible_until.isoformat(),
        }


def _customer(
    vault: Vault, settings: ChatSettings, token: str | None, *, now: datetime
) -> tuple[str, list[tuple[int, str]]]:
    history = settings.history
    try:
        if history is None:
            raise BadAssertion("chat history is not enabled")
        customer = verify_assertion(token, history, now=now)
    except BadAssertion as exc:
        record(
            vault.audit,
            ("customer", "data_subject"),
            "chat.history",
            now=now,
            outcome="denied",
            reason=f"assertion refused: {exc.reason}",
        )
        raise
    found = digests.customer_digests(vault.keyring, customer)
    return "customer:" + found[-1][1][:12], found


def _items(vault: Vault, found: list[tuple[int, str]], *, now: datetime) -> list[HistoryItem]:
    items = []
    for rid in chats.ids_by_digest(vault.catalog, "customer_digest", found):
        rec = vault.catalog.get_recording(rid)
        chat = chats.get_chat(vault.catalog, rid)
        if rec.state is not State.AVAILABLE or chat is None or chat.visible_until is None:
            continue
        if chat.visible_until <= now:
            continue
        items.append(
            HistoryItem(
                chat_id=rid,
                started_at=rec.started_at,
                ended_at=chat.ended_at,
                messages=chat.messages,
                visible_until=chat.visible_until,
            )
        )
    return sorted(items, key=lambda i: (i.started_at, i.chat_id))


def _audit(
    vault: Vault, actor: str, *, ok: bool, reason: str, count: int, now: datetime,
    chat_id: str | None = None,
) -> None:  # fmt: skip
    record(vault.audit, (actor, "data_subject"), "chat.history", now=now,
           outcome="allowed" if ok else "denied", recording_id=chat_id,
           artefact=None if chat_id is None else str(ArtefactKind.CHAT_HISTORY), reason=reason,
           detail={"count": count})  # fmt: skip


def list_history(
    vault: Vault, settings: ChatSettings, token: str | None, *, now: datetime
) -> list[HistoryItem]:
    """The signed-in customer's visible chats, oldest first; audited."""
    actor, found = _customer(vault, settings, token, now=now)
    items = _items(vault, found, now=now)
    _audit(
        vault, actor, ok=True, reason="own chats, signed in at the bank", count=len(items), now=now
    )
    return items


def history_chat(
    vault: Vault, settings: ChatSettings, token: str | None, chat_id: str, *, now: datetime
) -> dict[str, Any]:
    """One of the signed-in customer's visible chats as JSON (:class:`SecretRefused`: not
    theirs, not visible any more, or unknown -- one answer for all)."""
    actor, found = _customer(vault, settings, token, now=now)
    mine = {i.chat_id for i in _items(vault, found, now=now)}
    if chat_id not in mine:
        _audit(vault, actor, ok=False, reason="not one of their visible chats", count=0, now=now)
        raise SecretRefused()
    _audit(vault, actor, ok=True, reason="own chat, signed in at the bank", count=1, now=now,
           chat_id=chat_id)  # fmt: skip
    conv = read_conversation(vault, chat_id, _KINDS)
    if conv is None:
        raise SecretRefused()
    return render.as_dict(conv, staff=False)
