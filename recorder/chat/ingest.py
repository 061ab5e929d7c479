"""Ingest: one chat delivery in, one durable, redacted, encrypted, classed, audited chat out.

The steps::

    find        the conversation by the keyed digest of (platform, conversation id)
    merge       messages and events whose id digests are not stored yet (idempotent)
    redact      each new message (:func:`transcribe.textredact.redact_text`)
    class       phase → class; each switch audited with the event that caused it
    seal        the conversation (and, for a logged-in customer, the history copy; the
                queue's contact details as their own artefact), outside the transaction
    commit      one transaction: recording + chat rows, items, new artefacts, the old
                versions' keys destroyed, secret, audit; then WAL checkpoint, old blobs

A chat is a recording (provider ``chat``) without audio, so everything that governs
recordings governs it. A delivery that adds nothing answers ``duplicate`` and changes
nothing; one for a destroyed chat answers ``gone`` and stores nothing (a deleted chat is
never brought back). Any error before the commit leaves nothing behind: sealed blobs of a
failed commit are discarded, never half a chat.

The self-service secret is issued when the chat is created and returned once. A retry of
that same delivery (same webhook id) means the platform never got the answer, so it gets a
fresh secret and the unseen one stops working; any other delivery gets none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from recorder.chat import digests
from recorder.chat.classes import Lifetimes, lifetimes
from recorder.chat.commit import Work, commit, status_of
from recorder.chat.model import Conversation, Delivery, EventKind, Line, Phase
from recorder.chat.sealed import (
    contact_json,
    live,
    read_contact,
    read_conversation,
)
from recorder.chat.settings import ChatSettings
from recorder.config import Config
from recorder.errors import InvalidChat
from recorder.masking import mask
from recorder.models import CHAT_PROVIDER
from storage import chats
from storage.errors import DuplicateError
from storage.models import (
    ArtefactKind,
    Recording,
    Rng,
    State,
)
from storage.vault import Vault, new_id
from transcribe.textredact import redact_text


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestResult:
    """What one delivery did. ``secret`` is set only when one was issued (shown once)."""

    chat_id: str
    status: str  # "created" | "updated" | "duplicate" | "gone"
    messages_added: int = 0
    events_added: int = 0
    phase: str = "bot"
    retention_class: str = ""
    secret: str | None = field(default=None, repr=False)
    secret_expires_at: datetime | None = None

    def as_dict(self) -> dict[str, object]:
        """The answer to the platform (webhook) or the operator (``--json``)."""
        answer: dict[str, object] = {
            "chat_id": self.chat_id,
            "status": self.status,
            "messages_added": self.messages_added,
            "events_added": self.events_added,
            "phase": self.phase,
            "retention_class": self.retention_class,
        }
        if self.secret is not None and self.secret_expires_at is not None:
            answer["secret"] = self.secret
            answer["secret_expires_at"] = self.secret_expires_at.isoformat()
        return answer


class _Gone(Exception):
    """The chat's text is no longer kept (its lifetime ended): nothing is added."""


def _find(vault: Vault, delivery: Delivery) -> Recording | None:
    for digest in digests.conversation_digests(
        vault.keyring, delivery.platform, delivery.conversation_id
    ):
        found = vault.catalog.find_recording(CHAT_PROVIDER, digest)
        if found is not None:
            return found
    return None


def _advisors(delivery: Delivery, existing: Recording | None) -> list[str]:
    """Every advisor of the chat: the one who took the (first) handover first."""
    found = (
        []
        if existing is None
        else list(
            dict.fromkeys(
                [*([existing.agent_id] if existing.agent_id else []), *existing.participants]
            )
        )
    )
    for event in sorted(delivery.events, key=lambda e: e.at):
        if event.kind is EventKind.HANDOVER and event.advisor:
            found.append(event.advisor)
    found += [m.advisor for m in sorted(delivery.messages, key=lambda m: m.at) if m.advisor]
    return list(dict.fromkeys(found))


