"""Staff access to chats: advisors their own, supervisors their team's, DPO/legal with a purpose.

Every decision is :func:`recorder.access.allowed` with the chat actions of its table
(``chat_list``, ``chat_view``, ``chat_contact``), and every attempt is audited once,
allowed or denied, *before* anything is decrypted. ``chat_contact`` (the name, e-mail and
phone the customer gave in the queue) is granted only to the advisor handling the
follow-up. Restricted chats are reachable only by the DPO and legal with their purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recorder.access import Action, Principal, allowed
from recorder.chat.aggregate import audit_decision
from recorder.chat.model import Contact, Conversation
from recorder.chat.sealed import read_contact, read_conversation
from recorder.config import Config
from recorder.errors import AccessDenied
from storage import chats
from storage.errors import GoneError, NotFoundError
from storage.models import ArtefactKind, Recording, State
from storage.vault import Vault


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatSummary:
    """A chat as a list shows it: no text, no customer, the contact number masked."""

    chat_id: str
    started_at: datetime
    phase: str
    retention_class: str
    expires_at: datetime | None
    messages: int
    advisor: str | None
    contact_number: str
    restricted: bool
    legal_hold: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json``)."""
        return {
            "chat_id": self.chat_id,
            "started_at": self.started_at.isoformat(),
            "phase": self.phase,
            "retention_class": self.retention_class,
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
            "messages": self.messages,
            "advisor": self.advisor,
            "contact_number": self.contact_number,
            "restricted": self.restricted,
            "legal_hold": self.legal_hold,
        }


def list_chats(
    vault: Vault,
    config: Config,
    principal: Principal,
    *,
    now: datetime,
    purpose: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[ChatSummary]:
    """The live chats ``principal`` may list in ``[since, until)``, oldest first; audited."""
    out: list[ChatSummary] = []
    for chat, state, _ in chats.all_chats(vault.catalog, since=since, until=until):
        if state is not State.AVAILABLE:
            continue
        rec = vault.catalog.get_recording(chat.recording_id)
        if not allowed(config, principal, Action.CHAT_LIST, rec, purpose=purpose).allowed:
            continue
        out.append(
            ChatSummary(
                chat_id=rec.id,
                started_at=rec.started_at,
                phase=chat.phase,
                retention_class=rec.retention_class,
                expires_at=rec.expires_at,
                messages=chat.messages,
                advisor=rec.agent_id,
                contact_number=rec.caller_display,
                restricted=rec.restricted,
                legal_hold=rec.legal_hold,
            )
        )
    audit_decision(
        vault,
        principal,
        Action.CHAT_LIST,
        now=now,
        ok=True,
        reason="chats they may list",
        purpose=purpose,
        detail={"count": len(out)},
    )
    return out


def _decide(
    vault: Vault,
    config: Config,
    principal: Principal,
    chat_id: str,
    action: Action,
    *,
    now: datetime,
    purpose: str | None,
) -> Recording:
    try:
        rec = vault.catalog.get_recording(chat_id)
    except NotFoundError:
        rec = None
    if rec is None or chats.get_chat(vault.catalog, chat_id) is None:
        audit_decision(
            vault, principal, action, now=now, ok=False, reason="no such chat", purpose=purpose
        )
        raise NotFoundError("no such chat")
    decision = allowed(config, principal, action, rec, purpose=purpose)
    audit_decision(
        vault,
        principal,
        action,
        now=now,
        ok=decision.allowed,
        reason=decision.reason,
        purpose=purpose,
        recording_id=rec.id,
    )
    if not decision.allowed:
        raise AccessDenied(decision.reason)
    if rec.state is State.DESTROYED:
        raise GoneError("chat was destroyed")
    return rec


def show_chat(
    vault: Vault,
    config: Config,
    principal: Principal,
    chat_id: str,
    *,
    now: datetime,
    purpose: str | None = None,
) -> Conversation:
    """A chat's redacted text for staff (the analysis copy only: the customer's history copy
    is not for staff); audited before it is decrypted."""
    rec = _decide(vault, config, principal, chat_id, Action.CHAT_VIEW, now=now, purpose=purpose)
    conv = read_conversation(vault, rec.id, (ArtefactKind.CHAT,))
    if conv is None:
        raise GoneError("the chat's analysis copy has ended")
    return conv


def show_contact(
    vault: Vault,
    config: Config,
    principal: Principal,
    chat_id: str,
    *,
    now: datetime,
    purpose: str | None = None,
) -> Contact | None:
    """The contact details given in the queue, for the advisor handling the follow-up."""
    rec = _decide(vault, config, principal, chat_id, Action.CHAT_CONTACT, now=now, purpose=purpose)
    return read_contact(vault, rec.id)
