"""QA rows: samples drawn, calls assigned to reviewers, review sessions and scorecards.

One job: store and read the QA tables (:mod:`storage.schema_qa`) through the catalog's
``rows``/``one``/``change``, so SQL stays in ``storage/`` and only :mod:`storage.catalog`
touches ``sqlite3``. Deciding *what* to draw, who may review and what a valid score is
belongs to :mod:`recorder.qa`; this module never sees a principal or a configuration.

Writers do not open transactions of their own: the flow module wraps each step's rows
and its audit entry in one ``with catalog.transaction():`` so either both land or neither.

:class:`CatalogAssignments` answers :class:`recorder.access.Assignments` (structurally: a
``storage`` module may not import ``recorder``) from ``qa_assignments``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage import safejson, sealing
from storage.catalog import Catalog, Row
from storage.catalog_schema import decode_ts, encode_ts
from storage.errors import MalformedJson, NotFoundError, SchemaError


class SessionState(enum.StrEnum):
    """A review session is worked on (open), put aside (paused) or finished (closed)."""

    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One recorded draw: enough to replay it (seed, rate, scope, population digest)."""

    id: str
    drawn_by: str
    drawn_at: datetime
    reviewer_id: str
    rate_bp: int
    seed: int
    params: Mapping[str, str | None] = field(default_factory=dict)
    population: int
    population_sha256: str
    drawn: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Assignment:
    """A call drawn for a reviewer by a sample; ``position`` is its place in the draw."""

    reviewer_id: str
    recording_id: str
    sample_id: str
    drawn_at: datetime
    seed: int
    rate_bp: int
    position: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """A reviewer's review session; ``position`` is the call currently shown (or None)."""

    id: str
    reviewer_id: str
    started_at: datetime
    updated_at: datetime
    position: str | None
    state: SessionState


@dataclass(frozen=True, slots=True, kw_only=True)
class Scorecard:
    """A reviewer's scores for one call (``{criterion: score}``, ``None`` = not applicable)
    and a number-free comment."""

    id: str
    session_id: str | None
    recording_id: str
    reviewer_id: str
    scores: Mapping[str, int | None]
    comment: str
    created_at: datetime


def _ts(value: Any) -> datetime:
    parsed = decode_ts(value)
    if parsed is None:
        raise SchemaError("QA table holds a missing timestamp")
    return parsed


def _json_object(text: Any, what: str) -> dict[str, Any]:
    try:
        value = safejson.loads(text) if isinstance(text, str) else None
    except MalformedJson as exc:
        raise SchemaError(f"QA table holds unreadable {what}") from exc
    if not isinstance(value, dict):
        raise SchemaError(f"QA table holds unreadable {what}")
    return value


def _sample(row: Row) -> Sample:
    return Sample(
        id=row["id"],
        drawn_by=row["drawn_by"],
        drawn_at=_ts(row["drawn_at"]),
        reviewer_id=row["reviewer_id"],
        rate_bp=row["rate_bp"],
        seed=row["seed"],
        params=_json_object(row["params"], "sample parameters"),
        population=row["population"],
        population_sha256=row["population_sha256"],
        drawn=row["drawn"],
    )


def _assignment(row: Row) -> Assignment:
    return Assignment(
        reviewer_id=row["reviewer_id"],
        recording_id=row["recording_id"],
        sample_id=row["sample_id"],
        drawn_at=_ts(row["drawn_at"]),
        seed=row["seed"],
        rate_bp=row["rate_bp"],
        position=row["position"],
    )


def _session(row: Row) -> Session:
    try:
        state = SessionState(row["state"])
    except ValueError as exc:
        raise SchemaError("QA table holds an unknown session state") from exc
    return Session(
        id=row["id"],
        reviewer_id=row["reviewer_id"],
        started_at=_ts(row["started_at"]),
        updated_at=_ts(row["updated_at"]),
        position=row["position"],
        state=state,
    )


