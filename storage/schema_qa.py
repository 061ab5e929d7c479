"""The QA tables (issue 6): samples, assignments, review sessions and scorecards.

SQL strings only, so :mod:`storage.catalog_schema` can append them to ``MIGRATIONS``
without importing the store that uses them (:mod:`storage.qa`).

- ``qa_samples``: one row per draw, with who drew it, when, the rate (in basis points:
  500 = 5 %), the seed and the scope parameters as JSON, the size of the population and a
  SHA-256 over its sorted ids, so the draw can be replayed and audited later.
- ``qa_assignments``: (reviewer, recording) pairs a draw produced, with the sample, the
  seed, the rate and the draw order (``position``); the primary key keeps a call from being
  assigned twice to the same reviewer.
- ``qa_sessions``: a reviewer's working session: ``open`` or ``paused`` (resumable) or
  ``closed``; ``position`` is the recording currently shown. At most one non-closed session
  per reviewer.
- ``qa_scorecards``: one per (reviewer, recording); the scores are a JSON object
  ``{criterion: int or null}`` (null: not applicable); the comment has passed the number
  filter before it gets here.
"""

from __future__ import annotations

V_QA: tuple[str, ...] = (
    """
    CREATE TABLE qa_samples (
        id           TEXT PRIMARY KEY,
        drawn_by     TEXT NOT NULL,
        drawn_at     TEXT NOT NULL,
        reviewer_id  TEXT NOT NULL,
        rate_bp      INTEGER NOT NULL CHECK (rate_bp BETWEEN 1 AND 10000),
        seed         INTEGER NOT NULL CHECK (seed >= 0),
        params       TEXT NOT NULL,
        population   INTEGER NOT NULL CHECK (population >= 0),
        population_sha256 TEXT NOT NULL,
        drawn        INTEGER NOT NULL CHECK (drawn >= 0)
    ) STRICT
    """,
    """
    CREATE TABLE qa_assignments (
        reviewer_id   TEXT NOT NULL,
        recording_id  TEXT NOT NULL REFERENCES recordings (id) ON DELETE RESTRICT,
        sample_id     TEXT NOT NULL REFERENCES qa_samples (id) ON DELETE RESTRICT,
        drawn_at      TEXT NOT NULL,
        seed          INTEGER NOT NULL,
        rate_bp       INTEGER NOT NULL,
        position      INTEGER NOT NULL CHECK (position >= 0),
        PRIMARY KEY (reviewer_id, recording_id)
    ) STRICT
    """,
    "CREATE INDEX qa_assignments_sample ON qa_assignments (sample_id)",
    """
    CREATE TABLE qa_sessions (
        id            TEXT PRIMARY KEY,
        reviewer_id   TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        position      TEXT REFERENCES recordings (id) ON DELETE RESTRICT,
        state         TEXT NOT NULL CHECK (state IN ('open', 'paused', 'closed'))
    ) STRICT
    """,
    """
    CREATE UNIQUE INDEX qa_sessions_one_live ON qa_sessions (reviewer_id)
        WHERE state != 'closed'
    """,
    """
    CREATE TABLE qa_scorecards (
        id            TEXT PRIMARY KEY,
        session_id    TEXT REFERENCES qa_sessions (id) ON DELETE RESTRICT,
        recording_id  TEXT NOT NULL REFERENCES recordings (id) ON DELETE RESTRICT,
        reviewer_id   TEXT NOT NULL,
        scores        TEXT NOT NULL,
        comment       TEXT NOT NULL DEFAULT '',
        created_at    TEXT NOT NULL,
        UNIQUE (reviewer_id, recording_id)
    ) STRICT
    """,
    "CREATE INDEX qa_scorecards_recording ON qa_scorecards (recording_id)",
)
