"""P07 - "Only named system administrators, the agents and their managers have access;
nobody else." (postal register)

How these tests prove it
------------------------
The eight sample calls are captured into a real store with the demo org chart
(``samples/callrec.toml``: agents anna, bjorn, carla, dag; managers siri and sven; one QA
reviewer, one administrator, one DPO). Then, through the real playback path:

- every configured person tries to play every call: exactly the call's agent and the
  manager(s) who led the agent's team *at call time* succeed - 0 others;
- the named administrator sees the call list (metadata, masked numbers) but no audio;
- a name that is not in the configuration gets nothing at all (usage error, no audio, no
  listing) - access is only ever for *named* people;
- the two narrow, documented exceptions stay narrow: the QA reviewer hears nothing until
  a call is sampled to them (and then only that call), and the DPO cannot play audio at
  all (only export it, for a data-subject request - see P10).
"""

from __future__ import annotations

from pathlib import Path

from recorder.access import StaticAssignments, principal_for
from recorder.errors import AccessDenied
from recorder.playback import open_playback
from tests.conftest import NOW
from tests.promises.conftest import SAMPLE_CALLS, SAMPLE_NAMES, SampleStore

MANAGERS_AT_CALL_TIME = {
    "call-01": {"siri"}, "call-02": {"siri"}, "call-03": {"sven"}, "call-04": {"sven"},
    "call-05": {"sven"}, "call-06": {"sven"}, "call-07": {"sven"}, "call-08": {"siri"},
}  # fmt: skip


def players(
    store: SampleStore, name: str, assignments: StaticAssignments | None = None
) -> set[str]:
    """Every configured user who may play ``name`` (each attempt through the real path)."""
    ok = set()
    for user in store.config.users:
        try:
            playback = open_playback(
                store.vault, store.config, principal_for(store.config, user), store.ids[name],
                purpose="quality", now=NOW, assignments=assignments,
            )  # fmt: skip
        except AccessDenied:
            continue
        assert b"".join(playback.wav_chunks())[:4] == b"RIFF"
        ok.add(user)
    return ok


def test_only_the_agent_and_their_manager_at_call_time_may_listen(store: SampleStore) -> None:
    for name in SAMPLE_NAMES:
        agent = SAMPLE_CALLS[name].sidecar["agent"]
        assert players(store, name) == {agent} | MANAGERS_AT_CALL_TIME[name], name


def test_the_named_administrator_sees_metadata_but_hears_nothing(
    store: SampleStore, tmp_path: Path
) -> None:
    rows = store.listed("admin1")
    assert {store.name_of(r["id"]) for r in rows} == set(SAMPLE_NAMES)
    assert all(r["caller"] == "withheld" or r["caller"].endswith("***") for r in rows)
    for name in SAMPLE_NAMES:
        result = store.play(name, "admin1", tmp_path / "x.wav")
        assert result.exit_code == 3 and not (tmp_path / "x.wav").exists()


def test_nobody_else_an_unnamed_person_gets_nothing(store: SampleStore, tmp_path: Path) -> None:
    before = store.audit_size()
    for user in ("mallory", "Anna", "anna ", "root", ""):
        listing = store.cli("calls", "list", "--as", user, "--json")
        assert listing.exit_code == 2 and listing.stdout == "", user
        played = store.play("call-01", user, tmp_path / "x.wav")
        assert played.exit_code == 2 and not (tmp_path / "x.wav").exists()
    assert store.audit_size() == before  # not even a principal to audit: refused at the edge


def test_the_documented_exceptions_stay_narrow(store: SampleStore) -> None:
    for name in SAMPLE_NAMES:
        assert "qa1" not in players(store, name) and "dpo1" not in players(store, name)
    sampled = StaticAssignments(pairs=frozenset({("qa1", store.ids["call-03"])}))
    assert "qa1" in players(store, "call-03", sampled)
    assert "qa1" not in players(store, "call-04", sampled)


def test_a_qa_reviewer_reaches_only_what_was_sampled_to_them(
    store: SampleStore, tmp_path: Path
) -> None:
    assert store.listed_names("qa1") == set()
    drawn = store.cli("qa", "sample", "--as", "sven", "--reviewer", "qa1", "--rate", "100%",
                      "--team", "stockholm-1", "--since", "2026-11-19", "--seed", "1")  # fmt: skip
    assert drawn.exit_code == 0, drawn.output
    sampled = store.listed_names("qa1")
    assert sampled == {"call-06", "call-07"}  # sven's team, from 19 Nov
    for name in SAMPLE_NAMES:
        result = store.play(name, "qa1", tmp_path / f"{name}.wav")
        assert result.exit_code == (0 if name in sampled else 3), name
