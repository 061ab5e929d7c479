"""The retention tables (issue 8), as one forward migration appended to ``MIGRATIONS``.

SQL strings only (run by :mod:`storage.catalog`; used by :mod:`storage.holds` and the
retention section of :class:`storage.catalog.Catalog`).

- ``holds``: legal holds on one recording, on every call of a caller (by the keyed lookup
  digest, never the number) or on every call taken by an agent. A hold is *standing*: it
  also covers calls captured after it was placed, until it is released. Released holds
  stay as history (who, when, why). ``reason`` is free text checked upstream to hold no
  long digit run.
- ``shred_blob_queue``: ciphertext blobs whose key was already destroyed, queued in the
  same transaction as the destruction and drained after the commit, so a sweeper killed
  between the two deletes them on its next run (exactly once, invariant I3).
- Indexes on ``(state, expires_at)`` for recordings and artefacts: the sweep asks "what
  is due" without scanning the catalog (bench/retention.py: 1,000,000 rows).
"""

from __future__ import annotations

V_RETENTION: tuple[str, ...] = (
    """
    CREATE TABLE holds (
        id              TEXT PRIMARY KEY,
        target          TEXT NOT NULL CHECK (target IN ('recording', 'caller', 'agent')),
        value           TEXT NOT NULL CHECK (length(value) BETWEEN 1 AND 128),
        reason          TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
        placed_at       TEXT NOT NULL,
        placed_by       TEXT NOT NULL,
        released_at     TEXT,
        released_by     TEXT,
        release_reason  TEXT,
        CHECK ((released_at IS NULL) = (released_by IS NULL))
    ) STRICT
    """,
    "CREATE INDEX holds_active ON holds (target, value) WHERE released_at IS NULL",
    """
    CREATE TABLE shred_blob_queue (
        artefact_id  TEXT PRIMARY KEY
    ) STRICT
    """,
    "CREATE INDEX recordings_state_expires ON recordings (state, expires_at)",
    "CREATE INDEX artefacts_state_expires ON artefacts (state, expires_at)",
)
