"""P18: The customer is told when AI is used in their call.

The call record says whether the AI notice was given (sidecar ``"ai_notice": true``, kept in
the catalog and in the capture's audit entry), and AI never runs on a call whose record
does not say so: the refusal is audited, and the speech engine never hears the call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from recorder.ai import AiPipeline
from recorder.ai_config import AiSettings
from recorder.capture import Capturer
from recorder.config import Config
from recorder.ingest.sidecar import parse_sidecar
from storage import ai_store
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.recorder.ai.conftest import script
from tests.recorder.ai.real import AI_SAMPLES
from transcribe.engine import ScriptedEngine

Rng = Callable[[int], bytes]


def _capture(vault: Vault, org: Config, sidecar: dict[str, object], tmp: Path, *,
             now: datetime, rng: Rng) -> str:  # fmt: skip
    path = tmp / f"{sidecar['source_id']}.json"
    path.write_text(json.dumps(sidecar))
    event = parse_sidecar(path.read_bytes(), AI_SAMPLES / "ai-03.wav")
    return Capturer(vault, org).capture(event, now=now, rng=rng).recording_id


@pytest.mark.parametrize("notice", [True, False, None])
def test_ai_runs_only_when_the_record_says_the_customer_was_told(
    vault: Vault, org: Config, tmp_path: Path, now: datetime, rng: Rng, notice: bool | None
) -> None:
    sidecar = json.loads((AI_SAMPLES / "ai-03.json").read_text())
    if notice is None:
        del sidecar["ai_notice"]  # an older PBX integration that does not say
    else:
        sidecar["ai_notice"] = notice
    rid = _capture(vault, org, sidecar, tmp_path, now=now, rng=rng)
    told = notice is True
    assert ai_store.ai_flags(vault.catalog, rid).notice is told
    capture = vault.audit.for_recording(rid)[0].event
    assert capture.action == "recording.capture" and capture.detail["ai_notice"] is told

    engine = ScriptedEngine(script)
    outcome = AiPipeline(vault, AiSettings(), engine).process(rid, now=now, rng=rng)
    assert outcome.done is told
    assert (rid in ai_store.pending(vault.catalog)) is False
    kinds = {a.kind for a in vault.catalog.artefacts_for(rid) if a.state is State.AVAILABLE}
    if told:
        assert ArtefactKind.TRANSCRIPT in kinds and engine.calls
    else:
        assert kinds == {ArtefactKind.AUDIO} and engine.calls == []  # never heard
        last = vault.audit.for_recording(rid)[-1].event
        assert (last.action, last.outcome) == ("ai.skip", "ok")
        assert last.reason is not None and "notice" in last.reason
