"""The supervisor's team report: agents × criteria, the weekly trend, and the CSV download.

================================  ==========================================================
``GET /reports/team?team=T``      :func:`recorder.qa_report.qa_report` (``qa.report``): per
                                  agent and criterion the mean and count, per agent the
                                  weighted score and critical fails, the trend as SVG
``GET /reports/team.csv?team=T``  :func:`recorder.qa_report.report_csv` (cells a spreadsheet
                                  would run as a formula are prefixed with ``'``)
================================  ==========================================================

The team list offered is the teams the supervisor ever led; asking for another is refused
and audited by ``qa_report`` itself.
"""

from __future__ import annotations

import re

from starlette.responses import Response
from starlette.routing import Route

from recorder.config import Config
from recorder.errors import InvalidEvent
from recorder.qa_report import QaReport, qa_report, report_csv
from recorder.web.ui.chart import trend_chart
from recorder.web.ui.handlers import Ctx, signed_in


def led_teams(config: Config, user_id: str) -> list[str]:
    """The teams ``user_id`` led at some time, in configuration order."""
    return [t.id for t in config.teams.values() if any(s.user == user_id for s in t.leaders)]


def _team(ctx: Ctx) -> str:
    team = ctx.request.query_params.get("team")
    if team is None or not team.strip():
        led = led_teams(ctx.deps.config, ctx.principal.user_id)
        if not led:
            raise InvalidEvent("team: you lead no team; give ?team=")
        return led[0]
    if team not in ctx.deps.config.teams:
        raise InvalidEvent("team: not a team of the configuration")
    return team


async def _report(ctx: Ctx, team: str) -> QaReport:
    deps = ctx.deps
    return await deps.db.run(
        lambda v: qa_report(v, deps.config, ctx.principal, team=team, now=ctx.now)
    )


@signed_in
async def team_report(ctx: Ctx) -> Response:
    """The report page."""
    team = _team(ctx)
    report = await _report(ctx, team)
    cells = {(r.agent, r.criterion): r for r in report.rows}
    return ctx.page(
        "report.html", report=report, cells=cells, chart=trend_chart(report.trend),
        teams=led_teams(ctx.deps.config, ctx.principal.user_id), criteria=ctx.deps.qa.criteria,
    )  # fmt: skip


@signed_in
async def team_csv(ctx: Ctx) -> Response:
    """The report as CSV (one line per agent and criterion)."""
    team = _team(ctx)
    report = await _report(ctx, team)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", team)
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="qa-report-{safe}.csv"'},
    )


ROUTES = [
    Route("/reports/team", team_report, methods=["GET"]),
    Route("/reports/team.csv", team_csv, methods=["GET"]),
]