def _scorecard(row: Row) -> Scorecard:
    scores = _json_object(row["scores"], "scores")
    if not all(
        v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in scores.values()
    ):
        raise SchemaError("QA table holds unreadable scores")
    return Scorecard(
        id=row["id"],
        session_id=row["session_id"],
        recording_id=row["recording_id"],
        reviewer_id=row["reviewer_id"],
        scores=scores,
        comment=row["comment"],
        created_at=_ts(row["created_at"]),
    )


class QaStore:
    """The QA tables on one catalog connection."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    # -- samples and assignments ----------------------------------------------------------

    def record_sample(self, sample: Sample, recording_ids: Iterable[str]) -> int:
        """Insert a sample and its assignments (in draw order); returns how many were new.

        A call already assigned to the same reviewer (by an earlier sample) keeps its first
        assignment. Call inside ``catalog.transaction()`` with the audit entry.
        """
        c = self._catalog
        c.change(
            "recording a QA sample",
            "INSERT INTO qa_samples (id, drawn_by, drawn_at, reviewer_id, rate_bp, seed, "
            "params, population, population_sha256, drawn) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                sample.id,
                sample.drawn_by,
                encode_ts(sample.drawn_at),
                sample.reviewer_id,
                sample.rate_bp,
                sample.seed,
                json.dumps(dict(sample.params), sort_keys=True),
                sample.population,
                sample.population_sha256,
                sample.drawn,
            ),
        )
        added = 0
        for position, recording_id in enumerate(recording_ids):
            new = c.change(
                "assigning a call for review",
                "INSERT OR IGNORE INTO qa_assignments (reviewer_id, recording_id, sample_id, "
                "drawn_at, seed, rate_bp, position) VALUES (?,?,?,?,?,?,?)",
                (
                    sample.reviewer_id,
                    recording_id,
                    sample.id,
                    encode_ts(sample.drawn_at),
                    sample.seed,
                    sample.rate_bp,
                    position,
                ),
            )
            if new:
                sealing.seal(c, "qa_assignments", [(sample.reviewer_id, recording_id)])
            added += new
        return added

    def get_sample(self, sample_id: str) -> Sample:
        """The sample; :class:`NotFoundError` if there is none."""
        row = self._catalog.one(
            "reading a QA sample", "SELECT * FROM qa_samples WHERE id = ?", (sample_id,)
        )
        if row is None:
            raise NotFoundError("QA sample not found")
        return _sample(row)

    def samples(self) -> list[Sample]:
        """Every sample, oldest first."""
        rows = self._catalog.rows(
            "listing QA samples", "SELECT * FROM qa_samples ORDER BY drawn_at, id"
        )
        return [_sample(r) for r in rows]

    def assignments(self, reviewer_id: str) -> list[Assignment]:
        """The reviewer's assignments, in the order they should be reviewed."""
        rows = self._catalog.rows(
            "listing QA assignments",
            "SELECT * FROM qa_assignments WHERE reviewer_id = ? "
            "ORDER BY drawn_at, sample_id, position",
            (reviewer_id,),
        )
        return [_assignment(r) for r in rows]

    def assignments_of_sample(self, sample_id: str) -> list[Assignment]:
        """The assignments a sample produced (not those an earlier sample already held)."""
        rows = self._catalog.rows(
            "listing a sample's assignments",
            "SELECT * FROM qa_assignments WHERE sample_id = ? "
            "ORDER BY drawn_at, sample_id, position",
            (sample_id,),
        )
        return [_assignment(r) for r in rows]

    def is_assigned(self, reviewer_id: str, recording_id: str) -> bool:
        """True if ``recording_id`` was sampled to ``reviewer_id`` (and the assignment's
        integrity MAC holds: a row inserted behind callrec's back grants nothing)."""
        keys = [(reviewer_id, recording_id)]
        return bool(sealing.intact_keys(self._catalog, "qa_assignments", keys))

    # -- sessions -------------------------------------------------------------------------

    def live_session(self, reviewer_id: str) -> Session | None:
        """The reviewer's open or paused session, if any (there is at most one)."""
        row = self._catalog.one(
            "reading a review session",
            "SELECT * FROM qa_sessions WHERE reviewer_id = ? AND state != 'closed'",
            (reviewer_id,),
        )
        return None if row is None else _session(row)

    def get_session(self, session_id: str) -> Session:
        """The session; :class:`NotFoundError` if there is none."""
        row = self._catalog.one(
            "reading a review session", "SELECT * FROM qa_sessions WHERE id = ?", (session_id,)
        )
        if row is None:
            raise NotFoundError("review session not found")
        return _session(row)

    def create_session(self, session: Session) -> None:
        """Insert a new session (the unique index refuses a second live one)."""
        self._catalog.change(
            "opening a review session",
            "INSERT INTO qa_sessions (id, reviewer_id, started_at, updated_at, position, state) "
            "VALUES (?,?,?,?,?,?)",
            (
                session.id,
                session.reviewer_id,
                encode_ts(session.started_at),
                encode_ts(session.updated_at),
                session.position,
                SessionState(session.state).value,
            ),
        )

    def update_session(
        self, session_id: str, *, position: str | None, state: SessionState, now: datetime
    ) -> None:
        """Move a session to ``position`` and ``state``."""
        count = self._catalog.change(
            "updating a review session",
            "UPDATE qa_sessions SET position = ?, state = ?, updated_at = ? WHERE id = ?",
            (position, SessionState(state).value, encode_ts(now), session_id),
        )
        if count == 0:
            raise NotFoundError("review session not found")

    # -- scorecards -----------------------------------------------------------------------

    def save_scorecard(self, card: Scorecard) -> bool:
        """Store a scorecard, replacing the reviewer's earlier one for the call (True if so)."""
        replaced = self.scorecard(card.reviewer_id, card.recording_id) is not None
        self._catalog.change(
            "saving a scorecard",
            "INSERT INTO qa_scorecards (id, session_id, recording_id, reviewer_id, scores, "
            "comment, created_at) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT (reviewer_id, recording_id) DO UPDATE SET id = excluded.id, "
            "session_id = excluded.session_id, scores = excluded.scores, "
            "comment = excluded.comment, created_at = excluded.created_at",
            (
                card.id,
                card.session_id,
                card.recording_id,
                card.reviewer_id,
                json.dumps(dict(card.scores), sort_keys=True),
                card.comment,
                encode_ts(card.created_at),
            ),
        )
        return replaced

    def scorecard(self, reviewer_id: str, recording_id: str) -> Scorecard | None:
        """The reviewer's scorecard for the call, if any."""
        row = self._catalog.one(
            "reading a scorecard",
            "SELECT * FROM qa_scorecards WHERE reviewer_id = ? AND recording_id = ?",
            (reviewer_id, recording_id),
        )
        return None if row is None else _scorecard(row)

    def scored_by(self, reviewer_id: str) -> frozenset[str]:
        """Ids of the calls the reviewer has scored."""
        rows = self._catalog.rows(
            "listing scored calls",
            "SELECT recording_id FROM qa_scorecards WHERE reviewer_id = ?",
            (reviewer_id,),
        )
        return frozenset(r["recording_id"] for r in rows)

    def scorecards(self) -> list[Scorecard]:
        """Every scorecard, oldest first."""
        rows = self._catalog.rows(
            "listing scorecards", "SELECT * FROM qa_scorecards ORDER BY created_at, id"
        )
        return [_scorecard(r) for r in rows]


@dataclass(frozen=True, slots=True)
class CatalogAssignments:
    """The ``Assignments`` protocol of :mod:`recorder.access`, answered from the catalog."""

    catalog: Catalog

    def is_assigned(self, reviewer_id: str, recording_id: str) -> bool:
        """True if ``recording_id`` was sampled to ``reviewer_id``."""
        return QaStore(self.catalog).is_assigned(reviewer_id, recording_id)
