"""Legal holds: place, release, list, and keep ``recordings.legal_hold`` in step with them.

One job: the ``holds`` table of migration ``V_RETENTION`` (SQL through
:meth:`Catalog.rows`/:meth:`Catalog.change`; no ``sqlite3`` here).

A hold targets one recording (``recording``), every call of one caller (``caller``: the
keyed lookup digest, never the number) or every call taken by one agent (``agent``). It
is *standing*: calls captured later that match are covered too; :func:`apply_standing`
(run at the start of every sweep) flags them. ``recordings.legal_hold`` is the fast
answer every reader uses (the sweep, erasure, :func:`recorder.retention.destruction_blocked`);
this module keeps it equal to "an active hold covers this recording":

- :func:`place` inserts the hold (sealed, ``storage.guard``) and flags every matching
  recording;
- :func:`release` closes the hold (kept as history) and recomputes the flag of every
  recording it covered, so one of two overlapping holds releasing does not free a call
  the other still holds.

Callers audit; reasons are validated upstream (no long digit runs).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from storage import sealing
from storage.catalog import Catalog, Row
from storage.catalog_schema import decode_ts, encode_ts
from storage.errors import CatalogError, NotFoundError

TARGETS = ("recording", "caller", "agent")
_COLUMN = {"recording": "id", "caller": "caller_digest", "agent": "agent_id"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Hold:
    """One legal hold, active while ``released_at`` is None.

    ``intact`` is the verdict of the row's integrity MAC (``storage.guard``): a hold row
    that callrec did not write is listed (so it can be investigated) but covers nothing.
    """

    id: str
    target: str
    value: str
    reason: str
    placed_at: datetime
    placed_by: str
    released_at: datetime | None = None
    released_by: str | None = None
    release_reason: str | None = None
    intact: bool = True

    @property
    def active(self) -> bool:
        """True until released."""
        return self.released_at is None

    def covers(self, row: Row) -> bool:
        """True if this hold is intact, active and covers the recording ``row``."""
        return self.intact and self.active and row.get(_COLUMN[self.target]) == self.value


def _hold(catalog: Catalog, row: Row) -> Hold:
    placed = decode_ts(row["placed_at"])
    if placed is None:
        raise CatalogError("hold without a placement time")
    guard = catalog.guard
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
        intact=guard is not None and guard.intact("holds", row),
    )


def _column(target: str) -> str:
    try:
        return _COLUMN[target]
    except KeyError:
        raise ValueError(f"hold target must be one of {TARGETS}") from None


def _set_flags(catalog: Catalog, flags: dict[str, bool]) -> int:
    """Set ``legal_hold`` of recordings (re-sealing the intact ones); how many changed."""
    changed = dict(flags)
    if not changed:
        return 0
    count = 0
    with sealing.guarded(catalog, "recordings", sealing.by_id(changed)):
        for rid, flag in changed.items():
            count += catalog.change(
                "setting hold flags",
                "UPDATE recordings SET legal_hold = ? WHERE id = ? AND legal_hold != ?",
                (int(flag), rid, int(flag)),
            )
    return count


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
    with catalog.atomic("placing a hold"):
        catalog.change(
            "placing a hold",
            "INSERT INTO holds (id, target, value, reason, placed_at, placed_by) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (hold_id, target, value, reason, encode_ts(now), placed_by),
        )
        sealing.seal(catalog, "holds", sealing.by_id([hold_id]))
        rows = catalog.rows(
            "finding held recordings",
            f"SELECT id FROM recordings WHERE {column} = ? "  # noqa: S608
            "AND state != 'destroyed' AND legal_hold = 0",
            (value,),
        )
        return _set_flags(catalog, {row["id"]: True for row in rows})


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
    is not raised for "nothing to release": releasing twice is a no-op. A flag stays set
    while another intact active hold still covers the recording.
    """
    column = _column(target)
    released = [
        _hold(catalog, row)
        for row in catalog.rows(
            "finding holds to release",
            "SELECT * FROM holds WHERE target = ? AND value = ? AND released_at IS NULL",
            (target, value),
        )
    ]
    if not released:
        return []
    with catalog.atomic("releasing holds"):
        with sealing.guarded(catalog, "holds", sealing.by_id(h.id for h in released)):
            catalog.change(
                "releasing holds",
                "UPDATE holds SET released_at = ?, released_by = ?, release_reason = ? "
                "WHERE target = ? AND value = ? AND released_at IS NULL",
                (encode_ts(now), released_by, reason, target, value),
            )
        still = active(catalog)
        rows = catalog.rows(
            "recomputing hold flags",
            f"SELECT id, caller_digest, agent_id FROM recordings WHERE {column} = ?",  # noqa: S608
            (value,),
        )
        _set_flags(catalog, {r["id"]: any(h.covers(r) for h in still) for r in rows})
    return [
        replace(h, released_at=now, released_by=released_by, release_reason=reason)
        for h in released
    ]


def active(catalog: Catalog) -> list[Hold]:
    """Every active hold, oldest first (``intact`` says which may cover anything)."""
    rows = catalog.rows(
        "listing holds",
        "SELECT * FROM holds WHERE released_at IS NULL ORDER BY placed_at, id",
    )
    return [_hold(catalog, row) for row in rows]


def history(catalog: Catalog, *, target: str, value: str) -> list[Hold]:
    """Every hold ever placed on (target, value), oldest first."""
    _column(target)
    rows = catalog.rows(
        "listing hold history",
        "SELECT * FROM holds WHERE target = ? AND value = ? ORDER BY placed_at, id",
        (target, value),
    )
    return [_hold(catalog, row) for row in rows]


def get(catalog: Catalog, hold_id: str) -> Hold:
    """One hold by id; :class:`NotFoundError` if unknown."""
    row = catalog.one("reading a hold", "SELECT * FROM holds WHERE id = ?", (hold_id,))
    if row is None:
        raise NotFoundError("hold not found")
    return _hold(catalog, row)


def apply_standing(catalog: Catalog) -> int:
    """Flag live recordings an intact active hold covers but that are not flagged yet.

    Calls captured after a caller or agent hold was placed are flagged here (the sweep
    runs it first, each pass). One lookup per target kind over the id, caller-digest and
    agent indexes (the handful of active holds as bound values), never a scan. Returns
    the count flagged. A hold row that fails its integrity MAC flags nothing.
    """
    values: dict[str, list[str]] = {t: [] for t in TARGETS}
    for hold in active(catalog):
        if hold.intact:
            values[hold.target].append(hold.value)
    ids: set[str] = set()
    for target, found in values.items():
        for start in range(0, len(found), 400):
            part = found[start : start + 400]
            rows = catalog.rows(
                "finding held recordings",
                f"SELECT id FROM recordings WHERE {_COLUMN[target]} IN "  # noqa: S608
                f"({','.join('?' * len(part))}) AND legal_hold = 0 AND state != 'destroyed'",
                tuple(part),
            )
            ids.update(row["id"] for row in rows)
    with catalog.atomic("flagging held recordings"):
        return _set_flags(catalog, dict.fromkeys(sorted(ids), True))


def is_covered(catalog: Catalog, recording_id: str) -> bool:
    """True if an intact active hold covers the recording (whatever its flag says)."""
    row = catalog.one(
        "checking holds",
        "SELECT id, caller_digest, agent_id FROM recordings WHERE id = ?",
        (recording_id,),
    )
    if row is None:
        raise NotFoundError("recording not found")
    return any(hold.covers(row) for hold in active(catalog))
