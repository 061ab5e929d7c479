"""``callrec retention classes|sweep`` and ``callrec hold place|release|list`` end to end.

Calls are captured through the real ``ingest`` command (real audio, masking, sealing),
dated in the past so that they are due against the CLI's wall clock.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recorder.masking import digest_for_lookup
from storage import holds as hold_store
from storage.keyring import FileKeyRing
from storage.vault import Vault
from tests.invariants import check_invariants
from tests.recorder.conftest import ORG_CHART, canary_pcm, run, write_wav

NUMBER = "+47 912 34 567"
EXTRA = """
[[users]]
id = "lena"
roles = ["legal"]
[[users]]
id = "dora"
roles = ["dpo"]

[retention.classes.complaint_2y]
months = 24
applies_to = ["call", "chat"]
"""


@pytest.fixture
def cli_env(env: dict[str, str]) -> dict[str, str]:
    Path(env["CALLREC_CONFIG"]).write_text(ORG_CHART + EXTRA)
    assert run(env, "init").exit_code == 0
    return env


def _ingest(env: dict[str, str], tmp_path: Path, n: int, *, days_ago: float, cls: str,
            agent: str = "anna", caller: str = NUMBER) -> str:  # fmt: skip
    pcm = canary_pcm(2.0, seed=100 + n)
    wav = write_wav(tmp_path / f"c{n}.wav", pcm)
    start = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
    result = run(env, "ingest", str(wav), "--caller", caller, "--agent", agent,
                 "--started-at", start, "--class", cls)  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output.split("recording ")[1].split()[0]


def _state(env: dict[str, str], rid: str) -> str:
    vault = Vault.open(Path(env["CALLREC_HOME"]), FileKeyRing.load(Path(env["CALLREC_KEYRING"])))
    try:
        return str(vault.catalog.get_recording(rid).state)
    finally:
        vault.close()


def test_classes_table_and_json(cli_env: dict[str, str]) -> None:
    table = run(cli_env, "retention", "classes")
    assert table.exit_code == 0
    for name in ("buffer_24h", "regulated_5y", "chat_complaint_42m", "complaint_2y"):
        assert name in table.output
    assert "min (keep at least)" in table.output
    rows = json.loads(run(cli_env, "retention", "classes", "--json").output)
    by_name = {r["name"]: r for r in rows}
    assert by_name["complaint_2y"]["months"] == 24
    assert by_name["ai_30d"]["days"] == 30


def test_bad_class_config_is_a_usage_error(cli_env: dict[str, str]) -> None:
    Path(cli_env["CALLREC_CONFIG"]).write_text(
        ORG_CHART + "\n[retention.classes.bad]\nmonths = -3\n"
    )
    result = run(cli_env, "retention", "classes")
    assert result.exit_code == 2
    assert "retention.classes.bad.months" in result.output


def test_sweep_dry_run_then_real_then_again(cli_env: dict[str, str], tmp_path: Path) -> None:
    due = _ingest(cli_env, tmp_path, 1, days_ago=2, cls="buffer_24h")
    kept = _ingest(cli_env, tmp_path, 2, days_ago=2, cls="standard_6m")
    dry = json.loads(run(cli_env, "retention", "sweep", "--dry-run", "--json").output)
    assert dry["dry_run"] and dry["recordings_destroyed"] == 1
    assert _state(cli_env, due) == "available"
    real = run(cli_env, "retention", "sweep")
    assert real.exit_code == 0, real.output
    assert "destroyed 1 recording(s)" in real.output
    assert _state(cli_env, due) == "destroyed" and _state(cli_env, kept) == "available"
    again = json.loads(run(cli_env, "retention", "sweep", "--json").output)
    assert again["recordings_destroyed"] == 0
    play = run(cli_env, "play", due, "--as", "anna", "--purpose", "quality",
               "--out", str(tmp_path / "x.wav"))  # fmt: skip
    assert play.exit_code == 3 and "no such recording" in play.output
    listed = run(cli_env, "calls", "list", "--as", "anna", "--json")
    assert listed.exit_code == 0
    assert due not in listed.output and kept in listed.output  # gone from the list too
    home = Path(cli_env["CALLREC_HOME"])
    check_invariants(home, Path(cli_env["CALLREC_KEYRING"]), canaries=[], numbers=[NUMBER])


def test_hold_by_number_keeps_then_release_requeues(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    rid = _ingest(cli_env, tmp_path, 3, days_ago=3, cls="buffer_24h")
    placed = run(cli_env, "hold", "place", "--number", "0047 91234567", "--reason",
                 "complaint board case", "--as", "lena", "--json")  # fmt: skip
    assert placed.exit_code == 0, placed.output
    assert json.loads(placed.output)["recordings"] == 1
    assert "912" not in placed.output  # neither the number nor its digits are echoed
    swept = json.loads(run(cli_env, "retention", "sweep", "--json").output)
    assert swept["blocked"] == {"legal hold": 1}
    assert _state(cli_env, rid) == "available"
    listed = run(cli_env, "hold", "list", "--as", "lena")
    assert "complaint board case" in listed.output and "91234567" not in listed.output
    released = run(cli_env, "hold", "release", "--number", NUMBER, "--reason", "closed",
                   "--as", "lena")  # fmt: skip
    assert released.exit_code == 0 and "1 recording(s)" in released.output
    run(cli_env, "retention", "sweep")
    assert _state(cli_env, rid) == "destroyed"
    home = Path(cli_env["CALLREC_HOME"])
    vault = Vault.open(home, FileKeyRing.load(Path(cli_env["CALLREC_KEYRING"])))
    try:
        actions = [e.event.action for e in vault.audit.entries()]
        assert "hold.place" in actions and "hold.release" in actions
        keyring = vault.keyring
        digest = digest_for_lookup(NUMBER, pepper=keyring.pepper(1), pepper_version=1)
        assert digest is not None
        history = hold_store.history(vault.catalog, target="caller", value=digest.digest)
        assert [h.released_by for h in history] == ["lena"]
    finally:
        vault.close()
    check_invariants(home, Path(cli_env["CALLREC_KEYRING"]), canaries=[], numbers=[NUMBER])


def test_hold_by_agent_and_recording(cli_env: dict[str, str], tmp_path: Path) -> None:
    rid = _ingest(cli_env, tmp_path, 4, days_ago=3, cls="buffer_24h", agent="carla")
    assert run(cli_env, "hold", "place", "--agent", "carla", "--reason", "audit",
               "--as", "dora").exit_code == 0  # fmt: skip
    assert run(cli_env, "hold", "place", "--recording", rid, "--reason", "case",
               "--as", "lena").exit_code == 0  # fmt: skip
    run(cli_env, "hold", "release", "--agent", "carla", "--reason", "done", "--as", "dora")
    run(cli_env, "retention", "sweep")
    assert _state(cli_env, rid) == "available"  # the recording hold still keeps it
    run(cli_env, "hold", "release", "--recording", rid, "--reason", "done", "--as", "lena")
    run(cli_env, "retention", "sweep")
    assert _state(cli_env, rid) == "destroyed"


@pytest.mark.parametrize("user", ["anna", "siri", "admin1"])
def test_only_legal_and_dpo_may_hold(cli_env: dict[str, str], tmp_path: Path, user: str) -> None:
    rid = _ingest(cli_env, tmp_path, 5, days_ago=3, cls="buffer_24h")
    result = run(cli_env, "hold", "place", "--recording", rid, "--reason", "x", "--as", user)
    assert result.exit_code == 3
    assert run(cli_env, "hold", "list", "--as", user).exit_code == 3
    run(cli_env, "retention", "sweep")
    assert _state(cli_env, rid) == "destroyed"


@pytest.mark.parametrize(
    "args",
    [
        ["--reason", "x", "--as", "lena"],  # no target
        ["--agent", "a", "--recording", "b", "--reason", "x", "--as", "lena"],  # two
        ["--agent", "anna", "--reason", "case 12345678", "--as", "lena"],  # a number
        ["--number", "not a number", "--reason", "x", "--as", "lena"],
        ["--agent", "nobody", "--reason", "x", "--as", "lena"],  # not in the org chart
    ],
)
def test_bad_hold_requests_are_refused(cli_env: dict[str, str], args: list[str]) -> None:
    result = run(cli_env, "hold", "place", *args)
    assert result.exit_code == 1
    assert "12345678" not in result.output


def test_help_teaches(cli_env: dict[str, str]) -> None:
    for group in (["retention", "sweep"], ["hold", "place"], ["hold"], ["retention"]):
        text = run(cli_env, *group, "--help").output
        assert "Example" in text and "callrec" in text


@pytest.mark.parametrize("batch", ["0", "-1"])
def test_sweep_batch_below_one_is_a_usage_error(cli_env: dict[str, str], batch: str) -> None:
    result = run(cli_env, "retention", "sweep", "--dry-run", "--batch", batch)
    assert result.exit_code == 2 and "--batch" in result.output
