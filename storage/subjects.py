"""Data-subject rows: erasure requests (pending/done, one receipt), rectifications, tombstones.

One job: the SQL behind ``recorder.subject`` (issue 8), run through
:meth:`Catalog.rows`/:meth:`Catalog.one`/:meth:`Catalog.change` so it shares the catalog's
connection, transactions and error translation. The tables are in
:mod:`storage.schema_subject`.

- A recording's caller is found by its keyed lookup digest; after a pepper rotation old
  rows keep digests under old versions, so :func:`digest_versions` says which versions to
  compute a subject's digest under.
- Erasing a recording leaves a *tombstone*: the row stays (``state = destroyed``, the
  masked caller display replaced by ``withheld``) so a repeated request answers "already
  erased, receipt R" instead of "never heard of you", and foreign keys from the audit
  trail's tables still resolve. The lookup digest stays on the tombstone for that reason;
  it is a keyed hash that identifies no one without the pepper, and it no longer leads to
  any readable artefact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage import sealing
from storage.catalog import Catalog, Row
from storage.catalog_schema import decode_ts, encode_ts
from storage.errors import CatalogError, NotFoundError, SchemaError
from storage.models import State

#: What an erased recording shows as its caller: the same word as a withheld number (the
#: fsck invariant I7 accepts only that or the masked shape), so no digit of it remains.
ERASED_DISPLAY = "withheld"
RECTIFIABLE = ("agent_id", "team_id", "service_number")


@dataclass(frozen=True, slots=True, kw_only=True)
class Erasure:
    """One recording's erasure request and how far it got."""

    recording_id: str
    requested_at: datetime
    requested_by: str
    state: str  # "pending" | "done"
    blocked_reason: str | None
    receipt: str | None
    done_at: datetime | None
    artefacts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Rectification:
    """One corrected metadata field of a recording."""

    recording_id: str
    field: str
    old_value: str | None
    new_value: str | None
    rectified_at: datetime
    rectified_by: str


