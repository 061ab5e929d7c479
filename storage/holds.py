"""Legal holds: place, release, list, and keep ``recordings.legal_hold`` in step with them.

One job: the ``holds`` table of migration ``V_RETENTION`` (SQL through
:meth:`Catalog.rows`/:meth:`Catalog.change`; no ``sqlite3`` here).

A hold targets one recording (``recording``), every call of one caller (``caller``: the
keyed lookup digest, never the number) or every call taken by one agent (``agent``). It
is *standing*: calls captured later that match are covered too; :func:`apply_standing`
(run at the start of every sweep) flags them. ``recordings.legal_hold`` is the fast
answer every reader uses (the sweep, erasure, :func:`recorder.retention.destruction_blocked`);
this module keeps it equal to "an active hold covers this recording":

- :func:`place` inserts the hold and flags every matching recording;
- :func:`release` closes the hold (kept as history) and recomputes the flag of every
  recording it covered, so one of two overlapping holds releasing does not free a call
  the other still holds.

Callers audit; reasons are validated upstream (no long digit runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.catalog import Catalog, Row
from storage.catalog_schema import decode_ts, encode_ts
from storage.errors import CatalogError, NotFoundError

TARGETS = ("recording", "caller", "agent")
_COLUMN = {"recording": "id", "caller": "caller_digest", "agent": "agent_id"}
_COVERED = (
    "EXISTS (SELECT 1 FROM holds h WHERE h.released_at IS NULL AND ("
    "(h.target = 'recording' AND h.value = recordings.id) OR "
    "(h.target = 'caller' AND h.value = recordings.caller_digest) OR "
    "(h.target = 'agent' AND h.value = recordings.agent_id)))"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Hold:
    """One legal hold, active while ``released_at`` is None."""

    id: str
    target: str
    value: str
    reason: str
    placed_at: datetime
    placed_by: str
    released_at: datetime | None = None
    released_by: str | None = None
    release_reason: str | None = None

    @property
    def active(self) -> bool:
        """True until released."""
        return self.released_at is None


def _hold(row: Row) -> Hold:
    placed = decode_ts(row["placed_at"])
    if placed is None:
        raise CatalogError("hold without a placement time")
    return Hold(
        id=row["id"],
        target=row["target"],
        value=row["value"],
        reason=row["reason"],
        placed_at=placed,
        placed_by=row["placed_by"],
        released_at=decode_ts(row["released_at"]),
        released_by=row["released_by"],
        release_reason=row["release_reason"],
    )


def _column(target: str) -> str:
    try:
        return _COLUMN[target]
    except KeyError:
        raise ValueError(f"hold target must be one of {TARGETS}") from None


def place(
    catalog: Catalog,
    *,
    hold_id: str,
    target: str,
    value: str,
    reason: str,
    now: datetime,
    placed_by: str,
) -> int:
    """Insert an active hold and flag what it covers; the number of recordings flagged.

    Joins the caller's transaction if one is open (so the caller can audit atomically).
    """
    column = _column(target)
    catalog.change(
        "placing a hold",
        "INSERT INTO holds (id, target, value, reason, placed_at, placed_by) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (hold_id, target, value, reason, encode_ts(now), placed_by),
    )
    return catalog.change(
        "flagging held recordings",
        f"UPDATE recordings SET legal_hold = 1 WHERE {column} = ? "  # noqa: S608
        "AND state != 'destroyed'",
        (value,),
    )


def release(
    catalog: Catalog,
    *,
    target: str,
    value: str,
    now: datetime,
    released_by: str,
    reason: str,
) -> list[Hold]:
    """Release every active hold on (target, value); recompute the flags they set.

    Returns the holds released (empty: nothing was held that way). :class:`NotFoundError`
    is not raised for "nothing to release": releasing twice is a no-op.
    """
    column = _column(target)
    released = [
        _hold(row)
        for row in catalog.rows(
            "finding holds to release",
            "SELECT * FROM holds WHERE target = ? AND value = ? AND released_at IS NULL",
            (target, value),
        )
    ]
    if not released:
        return []
    catalog.change(
        "releasing holds",
        "UPDATE holds SET released_at = ?, released_by = ?, release_reason = ? "
        "WHERE target = ? AND value = ? AND released_at IS NULL",
        (encode_ts(now), released_by, reason, target, value),
    )
    catalog.change(
        "recomputing hold flags",
        f"UPDATE recordings SET legal_hold = ({_COVERED}) WHERE {column} = ?",  # noqa: S608
        (value,),
    )
    return [
        Hold(
            id=h.id,
            target=h.target,
            value=h.value,
            reason=h.reason,
            placed_at=h.placed_at,
            placed_by=h.placed_by,
            released_at=now,
            released_by=released_by,
            release_reason=reason,
        )
        for h in released
    ]


def active(catalog: Catalog) -> list[Hold]:
    """Every active hold, oldest first."""
    rows = catalog.rows(
        "listing holds",
        "SELECT * FROM holds WHERE released_at IS NULL ORDER BY placed_at, id",
    )
    return [_hold(row) for row in rows]


def history(catalog: Catalog, *, target: str, value: str) -> list[Hold]:
    """Every hold ever placed on (target, value), oldest first."""
    _column(target)
    rows = catalog.rows(
        "listing hold history",
        "SELECT * FROM holds WHERE target = ? AND value = ? ORDER BY placed_at, id",
        (target, value),
    )
    return [_hold(row) for row in rows]


def get(catalog: Catalog, hold_id: str) -> Hold:
    """One hold by id; :class:`NotFoundError` if unknown."""
    row = catalog.one("reading a hold", "SELECT * FROM holds WHERE id = ?", (hold_id,))
    if row is None:
        raise NotFoundError("hold not found")
    return _hold(row)


def apply_standing(catalog: Catalog) -> int:
    """Flag live recordings an active hold covers but that are not flagged yet.

    Calls captured after a caller or agent hold was placed are flagged here (the sweep
    runs it first, each pass). One UPDATE; SQLite answers it with a multi-index OR over
    the id, caller-digest and agent indexes, never a scan. Returns the count flagged.
    """
    return catalog.change(
        "flagging held recordings",
        "UPDATE recordings SET legal_hold = 1 WHERE legal_hold = 0 AND state != 'destroyed' "
        "AND (id IN (SELECT value FROM holds WHERE released_at IS NULL "
        "AND target = 'recording') "
        "OR caller_digest IN (SELECT value FROM holds WHERE released_at IS NULL "
        "AND target = 'caller') "
        "OR agent_id IN (SELECT value FROM holds WHERE released_at IS NULL "
        "AND target = 'agent'))",
    )


def is_covered(catalog: Catalog, recording_id: str) -> bool:
    """True if an active hold covers the recording (whatever its flag says)."""
    row = catalog.one(
        "checking holds",
        f"SELECT {_COVERED} AS covered FROM recordings WHERE id = ?",  # noqa: S608
        (recording_id,),
    )
    if row is None:
        raise NotFoundError("recording not found")
    return bool(row["covered"])
