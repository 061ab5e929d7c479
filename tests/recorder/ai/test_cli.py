"""``callrec ai|summary|transcript`` end to end: a spool pair with the AI notice, the
scripted engine behind ``ai run``, and every command's access check and exit code."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result

import recorder.cli.ai_cmds as ai_cmds
from tests.recorder.ai.checks import card_runs, phone_runs
from tests.recorder.ai.conftest import AI_ORG_CHART, ANSWER_AFTER, CALL_SECONDS, script
from tests.recorder.conftest import BEFORE_MOVE, canary_pcm, run, write_wav
from transcribe.engine import ScriptedEngine


@pytest.fixture
def ai_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    config = tmp_path / "callrec.toml"
    config.write_text(AI_ORG_CHART)
    monkeypatch.setattr(ai_cmds, "make_engine", lambda settings: ScriptedEngine(script))
    env = {
        "CALLREC_HOME": str(tmp_path / "data"),
        "CALLREC_KEYRING": str(tmp_path / "keys" / "keyring.json"),
        "CALLREC_CONFIG": str(config),
    }
    assert run(env, "init").exit_code == 0
    return env


def _spool(folder: Path, name: str, *, notice: bool = True, seed: int = 1) -> None:
    folder.mkdir(exist_ok=True)
    write_wav(folder / f"{name}.wav", canary_pcm(CALL_SECONDS, channels=2, seed=seed),
              channels=2)  # fmt: skip
    start = BEFORE_MOVE
    sidecar = {
        "v": 1,
        "source_id": name,
        "caller": "+47 912 34 567",
        "agent": "anna",
        "started_at": start.isoformat(),
        "answered_at": (start + timedelta(seconds=ANSWER_AFTER)).isoformat(),
        "ended_at": (start + timedelta(seconds=CALL_SECONDS)).isoformat(),
        "channels": ["agent", "customer"],
        "language": "en",
        "ai_notice": notice,
    }
    (folder / f"{name}.json").write_text(json.dumps(sidecar))


def _json(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_ai_path_from_the_command_line(ai_env: dict[str, str], tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    _spool(spool, "told", seed=1)
    _spool(spool, "untold", notice=False, seed=2)
    assert "2 captured" in run(ai_env, "spool", "run", str(spool)).stdout
    outcomes = _json(run(ai_env, "ai", "run", "--pending", "--json"))
    assert isinstance(outcomes, list) and len(outcomes) == 1 and outcomes[0]["done"]
    rid = outcomes[0]["id"]
    assert outcomes[0]["redacted_spans"] >= 2

    shown = run(ai_env, "transcript", "show", rid, "--as", "anna")
    assert shown.exit_code == 0 and "customer:" in shown.stdout and "[card]" in shown.stdout
    assert card_runs(shown.stdout) == [] and phone_runs(shown.stdout) == []
    assert run(ai_env, "transcript", "show", rid, "--as", "carla").exit_code == 3

    draft = _json(run(ai_env, "summary", "show", rid, "--as", "anna", "--json"))
    assert isinstance(draft, dict) and draft["status"] == "draft"
    assert run(ai_env, "summary", "approve", rid, "--as", "carla").exit_code == 3
    edited = run(ai_env, "summary", "edit", rid, "--as", "siri", "--text", "Card blocked.")
    assert edited.exit_code == 0, edited.output
    final = _json(run(ai_env, "summary", "show", rid, "--as", "anna", "--json"))
    assert isinstance(final, dict)
    assert (final["status"], final["reviewer"], final["text"]) == (
        "edited",
        "siri",
        "Card blocked.",
    )
    assert final["edit_diff"]

    queue = _json(run(ai_env, "ai", "review-sample", "--as", "qa1", "--rate", "100%", "--json"))
    assert queue == [{"id": rid, "drawn_at": queue[0]["drawn_at"], "verdict": None}]  # type: ignore[index]
    assert run(ai_env, "transcript", "show", rid, "--as", "qa1").exit_code == 0
    assert run(ai_env, "ai", "verdict", rid, "ok", "--as", "qa1").exit_code == 0
    assert run(ai_env, "ai", "review-sample", "--as", "anna").exit_code == 3

    assert run(ai_env, "ai", "optout", rid, "--as", "carla").exit_code == 3
    out = _json(run(ai_env, "ai", "optout", rid, "--as", "anna", "--json"))
    assert out == {"id": rid, "at_ms": 0, "shredded": 4, "pending_again": False,
                   "retention_class": "standard_6m"}  # fmt: skip
    gone = run(ai_env, "transcript", "show", rid, "--as", "anna")
    assert gone.exit_code == 1 and "no transcript" in gone.stderr
    assert run(ai_env, "audit", "verify").exit_code == 0


def test_mid_call_opt_out_from_the_command_line(ai_env: dict[str, str], tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    _spool(spool, "call")
    run(ai_env, "spool", "run", str(spool))
    (rid,) = [o["id"] for o in _json(run(ai_env, "ai", "run", "--pending", "--json"))]  # type: ignore[attr-defined]
    out = _json(run(ai_env, "ai", "optout", rid, "--at", "0:06", "--as", "siri", "--json"))
    assert isinstance(out, dict) and out["pending_again"] and out["at_ms"] == 6000
    (again,) = _json(run(ai_env, "ai", "run", rid, "--json"))  # type: ignore[misc]
    assert again["done"] and again["covered_ms"] == 6000


def test_usage_errors_and_help_that_teaches(ai_env: dict[str, str]) -> None:
    assert run(ai_env, "ai", "run").exit_code == 2
    assert run(ai_env, "summary", "edit", "x" * 32, "--as", "anna").exit_code == 2
    binary = Path(ai_env["CALLREC_CONFIG"]).with_name("not-text.txt")
    binary.write_bytes(b"RIFF\xff\xfe\x00WAVE")
    not_utf8 = run(ai_env, "summary", "edit", "x" * 32, "--as", "anna", "--file", str(binary))
    assert not_utf8.exit_code == 1 and "error: --file: expected UTF-8 text" in not_utf8.stderr
    for args in (("ai",), ("ai", "optout"), ("ai", "review-sample"), ("summary",),
                 ("summary", "edit"), ("summary", "show"), ("summary", "approve"),
                 ("transcript",), ("transcript", "show")):  # fmt: skip
        text = run(ai_env, *args, "--help").stdout
        assert "Example" in text and "callrec " in text, args
    assert run(ai_env, "ai", "review-sample", "--as", "qa1", "--rate", "lots").exit_code == 1
