"""P17: The customer can ask the advisor to stop the AI during the call.

Two ways in, both on the real path (real store, real faster-whisper on the espeak-ng call):

- the PBX integration records the moment in the sidecar (``ai_optout_at_ms``): sample
  ``ai-05`` asks to stop 9.2 s after the answer, and talks about investments only after it;
- the advisor records it afterwards: ``callrec ai optout ID --at 0:05 --as anna``. AI
  output already made from the whole call is shredded (no AI artefact readable), the call
  returns to its non-AI retention class, and the next run covers only the first 5 s.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from recorder.ai import AI_KINDS, AiPipeline
from recorder.ai_config import AiSettings
from recorder.capture import Capturer
from recorder.cli import cli
from recorder.config import Config
from recorder.ingest.sidecar import parse_sidecar
from storage.errors import GoneError
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.recorder.ai.real import (
    AI_SAMPLES,
    EXPECTED,
    SAMPLE_CONFIG,
    AiSampleStore,
    ai_sample_store,
    read_artefact,
)
from transcribe.engine import WhisperEngine


@pytest.fixture(scope="module")
def ai_samples(tmp_path_factory: pytest.TempPathFactory) -> AiSampleStore:
    return ai_sample_store(tmp_path_factory.mktemp)


def test_nothing_after_the_opt_out_point_is_transcribed(ai_samples: AiSampleStore) -> None:
    point = EXPECTED["ai-05"]["optout_at_ms"]
    assert point is not None and ai_samples.outcomes["ai-05"].covered_ms == point
    transcript = json.loads(read_artefact(ai_samples, "ai-05", ArtefactKind.TRANSCRIPT))
    ends = [w["end"] for seg in transcript["segments"] for w in seg["words"]]
    assert ends and max(ends) <= point / 1000
    categories = json.loads(read_artefact(ai_samples, "ai-05", ArtefactKind.CATEGORIES))
    assert [c["topic"] for c in categories] == ["complaint"]  # not the investment talk after


def test_stopping_after_the_call_shreds_ai_output_and_covers_only_the_start(
    vault: Vault, org: Config, home: Path, keyring_path: Path, now: datetime,
    rng: Callable[[int], bytes],
) -> None:  # fmt: skip
    event = parse_sidecar((AI_SAMPLES / "ai-03.json").read_bytes(), AI_SAMPLES / "ai-03.wav")
    rid = Capturer(vault, org).capture(event, now=now, rng=rng).recording_id
    pipeline = AiPipeline(vault, AiSettings(), WhisperEngine(cpu_threads=2))
    assert pipeline.process(rid, now=now, rng=rng).done
    made = [a.id for a in vault.catalog.artefacts_for(rid) if a.kind in AI_KINDS]
    assert len(made) == 4 and vault.catalog.get_recording(rid).retention_class == "ai_30d"

    base = ["--home", str(home), "--keyring", str(keyring_path), "--config", str(SAMPLE_CONFIG)]
    result = CliRunner().invoke(
        cli, [*base, "ai", "optout", rid, "--at", "0:05", "--as", "bjorn", "--json"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["shredded"] == 4
    for artefact_id in made:  # no AI artefact readable any more
        assert vault.catalog.get_artefact(artefact_id).state is State.DESTROYED
        with pytest.raises(GoneError):
            with vault.open_artefact(artefact_id):
                pass
    assert vault.catalog.get_recording(rid).retention_class == "standard_6m"
    actions = [e.event.action for e in vault.audit.for_recording(rid)]
    assert "ai.optout" in actions and actions.count("artefact.shred") == 4

    again = pipeline.process(rid, now=now, rng=rng)
    assert again.done and again.covered_ms == 5000
    transcript = json.loads(_live(vault, rid, ArtefactKind.TRANSCRIPT))
    assert max(w["end"] for s in transcript["segments"] for w in s["words"]) <= 5.0


def _live(vault: Vault, rid: str, kind: ArtefactKind) -> bytes:
    artefact = vault.catalog.artefact_by_kind(rid, kind)
    assert artefact is not None and artefact.state is State.AVAILABLE
    with vault.open_artefact(artefact.id) as reader:
        return reader.read_all()
