"""The QA report: scorecard results per agent and criterion, for a supervisor's team.

Who sees what: a **supervisor** who led ``team`` (or a team above it) at some time gets
the scorecards of calls whose agent was, at call time, in a team they led (their ``list``
scope) and whose team is ``team`` or below it. Anyone else is refused, audited. Admins
are refused too: scores are staff-performance data, and the admin manages keys and users,
not people. Restricted calls are left out (the supervisor cannot list them either).

Aggregation: one row per (agent, criterion) with ``n`` (scorecards that scored it; a
criterion marked not applicable is not counted) and the ``mean`` (rounded to 2 decimals).
A call scored by two reviewers counts twice: each is a separate review. Per agent,
``weighted`` is the weighted overall score as a percentage of the scale
(:meth:`recorder.qa_config.QaSettings.weighted_percent` over the means) and ``failed`` the
evaluations a critical criterion failed. The ``trend`` is one point per ISO week (of the
call's start): scorecards and their mean overall score, a failed evaluation counting as 0 %
(:meth:`recorder.qa_config.QaSettings.evaluate`).

Rendering: :func:`report_dict` (for ``--json``) and :func:`report_csv` (one line per agent
and criterion; cells that a spreadsheet would run as a formula are prefixed with ``'``).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from recorder.access import Action, Principal, allowed
from recorder.config import Config
from recorder.errors import AccessDenied, QaError
from recorder.qa import audit_step
from recorder.qa_config import qa_settings
from storage.errors import NotFoundError
from storage.qa import QaStore
from storage.vault import Vault

REPORT_ROLE = "supervisor"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportRow:
    """Scores of one agent on one criterion."""

    agent: str
    criterion: str
    n: int
    mean: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentTotal:
    """One agent's reviewed calls and weighted overall score (percent of the scale)."""

    agent: str
    calls: int
    weighted: float | None
    failed: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendPoint:
    """One ISO week (``week`` is its Monday): scorecards and their mean overall score."""

    week: date
    scorecards: int
    percent: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class QaReport:
    """The report for one team."""

    team: str
    generated_at: datetime
    criteria: tuple[str, ...]
    rows: tuple[ReportRow, ...]
    agents: tuple[AgentTotal, ...]
    scorecards: int
    trend: tuple[TrendPoint, ...] = ()


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _ever_led(config: Config, user_id: str, team: str) -> bool:
    return any(s.user == user_id for t in config.ancestors(team) for s in config.teams[t].leaders)


def qa_report(
    vault: Vault, config: Config, principal: Principal, *, team: str, now: datetime
) -> QaReport:
    """Aggregate the scorecards of ``team`` for ``principal`` (one audit entry ``qa.report``)."""
    if team not in config.teams:
        raise QaError("team: not a team of the configuration")
    supervisor = Principal(user_id=principal.user_id, roles=principal.roles & {REPORT_ROLE})
    reason = None
    if not supervisor.roles:
        reason = "only supervisors see QA reports"
    elif not _ever_led(config, principal.user_id, team):
        reason = "not a team they led"
    if reason is not None:
        audit_step(
            vault, principal, "qa.report", now=now, outcome="denied", reason=reason,
            detail={"team": team},
        )  # fmt: skip
        raise AccessDenied(reason)
    settings = qa_settings(config)
    names = tuple(c.name for c in settings.criteria)
    sums: dict[tuple[str, str], list[int]] = defaultdict(list)
    calls: dict[str, int] = defaultdict(int)
    failed: dict[str, int] = defaultdict(int)
    weeks: dict[date, list[float | None]] = defaultdict(list)
    used = 0
    for card in QaStore(vault.catalog).scorecards():
        try:
            rec = vault.catalog.get_recording(card.recording_id)
        except NotFoundError:
            continue
        teams = (rec.team_id,) if rec.team_id else config.teams_of(rec.agent_id, rec.started_at)
        if not any(team in config.ancestors(t) for t in teams):
            continue
        if not allowed(config, supervisor, Action.LIST, rec).allowed:
            continue
        agent = rec.agent_id or "(unknown)"
        used += 1
        calls[agent] += 1
        for name, score in card.scores.items():
            if score is not None:
                sums[(agent, name)].append(score)
        result = settings.evaluate(card.scores)
        failed[agent] += bool(result.failed)
        day = rec.started_at.date()
        weeks[day - timedelta(days=day.weekday())].append(result.percent)
    order = {name: i for i, name in enumerate(names)}
    rows = tuple(
        ReportRow(agent=a, criterion=c, n=len(v), mean=round(sum(v) / len(v), 2))
        for (a, c), v in sorted(sums.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 99)))
    )
    agents = tuple(
        AgentTotal(
            agent=a,
            calls=calls[a],
            weighted=settings.weighted_percent({r.criterion: r.mean for r in rows if r.agent == a}),
            failed=failed[a],
        )
        for a in sorted(calls)
    )
    trend = tuple(
        TrendPoint(week=w, scorecards=len(v), percent=_mean([p for p in v if p is not None]))
        for w, v in sorted(weeks.items())
    )
    audit_step(
        vault, principal, "qa.report", now=now, outcome="ok",
        reason="supervisor of the team", detail={"team": team, "scorecards": used},
    )  # fmt: skip
    return QaReport(
        team=team, generated_at=now, criteria=names, rows=rows, agents=agents, scorecards=used,
        trend=trend,
    )  # fmt: skip


def report_dict(report: QaReport) -> dict[str, Any]:
    """The report as JSON-ready data."""
    return {
        "team": report.team,
        "generated_at": report.generated_at.isoformat(),
        "criteria": list(report.criteria),
        "scorecards": report.scorecards,
        "rows": [
            {"agent": r.agent, "criterion": r.criterion, "n": r.n, "mean": r.mean}
            for r in report.rows
        ],
        "agents": [
            {
                "agent": a.agent,
                "calls": a.calls,
                "weighted_percent": a.weighted,
                "failed_critical": a.failed,
            }
            for a in report.agents
        ],
        "trend": [
            {"week": p.week.isoformat(), "scorecards": p.scorecards, "percent": p.percent}
            for p in report.trend
        ],
    }


def _cell(value: object) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_csv(report: QaReport) -> str:
    """One CSV line per (agent, criterion): ``team,agent,criterion,n,mean``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["team", "agent", "criterion", "n", "mean"])
    for r in report.rows:
        writer.writerow([_cell(report.team), _cell(r.agent), r.criterion, r.n, f"{r.mean:.2f}"])
    return out.getvalue()
