"""``callrec calls list`` filters: agent, team, dates, masked display, number (DPO/legal).

Filters only narrow what the user may list; ``--number`` goes through the lookup digest,
is for the DPO (dsar) and legal (legal) only, and is audited as a search without the
number. Also B3 (see ``test_b3_no_widening``): no filter, search or grant widens access.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.recorder.conftest import ORG_CHART, canary_pcm, run, write_wav

EXTRA_USERS = """
[[users]]
id = "dpo1"
roles = ["dpo"]
[[users]]
id = "legal1"
roles = ["legal"]
"""

CALLS = [  # (agent, caller, start, answered)
    ("anna", "+47 912 34 567", "2026-11-10T09:00:00Z"),
    ("anna", "+46 70 123 45 67", "2026-11-16T09:00:00Z"),
    ("bjorn", "+47 912 34 567", "2026-11-17T09:00:00Z"),  # still in oslo-1
    ("bjorn", "+358 40 123 4567", "2026-11-19T09:00:00Z"),  # moved to stockholm-1
    ("carla", "anonymous", "2026-11-20T09:00:00Z"),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[dict[str, str], dict[int, str]]]:
    config = tmp_path / "callrec.toml"
    config.write_text(ORG_CHART + EXTRA_USERS)
    env = {
        "CALLREC_HOME": str(tmp_path / "data"),
        "CALLREC_KEYRING": str(tmp_path / "keys" / "keyring.json"),
        "CALLREC_CONFIG": str(config),
    }
    assert run(env, "init").exit_code == 0
    ids: dict[int, str] = {}
    for i, (agent, caller, start) in enumerate(CALLS):
        wav = write_wav(tmp_path / f"c{i}.wav", canary_pcm(1.0, seed=i))
        result = run(env, "ingest", str(wav), "--caller", caller, "--agent", agent,
                     "--started-at", start, "--source-id", f"c{i}")  # fmt: skip
        assert result.exit_code == 0, result.output
        ids[i] = result.stdout.split()[2]
    yield env, ids


def listed(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    result = run(env, "calls", "list", *args, "--json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def which(env: dict[str, str], ids: dict[int, str], *args: str) -> set[int]:
    back = {v: k for k, v in ids.items()}
    return {back[row["id"]] for row in listed(env, *args)}


def audit_rows(env: dict[str, str]) -> list[tuple[str, ...]]:
    conn = sqlite3.connect(Path(env["CALLREC_HOME"]) / "catalog.db")
    try:
        return conn.execute(
            "SELECT action, outcome, actor_id, purpose, reason, detail FROM audit_log ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()


def test_filters_narrow_what_the_user_may_list(
    store: tuple[dict[str, str], dict[int, str]],
) -> None:
    env, ids = store
    assert which(env, ids, "--as", "siri") == {0, 1, 2}
    assert which(env, ids, "--as", "siri", "--agent", "bjorn") == {2}
    assert which(env, ids, "--as", "siri", "--agent", "carla") == set()  # never widens
    assert which(env, ids, "--as", "siri", "--team", "oslo-1") == {0, 1, 2}
    assert which(env, ids, "--as", "siri", "--team", "stockholm-1") == set()
    assert which(env, ids, "--as", "sven", "--team", "stockholm-1") == {3, 4}
    assert which(env, ids, "--as", "siri", "--since", "2026-11-16") == {1, 2}
    assert which(env, ids, "--as", "siri", "--until", "2026-11-16") == {0, 1}  # whole day
    assert which(env, ids, "--as", "siri", "--since", "2026-11-16T09:00:01Z") == {2}
    assert which(env, ids, "--as", "siri", "--masked", "+4791234***") == {0, 2}
    assert which(env, ids, "--as", "siri", "--masked", "912 34 ***") == {0, 2}
    assert which(env, ids, "--as", "siri", "--masked", "+46") == {1}
    assert which(env, ids, "--as", "anna", "--masked", "+47") == {0}
    both = which(env, ids, "--as", "siri", "--agent", "anna", "--since", "2026-11-11")
    assert both == {1}
    rows = listed(env, "--as", "siri", "--masked", "+4791234***")
    assert all(row["caller"] == "+4791234***" for row in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--masked", "+4791234567"), "use --number"),
        (("--masked", "abc"), "--masked"),
        (("--since", "2026-13-40"), "--since"),
        (("--until", "yesterday"), "--until"),
    ],
)
def test_bad_filters_are_clear_errors(
    store: tuple[dict[str, str], dict[int, str]], args: tuple[str, ...], message: str
) -> None:
    env, _ = store
    result = run(env, "calls", "list", "--as", "siri", *args)
    assert result.exit_code == 1 and message in result.stderr
    assert "4791234567" not in result.stderr


def test_number_search_is_for_dpo_and_legal_and_is_audited_without_the_number(
    store: tuple[dict[str, str], dict[int, str]],
) -> None:
    env, ids = store
    for spelled in ("+47 912 34 567", "004791234567", "91234567"):
        assert which(env, ids, "--as", "dpo1", "--purpose", "dsar", "--number", spelled) == {0, 2}
    assert which(env, ids, "--as", "legal1", "--purpose", "legal", "--number", "+46701234567") == {
        1
    }
    assert which(env, ids, "--as", "dpo1", "--purpose", "dsar", "--number", "+4799999999") == set()
    # the number search still respects the other filters
    assert which(
        env, ids, "--as", "dpo1", "--purpose", "dsar", "--number", "91234567", "--agent", "anna"
    ) == {0}
    refused = [
        ("siri", "quality"), ("anna", "quality"), ("admin1", "quality"),
        ("dpo1", "legal"), ("legal1", "dsar"), ("dpo1", "marketing"),
    ]  # fmt: skip
    for user, purpose in refused:
        result = run(env, "calls", "list", "--as", user, "--purpose", purpose,
                     "--number", "+47 912 34 567")  # fmt: skip
        assert result.exit_code == 3, (user, purpose, result.output)
    no_purpose = run(env, "calls", "list", "--as", "dpo1", "--number", "+47 912 34 567")
    assert no_purpose.exit_code == 3 and "purpose" in no_purpose.stderr
    rows = audit_rows(env)
    searches = [r for r in rows if r[0] == "recording.search"]
    assert len(searches) == 6 + len(refused) + 1
    assert [r[1] for r in searches].count("allowed") == 6
    for row in rows:
        text = json.dumps(row)
        for digits in ("91234567", "4791234567", "701234567", "4799999999"):
            assert digits not in text
    assert all("number" in json.loads(r[5])["filters"].split(",") for r in searches)


def test_dpo_lists_only_with_the_dsar_purpose(store: tuple[dict[str, str], dict[int, str]]) -> None:
    env, ids = store
    assert which(env, ids, "--as", "dpo1") == set()
    assert which(env, ids, "--as", "dpo1", "--purpose", "dsar") == set(ids)
    assert which(env, ids, "--as", "admin1") == set(ids)  # metadata only
    assert run(env, "calls", "list", "--as", "dpo1", "--purpose", "marketing").exit_code == 0
    assert which(env, ids, "--as", "dpo1", "--purpose", "marketing") == set()


def test_b3_no_widening(store: tuple[dict[str, str], dict[int, str]]) -> None:
    """B3: for every user, any filter combination lists a subset of the unfiltered list."""
    env, ids = store
    filters: list[tuple[str, ...]] = [
        (), ("--agent", "anna"), ("--agent", "carla"), ("--team", "oslo-1"),
        ("--team", "stockholm-1"), ("--since", "2026-11-17"), ("--until", "2026-11-17"),
        ("--masked", "***"), ("--masked", "+47"),
    ]  # fmt: skip
    for user in ("anna", "bjorn", "carla", "siri", "sven", "admin1", "dpo1", "legal1"):
        everything = which(env, ids, "--as", user)
        for args in filters:
            assert which(env, ids, "--as", user, *args) <= everything, (user, args)
