"""The AI path's tables, as one forward migration appended to ``MIGRATIONS`` (issue 7).

SQL strings only (run by :mod:`storage.catalog`). What they hold, and what they never hold:

- ``recordings.ai_notice``: the call record says the customer was told AI is used (P18).
- ``recordings.ai_optout_at_ms``: the customer asked to stop AI this many milliseconds after
  the answer (P17); AI never covers audio after it. ``0`` is a full opt-out.
- ``recordings.ai_language``: the language the PBX said the call is in (``None``: the
  configured default, or detection).
- ``ai_runs``: one row per recording the AI pipeline has handled: state, when, with which
  model, how much audio it covered, and the retention class the recording had *before* AI
  moved it to ``ai_30d`` (so an opt-out can put it back).
- ``summary_reviews``: who approved or edited a draft summary, when, and line counts of the
  edit; the edit diff itself is personal data and lives inside the encrypted summary
  artefact, never in a column.
- ``ai_samples``: the P19 review queue: which AI-processed calls were drawn for which
  reviewer, at what rate and seed, and the reviewer's verdict code (no free text).

No column holds transcript or summary text, a phone number or key material.
"""

from __future__ import annotations

V_AI: tuple[str, ...] = (
    "ALTER TABLE recordings ADD COLUMN ai_notice INTEGER NOT NULL DEFAULT 0 "
    "CHECK (ai_notice IN (0, 1))",
    "ALTER TABLE recordings ADD COLUMN ai_optout_at_ms INTEGER "
    "CHECK (ai_optout_at_ms IS NULL OR ai_optout_at_ms >= 0)",
    "ALTER TABLE recordings ADD COLUMN ai_language TEXT "
    "CHECK (ai_language IS NULL OR length(ai_language) BETWEEN 2 AND 16)",
    """
    CREATE TABLE ai_runs (
        recording_id     TEXT PRIMARY KEY REFERENCES recordings (id) ON DELETE RESTRICT,
        state            TEXT NOT NULL CHECK (state IN ('done', 'opted_out')),
        ran_at           TEXT NOT NULL,
        model            TEXT,
        covered_ms       INTEGER CHECK (covered_ms IS NULL OR covered_ms >= 0),
        base_class       TEXT NOT NULL,
        base_expires_at  TEXT
    ) STRICT
    """,
    """
    CREATE TABLE summary_reviews (
        id                 INTEGER PRIMARY KEY,
        recording_id       TEXT NOT NULL REFERENCES recordings (id) ON DELETE RESTRICT,
        draft_artefact_id  TEXT NOT NULL REFERENCES artefacts (id) ON DELETE RESTRICT,
        final_artefact_id  TEXT NOT NULL REFERENCES artefacts (id) ON DELETE RESTRICT,
        decision           TEXT NOT NULL CHECK (decision IN ('approved', 'edited')),
        reviewer_id        TEXT NOT NULL,
        reviewer_role      TEXT NOT NULL,
        reviewed_at        TEXT NOT NULL,
        lines_added        INTEGER NOT NULL CHECK (lines_added >= 0),
        lines_removed      INTEGER NOT NULL CHECK (lines_removed >= 0),
        final_sha256       TEXT NOT NULL
    ) STRICT
    """,
    "CREATE INDEX summary_reviews_recording ON summary_reviews (recording_id)",
    """
    CREATE TABLE ai_samples (
        recording_id  TEXT NOT NULL REFERENCES recordings (id) ON DELETE RESTRICT,
        reviewer_id   TEXT NOT NULL,
        drawn_at      TEXT NOT NULL,
        rate_ppm      INTEGER NOT NULL CHECK (rate_ppm BETWEEN 1 AND 1000000),
        seed          INTEGER NOT NULL,
        verdict       TEXT CHECK (verdict IS NULL OR verdict IN ('ok', 'flagged')),
        checked_at    TEXT,
        PRIMARY KEY (recording_id, reviewer_id)
    ) STRICT
    """,
)
