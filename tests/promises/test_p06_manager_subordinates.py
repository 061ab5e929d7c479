"""P06 - "A group manager may listen to the recordings of all their subordinates."
(postal register)

How these tests prove it
------------------------
The demo org chart (``samples/callrec.toml``) has two groups: siri manages oslo-1 (anna,
and bjorn until 18 November 2026), sven manages stockholm-1 (carla, dag, and bjorn from
18 November). The eight sample calls are captured into a real store; bjorn's call-02 was
made on 16 November (in siri's group), his call-06 on 19 November (in sven's). Using the
``callrec`` command line:

- ``callrec calls list --as siri`` shows exactly the calls of her group members made while
  they were in her group (anna's two, bjorn's call-02); sven's list is the other five;
- siri plays every one of those with ``callrec play``, and gets the recorded
  conversation; sven plays every one of his;
- each manager is refused (exit code 3, no file) for every other call - in particular
  siri for bjorn's call after he moved, and sven for bjorn's call from before he joined;
- every attempt is audited with the manager's id and role, the purpose and the reason.

"Subordinate" is decided at the time of the call: a last test stores two generated calls
of bjorn one second before and exactly at the moment of his move, and shows the
boundary is exact in both directions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from recorder.access import principal_for
from recorder.capture import Capturer
from recorder.config import Config
from recorder.errors import AccessDenied
from recorder.models import CallEvent
from recorder.playback import open_playback
from storage.vault import Vault
from tests.promises.conftest import SAMPLE_CALLS, SAMPLE_NAMES, SampleStore, read_wav
from tests.recorder.conftest import canary_pcm, write_wav

SUBORDINATES_CALLS = {
    "siri": {"call-01", "call-08", "call-02"},  # anna's two, bjorn's before his move
    "sven": {"call-03", "call-07", "call-04", "call-05", "call-06"},  # carla, dag, bjorn after
}
MOVE = datetime.fromisoformat("2026-11-18T00:00:00+00:00")


def test_the_sample_calls_fall_on_both_sides_of_bjorns_move(store: SampleStore) -> None:
    assert SAMPLE_CALLS["call-02"].started_at < MOVE < SAMPLE_CALLS["call-06"].started_at
    assert store.config.team_of("bjorn", SAMPLE_CALLS["call-02"].started_at) == "oslo-1"
    assert store.config.team_of("bjorn", SAMPLE_CALLS["call-06"].started_at) == "stockholm-1"


@pytest.mark.parametrize("manager", sorted(SUBORDINATES_CALLS))
def test_a_manager_lists_exactly_their_subordinates_calls(store: SampleStore, manager: str) -> None:
    assert store.listed_names(manager) == SUBORDINATES_CALLS[manager]


@pytest.mark.parametrize("manager", sorted(SUBORDINATES_CALLS))
def test_a_manager_plays_every_subordinates_call_and_no_other(
    store: SampleStore, manager: str, tmp_path: Path
) -> None:
    before = store.audit_size()
    for name in SAMPLE_NAMES:
        out = tmp_path / f"{name}.wav"
        result = store.play(name, manager, out)
        if name in SUBORDINATES_CALLS[manager]:
            assert result.exit_code == 0, (name, result.output)
            call = SAMPLE_CALLS[name]
            source, played = read_wav(call.wav), read_wav(out)
            end_ms = call.answer_offset_ms + call.answered_ms
            assert played.data == source.slice_ms(call.answer_offset_ms, end_ms), name
        else:
            assert result.exit_code == 3, (name, result.output)
            assert "not in their team at call time" in result.output
            assert not out.exists()

    entries = [entry.event for entry in store.audit_since(before)]
    assert [store.name_of(e.recording_id or "") for e in entries] == list(SAMPLE_NAMES)
    for event in entries:
        name = store.name_of(event.recording_id or "")
        allowed = name in SUBORDINATES_CALLS[manager]
        assert (event.actor_id, event.actor_role) == (manager, "supervisor")
        assert (event.action, event.purpose) == ("recording.play", "quality")
        assert event.outcome == ("allowed" if allowed else "denied"), name
        assert event.reason == (
            "agent was in a team they led at call time"
            if allowed
            else "agent was not in their team at call time"
        )


def test_bjorns_move_moves_only_his_later_calls(store: SampleStore, tmp_path: Path) -> None:
    """The pair the promise hinges on, stated on its own."""
    assert store.play("call-02", "siri", tmp_path / "a.wav").exit_code == 0
    assert store.play("call-06", "siri", tmp_path / "b.wav").exit_code == 3
    assert store.play("call-06", "sven", tmp_path / "c.wav").exit_code == 0
    assert store.play("call-02", "sven", tmp_path / "d.wav").exit_code == 3


def test_the_move_boundary_is_exact(
    vault: Vault,
    org: Config,
    tmp_path: Path,
    now: datetime,
    rng: Callable[[int], bytes],
) -> None:
    capturer = Capturer(vault, org)
    ids: dict[str, str] = {}
    for label, started in (("before", MOVE - timedelta(seconds=1)), ("at", MOVE)):
        wav = write_wav(tmp_path / f"{label}.wav", canary_pcm(2.0, seed=len(ids) + 30))
        event = CallEvent(
            source="test",
            source_id=f"bjorn-{label}",
            audio_path=wav,
            caller="+47 912 34 567",
            service_number="+4722000000",
            agent_id="bjorn",
            started_at=started,
            answered_at=started,
            ended_at=started + timedelta(seconds=2),
            channels=("mixed",),
        )
        ids[label] = capturer.capture(event, now=now, rng=rng).recording_id

    def may_play(manager: str, label: str) -> bool:
        try:
            playback = open_playback(
                vault, org, principal_for(org, manager), ids[label], purpose="quality", now=now
            )
        except AccessDenied:
            return False
        assert b"".join(playback.wav_chunks())[:4] == b"RIFF"
        return True

    assert may_play("siri", "before") and not may_play("sven", "before")
    assert may_play("sven", "at") and not may_play("siri", "at")
    assert vault.catalog.get_recording(ids["before"]).team_id == "oslo-1"
    assert vault.catalog.get_recording(ids["at"]).team_id == "stockholm-1"
