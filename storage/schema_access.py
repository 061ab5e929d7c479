"""The access tables (issue 6): who took part in a call besides its agent.

SQL strings only, so :mod:`storage.catalog_schema` can append them to ``MIGRATIONS``.

- ``recording_participants``: one row per (recording, agent id) for every agent who took
  part in a conference or transferred call. The recording's own ``agent_id`` is the agent
  who answered; participants are *also* its agents for access (their own calls, and their
  supervisors' teams at call time). User ids only: never a customer, never a number.
"""

from __future__ import annotations

V_ACCESS: tuple[str, ...] = (
    """
    CREATE TABLE recording_participants (
        recording_id  TEXT NOT NULL REFERENCES recordings (id) ON DELETE RESTRICT,
        agent_id      TEXT NOT NULL CHECK (length(agent_id) BETWEEN 1 AND 64),
        PRIMARY KEY (recording_id, agent_id)
    ) STRICT, WITHOUT ROWID
    """,
    "CREATE INDEX recording_participants_agent ON recording_participants (agent_id)",
)
