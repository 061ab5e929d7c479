"""Rows of the AI path: per-call AI flags, pipeline runs, and the P19 review-sample queue.

One job: read and write the ``schema_ai`` tables through :class:`~storage.catalog.Catalog`
(``rows``/``one``/``change``; no ``sqlite3`` here). Nothing here sees text: the transcript,
categories and summary are encrypted artefacts handled by the vault.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage import sealing
from storage.catalog import Catalog
from storage.catalog_schema import decode_ts, encode_ts
from storage.errors import NotFoundError, SchemaError
from storage.models import ArtefactKind, State


@dataclass(frozen=True, slots=True, kw_only=True)
class AiFlags:
    """What the call record says about AI: notice given, opt-out point, full opt-out."""

    notice: bool
    optout_at_ms: int | None
    opted_out: bool
    language: str | None = None

    @property
    def allowed(self) -> bool:
        """AI may run: the customer was told, and did not opt out from the start."""
        return self.notice and not self.opted_out and self.optout_at_ms != 0


@dataclass(frozen=True, slots=True, kw_only=True)
class AiRun:
    """The AI pipeline's record of one recording (``state`` ``done`` or ``opted_out``)."""

    recording_id: str
    state: str
    ran_at: datetime
    model: str | None
    covered_ms: int | None
    base_class: str
    base_expires_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One AI-processed call drawn for a reviewer (P19), with the verdict once checked."""

    recording_id: str
    reviewer_id: str
    drawn_at: datetime
    rate_ppm: int
    seed: int
    verdict: str | None
    checked_at: datetime | None


VERDICTS = frozenset({"ok", "flagged"})


def set_call_ai(
    catalog: Catalog,
    recording_id: str,
    *,
    notice: bool,
    optout_at_ms: int | None,
    language: str | None = None,
) -> None:
    """Record the AI notice, opt-out point and language of a call (joins a transaction)."""
    if optout_at_ms is not None and optout_at_ms < 0:
        raise ValueError("optout_at_ms must be >= 0")
    with sealing.guarded(catalog, "recordings", sealing.by_id([recording_id])):
        count = catalog.change(
            "recording the AI notice",
            "UPDATE recordings SET ai_notice = ?, ai_optout_at_ms = ?, ai_language = ?, "
            "ai_opted_out = CASE WHEN ? = 0 THEN 1 ELSE ai_opted_out END WHERE id = ?",
            (int(notice), optout_at_ms, language or None, optout_at_ms, recording_id),
        )
    if count == 0:
        raise NotFoundError("recording not found")


def set_optout(catalog: Catalog, recording_id: str, *, at_ms: int) -> None:
    """Record an opt-out point; ``0`` also sets the recording's ``ai_opted_out`` flag."""
    if at_ms < 0:
        raise ValueError("at_ms must be >= 0")
    with sealing.guarded(catalog, "recordings", sealing.by_id([recording_id])):
        count = catalog.change(
            "recording an AI opt-out",
            "UPDATE recordings SET ai_optout_at_ms = ?, "
            "ai_opted_out = CASE WHEN ? = 0 THEN 1 ELSE ai_opted_out END WHERE id = ?",
            (at_ms, at_ms, recording_id),
        )
    if count == 0:
        raise NotFoundError("recording not found")


def ai_flags(catalog: Catalog, recording_id: str) -> AiFlags:
    """The AI flags of a recording; :class:`NotFoundError` if there is none."""
    row = catalog.one(
        "reading AI flags",
        "SELECT ai_notice, ai_optout_at_ms, ai_opted_out, ai_language FROM recordings WHERE id = ?",
        (recording_id,),
    )
    if row is None:
        raise NotFoundError("recording not found")
    return AiFlags(
        notice=bool(row["ai_notice"]),
        optout_at_ms=row["ai_optout_at_ms"],
        opted_out=bool(row["ai_opted_out"]),
        language=row["ai_language"],
    )


def pending(catalog: Catalog) -> list[str]:
    """Available recordings AI may process and has not: told, not opted out, no run yet.

    Only rows whose integrity MAC holds (``storage.guard``): a notice set by editing the
    database never makes a call AI-eligible.
    """
    rows = catalog.rows(
        "listing calls waiting for AI",
        "SELECT r.id FROM recordings r LEFT JOIN ai_runs a ON a.recording_id = r.id "
        "WHERE r.state = 'available' AND r.ai_notice = 1 AND r.ai_opted_out = 0 "
        "AND r.restricted = 0 AND coalesce(r.ai_optout_at_ms, 1) > 0 AND a.recording_id IS NULL "
        "ORDER BY r.started_at, r.id",
    )
    ids = [str(row["id"]) for row in rows]
    intact = {key[0] for key in sealing.intact_keys(catalog, "recordings", sealing.by_id(ids))}
    return [i for i in ids if i in intact]


def _run(row: dict[str, Any]) -> AiRun:
    ran_at = decode_ts(row["ran_at"])
    if ran_at is None:
        raise SchemaError("catalog holds an AI run without a time")
    return AiRun(
        recording_id=row["recording_id"],
        state=row["state"],
        ran_at=ran_at,
        model=row["model"],
        covered_ms=row["covered_ms"],
        base_class=row["base_class"],
        base_expires_at=decode_ts(row["base_expires_at"]),
    )


def get_run(catalog: Catalog, recording_id: str) -> AiRun | None:
    """The AI run of a recording, if the pipeline handled it."""
    row = catalog.one(
        "reading an AI run", "SELECT * FROM ai_runs WHERE recording_id = ?", (recording_id,)
    )
    return None if row is None else _run(row)


