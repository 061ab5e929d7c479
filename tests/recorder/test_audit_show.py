"""`callrec audit show --recording ID`: the DPO's per-recording view of the audit chain."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from storage.keyring import FileKeyRing
from storage.vault import Vault
from tests.recorder.conftest import canary_pcm, run, write_wav

CALLER = "+47 912 34 567"
CALLER_DIGITS = "4791234567"


def ingest(env: dict[str, str], wav: Path, agent: str) -> None:
    result = run(
        env, "ingest", str(wav), "--caller", CALLER, "--agent", agent,
        "--started-at", "2026-11-17T10:00:00Z", "--answered-at", "2026-11-17T10:00:01Z",
        "--ended-at", "2026-11-17T10:00:06Z",
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def recording_of(env: dict[str, str], user: str) -> str:
    result = run(env, "calls", "list", "--as", user, "--json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    return str(row["id"])


def play(env: dict[str, str], rid: str, user: str, purpose: str, out: Path) -> int:
    result = run(env, "play", rid, "--as", user, "--purpose", purpose, "--out", str(out))
    return result.exit_code


def show(env: dict[str, str], rid: str, *extra: str) -> Result:
    return run(env, "audit", "show", "--recording", rid, *extra)


def show_json(env: dict[str, str], rid: str, *extra: str) -> list[dict[str, Any]]:
    result = show(env, rid, "--json", *extra)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


@pytest.fixture
def store(env: dict[str, str], tmp_path: Path) -> tuple[str, str]:
    """Two calls (anna's and carla's), anna's played by anna and siri, refused to carla."""
    assert run(env, "init").exit_code == 0
    ingest(env, write_wav(tmp_path / "a.wav", canary_pcm(6.0, seed=3)), "anna")
    ingest(env, write_wav(tmp_path / "c.wav", canary_pcm(6.0, seed=4)), "carla")
    anna, carla = recording_of(env, "anna"), recording_of(env, "carla")
    assert play(env, anna, "anna", "quality", tmp_path / "1.wav") == 0
    assert play(env, carla, "carla", "training", tmp_path / "2.wav") == 0
    assert play(env, anna, "siri", "dispute", tmp_path / "3.wav") == 0
    assert play(env, anna, "carla", "quality", tmp_path / "4.wav") == 3
    return anna, carla


def test_lists_exactly_that_recordings_entries_in_order(
    env: dict[str, str], store: tuple[str, str]
) -> None:
    anna, carla = store
    rows = show_json(env, anna)
    assert [(r["action"], r["actor"], r["role"], r["outcome"], r["purpose"]) for r in rows] == [
        ("recording.capture", "ingest:cli", "system", "ok", None),
        ("recording.play", "anna", "agent", "allowed", "quality"),
        ("recording.play", "siri", "supervisor", "allowed", "dispute"),
        ("recording.play", "carla", "agent", "denied", "quality"),
    ]
    assert rows[3]["reason"] == "not their own call"
    assert rows[1]["detail"] == {"start_ms": 0}
    seqs = [r["seq"] for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    # The oracle: the whole chain, filtered here rather than by the index.
    keyring = FileKeyRing.load(Path(env["CALLREC_KEYRING"]))
    vault = Vault.open(Path(env["CALLREC_HOME"]), keyring)
    try:
        chain = list(vault.audit.entries())
    finally:
        vault.close()
    assert seqs == [e.seq for e in chain if e.event.recording_id == anna]
    assert [e.event.ts.isoformat() for e in chain if e.event.recording_id == anna] == [
        r["ts"] for r in rows
    ]
    other = [r["seq"] for r in show_json(env, carla)]
    assert other and not set(other) & set(seqs)
    # Uppercase input is the same id.
    assert show_json(env, anna.upper()) == rows


def test_table_view_shows_the_columns_and_actors(
    env: dict[str, str], store: tuple[str, str]
) -> None:
    anna, _ = store
    result = show(env, anna)
    assert result.exit_code == 0, result.output
    for text in ("seq", "actor", "purpose", "recording.play", "siri", "dispute", "4 entries"):
        assert text in result.stdout


def test_withhold_actors_shows_roles_only(env: dict[str, str], store: tuple[str, str]) -> None:
    anna, _ = store
    rows = show_json(env, anna, "--withhold-actors")
    assert [r["actor"] for r in rows] == ["system", "agent", "supervisor", "agent"]
    assert [r["purpose"] for r in rows] == [None, "quality", "dispute", "quality"]
    assert all(r["ts"] for r in rows)
    for output in (json.dumps(rows), show(env, anna, "--withhold-actors").stdout):
        for user in ("anna", "siri", "carla", "ingest:cli"):
            assert user not in output
    assert "roles only" in show(env, anna, "--withhold-actors").stdout


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "x" * 32,
        "0" * 31,
        "0" * 33,
        "../../etc/passwd",
        "' OR 1=1 --",
        "\x1b[31m" + "0" * 32,
        "%",
        CALLER_DIGITS,
    ],
)
def test_hostile_id_is_a_usage_error(
    env: dict[str, str], store: tuple[str, str], hostile: str
) -> None:
    result = show(env, hostile)
    assert result.exit_code == 2
    assert "expected a recording id (32 hex characters)" in result.output
    assert CALLER_DIGITS not in result.output and "\x1b[31m" not in result.output


def test_unknown_id_is_empty_not_an_error(env: dict[str, str], store: tuple[str, str]) -> None:
    assert show_json(env, "0" * 32) == []
    result = show(env, "0" * 32)
    assert result.exit_code == 0 and "No audit entries" in result.stdout


def test_no_full_phone_number_in_any_view(env: dict[str, str], store: tuple[str, str]) -> None:
    anna, _ = store
    for extra in ((), ("--json",), ("--withhold-actors",), ("--json", "--withhold-actors")):
        result = show(env, anna, *extra)
        assert result.exit_code == 0
        assert CALLER_DIGITS not in re.sub(r"[\s\-().+]", "", result.output)
        assert CALLER not in result.output


def test_help_documents_both_views(env: dict[str, str]) -> None:
    result = run(env, "audit", "show", "--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--withhold-actors" in text and "C-579/21" in text and "DPO" in text
