"""P19: a reproducible sample of the calls with AI output, for a QA reviewer to check.

:func:`draw_sample` draws a share of the AI-processed calls that nobody has drawn yet (at
least one), with a seed so an auditor can repeat the draw, and assigns them to a QA
reviewer. :class:`SampleAssignments` feeds those assignments to ``recorder.access`` (scope
``assigned``), so the reviewer may read exactly those calls' transcripts and summaries.
:func:`record_verdict` keeps the reviewer's verdict (``ok`` / ``flagged``, no free text).
Every step is audited.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Final

from recorder.access import Assignments, Principal
from recorder.audit_events import record
from recorder.errors import AccessDenied, InvalidEvent
from storage import ai_store
from storage.ai_store import Sample
from storage.models import ArtefactKind
from storage.vault import Vault

SAMPLER_ROLES: Final = frozenset({"qa_reviewer"})


def _audit(
    vault: Vault,
    principal: Principal,
    *,
    now: datetime,
    action: str,
    recording_id: str | None,
    allowed_: bool,
    reason: str,
    detail: dict[str, int | str] | None = None,
) -> None:
    record(
        vault.audit,
        principal,
        action,
        now=now,
        outcome="allowed" if allowed_ else "denied",
        recording_id=recording_id,
        artefact=ArtefactKind.SUMMARY,
        purpose="quality",
        reason=reason,
        detail=detail,
    )


class SampleAssignments:
    """:class:`recorder.access.Assignments` from the AI review-sample queue (P19)."""

    def __init__(self, vault: Vault, also: Assignments | None = None) -> None:
        self._vault = vault
        self._also = also

    def is_assigned(self, reviewer_id: str, recording_id: str) -> bool:
        """True if the call was drawn for ``reviewer_id`` (here or in ``also``)."""
        if self._also is not None and self._also.is_assigned(reviewer_id, recording_id):
            return True
        return ai_store.is_sampled(self._vault.catalog, reviewer_id, recording_id)


def draw_sample(
    vault: Vault,
    principal: Principal,
    *,
    rate: float,
    seed: int,
    now: datetime,
) -> list[Sample]:
    """Draw ``rate`` of the AI-processed calls not drawn before (at least one if any) for
    ``principal`` (a QA reviewer), reproducibly from ``seed``; return their whole queue."""
    if not 0 < rate <= 1:
        raise InvalidEvent("rate: expected a share above 0 % and at most 100 %")
    if not principal.roles & SAMPLER_ROLES:
        _audit(vault, principal, now=now, action="ai.sample", recording_id=None,
               allowed_=False, reason="only a QA reviewer draws AI review samples")  # fmt: skip
        raise AccessDenied("only a QA reviewer draws AI review samples")
    catalog = vault.catalog
    seen = ai_store.sampled_ids(catalog)
    candidates = [rid for rid in ai_store.processed(catalog) if rid not in seen]
    count = max(1, round(rate * len(candidates))) if candidates else 0
    # Reproducible on purpose (an auditor re-draws with the same seed): not a secret.
    drawn = sorted(random.Random(seed).sample(candidates, count))  # noqa: S311
    rate_ppm = max(1, round(rate * 1_000_000))
    with catalog.transaction():
        for rid in drawn:
            ai_store.add_sample(
                catalog,
                Sample(recording_id=rid, reviewer_id=principal.user_id, drawn_at=now,
                       rate_ppm=rate_ppm, seed=seed, verdict=None, checked_at=None),
            )  # fmt: skip
        _audit(vault, principal, now=now, action="ai.sample", recording_id=None,
               allowed_=True, reason="review sample drawn",
               detail={"drawn": len(drawn), "candidates": len(candidates),
                       "rate_ppm": rate_ppm, "seed": seed})  # fmt: skip
    return ai_store.samples_for(catalog, principal.user_id)


def record_verdict(
    vault: Vault, principal: Principal, recording_id: str, *, verdict: str, now: datetime
) -> None:
    """A reviewer's verdict on a sampled call: ``ok`` or ``flagged`` (no free text)."""
    if verdict not in ai_store.VERDICTS:
        raise InvalidEvent("verdict: expected ok or flagged")
    if not ai_store.is_sampled(vault.catalog, principal.user_id, recording_id):
        raise AccessDenied("call not sampled to them")
    with vault.catalog.transaction():
        ai_store.set_verdict(vault.catalog, principal.user_id, recording_id, verdict=verdict,
                             at=now)  # fmt: skip
        _audit(vault, principal, now=now, action="ai.sample.verdict",
               recording_id=recording_id, allowed_=True, reason=verdict)  # fmt: skip
