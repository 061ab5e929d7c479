"""The QA report: per agent and criterion, only for teams the supervisor led, table/JSON/CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from recorder.config import Config
from recorder.errors import AccessDenied, QaError
from recorder.qa_report import QaReport, qa_report, report_csv, report_dict
from recorder.qa_sample import SampleRequest, draw_sample
from storage.vault import Vault
from tests.recorder.conftest import AFTER_MOVE, BEFORE_MOVE
from tests.recorder.qa.conftest import Calls, Rng, audit_tail, review, who

CRITERIA = ("greeting", "identification", "resolution", "compliance", "tone")


def card(greeting: int, rest: int = 3) -> dict[str, int]:
    return {name: (greeting if name == "greeting" else rest) for name in CRITERIA}


@pytest.fixture
def scored(
    vault: Vault, qa_config: Config, calls: Calls, now: datetime, rng: Rng
) -> dict[str, str]:
    """Scorecards on calls of anna (2), dora (nested team), bjorn before and after his move,
    carla; quinn scores all, rita scores one of anna's calls too."""
    ids = {
        "anna1": calls.add(agent="anna", started_at=BEFORE_MOVE),
        "anna2": calls.add(agent="anna", started_at=BEFORE_MOVE),
        "dora": calls.add(agent="dora", team="oslo-1-nights", started_at=BEFORE_MOVE),
        "bjorn_before": calls.add(agent="bjorn", team="oslo-1", started_at=BEFORE_MOVE),
        "bjorn_after": calls.add(agent="bjorn", team="stockholm-1", started_at=AFTER_MOVE),
        "carla": calls.add(agent="carla", team="stockholm-1", started_at=BEFORE_MOVE),
    }
    admin = who(qa_config, "admin1")
    for reviewer in ("quinn", "rita"):
        draw_sample(vault, qa_config, admin, SampleRequest(reviewer=reviewer, rate_bp=10_000,
                    seed=1), now=now, rng=rng)  # fmt: skip
    quinn = review(vault, qa_config, "quinn", rng)
    greetings = {"anna1": 2, "anna2": 5, "dora": 4, "bjorn_before": 1, "bjorn_after": 5,
                 "carla": 3}  # fmt: skip
    for name, greeting in greetings.items():
        quinn.score(ids[name], card(greeting), now=now)
    review(vault, qa_config, "rita", rng).score(ids["anna1"], card(4, rest=5), now=now)
    return ids


def rows(report: QaReport) -> dict[tuple[str, str], tuple[int, float]]:
    return {(r.agent, r.criterion): (r.n, r.mean) for r in report.rows}


def test_report_aggregates_per_agent_and_criterion(
    vault: Vault, qa_config: Config, scored: dict[str, str], now: datetime
) -> None:
    size, _ = vault.audit.head()
    report = qa_report(vault, qa_config, who(qa_config, "siri"), team="oslo-1", now=now)
    (entry,) = audit_tail(vault, size)
    assert (entry.event.action, entry.event.outcome) == ("qa.report", "ok")
    got = rows(report)
    # anna: quinn 2 and 5, rita 4 -> mean 3.67 over 3 scorecards; rest 3, 3, 5
    assert got[("anna", "greeting")] == (3, 3.67)
    assert got[("anna", "tone")] == (3, 3.67)
    assert got[("bjorn", "greeting")] == (1, 1.0)  # only the call from when he was hers
    assert got[("dora", "greeting")] == (1, 4.0)  # nested team included
    assert {agent for agent, _ in got} == {"anna", "bjorn", "dora"}
    assert len(report.rows) == 3 * len(CRITERIA) and report.scorecards == 5
    totals = {a.agent: (a.calls, a.weighted) for a in report.agents}
    # bjorn: greeting 1 (0 %), the rest 3 (50 %); weights 1,1,2,2,1 -> 6 * 50 / 7 = 42.9
    assert totals["bjorn"] == (1, 42.9)

    sven = qa_report(vault, qa_config, who(qa_config, "sven"), team="stockholm-1", now=now)
    assert rows(sven)[("bjorn", "greeting")] == (1, 5.0)  # the call after the move
    assert {a.agent for a in sven.agents} == {"bjorn", "carla"}
    ola = qa_report(vault, qa_config, who(qa_config, "ola"), team="oslo-1-nights", now=now)
    assert {a.agent for a in ola.agents} == {"dora"}
    # a restricted call leaves the report (the supervisor may not even list it)
    vault.catalog.set_recording_flags(scored["dora"], restricted=True)
    ola = qa_report(vault, qa_config, who(qa_config, "ola"), team="oslo-1-nights", now=now)
    assert ola.agents == () and ola.rows == ()


@pytest.mark.parametrize(
    ("user", "team", "reason"),
    [
        ("sven", "oslo-1", "not a team they led"),
        ("ola", "oslo-1", "not a team they led"),  # leads a sub-team only
        ("admin1", "oslo-1", "only supervisors"),
        ("quinn", "oslo-1", "only supervisors"),
        ("anna", "oslo-1", "only supervisors"),
    ],
)
def test_report_only_for_teams_the_supervisor_led(
    vault: Vault, qa_config: Config, scored: dict[str, str], now: datetime,
    user: str, team: str, reason: str,
) -> None:  # fmt: skip
    size, _ = vault.audit.head()
    with pytest.raises(AccessDenied, match=reason):
        qa_report(vault, qa_config, who(qa_config, user), team=team, now=now)
    (entry,) = audit_tail(vault, size)
    assert (entry.event.action, entry.event.outcome) == ("qa.report", "denied")
    with pytest.raises(QaError, match="team"):
        qa_report(vault, qa_config, who(qa_config, "siri"), team="atlantis", now=now)


def test_json_and_csv_renderings_agree(
    vault: Vault, qa_config: Config, scored: dict[str, str], now: datetime
) -> None:
    report = qa_report(vault, qa_config, who(qa_config, "siri"), team="oslo-1", now=now)
    data = report_dict(report)
    assert data["team"] == "oslo-1" and data["criteria"] == list(CRITERIA)
    lines = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert len(lines) == len(data["rows"]) == 15
    for line, row in zip(lines, data["rows"], strict=True):
        assert (line["agent"], line["criterion"], int(line["n"]), float(line["mean"])) == (
            row["agent"], row["criterion"], row["n"], row["mean"],
        )  # fmt: skip


def test_csv_cells_cannot_become_formulas() -> None:
    from recorder.qa_report import ReportRow

    report = QaReport(
        team="=HYPERLINK()", generated_at=BEFORE_MOVE, criteria=("tone",),
        rows=(ReportRow(agent="@cmd", criterion="tone", n=1, mean=2.0),), agents=(), scorecards=1,
    )  # fmt: skip
    (line,) = list(csv.reader(io.StringIO(report_csv(report))))[1:]
    assert line[:2] == ["'=HYPERLINK()", "'@cmd"]
