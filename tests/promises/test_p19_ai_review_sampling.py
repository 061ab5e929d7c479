"""P19: Samples of recordings, transcripts and summaries are reviewed to check the AI gives
no discriminatory or unexpected output.

``callrec ai review-sample`` draws a reproducible share of the calls with AI output for a
QA reviewer, who can then read exactly those calls' transcripts and summaries (and no
others) and record a verdict; every step is in the audit log.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from recorder.cli import cli
from storage import ai_store
from tests.recorder.ai.real import NAMES, AiSampleStore, ai_sample_store, cli_args


@pytest.fixture(scope="module")
def ai_samples(tmp_path_factory: pytest.TempPathFactory) -> AiSampleStore:
    return ai_sample_store(tmp_path_factory.mktemp)


def callrec(store: AiSampleStore, *args: str) -> Result:
    return CliRunner().invoke(cli, [*cli_args(store), *args], catch_exceptions=False)


def test_a_qa_reviewer_checks_a_sample_of_ai_output(ai_samples: AiSampleStore) -> None:
    assert callrec(ai_samples, "ai", "review-sample", "--as", "anna").exit_code == 3
    drawn = callrec(ai_samples, "ai", "review-sample", "--as", "qa1", "--rate", "40%",
                    "--seed", "2026", "--json")  # fmt: skip
    assert drawn.exit_code == 0, drawn.output
    queue = [row["id"] for row in json.loads(drawn.stdout)]
    assert len(queue) == 3 and set(queue) <= set(ai_samples.ids.values())  # 40 % of 7
    others = [rid for rid in ai_samples.ids.values() if rid not in queue]
    sampled = queue[0]
    for command in ("transcript", "summary"):
        assert callrec(ai_samples, command, "show", sampled, "--as", "qa1").exit_code == 0
        assert callrec(ai_samples, command, "show", others[0], "--as", "qa1").exit_code == 3
    assert callrec(ai_samples, "ai", "verdict", sampled, "flagged", "--as", "qa1").exit_code == 0
    verdicts = {
        s.recording_id: s.verdict for s in ai_store.samples_for(ai_samples.vault.catalog, "qa1")
    }
    assert verdicts[sampled] == "flagged"
    audit = [(e.event.actor_id, e.event.action, e.event.outcome)
             for e in ai_samples.vault.audit.for_recording(sampled)]  # fmt: skip
    assert ("qa1", "transcript.view", "allowed") in audit
    assert ("qa1", "ai.sample.verdict", "allowed") in audit
    # The rest of the calls are drawn next time, never the same call twice.
    rest = callrec(ai_samples, "ai", "review-sample", "--as", "qa1", "--rate", "100%", "--json")
    assert {row["id"] for row in json.loads(rest.stdout)} == set(ai_samples.ids.values())
    assert len(NAMES) == 7
