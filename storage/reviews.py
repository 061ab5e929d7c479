"""Summary review records: who turned an AI draft into a record, when, and how.

One job: the ``summary_reviews`` rows (through :class:`~storage.catalog.Catalog`). A draft
summary is not a record until a person approves or edits it (P14). A row names the draft
artefact, the artefact that holds the reviewed text (the same one for ``approved``; a new
sealed artefact for ``edited``, which also carries the edit diff, encrypted), the reviewer,
their role, the time, the line counts of the edit and the SHA-256 of the reviewed plaintext.
No text is ever stored in a column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.catalog import Catalog
from storage.catalog_schema import decode_ts, encode_ts
from storage.errors import SchemaError

DECISIONS = frozenset({"approved", "edited"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Review:
    """One review of one draft summary."""

    recording_id: str
    draft_artefact_id: str
    final_artefact_id: str
    decision: str
    reviewer_id: str
    reviewer_role: str
    reviewed_at: datetime
    lines_added: int
    lines_removed: int
    final_sha256: str

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise ValueError("decision must be approved or edited")


def add_review(catalog: Catalog, review: Review) -> None:
    """Insert a review row (joins an open transaction)."""
    catalog.change(
        "recording a summary review",
        "INSERT INTO summary_reviews (recording_id, draft_artefact_id, final_artefact_id, "
        "decision, reviewer_id, reviewer_role, reviewed_at, lines_added, lines_removed, "
        "final_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            review.recording_id,
            review.draft_artefact_id,
            review.final_artefact_id,
            review.decision,
            review.reviewer_id,
            review.reviewer_role,
            encode_ts(review.reviewed_at),
            review.lines_added,
            review.lines_removed,
            review.final_sha256,
        ),
    )


def _review(row: dict[str, Any]) -> Review:
    at = decode_ts(row["reviewed_at"])
    if at is None:
        raise SchemaError("catalog holds a summary review without a time")
    return Review(
        recording_id=row["recording_id"],
        draft_artefact_id=row["draft_artefact_id"],
        final_artefact_id=row["final_artefact_id"],
        decision=row["decision"],
        reviewer_id=row["reviewer_id"],
        reviewer_role=row["reviewer_role"],
        reviewed_at=at,
        lines_added=row["lines_added"],
        lines_removed=row["lines_removed"],
        final_sha256=row["final_sha256"],
    )


def reviews_for(catalog: Catalog, recording_id: str) -> list[Review]:
    """Every review of a recording's summaries, oldest first."""
    rows = catalog.rows(
        "reading summary reviews",
        "SELECT * FROM summary_reviews WHERE recording_id = ? ORDER BY id",
        (recording_id,),
    )
    return [_review(row) for row in rows]


def review_of(catalog: Catalog, final_artefact_id: str) -> Review | None:
    """The latest review that made ``final_artefact_id`` the reviewed summary, if any."""
    row = catalog.one(
        "reading a summary review",
        "SELECT * FROM summary_reviews WHERE final_artefact_id = ? ORDER BY id DESC LIMIT 1",
        (final_artefact_id,),
    )
    return None if row is None else _review(row)
