"""`callrec qa` as supervisors and reviewers use it: sample, review (scripted and interactive),
report; exit codes 0 ok / 1 error / 3 denied; --help teaches."""

from __future__ import annotations

import csv
import io
import json
import wave
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from recorder.cli import cli
from tests.recorder.conftest import canary_pcm, run, write_wav

GOOD = ("--score", "greeting=4", "--score", "identification=5", "--score", "resolution=4",
        "--score", "compliance=5", "--score", "tone=3")  # fmt: skip


def ingest(env: dict[str, str], wav: Path, agent: str, minute: int) -> str:
    result = run(
        env, "ingest", str(wav), "--caller", "+47 912 34 567", "--agent", agent,
        "--started-at", f"2026-11-17T10:{minute:02d}:00Z", "--source-id", f"{agent}-{minute}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.stdout.split("recording ")[1].split()[0]


def as_json(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def store(qa_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    assert run(qa_env, "init").exit_code == 0
    wav = write_wav(tmp_path / "call.wav", canary_pcm(6.0, seed=3))
    return {
        "anna1": ingest(qa_env, wav, "anna", 0),
        "anna2": ingest(qa_env, wav, "anna", 5),
        "carla": ingest(qa_env, wav, "carla", 10),
    }


def test_sample_review_score_report(
    qa_env: dict[str, str], store: dict[str, str], tmp_path: Path
) -> None:
    env = qa_env
    drawn = as_json(run(env, "qa", "sample", "--as", "siri", "--reviewer", "quinn", "--rate",
                        "100%", "--team", "oslo-1", "--since", "2026-11-01", "--seed", "9",
                        "--json"))  # fmt: skip
    assert isinstance(drawn, dict) and drawn["seed"] == 9 and drawn["drawn"] == 2
    assert sorted(drawn["ids"]) == sorted([store["anna1"], store["anna2"]])
    replay = run(env, "qa", "replay", str(drawn["sample"]), "--as", "siri")
    assert replay.exit_code == 0 and "Reproduced" in replay.stdout

    rows = as_json(run(env, "qa", "assignments", "--as", "quinn", "--json"))
    assert isinstance(rows, list) and [r["id"] for r in rows] == drawn["ids"]
    assert all(r["caller"] == "+4791234***" for r in rows)
    table = run(env, "qa", "assignments", "--as", "quinn")
    assert "2 call(s) assigned to quinn, 0 scored" in table.stdout

    card = as_json(run(env, "qa", "review", "next", "--as", "quinn", "--json"))
    assert isinstance(card, dict) and card["id"] == drawn["ids"][0] and card["of"] == 2
    out = tmp_path / "range.wav"
    played = run(env, "qa", "review", "play", str(card["id"]), "--as", "quinn", "--start", "1",
                 "--duration", "2s", "--out", str(out))  # fmt: skip
    assert played.exit_code == 0, played.output
    with wave.open(str(out)) as w:
        assert w.getnframes() == 2 * w.getframerate()
    shown = run(env, "qa", "review", "transcript", str(card["id"]), "--as", "quinn")
    assert shown.exit_code == 0 and "No AI output for this call" in shown.stdout

    bad = run(env, "qa", "review", "score", str(card["id"]), "--as", "quinn", *GOOD[:-2],
              "--score", "tone=9")  # fmt: skip
    assert bad.exit_code == 1 and "tone: must be between 1 and 5" in bad.output
    ok = run(env, "qa", "review", "score", str(card["id"]), "--as", "quinn", *GOOD,
             "--comment", "ring +47 912 34 567 tilbake")  # fmt: skip
    assert ok.exit_code == 0, ok.output

    report = as_json(run(env, "qa", "report", "--team", "oslo-1", "--as", "siri", "--json"))
    assert isinstance(report, dict) and report["scorecards"] == 1
    assert {(r["agent"], r["criterion"], r["n"], r["mean"]) for r in report["rows"]} >= {
        ("anna", "greeting", 1, 4.0), ("anna", "tone", 1, 3.0),
    }  # fmt: skip
    target = tmp_path / "scores.csv"
    text = run(env, "qa", "report", "--team", "oslo-1", "--as", "siri", "--csv", str(target))
    assert text.exit_code == 0 and "anna" in text.stdout and "4.00 (n=1)" in text.stdout
    lines = list(csv.DictReader(io.StringIO(target.read_text())))
    assert len(lines) == 5 and lines[0]["agent"] == "anna"


def test_denials_and_errors_have_their_exit_codes(
    qa_env: dict[str, str], store: dict[str, str], tmp_path: Path
) -> None:
    env = qa_env
    sample = ("qa", "sample", "--reviewer", "quinn", "--rate", "100%", "--seed", "1")
    assert run(env, *sample, "--as", "anna").exit_code == 3  # agents do not draw
    assert run(env, *sample, "--as", "sven", "--team", "oslo-1").exit_code == 3
    assert run(env, "qa", "sample", "--as", "siri", "--reviewer", "quinn", "--rate", "0%")\
        .exit_code == 1  # fmt: skip
    assert run(env, *sample, "--as", "siri").exit_code == 0
    carla = store["carla"]  # not in siri's team, so not sampled to quinn
    denied = run(env, "qa", "review", "play", carla, "--as", "quinn", "--out",
                 str(tmp_path / "no.wav"))  # fmt: skip
    assert denied.exit_code == 3 and not (tmp_path / "no.wav").exists()
    assert run(env, "qa", "review", "summary", carla, "--as", "quinn").exit_code == 3
    assert run(env, "qa", "review", "score", carla, "--as", "quinn", *GOOD).exit_code == 3
    assert run(env, "qa", "report", "--team", "oslo-1", "--as", "sven").exit_code == 3
    assert run(env, "qa", "review", "next", "--as", "siri").exit_code == 3  # not a reviewer
    assert run(env, "qa", "review").exit_code == 2  # interactive needs --as


@pytest.mark.parametrize("offset", ["inf", "1e400", "nan"])
def test_play_offsets_that_are_not_finite_are_one_line_errors(
    qa_env: dict[str, str], tmp_path: Path, offset: str
) -> None:
    """'inf' parsed as a float and int() raised OverflowError: a traceback."""
    assert run(qa_env, "init").exit_code == 0
    out = tmp_path / "no.wav"
    for option in ("--start", "--duration"):
        result = run(qa_env, "qa", "review", "play", "0" * 32, "--as", "quinn",
                     option, offset, "--out", str(out))  # fmt: skip
        assert result.exit_code == 1 and f"error: {option}: expected seconds" in result.stderr
        assert not out.exists()


def test_interactive_review_loop(
    qa_env: dict[str, str], store: dict[str, str], tmp_path: Path
) -> None:
    env = qa_env
    assert run(env, "qa", "sample", "--as", "siri", "--reviewer", "quinn", "--rate", "100%",
               "--seed", "2").exit_code == 0  # fmt: skip
    part = tmp_path / "part.wav"
    typed = "\n".join(
        ["help", "transcript", "summary", "bogus", "+4791234567", f"play 0 1s --out {part}",
         "score", "4", "4", "4", "4", "4", "fin samtale",
         "quit"]
    )  # fmt: skip
    result = CliRunner().invoke(cli, ["qa", "review", "--as", "quinn"], input=typed + "\n",
                                env=env, catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert part.stat().st_size == 44 + 8000 * 2
    out = result.output
    assert "Call 1 of 2" in out and "Commands:" in out and "No AI output" in out
    assert "unknown command" in out and "Scorecard saved." in out and "Call 2 of 2" in out
    # a mistyped number is not echoed back in the error (it is only in the echoed input)
    errors = [ln for ln in out.splitlines() if "unknown command" in ln]
    assert len(errors) == 2 and not any("91234567" in ln or "bogus" in ln for ln in errors)
    assert "Paused. Resume with: callrec qa review --as quinn" in out
    # resume: the second call is still the one to review
    again = as_json(run(env, "qa", "review", "next", "--as", "quinn", "--json"))
    assert isinstance(again, dict) and again["number"] == 2


@pytest.mark.parametrize(
    "args",
    [("qa",), ("qa", "sample"), ("qa", "review"), ("qa", "report"), ("qa", "assignments")],
)
def test_help_teaches_with_examples(args: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0 and "callrec qa" in result.output
