"""Value types shared by the storage modules.

Frozen, slotted, keyword-only dataclasses; secrets and digests are kept out of ``repr``.
Datetimes are timezone-aware UTC. Time and randomness are always passed in (``now=``,
``rng=``) so tests control them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: A source of random bytes, ``os.urandom`` in production, seeded in tests.
Rng = Callable[[int], bytes]


class ArtefactKind(enum.StrEnum):
    """What an encrypted artefact holds; bound into every ciphertext's associated data."""

    AUDIO = "audio"
    REDACTED_AUDIO = "redacted_audio"
    TRANSCRIPT = "transcript"
    CATEGORIES = "categories"
    SUMMARY = "summary"
    SELFCHECK = "selfcheck"
    #: A chat conversation, redacted, for staff and analysis (issue 17).
    CHAT = "chat"
    #: The same conversation kept for a logged-in customer's history window only.
    CHAT_HISTORY = "chat_history"
    #: Contact details given in the advisor queue: for the follow-up only.
    CHAT_CONTACT = "chat_contact"


class State(enum.StrEnum):
    """Lifecycle of a recording or artefact: pending -> available -> destroyed."""

    PENDING = "pending"
    AVAILABLE = "available"
    DESTROYED = "destroyed"


@dataclass(frozen=True, slots=True, kw_only=True)
class SealInfo:
    """What sealing a plaintext stream produced."""

    plaintext_size: int
    plaintext_sha256: str
    ciphertext_size: int
    segments: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LookupDigest:
    """Keyed hash of a caller's E.164 number under a versioned pepper."""

    pepper_version: int
    digest: str = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewRecording:
    """A recording row as capture inserts it (state ``pending``).

    There is deliberately no field that could hold a full phone number: only the
    masked display and the keyed lookup digest.
    """

    id: str
    provider: str
    provider_id: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_ms: int | None
    service_number: str | None
    caller_display: str
    caller_digest: LookupDigest | None
    agent_id: str | None
    team_id: str | None
    channels: int
    retention_class: str
    expires_at: datetime | None
    ai_opted_out: bool = False
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Recording:
    """A recording row as stored."""

    id: str
    provider: str
    provider_id: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_ms: int | None
    service_number: str | None
    caller_display: str
    caller_digest: LookupDigest | None
    agent_id: str | None
    team_id: str | None
    channels: int
    retention_class: str
    expires_at: datetime | None
    ai_opted_out: bool
    legal_hold: bool
    restricted: bool
    state: State
    created_at: datetime
    #: Other agents who took part (conference, transfer): for access they are agents of the
    #: call too (``recording_participants``; user ids only, sorted).
    participants: tuple[str, ...] = ()
    #: False when the row's integrity MAC does not match (someone edited the database):
    #: every access and retention decision then denies (``storage.guard``).
    intact: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Artefact:
    """One encrypted artefact of a recording, with its own data key.

    ``id`` is also the key id written into the ciphertext header and the blob name.
    """

    id: str
    recording_id: str
    kind: ArtefactKind
    state: State
    plaintext_size: int
    plaintext_sha256: str
    ciphertext_size: int
    created_at: datetime
    expires_at: datetime | None
    #: False when the row's integrity MAC does not match (see :attr:`Recording.intact`).
    intact: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class WrappedKey:
    """A data key wrapped under one master-key (KEK) version."""

    artefact_id: str
    kek_version: int
    wrapped: bytes = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """An event to append to the audit log (no PII, no key material, no transcript text)."""

    ts: datetime
    actor_id: str
    actor_role: str
    action: str
    outcome: str  # "allowed" | "denied" | "ok" | "error"
    recording_id: str | None = None
    artefact: str | None = None
    purpose: str | None = None
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """An appended audit event with its place in the hash chain."""

    seq: int
    event: AuditEvent
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """A signed statement of the chain head: ``{size, head, prev, ts}`` plus Ed25519 signature.

    ``prev`` is the SHA-256 (hex) of the previous checkpoint's signature (64 zeros for the
    first), so the checkpoints form their own chain: a deleted or reordered line is detected.
    """

    size: int
    head: str
    ts: datetime
    signature: bytes = field(repr=False)
    prev: str = "0" * 64