def _erasure(row: Row) -> Erasure:
    try:
        requested_at = decode_ts(row["requested_at"])
        if requested_at is None:
            raise SchemaError("erasure request without a time")
        return Erasure(
            recording_id=row["recording_id"],
            requested_at=requested_at,
            requested_by=row["requested_by"],
            state=row["state"],
            blocked_reason=row["blocked_reason"],
            receipt=row["receipt"],
            done_at=decode_ts(row["done_at"]),
            artefacts=int(row["artefacts"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SchemaError("catalog holds an unreadable erasure row") from exc


def digest_versions(catalog: Catalog) -> list[int]:
    """Every pepper version some recording's lookup digest was computed under, ascending."""
    rows = catalog.rows(
        "listing lookup pepper versions",
        "SELECT DISTINCT caller_digest_version AS v FROM recordings "
        "WHERE caller_digest_version IS NOT NULL ORDER BY v",
    )
    return [int(row["v"]) for row in rows]


def recording_ids_by_digests(catalog: Catalog, digests: list[tuple[int, str]]) -> list[str]:
    """Ids of every recording (tombstones included) under any ``(version, digest)`` pair."""
    found: dict[str, str] = {}
    for version, digest in digests:
        for row in catalog.rows(
            "finding recordings by caller",
            "SELECT id, started_at FROM recordings "
            "WHERE caller_digest = ? AND caller_digest_version = ?",
            (digest, version),
        ):
            found[row["id"]] = row["started_at"]
    return sorted(found, key=lambda rid: (found[rid], rid))


def get_erasure(catalog: Catalog, recording_id: str) -> Erasure | None:
    """The erasure request for a recording, if one was made."""
    row = catalog.one(
        "reading an erasure request",
        "SELECT * FROM subject_erasures WHERE recording_id = ?",
        (recording_id,),
    )
    return None if row is None else _erasure(row)


def pending_erasures(catalog: Catalog) -> list[Erasure]:
    """Every erasure still waiting for a hold, MIN class or restriction to lift."""
    rows = catalog.rows(
        "listing pending erasures",
        "SELECT * FROM subject_erasures WHERE state = 'pending' ORDER BY requested_at, "
        "recording_id",
    )
    return [_erasure(row) for row in rows]


def record_pending(
    catalog: Catalog, recording_id: str, *, now: datetime, by: str, reason: str
) -> None:
    """Record (or refresh the reason of) a pending erasure; a done one is left alone."""
    catalog.change(
        "recording a pending erasure",
        "INSERT INTO subject_erasures (recording_id, requested_at, requested_by, state, "
        "blocked_reason) VALUES (?, ?, ?, 'pending', ?) "
        "ON CONFLICT (recording_id) DO UPDATE SET blocked_reason = excluded.blocked_reason "
        "WHERE state = 'pending'",
        (recording_id, encode_ts(now), by, reason),
    )


def record_done(
    catalog: Catalog,
    recording_id: str,
    *,
    now: datetime,
    by: str,
    receipt: str,
    artefacts: int,
) -> None:
    """Mark a recording's erasure done with its receipt (creating the request if needed)."""
    when = encode_ts(now)
    count = catalog.change(
        "recording a finished erasure",
        "INSERT INTO subject_erasures (recording_id, requested_at, requested_by, state, "
        "receipt, done_at, artefacts) VALUES (?, ?, ?, 'done', ?, ?, ?) "
        "ON CONFLICT (recording_id) DO UPDATE SET state = 'done', blocked_reason = NULL, "
        "receipt = excluded.receipt, done_at = excluded.done_at, "
        "artefacts = excluded.artefacts WHERE state = 'pending'",
        (recording_id, when, by, receipt, when, artefacts),
    )
    if count == 0:
        raise CatalogError("erasure already recorded as done")


def tombstone(catalog: Catalog, recording_id: str) -> None:
    """Leave only a tombstone: state ``destroyed``, caller display ``withheld``."""
    with sealing.guarded(catalog, "recordings", sealing.by_id([recording_id])):
        count = catalog.change(
            "tombstoning a recording",
            "UPDATE recordings SET state = ?, caller_display = ? WHERE id = ?",
            (State.DESTROYED.value, ERASED_DISPLAY, recording_id),
        )
    if count == 0:
        raise NotFoundError("recording not found")


def rectify(
    catalog: Catalog,
    recording_id: str,
    changes: dict[str, str | None],
    *,
    now: datetime,
    by: str,
) -> list[Rectification]:
    """Apply metadata corrections and log each changed field; unchanged fields are skipped.

    Joins the caller's transaction (the audit entry goes in the same one).
    """
    unknown = set(changes) - set(RECTIFIABLE)
    if unknown:
        raise CatalogError("only agent, team and service number can be rectified")
    row = catalog.one(
        "reading a recording",
        "SELECT agent_id, team_id, service_number FROM recordings WHERE id = ?",
        (recording_id,),
    )
    if row is None:
        raise NotFoundError("recording not found")
    done: list[Rectification] = []
    for field in RECTIFIABLE:
        if field not in changes or row[field] == changes[field]:
            continue
        new = changes[field]
        with sealing.guarded(catalog, "recordings", sealing.by_id([recording_id])):
            catalog.change(
                "rectifying a recording",
                f"UPDATE recordings SET {field} = ? WHERE id = ?",  # noqa: S608 (field is fixed)
                (new, recording_id),
            )
        catalog.change(
            "logging a rectification",
            "INSERT INTO subject_rectifications (recording_id, field, old_value, new_value, "
            "rectified_at, rectified_by) VALUES (?, ?, ?, ?, ?, ?)",
            (recording_id, field, row[field], new, encode_ts(now), by),
        )
        done.append(
            Rectification(
                recording_id=recording_id,
                field=field,
                old_value=row[field],
                new_value=new,
                rectified_at=now,
                rectified_by=by,
            )
        )
    return done


def rectifications(catalog: Catalog, recording_id: str) -> list[Rectification]:
    """Every correction made to a recording's metadata, oldest first."""
    rows = catalog.rows(
        "listing rectifications",
        "SELECT * FROM subject_rectifications WHERE recording_id = ? ORDER BY id",
        (recording_id,),
    )
    out: list[Rectification] = []
    for r in rows:
        at = decode_ts(r["rectified_at"])
        if at is None:
            raise SchemaError("rectification without a time")
        out.append(
            Rectification(
                recording_id=r["recording_id"],
                field=r["field"],
                old_value=r["old_value"],
                new_value=r["new_value"],
                rectified_at=at,
                rectified_by=r["rectified_by"],
            )
        )
    return out
