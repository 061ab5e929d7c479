"""P14: With AI, the call is transcribed and AI drafts a summary; an advisor reviews every
draft before it counts.

The seven AI sample calls (``samples/ai``, espeak-ng) go through the real path: faster-whisper
``tiny.en``, redaction, topics, the extractive summariser, sealing. Then the command line
is used the way an advisor would: ``callrec summary show|approve|edit``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result

from recorder.ai_review import reviewed_summary
from recorder.cli import cli
from storage import reviews
from storage.models import ArtefactKind
from tests.recorder.ai.real import NAMES, AiSampleStore, ai_sample_store, cli_args, read_artefact


@pytest.fixture(scope="module")
def ai_samples(tmp_path_factory: pytest.TempPathFactory) -> AiSampleStore:
    return ai_sample_store(tmp_path_factory.mktemp)


def callrec(store: AiSampleStore, *args: str) -> Result:
    return CliRunner().invoke(cli, [*cli_args(store), *args], catch_exceptions=False)


def test_every_ai_call_is_transcribed_and_gets_a_draft_summary(ai_samples: AiSampleStore) -> None:
    for name in NAMES:
        transcript = json.loads(read_artefact(ai_samples, name, ArtefactKind.TRANSCRIPT))
        assert any(seg["words"] for seg in transcript["segments"]), name
        envelope = json.loads(read_artefact(ai_samples, name, ArtefactKind.SUMMARY))
        assert envelope["summary"]["draft"] is True and envelope["summary"]["text"], name


def test_a_draft_does_not_count_until_the_advisor_approves_it(ai_samples: AiSampleStore) -> None:
    rid = ai_samples.ids["ai-01"]  # anna's call
    assert reviewed_summary(ai_samples.vault, rid) is None  # nothing to export yet
    shown = callrec(ai_samples, "summary", "show", rid, "--as", "anna")
    assert shown.exit_code == 0 and "DRAFT" in shown.stdout
    assert callrec(ai_samples, "summary", "approve", rid, "--as", "carla").exit_code == 3
    assert reviewed_summary(ai_samples.vault, rid) is None
    approved = callrec(ai_samples, "summary", "approve", rid, "--as", "anna", "--json")
    assert approved.exit_code == 0, approved.output
    data: dict[str, Any] = json.loads(approved.stdout)
    assert (data["status"], data["reviewer"]) == ("approved", "anna")
    counted = reviewed_summary(ai_samples.vault, rid)
    assert counted is not None and counted.reviewer_id == "anna"
    actions = [(e.event.actor_id, e.event.action, e.event.outcome)
               for e in ai_samples.vault.audit.for_recording(rid)]  # fmt: skip
    assert ("carla", "summary.approve", "denied") in actions
    assert ("anna", "summary.approve", "allowed") in actions


def test_an_edit_keeps_the_reviewer_the_time_and_the_diff(ai_samples: AiSampleStore) -> None:
    rid = ai_samples.ids["ai-03"]  # bjorn's call on 20 Nov: sven's team at call time
    text = "Customer asked about a mortgage and the interest rate; loan application explained."
    edited = callrec(ai_samples, "summary", "edit", rid, "--as", "sven", "--text", text)
    assert edited.exit_code == 0, edited.output
    shown = json.loads(callrec(ai_samples, "summary", "show", rid, "--as", "sven", "--json").stdout)
    assert (shown["status"], shown["reviewer"], shown["text"]) == ("edited", "sven", text)
    assert any(line.startswith("+Customer asked") for line in shown["edit_diff"])
    (review,) = reviews.reviews_for(ai_samples.vault.catalog, rid)
    assert review.decision == "edited" and review.lines_added == 1
    counted = reviewed_summary(ai_samples.vault, rid)
    assert counted is not None and counted.text == text and counted.decision == "edited"
