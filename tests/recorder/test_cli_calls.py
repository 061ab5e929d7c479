"""The capture commands as an operator uses them: ingest, spool run, calls list, play, demo."""

from __future__ import annotations

import json
import re
import shutil
import wave
from pathlib import Path

import pytest
from click.testing import CliRunner

from recorder.cli import cli
from tests.recorder.conftest import canary_pcm, run, write_wav

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def call_wav(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "call.wav", canary_pcm(8.0, seed=9))


def ingest(env: dict[str, str], wav: Path, *extra: str) -> str:
    result = run(
        env, "ingest", str(wav), "--caller", "+47 912 34 567", "--agent", "anna",
        "--started-at", "2026-11-17T10:00:00Z", "--answered-at", "2026-11-17T10:00:02Z",
        "--ended-at", "2026-11-17T10:00:07Z", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.stdout


def listed(env: dict[str, str], user: str) -> list[dict[str, object]]:
    result = run(env, "calls", "list", "--as", user, "--json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_ingest_list_play_and_deny(env: dict[str, str], call_wav: Path, tmp_path: Path) -> None:
    assert run(env, "init").exit_code == 0
    out = ingest(env, call_wav)
    assert "Stored recording" in out and "+4791234***" in out and "5.0 s" in out
    assert "Already stored" in ingest(env, call_wav)  # same file again: stored once

    (row,) = listed(env, "anna")
    assert row["caller"] == "+4791234***" and row["duration_ms"] == 5000
    assert listed(env, "siri") == [row]
    assert listed(env, "carla") == []

    target = tmp_path / "out.wav"
    played = run(env, "play", str(row["id"]), "--as", "anna", "--purpose", "quality",
                 "--start", "1", "--duration", "2s", "--out", str(target))  # fmt: skip
    assert played.exit_code == 0, played.output
    with wave.open(str(target)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getnframes()) == (8000, 1, 16_000)

    denied = run(env, "play", str(row["id"]), "--as", "carla", "--purpose", "quality",
                 "--out", str(tmp_path / "no.wav"))  # fmt: skip
    assert denied.exit_code == 3
    assert "access denied" in denied.output
    assert not (tmp_path / "no.wav").exists() and not (tmp_path / "no.wav.part").exists()

    to_stdout = run(env, "play", str(row["id"]), "--as", "siri", "--purpose", "dispute")
    assert to_stdout.exit_code == 0 and to_stdout.stdout_bytes[:4] == b"RIFF"

    verify = run(env, "audit", "verify", "--json")
    assert verify.exit_code == 0, verify.output
    assert json.loads(verify.stdout)["size"] >= 7


def test_ingest_bad_input_is_a_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, "init").exit_code == 0
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\xff\xff\xff\xffWAVEfmt ")
    bad = run(env, "ingest", str(junk), "--caller", "+4791234567", "--agent", "anna")
    assert bad.exit_code == 1
    assert "error:" in bad.output and "4791234567" not in bad.output
    unknown_user = run(env, "calls", "list", "--as", "mallory")
    assert unknown_user.exit_code == 2
    bad_time = run(env, "ingest", str(junk), "--agent", "anna", "--started-at", "noon")
    assert bad_time.exit_code == 1 and "--started-at" in bad_time.output


def test_spool_run_reports_and_exit_codes(env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, "init").exit_code == 0
    spool = tmp_path / "spool"
    spool.mkdir()
    for item in sorted((ROOT / "samples" / "spool").iterdir())[:4]:
        shutil.copyfile(item, spool / item.name)
    result = run(env, "spool", "run", str(spool))
    assert result.exit_code == 0, result.output
    assert "2 captured, 0 already stored, 0 rejected" in result.stdout
    assert list(spool.iterdir()) == []


def test_demo_runs_the_main_job_in_one_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("CALLREC_HOME", "CALLREC_KEYRING", "CALLREC_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    first = CliRunner().invoke(cli, ["demo"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "9 captured" in first.stdout  # the 8 sample calls + the AI demo call
    assert "Denied carla" in first.stdout
    ai_step = first.stdout.split("6. AI", 1)[1].split("7. Retention", 1)[0]
    assert "customer:" in ai_step and ("[card]" in ai_step or "[number]" in ai_step)
    spoken = [
        line for line in ai_step.splitlines() if line.lstrip().startswith(("agent:", "customer:"))
    ]
    assert spoken and not re.search(r"\d[\d ,.-]{6,}\d", "\n".join(spoken))  # no number shown
    assert "Audit chain verified" in first.stdout
    played = list((tmp_path / "demo-out").glob("*.wav"))
    assert len(played) == 1
    with wave.open(str(played[0])) as wav:
        assert wav.getnframes() > 8000 * 10
    again = CliRunner().invoke(cli, ["demo"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert "0 captured, 9 already stored" in again.stdout


def test_spool_watch_keeps_capturing_until_told_to_stop(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert run(env, "init").exit_code == 0
    spool = tmp_path / "spool"
    spool.mkdir()
    for item in sorted((ROOT / "samples" / "spool").iterdir())[:2]:
        shutil.copyfile(item, spool / item.name)
    result = run(env, "spool", "watch", str(spool), "--interval", "0", "--passes", "3")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("1 captured") == 1  # quiet passes that did nothing stay quiet
    assert list(spool.iterdir()) == []


def test_error_messages_quoting_user_input_are_printed_verbatim(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A path like '[/]x.toml' used to crash rich's markup parser (MarkupError traceback)."""
    odd = tmp_path / "[/]x.toml"
    result = run(env, "--config", str(odd), "calls", "list", "--as", "siri")
    assert result.exit_code == 2 and f"configuration file not found: {odd}" in result.stderr
