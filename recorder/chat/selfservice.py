"""The customer's own rights on a chat, with the per-conversation secret (no account needed).

- :func:`download`: the chat as stored (redacted), JSON or plain text;
- :func:`delete`: a bot chat is crypto-shredded at once (the erasure of
  :mod:`recorder.subject`: receipt, tombstone; held or restricted → pending, done when that
  lifts); a chat an advisor took part in becomes a deletion request for the DPO, as the
  notices say. Either way the secret is spent: it cannot be used again.

Every request is audited before anything is decrypted or destroyed. Every refusal -- an
unknown or destroyed chat, a malformed, wrong, spent or expired secret -- is the one
:class:`SecretRefused`, after the same work (:func:`recorder.chat.selfsecret.check`), so
the answer never says whether a chat exists. The secret itself is never logged or audited.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from recorder.access import Action, Principal
from recorder.audit_events import record
from recorder.chat import render, selfsecret
from recorder.chat.model import Phase
from recorder.chat.sealed import read_conversation
from recorder.config import Config
from recorder.errors import SecretRefused
from recorder.subject import ensure, erase_recording, group
from storage import chats
from storage.errors import NotFoundError
from storage.models import ArtefactKind, Recording, Rng, State
from storage.vault import Vault, new_id

CUSTOMER: Final = Principal(user_id="customer", roles=frozenset({"data_subject"}))
_ID: Final = re.compile(r"[0-9a-f]{32}")
FORMATS: Final = ("json", "text")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteReceipt:
    """What a delete did: ``erased``, ``pending`` (kept under a hold or restriction, done
    when it lifts) or ``requested`` (an advisor chat, for the DPO); and the receipt id."""

    status: str
    receipt: str


def _recording(vault: Vault, chat_id: str) -> Recording | None:
    try:
        found = vault.catalog.get_recording(chat_id)
    except NotFoundError:
        return None
    live = found.state is State.AVAILABLE and chats.get_chat(vault.catalog, chat_id) is not None
    return found if live else None


def _authorise(
    vault: Vault,
    chat_id: str,
    token: str | None,
    *,
    now: datetime,
    action: str,
    detail: dict[str, str],
) -> Recording:
    """The chat, if ``token`` is its valid secret; else audit and :class:`SecretRefused`.

    A malformed id is looked up as a stand-in id, and the secret row is read either way, so
    a known and an unknown chat cost the same reads and the same digest.
    """
    rid = chat_id if _ID.fullmatch(chat_id) else "0" * 32
    rec = _recording(vault, rid)
    row = chats.get_secret(vault.catalog, rid)
    ok = selfsecret.check(vault.keyring, row if rec is not None else None, rid, token, now=now)
    if not ok or rec is None:
        record(
            vault.audit,
            CUSTOMER,
            action,
            now=now,
            outcome="denied",
            recording_id=None if rec is None else rec.id,
            reason="secret refused",
            detail=detail,
        )
        raise SecretRefused()
    return rec


def download(
    vault: Vault, chat_id: str, token: str | None, *, fmt: str, now: datetime
) -> tuple[str, bytes]:
    """(content type, body) of the customer's chat; :class:`SecretRefused` if not theirs."""
    if fmt not in FORMATS:
        fmt = "json"
    rec = _authorise(
        vault, chat_id, token, now=now, action="chat.self.transcript", detail={"format": fmt}
    )
    record(
        vault.audit,
        CUSTOMER,
        "chat.self.transcript",
        now=now,
        outcome="allowed",
        recording_id=rec.id,
        artefact=str(ArtefactKind.CHAT),
        reason="own chat, with its secret",
        detail={"format": fmt},
    )
    conv = read_conversation(vault, rec.id, (ArtefactKind.CHAT_HISTORY, ArtefactKind.CHAT))
    if conv is None:
        raise SecretRefused()
    if fmt == "text":
        return "text/plain; charset=utf-8", render.as_text(conv, staff=False).encode("utf-8")
    body = json.dumps(render.as_dict(conv, staff=False), ensure_ascii=False, indent=2)
    return "application/json", body.encode("utf-8")


def delete(
    vault: Vault, config: Config, chat_id: str, token: str | None, *, now: datetime, rng: Rng
) -> DeleteReceipt:
    """Delete (bot chat) or request deletion (advisor chat); the secret is spent."""
    rec = _authorise(vault, chat_id, token, now=now, action="chat.self.delete", detail={})
    chat = chats.get_chat(vault.catalog, rec.id)
    if chat is not None and chat.phase == Phase.BOT:
        outcome = erase_recording(vault, config, CUSTOMER, rec, now=now, rng=rng)
        status = "erased" if outcome.status != "pending" else "pending"
        receipt = outcome.receipt or group(new_id(rng))
        with vault.catalog.transaction():
            chats.spend_secret(vault.catalog, rec.id, now=now)
            _audit_delete(vault, rec.id, status, receipt, now=now)
        return DeleteReceipt(status=status, receipt=receipt)
    request_id = new_id(rng)
    receipt = group(request_id)
    with vault.catalog.transaction():
        chats.add_request(vault.catalog, request_id, rec.id, now=now)
        chats.spend_secret(vault.catalog, rec.id, now=now)
        _audit_delete(vault, rec.id, "requested", receipt, now=now)
    return DeleteReceipt(status="requested", receipt=receipt)


def _audit_delete(
    vault: Vault, recording_id: str, status: str, receipt: str, *, now: datetime
) -> None:
    record(
        vault.audit,
        CUSTOMER,
        "chat.self.delete",
        now=now,
        outcome="ok",
        recording_id=recording_id,
        reason="own chat, with its secret",
        detail={"status": status, "receipt": receipt},
    )


def close_request(
    vault: Vault, config: Config, principal: Principal, chat_id: str, *, now: datetime, rng: Rng
) -> str:
    """The DPO carries out a customer's deletion request of an advisor chat: the chat is
    erased like any data-subject erasure (held or restricted: pending until that lifts)
    and its open requests closed. Returns the erasure status."""
    ensure(vault, config, principal, Action.ERASE, "dsar", now=now, audit_action="subject.erase")
    rec = vault.catalog.get_recording(chat_id)
    if chats.get_chat(vault.catalog, rec.id) is None:
        raise NotFoundError("not a chat")
    outcome = erase_recording(vault, config, principal, rec, now=now, rng=rng)
    if outcome.status == "pending":
        return outcome.status
    with vault.catalog.transaction():
        closed = chats.close_requests(vault.catalog, rec.id, now=now, by=principal.user_id)
        record(
            vault.audit,
            principal,
            "chat.request.done",
            now=now,
            outcome="ok",
            recording_id=rec.id,
            purpose="dsar",
            reason="deleted on the customer's request",
            detail={"requests": closed},
        )
    return outcome.status
