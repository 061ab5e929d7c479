"""The data-subject tables (issue 8), as one forward migration appended to ``MIGRATIONS``.

SQL strings only (run by :mod:`storage.catalog`; used by :mod:`storage.subjects`).

- ``subject_erasures``: one row per recording a data subject asked to erase. ``pending``
  while a legal hold, a MIN retention class or a restriction forbids destroying it (the
  reason is kept, a fixed phrase); ``done`` once every artefact was crypto-shredded, with
  the receipt id, the time and how many artefacts were shredded. The primary key makes a
  repeated request find the first one: erasure is idempotent with exactly one receipt.
- ``subject_rectifications``: one row per metadata field a DPO corrected (Art. 16): old
  and new value, when, by whom. Only agent, team and service number (a company number,
  never a caller's) can be corrected; audio is immutable and caller numbers are only
  ever held masked.

No column holds a caller's number, transcript text or key material.
"""

from __future__ import annotations

V_SUBJECT: tuple[str, ...] = (
    """
    CREATE TABLE subject_erasures (
        recording_id    TEXT PRIMARY KEY REFERENCES recordings (id) ON DELETE RESTRICT,
        requested_at    TEXT NOT NULL,
        requested_by    TEXT NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('pending', 'done')),
        blocked_reason  TEXT,
        receipt         TEXT,
        done_at         TEXT,
        artefacts       INTEGER NOT NULL DEFAULT 0 CHECK (artefacts >= 0),
        CHECK ((state = 'done') = (done_at IS NOT NULL)),
        CHECK ((state = 'done') = (receipt IS NOT NULL))
    ) STRICT
    """,
    "CREATE INDEX subject_erasures_state ON subject_erasures (state)",
    """
    CREATE TABLE subject_rectifications (
        id            INTEGER PRIMARY KEY,
        recording_id  TEXT NOT NULL REFERENCES recordings (id) ON DELETE RESTRICT,
        field         TEXT NOT NULL
                      CHECK (field IN ('agent_id', 'team_id', 'service_number')),
        old_value     TEXT,
        new_value     TEXT,
        rectified_at  TEXT NOT NULL,
        rectified_by  TEXT NOT NULL
    ) STRICT
    """,
    "CREATE INDEX subject_rectifications_recording ON subject_rectifications (recording_id)",
)
