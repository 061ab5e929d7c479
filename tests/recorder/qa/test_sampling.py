"""QA sampling: the rate is honoured, the draw is seeded, recorded, replayable and scoped."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recorder.config import Config
from recorder.errors import AccessDenied, ConfigError, QaError
from recorder.qa_sample import (
    SampleRequest,
    draw,
    draw_sample,
    draw_size,
    parse_rate,
    replay_sample,
)
from storage.models import State
from storage.qa import QaStore
from storage.vault import Vault
from tests.recorder.conftest import AFTER_MOVE, BEFORE_MOVE
from tests.recorder.qa.conftest import Calls, Rng, audit_tail, who


@pytest.mark.parametrize(
    ("text", "bp"),
    [("5%", 500), ("5", 500), ("0.5%", 50), (" 12.25 % ", 1225), ("100%", 10_000), ("0.01%", 1)],
)
def test_parse_rate(text: str, bp: int) -> None:
    assert parse_rate(text) == bp


@pytest.mark.parametrize("text", ["0%", "0", "101%", "-5%", "5.001%", "five", "", "1e2"])
def test_parse_rate_refuses(text: str) -> None:
    with pytest.raises(QaError, match="rate"):
        parse_rate(text)


@pytest.mark.parametrize(
    ("population", "bp", "k"),
    [(400, 500, 20), (10, 500, 1), (0, 500, 0), (21, 1000, 3), (20, 1000, 2), (7, 10_000, 7)],
)
def test_draw_size_rounds_up(population: int, bp: int, k: int) -> None:
    assert draw_size(population, bp) == k


@given(
    ids=st.lists(st.text("0123456789abcdef", min_size=32, max_size=32), max_size=60, unique=True),
    bp=st.integers(1, 10_000),
    seed=st.integers(0, 2**63 - 1),
)
def test_draw_is_a_pure_function_of_seed_and_ids(ids: list[str], bp: int, seed: int) -> None:
    drawn = draw(ids, bp, seed)
    assert len(drawn) == -(-len(ids) * bp // 10_000)
    assert set(drawn) <= set(ids) and len(set(drawn)) == len(drawn)
    assert draw(list(reversed(ids)), bp, seed) == drawn  # read order does not matter


def test_five_percent_of_400_is_20_deterministic_and_recorded(
    vault: Vault, qa_config: Config, calls: Calls, now: datetime, rng: Rng
) -> None:
    start = BEFORE_MOVE - timedelta(days=30)
    ids = [calls.add(started_at=start + timedelta(minutes=7 * i)) for i in range(400)]
    siri = who(qa_config, "siri")
    size, _ = vault.audit.head()
    request = SampleRequest(reviewer="quinn", rate_bp=parse_rate("5%"), seed=42)
    result = draw_sample(vault, qa_config, siri, request, now=now, rng=rng)

    assert len(result.drawn) == 20 == result.newly_assigned and set(result.drawn) <= set(ids)
    assert result.drawn == tuple(draw(ids, 500, 42))  # the documented algorithm, replayed
    assert draw(ids, 500, 43) != list(result.drawn)  # another seed, another draw
    store = QaStore(vault.catalog)
    sample = store.get_sample(result.sample.id)
    assert (sample.seed, sample.rate_bp, sample.population, sample.drawn) == (42, 500, 400, 20)
    assert sample.drawn_by == "siri" and sample.reviewer_id == "quinn"
    assert [a.recording_id for a in store.assignments("quinn")] == list(result.drawn)
    (entry,) = audit_tail(vault, size)  # one audit entry for the draw
    assert entry.event.action == "qa.sample" and entry.event.outcome == "ok"
    assert entry.event.detail["seed"] == 42 and entry.event.detail["drawn"] == 20

    # replay: same calls come out, even after more calls were captured later
    later = now + timedelta(days=1)
    calls.add(started_at=start, created_at=later)
    replay = replay_sample(vault, qa_config, siri, sample.id, now=later)
    assert replay.reproduced and replay.drawn == result.drawn

    # the same seed over the grown population (401 -> 21 calls) keeps the first 20 and
    # assigns only the one new call: nothing is assigned twice
    again = draw_sample(vault, qa_config, siri, request, now=later, rng=rng)
    assert len(again.drawn) == 21 and set(result.drawn) < set(again.drawn)
    assert again.newly_assigned == 1 and len(store.assignments("quinn")) == 21


def test_replay_reports_a_changed_population(
    vault: Vault, qa_config: Config, calls: Calls, now: datetime, rng: Rng
) -> None:
    ids = [calls.add(started_at=BEFORE_MOVE + timedelta(minutes=i)) for i in range(30)]
    siri = who(qa_config, "siri")
    result = draw_sample(
        vault, qa_config, siri, SampleRequest(reviewer="quinn", rate_bp=1000, seed=7),
        now=now, rng=rng,
    )  # fmt: skip
    vault.catalog.set_recording_flags(ids[0], restricted=True)
    replay = replay_sample(vault, qa_config, siri, result.sample.id, now=now)
    assert not replay.population_matches and not replay.reproduced


def test_only_calls_in_scope_are_drawn(
    vault: Vault, qa_config: Config, calls: Calls, now: datetime, rng: Rng
) -> None:
    day = timedelta(days=1)
    in_scope = {
        calls.add(agent="anna", started_at=BEFORE_MOVE),
        calls.add(agent="dora", team="oslo-1-nights", started_at=BEFORE_MOVE),  # nested team
        calls.add(agent="bjorn", started_at=BEFORE_MOVE),  # in oslo-1 at call time
    }
    out_of_scope = {
        calls.add(agent="bjorn", team="stockholm-1", started_at=AFTER_MOVE),  # moved
        calls.add(agent="carla", team="stockholm-1", started_at=BEFORE_MOVE),
        calls.add(agent="anna", started_at=BEFORE_MOVE - 10 * day),  # before --since
        calls.add(agent="anna", started_at=BEFORE_MOVE + 10 * day),  # at/after --until
        calls.add(agent="anna", started_at=BEFORE_MOVE, state=State.PENDING),
        calls.add(agent="anna", started_at=BEFORE_MOVE, state=State.DESTROYED),
    }
    restricted = calls.add(agent="anna", started_at=BEFORE_MOVE)
    vault.catalog.set_recording_flags(restricted, restricted=True)
    out_of_scope.add(restricted)
    request = SampleRequest(
        reviewer="quinn", rate_bp=10_000, seed=1, team="oslo-1",
        since=BEFORE_MOVE - day, until=BEFORE_MOVE + 10 * day,
    )  # fmt: skip
    siri = draw_sample(vault, qa_config, who(qa_config, "siri"), request, now=now, rng=rng)
    assert set(siri.drawn) == in_scope and not set(siri.drawn) & out_of_scope

    # ola leads only the nested team; sven's team excludes oslo; admin draws from all teams
    ola = draw_sample(
        vault, qa_config, who(qa_config, "ola"),
        SampleRequest(reviewer="rita", rate_bp=10_000, seed=1), now=now, rng=rng,
    )  # fmt: skip
    assert [calls_agent(vault, r) for r in ola.drawn] == ["dora"]
    admin = draw_sample(
        vault, qa_config, who(qa_config, "admin1"),
        SampleRequest(reviewer="rita", rate_bp=10_000, seed=1, team="stockholm-1"),
        now=now, rng=rng,
    )  # fmt: skip
    assert {calls_agent(vault, r) for r in admin.drawn} == {"bjorn", "carla"}


def test_nobody_reviews_their_own_calls(
    vault: Vault, qa_config: Config, calls: Calls, now: datetime, rng: Rng
) -> None:
    calls.add(agent="quinn", started_at=BEFORE_MOVE)  # a reviewer who also took a call
    result = draw_sample(
        vault, qa_config, who(qa_config, "admin1"),
        SampleRequest(reviewer="quinn", rate_bp=10_000, seed=3), now=now, rng=rng,
    )  # fmt: skip
    assert result.drawn == ()


@pytest.mark.parametrize(
    ("drawer", "team", "reason"),
    [
        ("anna", None, "only supervisors and admins"),
        ("quinn", None, "only supervisors and admins"),
        ("sven", "oslo-1", "not a team they led"),
        ("ola", "oslo-1", "not a team they led"),  # leads a sub-team, not the parent
    ],
)
def test_who_may_draw(
    vault: Vault, qa_config: Config, calls: Calls, now: datetime, rng: Rng,
    drawer: str, team: str | None, reason: str,
) -> None:  # fmt: skip
    calls.add(started_at=BEFORE_MOVE)
    size, _ = vault.audit.head()
    request = SampleRequest(reviewer="quinn", rate_bp=10_000, seed=1, team=team)
    with pytest.raises(AccessDenied, match=reason):
        draw_sample(vault, qa_config, who(qa_config, drawer), request, now=now, rng=rng)
    (entry,) = audit_tail(vault, size)
    assert (entry.event.action, entry.event.outcome, entry.event.reason) == (
        "qa.sample", "denied", entry.event.reason,
    )  # fmt: skip
    assert reason in (entry.event.reason or "")
    assert QaStore(vault.catalog).assignments("quinn") == []


def test_bad_requests_are_clear_errors(
    vault: Vault, qa_config: Config, now: datetime, rng: Rng
) -> None:
    siri = who(qa_config, "siri")
    with pytest.raises(QaError, match="qa_reviewer role"):
        draw_sample(vault, qa_config, siri, SampleRequest(reviewer="anna", rate_bp=1, seed=1),
                    now=now, rng=rng)  # fmt: skip
    with pytest.raises(ConfigError, match="unknown user"):
        draw_sample(vault, qa_config, siri, SampleRequest(reviewer="nobody", rate_bp=1, seed=1),
                    now=now, rng=rng)  # fmt: skip
    with pytest.raises(QaError, match="team"):
        draw_sample(vault, qa_config, siri,
                    SampleRequest(reviewer="quinn", rate_bp=1, seed=1, team="nope"),
                    now=now, rng=rng)  # fmt: skip
    with pytest.raises(QaError, match="seed"):
        draw_sample(vault, qa_config, siri, SampleRequest(reviewer="quinn", rate_bp=1, seed=-1),
                    now=now, rng=rng)  # fmt: skip


def calls_agent(vault: Vault, recording_id: str) -> str | None:
    return vault.catalog.get_recording(recording_id).agent_id
