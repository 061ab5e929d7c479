"""The catalog's schema: its tables as forward-only migrations, and how rows map to models.

One job: say what the tables are and what their rows mean, with no ``sqlite3`` import
(that stays in :mod:`storage.catalog`, which runs the SQL). ``MIGRATIONS[i]`` is the list
of statements that takes the schema from ``PRAGMA user_version = i`` to ``i + 1``;
:mod:`storage.catalog` runs each in its own transaction. Never edit a released migration:
append a new one.

Design notes (ARCHITECTURE.md §2):

- No column can hold a full phone number: ``caller_display`` is the masked form and
  ``caller_digest`` a keyed HMAC under pepper ``caller_digest_version``.
- Timestamps are fixed-width ISO-8601 UTC text (``YYYY-MM-DDTHH:MM:SS.ffffffZ``), so text
  order is time order and indexes on them work.
- Rows are never deleted with ``CASCADE``: a recording outlives its artefacts as a
  ``destroyed`` tombstone, and a wrapped key is only ever removed on purpose (shredding).
- At most one non-destroyed artefact per (recording, kind); a destroyed one does not block
  regenerating that kind (e.g. a new transcript after a restriction is lifted).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from storage import guard
from storage.errors import CatalogError, SchemaError
from storage.models import Artefact, ArtefactKind, LookupDigest, NewRecording, Recording, State
from storage.schema_access import V_ACCESS as _V_ACCESS
from storage.schema_ai import V_AI as _V_AI
from storage.schema_chat import V_CHAT as _V_CHAT
from storage.schema_guard import V_GUARD as _V_GUARD
from storage.schema_qa import V_QA as _V_QA
from storage.schema_retention import V_RETENTION as _V_RETENTION
from storage.schema_subject import V_SUBJECT as _V_SUBJECT
from storage.schema_web import V_WEB as _V_WEB

_V1: tuple[str, ...] = (
    """
    CREATE TABLE recordings (
        id                    TEXT PRIMARY KEY,
        provider              TEXT NOT NULL,
        provider_id           TEXT NOT NULL,
        started_at            TEXT NOT NULL,
        answered_at           TEXT,
        ended_at              TEXT,
        duration_ms           INTEGER CHECK (duration_ms IS NULL OR duration_ms >= 0),
        service_number        TEXT,
        caller_display        TEXT NOT NULL,
        caller_digest         TEXT,
        caller_digest_version INTEGER,
        agent_id              TEXT,
        team_id               TEXT,
        channels              INTEGER NOT NULL CHECK (channels >= 1),
        retention_class       TEXT NOT NULL,
        expires_at            TEXT,
        ai_opted_out          INTEGER NOT NULL DEFAULT 0 CHECK (ai_opted_out IN (0, 1)),
        legal_hold            INTEGER NOT NULL DEFAULT 0 CHECK (legal_hold IN (0, 1)),
        restricted            INTEGER NOT NULL DEFAULT 0 CHECK (restricted IN (0, 1)),
        state                 TEXT NOT NULL DEFAULT 'pending'
                              CHECK (state IN ('pending', 'available', 'destroyed')),
        created_at            TEXT NOT NULL,
        UNIQUE (provider, provider_id),
        CHECK ((caller_digest IS NULL) = (caller_digest_version IS NULL))
    ) STRICT
    """,
    "CREATE INDEX recordings_caller_digest ON recordings (caller_digest)",
    "CREATE INDEX recordings_agent_id ON recordings (agent_id)",
    "CREATE INDEX recordings_started_at ON recordings (started_at)",
    """
    CREATE TABLE artefacts (
        id                TEXT PRIMARY KEY,
        recording_id      TEXT NOT NULL REFERENCES recordings (id) ON DELETE RESTRICT,
        kind              TEXT NOT NULL,
        state             TEXT NOT NULL
                          CHECK (state IN ('pending', 'available', 'destroyed')),
        plaintext_size    INTEGER NOT NULL CHECK (plaintext_size >= 0),
        plaintext_sha256  TEXT NOT NULL,
        ciphertext_size   INTEGER NOT NULL CHECK (ciphertext_size >= 0),
        created_at        TEXT NOT NULL,
        expires_at        TEXT
    ) STRICT
    """,
    "CREATE INDEX artefacts_recording_id ON artefacts (recording_id)",
    """
    CREATE UNIQUE INDEX artefacts_live_kind ON artefacts (recording_id, kind)
        WHERE state != 'destroyed'
    """,
    """
    CREATE TABLE keys (
        artefact_id  TEXT PRIMARY KEY REFERENCES artefacts (id) ON DELETE RESTRICT,
        kek_version  INTEGER NOT NULL CHECK (kek_version >= 1),
        wrapped      BLOB NOT NULL CHECK (length(wrapped) > 0),
        created_at   TEXT NOT NULL
    ) STRICT
    """,
    "CREATE INDEX keys_kek_version ON keys (kek_version)",
)

#: Migration ``i`` (0-based) takes ``user_version`` from ``i`` to ``i + 1``.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    _V1, _V_QA, _V_AI, _V_SUBJECT, _V_ACCESS, _V_RETENTION, _V_GUARD, _V_CHAT, _V_WEB,
)  # fmt: skip
#: The migration after which every guarded row must carry its MAC (``storage.guard``).
GUARD_VERSION = MIGRATIONS.index(_V_GUARD) + 1


# -- rows <-> model objects ---------------------------------------------------------------


def encode_ts(value: datetime | None) -> str | None:
    """Aware datetime → fixed-width ISO-8601 UTC text; a naive datetime is refused."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise CatalogError("naive datetime refused: pass a timezone-aware UTC datetime")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def decode_ts(value: str | None) -> datetime | None:
    """Stored text → aware UTC datetime (accepts ``Z`` or ``+00:00``)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise SchemaError("catalog holds an unreadable timestamp") from exc
    if parsed.tzinfo is None:
        raise SchemaError("catalog holds a timestamp without a timezone")
    return parsed.astimezone(UTC)


def _required_ts(value: str) -> datetime:
    parsed = decode_ts(value)
    if parsed is None:
        raise SchemaError("catalog holds a missing timestamp")
    return parsed


def recording_params(rec: NewRecording) -> dict[str, Any]:
    """Named parameters for ``INSERT_RECORDING``."""
    digest = rec.caller_digest
    return {
        "id": rec.id,
        "provider": rec.provider,
        "provider_id": rec.provider_id,
        "started_at": encode_ts(rec.started_at),
        "answered_at": encode_ts(rec.answered_at),
        "ended_at": encode_ts(rec.ended_at),
        "duration_ms": rec.duration_ms,
        "service_number": rec.service_number,
        "caller_display": rec.caller_display,
        "caller_digest": None if digest is None else digest.digest,
        "caller_digest_version": None if digest is None else digest.pepper_version,
        "agent_id": rec.agent_id,
        "team_id": rec.team_id,
        "channels": rec.channels,
        "retention_class": rec.retention_class,
        "expires_at": encode_ts(rec.expires_at),
        "ai_opted_out": int(rec.ai_opted_out),
        "created_at": encode_ts(rec.created_at),
    }


def artefact_params(artefact: Artefact) -> dict[str, Any]:
    """Named parameters for ``INSERT_ARTEFACT``."""
    return {
        "id": artefact.id,
        "recording_id": artefact.recording_id,
        "kind": ArtefactKind(artefact.kind).value,
        "state": State(artefact.state).value,
        "plaintext_size": artefact.plaintext_size,
        "plaintext_sha256": artefact.plaintext_sha256,
        "ciphertext_size": artefact.ciphertext_size,
        "created_at": encode_ts(artefact.created_at),
        "expires_at": encode_ts(artefact.expires_at),
    }


def to_recording(row: Mapping[str, Any], *, intact: bool = False) -> Recording:
    """A ``recordings`` row (by column name) → :class:`Recording`; ``intact`` is the verdict
    of its integrity MAC (``Catalog.recording_from_row`` decides it)."""
    try:
        digest = None
        if row["caller_digest"] is not None:
            digest = LookupDigest(
                pepper_version=row["caller_digest_version"], digest=row["caller_digest"]
            )
        return Recording(
            id=row["id"],
            provider=row["provider"],
            provider_id=row["provider_id"],
            started_at=_required_ts(row["started_at"]),
            answered_at=decode_ts(row["answered_at"]),
            ended_at=decode_ts(row["ended_at"]),
            duration_ms=row["duration_ms"],
            service_number=row["service_number"],
            caller_display=row["caller_display"],
            caller_digest=digest,
            agent_id=row["agent_id"],
            team_id=row["team_id"],
            channels=row["channels"],
            retention_class=row["retention_class"],
            expires_at=decode_ts(row["expires_at"]),
            ai_opted_out=bool(row["ai_opted_out"]),
            legal_hold=bool(row["legal_hold"]),
            restricted=bool(row["restricted"]),
            state=State(row["state"]),
            created_at=_required_ts(row["created_at"]),
            participants=split_participants(row.get("participants")),
            intact=intact,
        )
    except (KeyError, ValueError) as exc:
        raise SchemaError("catalog holds an unreadable recording row") from exc


#: Separator of ``group_concat`` in :data:`RECORDING_COLUMNS` (ASCII unit separator).
PARTICIPANT_SEP = guard.PARTICIPANT_SEP
#: The columns to select for :func:`to_recording`: the row plus its participants (issue 6).
RECORDING_COLUMNS = (
    "recordings.*, (SELECT group_concat(p.agent_id, char(31)) FROM recording_participants p "
    "WHERE p.recording_id = recordings.id) AS participants"
)


def split_participants(value: str | None) -> tuple[str, ...]:
    """The ``participants`` column of :data:`RECORDING_COLUMNS` as a sorted tuple."""
    return () if not value else tuple(sorted(value.split(PARTICIPANT_SEP)))


def to_artefact(row: Mapping[str, Any], *, intact: bool = False) -> Artefact:
    """An ``artefacts`` row (by column name) → :class:`Artefact` (``intact`` as above)."""
    try:
        return Artefact(
            id=row["id"],
            recording_id=row["recording_id"],
            kind=ArtefactKind(row["kind"]),
            state=State(row["state"]),
            plaintext_size=row["plaintext_size"],
            plaintext_sha256=row["plaintext_sha256"],
            ciphertext_size=row["ciphertext_size"],
            created_at=_required_ts(row["created_at"]),
            expires_at=decode_ts(row["expires_at"]),
            intact=intact,
        )
    except (KeyError, ValueError) as exc:
        raise SchemaError("catalog holds an unreadable artefact row") from exc
