"""The one transaction that stores a chat delivery, and what it writes.

One job: given what :mod:`recorder.chat.ingest` gathered and sealed (:class:`Work`), commit
it all at once: the recording and chat rows, seen item ids, the new artefacts and the end
of their superseded versions (keys destroyed, receipts), the class and its switches
(audited with their event), the self-service secret, the ``chat.ingest`` entry; then
checkpoint the WAL and delete the old blobs. A failure anywhere rolls everything back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from recorder.audit_events import record
from recorder.chat import digests, selfsecret
from recorder.chat.classes import Lifetimes, switches
from recorder.chat.model import Conversation, Delivery, EventKind, Phase
from recorder.chat.sealed import drop_blobs, live, retire
from recorder.chat.settings import ChatSettings
from recorder.config import Config
from recorder.models import CHAT_PROVIDER, WITHHELD, MaskedNumber
from storage import chats
from storage.models import Artefact, ArtefactKind, LookupDigest, NewRecording, Recording, Rng, State
from storage.vault import Sealed, Vault

ACTOR: Final = ("ingest:chat", "system")
SUPERSEDED: Final = "chat.superseded"


@dataclass(slots=True, kw_only=True)
class Work:
    """What one delivery will write, gathered before the transaction."""

    rid: str
    existing: Recording | None
    chat: chats.ChatRow | None
    conversation: Conversation
    new_items: list[str]
    added_messages: int
    added_events: int
    redacted: int
    contact: bytes | None
    masked: MaskedNumber | None
    email: LookupDigest | None
    advisors: list[str]
    reissue: bool
    sealed: list[tuple[Sealed, datetime]] = field(default_factory=list)


def commit(
    vault: Vault,
    config: Config,
    settings: ChatSettings,
    delivery: Delivery,
    work: Work,
    life: Lifetimes,
    phase: Phase,
    old_phase: Phase | None,
    customer: LookupDigest | None,
    delivery_key: str | None,
    *,
    now: datetime,
    rng: Rng,
    source: str,
) -> tuple[str | None, chats.SecretRow | None]:
    catalog, keyring = vault.catalog, vault.keyring
    conv = work.conversation
    handler = work.advisors[0] if work.advisors else None
    masked = work.masked
    display = (
        masked.display
        if masked is not None
        else (work.existing.caller_display if work.existing else WITHHELD)
    )
    caller_digest = (
        masked.digest
        if masked is not None
        else (work.existing.caller_digest if work.existing else None)
    )
    retired: list[Artefact] = []
    token: str | None = None
    secret_row: chats.SecretRow | None = None
    with catalog.transaction():
        if work.existing is None:
            catalog.insert_recording(
                NewRecording(
                    id=work.rid,
                    provider=CHAT_PROVIDER,
                    provider_id=digests.conversation_digests(
                        keyring, delivery.platform, delivery.conversation_id
                    )[0],
                    started_at=conv.started_at,
                    answered_at=conv.started_at,
                    ended_at=conv.ended_at,
                    duration_ms=None,
                    service_number=None,
                    caller_display=display,
                    caller_digest=caller_digest,
                    agent_id=handler,
                    team_id=config.team_of(handler, conv.started_at),
                    channels=1,
                    retention_class=life.retention_class,
                    expires_at=life.recording_until,
                    ai_opted_out=True,
                    created_at=now,
                )
            )
        else:
            for sealed, _ in work.sealed:
                old = live(vault, work.rid, sealed.kind)
                if old is not None:
                    retire(vault, old, now=now, reason=SUPERSEDED)
                    retired.append(old)
            chats.update_recording(
                catalog,
                work.rid,
                agent_id=handler,
                team_id=config.team_of(handler, work.existing.started_at),
                caller_display=display,
                caller_digest=caller_digest,
                ended_at=conv.ended_at,
            )
        if len(work.advisors) > 1:
            catalog.add_participants(work.rid, work.advisors[1:])
        for sealed, expires in work.sealed:
            vault.register(sealed, now=now, expires_at=expires)
        chats.set_class(
            catalog,
            work.rid,
            retention_class=life.retention_class,
            expires_at=life.recording_until,
            artefact_expiry={
                ArtefactKind.CHAT: life.analysis_until,
                ArtefactKind.CHAT_CONTACT: life.analysis_until,
                **({ArtefactKind.CHAT_HISTORY: life.visible_until} if life.visible_until else {}),
            },
        )
        for switch in switches(settings, old_phase, phase, advisor=bool(work.advisors)):
            record(
                vault.audit,
                ACTOR,
                "chat.class",
                now=now,
                outcome="ok",
                recording_id=work.rid,
                reason=f"{switch.event} moved the chat to {switch.new}",
                detail={"from": switch.old, "to": switch.new, "event": switch.event},
            )
        chats.put_chat(catalog, _row(work, settings, delivery, phase, life, customer))
        chats.add_items(catalog, work.rid, work.new_items)
        if work.existing is None or work.reissue:
            expires = min(now + timedelta(days=settings.secret_days), life.recording_until)
            token, secret_row = selfsecret.issue(
                keyring,
                work.rid,
                rng=rng,
                now=now,
                expires_at=expires,
                delivery=delivery_key or "none",
            )
            chats.put_secret(catalog, secret_row)
        record(
            vault.audit,
            ACTOR,
            "chat.ingest",
            now=now,
            outcome="ok",
            recording_id=work.rid,
            artefact=str(ArtefactKind.CHAT),
            detail={
                "source": source,
                "status": status_of(work),
                "messages_added": work.added_messages,
                "events_added": work.added_events,
                "redacted": work.redacted,
                "contact": work.contact is not None,
                "secret_issued": token is not None,
            },
        )
        if work.existing is None:
            catalog.set_recording_state(work.rid, State.AVAILABLE)
    drop_blobs(vault, retired)
    return token, secret_row


def status_of(work: Work) -> str:
    if work.existing is None:
        return "created"
    return "updated" if work.new_items or work.contact is not None else "duplicate"


def _row(
    work: Work,
    settings: ChatSettings,
    delivery: Delivery,
    phase: Phase,
    life: Lifetimes,
    customer: LookupDigest | None,
) -> chats.ChatRow:
    conv, chat = work.conversation, work.chat
    topics = tuple(dict.fromkeys([*(chat.topics if chat else ()), *delivery.topics]))
    ip = delivery.ip if delivery.ip is not None else (chat.ip_prefix if chat else None)
    return chats.ChatRow(
        recording_id=work.rid,
        platform=conv.platform,
        language=conv.language,
        phase=str(phase),
        last_at=conv.last_at,
        ended_at=conv.ended_at,
        messages=len(conv.lines),
        bot_questions=len(conv.bot_questions()),
        handovers=sum(1 for kind, _ in conv.events if kind is EventKind.HANDOVER),
        topics=topics,
        customer_digest=customer,
        email_digest=work.email
        if work.email is not None
        else (chat.email_digest if chat else None),
        ip_prefix=ip if settings.ip != "none" else None,
        analysis_until=life.analysis_until,
        visible_until=life.visible_until,
    )