def put_run(catalog: Catalog, run: AiRun) -> None:
    """Insert or replace the AI run of a recording (joins an open transaction)."""
    catalog.change(
        "recording an AI run",
        "INSERT INTO ai_runs (recording_id, state, ran_at, model, covered_ms, base_class, "
        "base_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (recording_id) DO UPDATE "
        "SET state = excluded.state, ran_at = excluded.ran_at, model = excluded.model, "
        "covered_ms = excluded.covered_ms",
        (
            run.recording_id,
            run.state,
            encode_ts(run.ran_at),
            run.model,
            run.covered_ms,
            run.base_class,
            encode_ts(run.base_expires_at),
        ),
    )


def delete_run(catalog: Catalog, recording_id: str) -> None:
    """Forget the AI run (the call becomes pending again, e.g. after a mid-call opt-out)."""
    catalog.change(
        "forgetting an AI run", "DELETE FROM ai_runs WHERE recording_id = ?", (recording_id,)
    )


def set_retention(
    catalog: Catalog, recording_id: str, *, retention_class: str, expires_at: datetime | None
) -> None:
    """Move a recording (and its live audio artefact) to another class and expiry."""
    with sealing.guarded(catalog, "recordings", sealing.by_id([recording_id])):
        count = catalog.change(
            "changing a retention class",
            "UPDATE recordings SET retention_class = ?, expires_at = ? WHERE id = ?",
            (retention_class, encode_ts(expires_at), recording_id),
        )
    if count == 0:
        raise NotFoundError("recording not found")
    audio = catalog.rows(
        "finding the live audio",
        "SELECT id FROM artefacts WHERE recording_id = ? AND kind = ? AND state != ?",
        (recording_id, ArtefactKind.AUDIO.value, State.DESTROYED.value),
    )
    with sealing.guarded(catalog, "artefacts", sealing.by_id(r["id"] for r in audio)):
        catalog.change(
            "changing an audio expiry",
            "UPDATE artefacts SET expires_at = ? WHERE recording_id = ? AND kind = ? "
            "AND state != ?",
            (encode_ts(expires_at), recording_id, ArtefactKind.AUDIO.value, State.DESTROYED.value),
        )


# -- the P19 review-sample queue -----------------------------------------------------------


def processed(catalog: Catalog) -> list[str]:
    """Recordings with AI output (run ``done``), oldest call first."""
    rows = catalog.rows(
        "listing AI-processed calls",
        "SELECT r.id FROM recordings r JOIN ai_runs a ON a.recording_id = r.id "
        "WHERE a.state = 'done' AND r.state = 'available' ORDER BY r.started_at, r.id",
    )
    return [str(row["id"]) for row in rows]


def sampled_ids(catalog: Catalog) -> set[str]:
    """Every recording ever drawn for an AI review (by anyone)."""
    rows = catalog.rows("listing AI samples", "SELECT DISTINCT recording_id FROM ai_samples")
    return {str(row["recording_id"]) for row in rows}


def add_sample(catalog: Catalog, sample: Sample) -> None:
    """Put a drawn call in a reviewer's queue (a second draw of the same pair is a no-op)."""
    with catalog.atomic("queueing an AI sample"):
        added = catalog.change(
            "queueing an AI sample",
            "INSERT OR IGNORE INTO ai_samples (recording_id, reviewer_id, drawn_at, rate_ppm, "
            "seed) VALUES (?, ?, ?, ?, ?)",
            (
                sample.recording_id,
                sample.reviewer_id,
                encode_ts(sample.drawn_at),
                sample.rate_ppm,
                sample.seed,
            ),
        )
        if added:
            sealing.seal(catalog, "ai_samples", [(sample.recording_id, sample.reviewer_id)])


def samples_for(catalog: Catalog, reviewer_id: str) -> list[Sample]:
    """A reviewer's queue, oldest draw first."""
    rows = catalog.rows(
        "reading AI samples",
        "SELECT * FROM ai_samples WHERE reviewer_id = ? ORDER BY drawn_at, recording_id",
        (reviewer_id,),
    )
    out = []
    for row in rows:
        drawn = decode_ts(row["drawn_at"])
        if drawn is None:
            raise SchemaError("catalog holds an AI sample without a time")
        out.append(
            Sample(
                recording_id=row["recording_id"],
                reviewer_id=row["reviewer_id"],
                drawn_at=drawn,
                rate_ppm=row["rate_ppm"],
                seed=row["seed"],
                verdict=row["verdict"],
                checked_at=decode_ts(row["checked_at"]),
            )
        )
    return out


def is_sampled(catalog: Catalog, reviewer_id: str, recording_id: str) -> bool:
    """True if the call was drawn for this reviewer (and the row's integrity MAC holds)."""
    return bool(sealing.intact_keys(catalog, "ai_samples", [(recording_id, reviewer_id)]))


def set_verdict(
    catalog: Catalog, reviewer_id: str, recording_id: str, *, verdict: str, at: datetime
) -> None:
    """Record a reviewer's verdict on a sampled call (``ok`` or ``flagged``)."""
    if verdict not in VERDICTS:
        raise ValueError("verdict must be ok or flagged")
    count = catalog.change(
        "recording an AI sample verdict",
        "UPDATE ai_samples SET verdict = ?, checked_at = ? WHERE reviewer_id = ? "
        "AND recording_id = ?",
        (verdict, encode_ts(at), reviewer_id, recording_id),
    )
    if count == 0:
        raise NotFoundError("call was not sampled to this reviewer")
