"""What the retention sweep asks the catalog, and the batched destruction it commits.

One job: the sweep's SQL, run through :meth:`Catalog.rows`/:meth:`Catalog.change` so it
shares the catalog's connection, error translation and transactions (no ``sqlite3`` here).

- "What is due" pages by keyset ``(expires_at, id)`` over the ``(state, expires_at)``
  indexes of migration ``V_RETENTION``: a page of held rows that are skipped never
  makes the next page repeat them, and 10,000 due rows are found among 1,000,000 without
  a scan (``bench/retention.py``).
- :func:`destroy` is crypto-shredding for many artefacts in ONE transaction: delete each
  wrapped key (``secure_delete=ON`` zeroes it), mark the artefacts and any whole
  recordings ``destroyed``, queue their blobs in ``shred_blob_queue``, append one audit
  receipt per artefact, commit; then ``wal_checkpoint(TRUNCATE)`` so no copy of a key
  survives in the WAL. The caller deletes the queued blobs afterwards and calls
  :func:`blobs_deleted`; a process killed in between finds them with :func:`queued_blobs`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from storage import sealing
from storage.audit import AuditLog
from storage.catalog import Catalog
from storage.catalog_schema import RECORDING_COLUMNS, encode_ts
from storage.models import Artefact, AuditEvent, Recording

#: Keyset position before every row (timestamps are non-empty text).
START: tuple[str, str] = ("", "")
_CHUNK = 400  # bound parameters per IN (...) list, well under SQLite's limit


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def due_recordings(
    catalog: Catalog, now: datetime, *, after: tuple[str, str] = START, limit: int = 500
) -> list[Recording]:
    """Available recordings with ``expires_at <= now``, by (expires_at, id) after ``after``."""
    rows = catalog.rows(
        "listing due recordings",
        f"SELECT {RECORDING_COLUMNS} FROM recordings WHERE state = 'available' "  # noqa: S608
        "AND expires_at <= ? AND (expires_at, id) > (?, ?) ORDER BY expires_at, id LIMIT ?",
        (encode_ts(now), after[0], after[1], limit),
    )
    return [catalog.recording_from_row(row) for row in rows]


def due_artefacts(
    catalog: Catalog,
    now: datetime,
    *,
    after: tuple[str, str] = START,
    limit: int = 500,
    protected: Sequence[str] = (),
) -> list[Artefact]:
    """Available artefacts with their own ``expires_at <= now``, keyset-paged like above.

    Artefacts of a recording whose class is in ``protected`` (the MIN classes) and whose
    own expiry is still ahead are left out: a MIN obligation keeps them, and re-reading
    them every pass for years would be waste. The caller still checks every row it gets.
    """
    marks = _marks(len(protected)) if protected else "NULL"
    rows = catalog.rows(
        "listing due artefacts",
        "SELECT a.* FROM artefacts a JOIN recordings r ON r.id = a.recording_id "  # noqa: S608
        "WHERE a.state = 'available' AND a.expires_at <= ? AND (a.expires_at, a.id) > (?, ?) "
        f"AND NOT (r.retention_class IN ({marks}) AND coalesce(r.expires_at > ?, 0)) "
        "ORDER BY a.expires_at, a.id LIMIT ?",
        (encode_ts(now), after[0], after[1], *protected, encode_ts(now), limit),
    )
    return [catalog.artefact_from_row(row) for row in rows]


def due_ids(catalog: Catalog, now: datetime) -> list[str]:
    """Ids of due recordings, unpaged (the benchmark's bare-``SELECT`` baseline)."""
    rows = catalog.rows(
        "listing due recording ids",
        "SELECT id FROM recordings WHERE state = 'available' AND expires_at <= ?",
        (encode_ts(now),),
    )
    return [row["id"] for row in rows]


def position(expires_at: datetime | None, row_id: str) -> tuple[str, str]:
    """The keyset position of a row (for ``after=``)."""
    return (encode_ts(expires_at) or "", row_id)


def recordings_by_id(catalog: Catalog, ids: Sequence[str]) -> dict[str, Recording]:
    """The recordings with these ids."""
    found: dict[str, Recording] = {}
    for part in _chunks(ids):
        rows = catalog.rows(
            "reading recordings",
            f"SELECT {RECORDING_COLUMNS} FROM recordings "  # noqa: S608
            f"WHERE id IN ({_marks(len(part))})",
            tuple(part),
        )
        found.update((row["id"], catalog.recording_from_row(row)) for row in rows)
    return found


def live_artefacts(catalog: Catalog, recording_ids: Sequence[str]) -> list[Artefact]:
    """Every not-yet-destroyed artefact of these recordings."""
    found: list[Artefact] = []
    for part in _chunks(recording_ids):
        rows = catalog.rows(
            "listing live artefacts",
            "SELECT * FROM artefacts WHERE state != 'destroyed' "  # noqa: S608
            f"AND recording_id IN ({_marks(len(part))}) ORDER BY recording_id, created_at, id",
            tuple(part),
        )
        found.extend(catalog.artefact_from_row(row) for row in rows)
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class Doomed:
    """One artefact to shred and why (a class name or another fixed phrase)."""

    artefact: Artefact
    reason: str


def destroy(
    catalog: Catalog,
    audit: AuditLog,
    *,
    artefacts: Sequence[Doomed],
    recordings: Sequence[tuple[str, str]],
    now: datetime,
    actor_id: str,
    actor_role: str,
    step: Callable[[str], None] | None = None,
) -> None:
    """Crypto-shred ``artefacts`` and mark ``recordings`` (id, reason) destroyed, atomically.

    One transaction: key rows deleted, states set, blobs queued, one ``artefact.shred``
    receipt per artefact and one ``recording.destroy`` per recording (reason = the class
    name or another fixed phrase, no numbers). Then the WAL is checkpointed. Idempotent:
    an artefact already destroyed is skipped inside the transaction. ``step`` is a test
    hook called inside the transaction (``shred.artefact``, ``shred.commit``) so crash
    tests can kill the process with the transaction open.
    """
    if not artefacts and not recordings:
        return
    with catalog.transaction():
        shredded = _destroy_rows(
            catalog, "artefacts", [d.artefact.id for d in artefacts], queue_blobs=True
        )
        for doomed in artefacts:
            if step is not None:
                step("shred.artefact")
            art = doomed.artefact
            if art.id not in shredded:
                continue  # already destroyed: no second receipt
            audit.append(
                AuditEvent(
                    ts=now,
                    actor_id=actor_id,
                    actor_role=actor_role,
                    action="artefact.shred",
                    outcome="ok",
                    recording_id=art.recording_id,
                    artefact=art.kind,
                    reason=doomed.reason,
                )
            )
        gone = _destroy_rows(catalog, "recordings", [r for r, _ in recordings])
        for recording_id, reason in recordings:
            if recording_id in gone:
                audit.append(
                    AuditEvent(
                        ts=now,
                        actor_id=actor_id,
                        actor_role=actor_role,
                        action="recording.destroy",
                        outcome="ok",
                        recording_id=recording_id,
                        reason=reason,
                    )
                )
        if step is not None:
            step("shred.commit")
    catalog.checkpoint()


def _destroy_rows(
    catalog: Catalog, table: str, ids: Sequence[str], *, queue_blobs: bool = False
) -> set[str]:
    """Mark rows of ``table`` destroyed (set-wise); the ids that changed.

    For artefacts, their wrapped keys are deleted (``secure_delete`` zeroes the cells)
    and their blobs queued, in the caller's transaction.
    """
    changed: set[str] = set()
    for part in _chunks(ids):
        marks = _marks(len(part))
        with sealing.guarded(catalog, table, sealing.by_id(part)):
            rows = catalog.rows(
                f"destroying {table}",
                f"UPDATE {table} SET state = 'destroyed' "  # noqa: S608
                f"WHERE id IN ({marks}) AND state != 'destroyed' RETURNING id",
                tuple(part),
            )
        changed.update(row["id"] for row in rows)
        if queue_blobs:
            catalog.change(
                "destroying keys",
                f"DELETE FROM keys WHERE artefact_id IN ({marks})",  # noqa: S608
                tuple(part),
            )
            catalog.change(
                "queueing blobs",
                "INSERT OR IGNORE INTO shred_blob_queue (artefact_id) "  # noqa: S608
                f"VALUES {','.join(['(?)'] * len(part))}",
                tuple(part),
            )
    return changed


def queued_blobs(catalog: Catalog, limit: int = 10_000) -> list[str]:
    """Blobs whose keys are destroyed but whose deletion was not confirmed yet."""
    rows = catalog.rows(
        "listing queued blobs",
        "SELECT artefact_id FROM shred_blob_queue ORDER BY artefact_id LIMIT ?",
        (limit,),
    )
    return [row["artefact_id"] for row in rows]


def blobs_deleted(catalog: Catalog, artefact_ids: Sequence[str]) -> None:
    """Forget queued blobs that are now deleted."""
    for part in _chunks(artefact_ids):
        catalog.change(
            "dequeueing blobs",
            f"DELETE FROM shred_blob_queue WHERE artefact_id IN ({_marks(len(part))})",  # noqa: S608
            tuple(part),
        )


def count_live(catalog: Catalog) -> dict[str, int]:
    """Live recordings and artefacts (for reports)."""
    row = catalog.one(
        "counting live rows",
        "SELECT (SELECT count(*) FROM recordings WHERE state = 'available') AS recordings, "
        "(SELECT count(*) FROM artefacts WHERE state = 'available') AS artefacts",
    )
    return {} if row is None else {k: int(v) for k, v in row.items()}


__all__ = [
    "START",
    "Doomed",
    "blobs_deleted",
    "count_live",
    "destroy",
    "due_artefacts",
    "due_ids",
    "due_recordings",
    "live_artefacts",
    "position",
    "queued_blobs",
    "recordings_by_id",
]
