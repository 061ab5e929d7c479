"""P14 on the real store: a draft summary is not a record until a person reviews it, and
who may read or review AI output is decided by ``recorder.access`` and audited."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from recorder.access import principal_for
from recorder.ai import AiPipeline
from recorder.ai_review import (
    approve_summary,
    edit_summary,
    reviewed_summary,
    show_summary,
    show_transcript,
)
from recorder.ai_sampling import draw_sample, record_verdict
from recorder.config import Config
from recorder.errors import AccessDenied, InvalidEvent
from storage import ai_store, reviews
from storage.errors import GoneError
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.recorder.ai.checks import card_runs, phone_runs
from tests.recorder.ai.conftest import CaptureAi

Rng = Callable[[int], bytes]
LANGS = ("en", "no", "sv", "da", "fi")


@pytest.fixture
def processed(pipeline: AiPipeline, capture_ai: CaptureAi, now: datetime, rng: Rng) -> str:
    """anna's call (oslo-1, led by siri), through the AI path."""
    rid = capture_ai(agent="anna")
    assert pipeline.process(rid, now=now, rng=rng).done
    return rid


def _last(vault: Vault, rid: str) -> tuple[str, str, str]:
    event = vault.audit.for_recording(rid)[-1].event
    return event.actor_id, event.action, event.outcome


def test_a_draft_is_not_a_record_until_approved(
    vault: Vault, config: Config, processed: str, now: datetime
) -> None:
    anna = principal_for(config, "anna")
    view = show_summary(vault, config, anna, processed, now=now)
    assert view.draft and view.review is None and view.summary.text
    assert reviewed_summary(vault, processed) is None  # nothing exportable yet
    assert _last(vault, processed) == ("anna", "summary.view", "allowed")
    later = now + timedelta(minutes=5)
    approved = approve_summary(vault, config, anna, processed, now=later)
    assert not approved.draft and approved.review is not None
    assert (approved.review.reviewer_id, approved.review.reviewed_at) == ("anna", later)
    exported = reviewed_summary(vault, processed)
    assert exported is not None and exported.decision == "approved"
    assert exported.text == view.summary.text and exported.reviewer_id == "anna"
    with pytest.raises(InvalidEvent):
        approve_summary(vault, config, anna, processed, now=later)


def test_others_are_refused_and_the_refusal_is_audited(
    vault: Vault, config: Config, processed: str, now: datetime
) -> None:
    for user in ("carla", "admin1", "qa1", "sven"):
        who = principal_for(config, user)
        with pytest.raises(AccessDenied):
            show_summary(vault, config, who, processed, now=now)
        assert _last(vault, processed) == (user, "summary.view", "denied")
        with pytest.raises(AccessDenied):
            show_transcript(vault, config, who, processed, now=now)
        assert _last(vault, processed) == (user, "transcript.view", "denied")
        with pytest.raises(AccessDenied):
            approve_summary(vault, config, who, processed, now=now)
    assert reviewed_summary(vault, processed) is None
    dpo = principal_for(config, "dpo1")
    with pytest.raises(AccessDenied):  # the DPO needs the dsar purpose ...
        show_transcript(vault, config, dpo, processed, now=now)
    show_transcript(vault, config, dpo, processed, now=now, purpose="dsar")  # ... and has it
    with pytest.raises(AccessDenied):  # ... but never approves summaries
        approve_summary(vault, config, dpo, processed, now=now, purpose="dsar")


def test_an_edit_keeps_the_diff_reviewer_and_time_and_redacts_typed_numbers(
    vault: Vault, config: Config, processed: str, now: datetime, rng: Rng
) -> None:
    siri = principal_for(config, "siri")  # led anna's team at call time
    draft = show_summary(vault, config, siri, processed, now=now)
    draft_id = vault.catalog.artefact_by_kind(processed, ArtefactKind.SUMMARY)
    assert draft_id is not None
    text = "Card blocked after wrong PINs.\nCustomer read 4111 1111 1111 1111 again."
    view = edit_summary(vault, config, siri, processed, text, now=now, rng=rng, languages=LANGS)
    assert not view.draft and view.review is not None
    assert view.review.decision == "edited" and view.review.reviewer_id == "siri"
    assert view.summary.text.startswith("Card blocked after wrong PINs.")
    assert card_runs(view.summary.text) == [] and phone_runs(view.summary.text) == []
    assert any(line.startswith("-") for line in view.edit_diff)
    assert any(line.startswith("+Card blocked") for line in view.edit_diff)
    assert draft.summary.text.splitlines()[0] in "\n".join(view.edit_diff)
    (row,) = reviews.reviews_for(vault.catalog, processed)
    assert (row.lines_added, row.reviewer_role) == (2, "supervisor") and row.lines_removed >= 1
    assert vault.catalog.get_artefact(draft_id.id).state is State.DESTROYED
    with pytest.raises(GoneError):
        with vault.open_artefact(draft_id.id):
            pass
    exported = reviewed_summary(vault, processed)
    assert exported is not None and exported.text == view.summary.text
    # The review row holds counts and hashes only: no text in any column.
    assert "blocked" not in json.dumps(row.__repr__())
    with pytest.raises(InvalidEvent):
        edit_summary(vault, config, siri, processed, "x", now=now, rng=rng, languages=LANGS)


def test_transcript_show_returns_the_redacted_transcript(
    vault: Vault, config: Config, processed: str, now: datetime
) -> None:
    transcript = show_transcript(vault, config, principal_for(config, "anna"), processed, now=now)
    assert "Nordbank" in transcript.text
    assert card_runs(transcript.text) == [] and phone_runs(transcript.text) == []
    assert _last(vault, processed) == ("anna", "transcript.view", "allowed")


def test_review_sample_assigns_calls_to_a_qa_reviewer_reproducibly(
    vault: Vault, config: Config, pipeline: AiPipeline, capture_ai: CaptureAi, now: datetime,
    rng: Rng,
) -> None:  # fmt: skip
    ids = [capture_ai() for _ in range(4)]
    for rid in ids:
        pipeline.process(rid, now=now, rng=rng)
    qa1, qa2 = principal_for(config, "qa1"), principal_for(config, "qa2")
    with pytest.raises(AccessDenied):
        draw_sample(vault, principal_for(config, "siri"), rate=0.5, seed=7, now=now)
    queue = draw_sample(vault, qa1, rate=0.5, seed=7, now=now)
    drawn = [s.recording_id for s in queue]
    assert len(drawn) == 2 and set(drawn) <= set(ids)
    # Same seed on the same candidates: the same draw (an auditor can repeat it).
    assert sorted(random.Random(7).sample(sorted(ids), 2)) == drawn  # noqa: S311
    rest = [s.recording_id for s in draw_sample(vault, qa2, rate=1.0, seed=7, now=now)]
    assert set(rest) == set(ids) - set(drawn)  # never drawn twice
    sampled, other = drawn[0], rest[0]
    show_transcript(vault, config, qa1, sampled, now=now)
    show_summary(vault, config, qa1, sampled, now=now)
    with pytest.raises(AccessDenied):
        show_transcript(vault, config, qa1, other, now=now)
    record_verdict(vault, qa1, sampled, verdict="flagged", now=now)
    with pytest.raises(AccessDenied):
        record_verdict(vault, qa1, other, verdict="ok", now=now)
    verdicts = {s.recording_id: s.verdict for s in ai_store.samples_for(vault.catalog, "qa1")}
    assert verdicts[sampled] == "flagged"