def _gather(
    vault: Vault,
    config: Config,
    settings: ChatSettings,
    delivery: Delivery,
    existing: Recording | None,
    delivery_key: str | None,
    rng: Rng,
) -> Work | None:
    keyring = vault.keyring
    rid = existing.id if existing is not None else new_id(rng)
    chat = chats.get_chat(vault.catalog, rid) if existing is not None else None
    old = read_conversation(vault, rid) if existing is not None else None
    if existing is not None and old is None:
        raise _Gone()
    seen = set()
    if existing is not None:
        ids = [digests.item_digest(keyring, rid, m.id) for m in delivery.messages]
        ids += [digests.item_digest(keyring, rid, e.id) for e in delivery.events]
        seen = chats.seen_items(vault.catalog, rid, ids)
    languages = (*settings.languages, delivery.language)
    lines: list[Line] = []
    events: list[tuple[EventKind, datetime]] = []
    new_items: list[str] = []
    redacted = 0
    for message in delivery.messages:
        key = digests.item_digest(keyring, rid, message.id)
        if key in seen or key in new_items:
            continue
        new_items.append(key)
        result = redact_text(message.text, languages=languages)
        redacted += sum(result.counts.values())
        lines.append(Line(sender=message.sender, at=message.at, text=result.text))
    added_messages = len(lines)
    for event in delivery.events:
        key = digests.item_digest(keyring, rid, event.id)
        if key in seen or key in new_items:
            continue
        new_items.append(key)
        events.append((event.kind, event.at))
    contact = masked = email = None
    if delivery.contact is not None:
        known = read_contact(vault, rid) if existing is not None else None
        if known != delivery.contact:
            contact = contact_json(delivery.contact)
            version = keyring.active_pepper_version()
            masked = mask(
                delivery.contact.phone,
                pepper=keyring.pepper(version),
                pepper_version=version,
                default_region=config.default_region,
            )
            email = (
                None
                if not delivery.contact.email
                else digests.email_digest(keyring, delivery.contact.email)
            )
    secret = chats.get_secret(vault.catalog, rid) if existing is not None else None
    reissue = (
        secret is not None
        and delivery_key is not None
        and secret.delivery == delivery_key
        and secret.spent_at is None
    )
    if existing is not None and not new_items and contact is None and not reissue:
        return None
    base = old or Conversation(platform=delivery.platform, language=delivery.language)
    merged = Conversation(
        platform=base.platform,
        language=base.language,
        lines=tuple(sorted((*base.lines, *lines), key=lambda ln: ln.at)),
        events=tuple(sorted((*base.events, *events), key=lambda e: e[1])),
    )
    if len(merged.lines) > settings.max_messages:
        raise InvalidChat(f"conversation: more than {settings.max_messages} messages")
    return Work(
        rid=rid,
        existing=existing,
        chat=chat,
        conversation=merged,
        new_items=new_items,
        added_messages=added_messages,
        added_events=len(events),
        redacted=redacted,
        contact=contact,
        masked=masked,
        email=email,
        advisors=_advisors(delivery, existing),
        reissue=reissue,
    )


def _seal(vault: Vault, work: Work, life: Lifetimes, rng: Rng) -> None:
    text = work.conversation.to_json()
    changed = bool(work.new_items) or work.existing is None
    if changed:
        work.sealed.append(
            (vault.seal(work.rid, ArtefactKind.CHAT, (text,), rng=rng), life.analysis_until)
        )
    if life.visible_until is not None and (
        changed or live(vault, work.rid, ArtefactKind.CHAT_HISTORY) is None
    ):
        work.sealed.append(
            (vault.seal(work.rid, ArtefactKind.CHAT_HISTORY, (text,), rng=rng), life.visible_until)
        )
    if work.contact is not None:
        work.sealed.append(
            (
                vault.seal(work.rid, ArtefactKind.CHAT_CONTACT, (work.contact,), rng=rng),
                life.analysis_until,
            )
        )


def ingest_delivery(
    vault: Vault,
    config: Config,
    settings: ChatSettings,
    delivery: Delivery,
    *,
    source: str,
    now: datetime,
    rng: Rng,
    delivery_id: str | None = None,
) -> IngestResult:
    """Store one delivery (see the module docstring). ``delivery_id`` is the webhook id."""
    existing = _find(vault, delivery)
    if existing is not None and existing.state is State.DESTROYED:
        return IngestResult(chat_id=existing.id, status="gone")
    keyring = vault.keyring
    delivery_key = (
        None
        if delivery_id is None
        else digests.item_digest(keyring, "delivery", f"{delivery.platform}\x1f{delivery_id}")
    )
    try:
        work = _gather(vault, config, settings, delivery, existing, delivery_key, rng)
    except _Gone:
        return IngestResult(chat_id=existing.id if existing else "", status="gone")
    if work is None:
        if existing is None:  # pragma: no cover - _gather returns None only for a known chat
            raise InvalidChat("body: nothing to store")
        known = chats.get_chat(vault.catalog, existing.id)
        return IngestResult(
            chat_id=existing.id,
            status="duplicate",
            phase=known.phase if known else "bot",
            retention_class=existing.retention_class,
        )
    old_phase = None if work.chat is None else Phase(work.chat.phase)
    phase = work.conversation.phase
    if old_phase is not None and list(Phase).index(phase) < list(Phase).index(old_phase):
        phase = old_phase  # phases only rise
    start = work.existing.started_at if work.existing else work.conversation.started_at
    customer = work.chat.customer_digest if work.chat else None
    if delivery.customer_id is not None:
        customer = digests.customer_digest(keyring, delivery.customer_id)
    life = lifetimes(settings, phase, start, logged_in=customer is not None)
    _seal(vault, work, life, rng)
    try:
        token, secret_row = commit(
            vault,
            config,
            settings,
            delivery,
            work,
            life,
            phase,
            old_phase,
            customer,
            delivery_key,
            now=now,
            rng=rng,
            source=source,
        )
    except BaseException as exc:
        for sealed, _ in work.sealed:
            vault.discard(sealed)
        if not isinstance(exc, DuplicateError) or _find(vault, delivery) is None:
            raise
        # another writer stored this conversation first: deliver onto theirs
        return ingest_delivery(
            vault,
            config,
            settings,
            delivery,
            source=source,
            now=now,
            rng=rng,
            delivery_id=delivery_id,
        )
    return IngestResult(
        chat_id=work.rid,
        status=status_of(work),
        messages_added=work.added_messages,
        events_added=work.added_events,
        phase=str(phase),
        retention_class=life.retention_class,
        secret=token,
        secret_expires_at=None if secret_row is None else secret_row.expires_at,
    )
