"""Conference and transferred calls: every agent who took part may play it as their own.

Decision (documented in ``recorder.access``): the answering agent (``agent_id``) and every
participant are *agents of the call*. "Own" covers all of them, and a supervisor sees the
call if ANY of them was in a team they led (or a team below it) at call time. Moving a
participant later does not move the old call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from recorder.access import Action, agents_of, allowed, principal_for
from recorder.capture import Capturer
from recorder.config import Config
from recorder.errors import AccessDenied, InvalidEvent
from recorder.ingest.sidecar import parse_sidecar
from recorder.playback import open_playback
from storage.vault import Vault
from tests.recorder.conftest import AFTER_MOVE, BEFORE_MOVE, MakeCall, canary_pcm, run, write_wav

Rng = Callable[[int], bytes]


def sidecar(**extra: object) -> bytes:
    doc = {"v": 1, "source_id": "pbx-1", "agent": "anna", "started_at": "2026-11-17T10:00:00Z"}
    return json.dumps(doc | extra).encode()


def test_sidecar_carries_participants_sorted_and_unique(tmp_path: Path) -> None:
    event = parse_sidecar(sidecar(participants=["carla", "bjorn", "carla"]), tmp_path / "a.wav")
    assert event.participants == ("bjorn", "carla")
    assert parse_sidecar(sidecar(), tmp_path / "a.wav").participants == ()


@pytest.mark.parametrize(
    "bad",
    ["carla", [1], ["../etc"], ["a b"], [""], [f"u{i}" for i in range(17)], {"x": 1}],
)
def test_sidecar_refuses_bad_participants_naming_the_field(tmp_path: Path, bad: object) -> None:
    with pytest.raises(InvalidEvent, match="^participants:"):
        parse_sidecar(sidecar(participants=bad), tmp_path / "a.wav")


def _capture(
    capturer: Capturer, make_call: MakeCall, now: datetime, rng: Rng, *, agent: str,
    at: datetime, joined: tuple[str, ...],
) -> str:  # fmt: skip
    event = replace(make_call(agent=agent, started_at=at, seconds=2.0), participants=joined)
    return capturer.capture(event, now=now, rng=rng).recording_id


def test_participants_are_stored_and_read_back_with_the_recording(
    capturer: Capturer, vault: Vault, make_call: MakeCall, now: datetime, rng: Rng
) -> None:
    rid = _capture(capturer, make_call, now, rng, agent="anna", at=BEFORE_MOVE,
                   joined=("carla", "bjorn"))  # fmt: skip
    plain = _capture(capturer, make_call, now, rng, agent="anna", at=BEFORE_MOVE, joined=())
    rec = vault.catalog.get_recording(rid)
    assert rec.participants == ("bjorn", "carla")
    assert agents_of(rec) == ("anna", "bjorn", "carla")
    assert vault.catalog.get_recording(plain).participants == ()
    listed = {r.id: r.participants for r in vault.catalog.list_recordings()}
    assert listed == {rid: ("bjorn", "carla"), plain: ()}
    assert vault.catalog.participants_of(rid) == ("bjorn", "carla")
    vault.catalog.add_participants(rid, ["carla"])  # idempotent
    assert vault.catalog.participants_of(rid) == ("bjorn", "carla")


@pytest.mark.parametrize(
    ("agent", "at", "joined", "user", "may"),
    [
        ("anna", BEFORE_MOVE, ("carla",), "carla", True),  # took part: own call
        ("anna", BEFORE_MOVE, ("carla",), "sven", True),  # carla's leader at call time
        ("anna", BEFORE_MOVE, ("carla",), "siri", True),  # anna's leader
        ("anna", BEFORE_MOVE, ("carla",), "bjorn", False),  # not in the call
        ("carla", AFTER_MOVE, ("bjorn",), "siri", False),  # bjorn had left siri's team
        ("carla", AFTER_MOVE, ("bjorn",), "sven", True),
        ("carla", BEFORE_MOVE, ("bjorn",), "siri", True),  # bjorn was still hers then
        ("carla", BEFORE_MOVE, ("bjorn",), "admin1", False),  # admins never listen
    ],
)
def test_every_agent_who_took_part_and_their_supervisors_may_play(
    capturer: Capturer, vault: Vault, config: Config, make_call: MakeCall, now: datetime,
    rng: Rng, agent: str, at: datetime, joined: tuple[str, ...], user: str, may: bool,
) -> None:  # fmt: skip
    rid = _capture(capturer, make_call, now, rng, agent=agent, at=at, joined=joined)
    principal = principal_for(config, user)
    if may:
        playback = open_playback(vault, config, principal, rid, purpose="quality", now=now)
        assert b"".join(playback.wav_chunks())[:4] == b"RIFF"
    else:
        with pytest.raises(AccessDenied):
            open_playback(vault, config, principal, rid, purpose="quality", now=now)
    # the same answer without the participant shows it is the participant that counts
    alone = replace(vault.catalog.get_recording(rid), participants=())
    solo = allowed(config, principal, Action.PLAY, alone, purpose="quality").allowed
    only_through_the_participant = user in joined or (user == "sven" and agent == "anna")
    if only_through_the_participant:
        assert not solo


def test_spool_sidecar_participants_reach_the_cli_listing(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert run(env, "init").exit_code == 0
    spool = tmp_path / "spool"
    spool.mkdir()
    write_wav(spool / "c.wav", canary_pcm(2.0, seed=3))
    (spool / "c.json").write_bytes(
        sidecar(participants=["carla"], answered_at="2026-11-17T10:00:00Z")
    )
    assert run(env, "spool", "run", str(spool)).exit_code == 0
    result = run(env, "calls", "list", "--as", "carla", "--json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert (row["agent"], row["participants"]) == ("anna", ["carla"])
    mine = run(env, "calls", "list", "--as", "carla", "--agent", "carla", "--json")
    assert [r["id"] for r in json.loads(mine.stdout)] == [row["id"]]
    assert json.loads(run(env, "calls", "list", "--as", "bjorn", "--json").stdout) == []
