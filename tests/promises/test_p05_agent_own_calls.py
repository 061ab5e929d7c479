"""P05 - "Customer-service staff may listen to their own recorded calls." (postal register)

How these tests prove it
------------------------
The eight sample calls are captured into a real store with the demo org chart. Agent anna
took two of them (call-01 and call-08); bjorn, carla and dag took the others. Using the
``callrec`` command line exactly as staff would:

- ``callrec calls list --as anna`` shows anna her two calls and nothing else;
- ``callrec play ID --as anna --purpose quality --out FILE`` succeeds for each of her
  calls, and the file she gets is the recorded conversation itself (compared sample by
  sample with the phone system's original audio from the answer to the hang-up);
- the same command for any call that is not hers is refused with exit code 3 ("denied"),
  and no file is written;
- every attempt, allowed or refused, is in the audit log: who (anna, as agent), what
  (play), which recording, why (the purpose she gave) and the outcome with its reason;
  the audit chain still verifies afterwards;
- "their own" stays theirs: bjorn, who moved team between his two calls, can play both.

Listening to one's own calls is the only access an agent has: the refusals above show
"own" is not stretched to colleagues' calls.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.promises.conftest import SAMPLE_CALLS, SAMPLE_NAMES, SampleStore, read_wav

OWN = {
    "anna": {"call-01", "call-08"},
    "bjorn": {"call-02", "call-06"},
    "carla": {"call-03", "call-07"},
    "dag": {"call-04", "call-05"},
}


def assert_is_the_answered_part(played: Path, name: str) -> None:
    call = SAMPLE_CALLS[name]
    source = read_wav(call.wav)
    got = read_wav(played)
    end_ms = call.answer_offset_ms + call.answered_ms
    assert (got.rate, got.channels) == (source.rate, source.channels)
    assert got.data == source.slice_ms(call.answer_offset_ms, end_ms), name


@pytest.mark.parametrize("agent", sorted(OWN))
def test_an_agent_lists_exactly_their_own_calls(store: SampleStore, agent: str) -> None:
    assert store.listed_names(agent) == OWN[agent]


def test_anna_plays_her_own_calls_and_hears_the_recording(
    store: SampleStore, tmp_path: Path
) -> None:
    for name in sorted(OWN["anna"]):
        out = tmp_path / f"{name}.wav"
        result = store.play(name, "anna", out)
        assert result.exit_code == 0, result.output
        assert "access recorded in the audit log" in result.output
        assert_is_the_answered_part(out, name)


def test_anna_is_denied_every_call_that_is_not_hers(store: SampleStore, tmp_path: Path) -> None:
    for name in sorted(set(SAMPLE_NAMES) - OWN["anna"]):
        out = tmp_path / f"{name}.wav"
        result = store.play(name, "anna", out)
        assert result.exit_code == 3, (name, result.output)
        assert "access denied: not their own call" in result.output
        assert not out.exists() and not out.with_name(out.name + ".part").exists()


def test_both_the_allowed_and_the_denied_attempt_are_audited(
    store: SampleStore, tmp_path: Path
) -> None:
    before = store.audit_size()
    assert store.play("call-01", "anna", tmp_path / "own.wav").exit_code == 0
    assert store.play("call-02", "anna", tmp_path / "bjorns.wav").exit_code == 3
    allowed, denied = (entry.event for entry in store.audit_since(before))

    assert (allowed.actor_id, allowed.actor_role, allowed.action) == (
        "anna", "agent", "recording.play",
    )  # fmt: skip
    assert allowed.recording_id == store.ids["call-01"]
    assert (allowed.outcome, allowed.reason, allowed.purpose) == ("allowed", "own call", "quality")

    assert (denied.actor_id, denied.actor_role, denied.action) == (
        "anna", "agent", "recording.play",
    )  # fmt: skip
    assert denied.recording_id == store.ids["call-02"]
    assert (denied.outcome, denied.reason, denied.purpose) == (
        "denied", "not their own call", "quality",
    )  # fmt: skip

    verify = store.cli("audit", "verify")
    assert verify.exit_code == 0, verify.output
    assert "Audit chain OK" in verify.output


def test_bjorn_keeps_his_own_calls_across_his_team_move(store: SampleStore, tmp_path: Path) -> None:
    assert store.recording("call-02").team_id == "oslo-1"
    assert store.recording("call-06").team_id == "stockholm-1"
    for name in ("call-02", "call-06"):
        out = tmp_path / f"{name}.wav"
        result = store.play(name, "bjorn", out)
        assert result.exit_code == 0, result.output
        assert_is_the_answered_part(out, name)
