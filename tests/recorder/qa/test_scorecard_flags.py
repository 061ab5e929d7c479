"""Scorecard criteria marked not applicable, critical questions that fail an evaluation, and
the report's weekly trend (issue 16's QA form).

- ``na = true``: ``None`` is accepted, left out of the weighting and the report's counts;
  without it, N/A is refused.
- ``critical = true``: the lowest score fails the evaluation (0 %) whatever else was scored;
  the report counts failed evaluations per agent.
- the trend is one point per ISO week of the call, the mean of the evaluations' scores.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta

import pytest

from recorder.config import Config, parse_config
from recorder.errors import ConfigError, QaError
from recorder.qa_report import qa_report, report_dict
from recorder.qa_sample import SampleRequest, draw_sample
from storage.qa import QaStore
from storage.vault import Vault
from tests.recorder.conftest import BEFORE_MOVE
from tests.recorder.qa.conftest import QA_CHART, Calls, Rng, review, who
from tests.recorder.qa.test_qa_config import settings_of

FORM = """
[qa]
criteria = [
  { name = "greeting", scale = [1, 5], na = true },
  { name = "verified", scale = [0, 1], critical = true },
  { name = "resolution", scale = [1, 5], weight = 2 },
]
"""


def test_na_is_accepted_only_where_allowed_and_left_out_of_the_weighting() -> None:
    s = settings_of(FORM)
    assert s.validate({"greeting": None, "verified": 1, "resolution": 5}) == {
        "greeting": None, "verified": 1, "resolution": 5}  # fmt: skip
    with pytest.raises(QaError, match="resolution: cannot be marked not applicable"):
        s.validate({"greeting": 3, "verified": 1, "resolution": None})
    assert s.evaluate({"greeting": None, "verified": 1, "resolution": 5}).percent == 100.0
    assert s.evaluate({"greeting": 1, "verified": 1, "resolution": 5}).percent == 75.0


def test_a_failed_critical_question_fails_the_whole_evaluation() -> None:
    s = settings_of(FORM)
    result = s.evaluate({"greeting": 5, "verified": 0, "resolution": 5})
    assert (result.percent, result.failed) == (0.0, ("verified",))
    assert s.evaluate({"greeting": 5, "verified": 1, "resolution": 5}).failed == ()


def test_scores_typed_as_text_parse_the_same_for_the_cli_and_the_web() -> None:
    s = settings_of(FORM)
    assert s.parse_scores({"greeting": " NA ", "verified": "1", "resolution": "4"}) == {
        "greeting": None, "verified": 1, "resolution": 4}  # fmt: skip
    with pytest.raises(QaError, match="expected a whole number or na"):
        s.parse_scores({"greeting": "four", "verified": "1", "resolution": "4"})
    with pytest.raises(QaError, match="incomplete: no score for resolution"):
        s.parse_scores({"greeting": "4", "verified": "1", "resolution": ""})


@pytest.mark.parametrize("key", ["na", "critical"])
def test_the_flags_must_be_booleans(key: str) -> None:
    with pytest.raises(ConfigError, match=rf"qa.criteria\[0\].{key} must be true or false"):
        settings_of(f'[qa]\ncriteria = [{{ name = "tone", {key} = "yes" }}]')


def test_the_report_counts_na_out_fails_per_agent_and_trends_by_week(
    vault: Vault, calls: Calls, now: datetime, rng: Rng
) -> None:
    config: Config = parse_config(tomllib.loads(QA_CHART + FORM))
    week1 = BEFORE_MOVE - timedelta(days=7)
    ids = [calls.add(agent="anna", started_at=at) for at in (week1, BEFORE_MOVE, BEFORE_MOVE)]
    request = SampleRequest(reviewer="quinn", rate_bp=10_000, seed=3)
    draw_sample(vault, config, who(config, "admin1"), request, now=now, rng=rng)
    quinn = review(vault, config, "quinn", rng)
    quinn.score(ids[0], {"greeting": None, "verified": 1, "resolution": 3}, now=now)
    quinn.score(ids[1], {"greeting": 5, "verified": 0, "resolution": 5}, now=now)
    quinn.score(ids[2], {"greeting": 3, "verified": 1, "resolution": 5}, now=now)
    assert QaStore(vault.catalog).scorecard("quinn", ids[0]).scores["greeting"] is None  # type: ignore[union-attr]
    report = qa_report(vault, config, who(config, "siri"), team="oslo-1", now=now)
    rows = {(r.agent, r.criterion): (r.n, r.mean) for r in report.rows}
    assert rows[("anna", "greeting")] == (2, 4.0)  # the N/A is not counted
    (anna,) = report.agents
    assert (anna.calls, anna.failed) == (3, 1)
    monday = BEFORE_MOVE.date() - timedelta(days=BEFORE_MOVE.weekday())
    assert [(p.week, p.scorecards, p.percent) for p in report.trend] == [
        (monday - timedelta(days=7), 1, 66.7),  # (1 + 2 * 0.5) / 3 of the weights scored
        (monday, 2, 43.8),  # a failed one (0 %) and (0.5 + 1 + 2) / 4 = 87.5 %: mean 43.75
    ]
    assert isinstance(report.trend[0].week, date)
    assert report_dict(report)["agents"][0]["failed_critical"] == 1
