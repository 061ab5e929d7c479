"""``callrec qa``: QA sampling, review sessions and reports (issue 6).

The commands are thin: the flow lives in :mod:`recorder.qa` (review steps),
:mod:`recorder.qa_sample` (the seeded draw) and :mod:`recorder.qa_report`, so the web UI
can reuse it. Every command writes its audit entries through those modules.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from recorder.access import principal_for
from recorder.cli.app import Context, cli, run_guarded
from recorder.cli.store_cmds import pass_ctx
from recorder.errors import QaError
from recorder.qa import CallCard, Review
from recorder.qa_report import qa_report, report_csv, report_dict
from recorder.qa_sample import SampleRequest, parse_rate, replay_sample
from recorder.qa_sample import draw_sample as do_draw
from recorder.timeutil import parse_utc
from storage.vault import Vault


def _date(value: str | None, field: str) -> datetime | None:
    """``2026-11-01`` (midnight UTC) or a full ISO-8601 timestamp with an offset."""
    if value is None:
        return None
    text = value.strip()
    if len(text) == 10:
        text += "T00:00:00Z"
    return parse_utc(text, field, QaError)


def write_atomically(path: Path, chunks: Iterator[bytes]) -> None:
    """Write ``path.part`` and rename only once every chunk authenticated."""
    part = path.with_name(path.name + ".part")
    try:
        with part.open("wb") as target:
            for chunk in chunks:
                target.write(chunk)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def review_desk(ctx: Context, vault: Vault, as_user: str) -> Review:
    config = ctx.config()
    return Review(vault, config, principal_for(config, as_user), rng=ctx.rng)


def card_dict(card: CallCard) -> dict[str, Any]:
    return {
        "id": card.recording_id,
        "number": card.number,
        "of": card.total,
        "caller": card.caller,
        "agent": card.agent,
        "team": card.team,
        "started_at": card.started_at.isoformat(),
        "duration_ms": card.duration_ms,
        "topics": list(card.topics),
        "has_transcript": card.has_transcript,
        "has_summary": card.has_summary,
        "scored": card.scored,
    }


@cli.group()
def qa() -> None:
    """Quality review: sample calls to reviewers, review and score them, report.

    \b
    A supervisor (their teams) or an admin (all calls) draws a seeded sample:
      callrec qa sample --as siri --reviewer quinn --rate 5% --team oslo-1 --since 2026-11-01
    The reviewer works through it, interactively or step by step:
      callrec qa assignments --as quinn
      callrec qa review --as quinn
      callrec qa review next --as quinn
      callrec qa review score ID --as quinn --score greeting=4 --score tone=5 ...
    The supervisor reads the results:
      callrec qa report --team oslo-1 --as siri --csv scores.csv
    """


@qa.command("sample")
@click.option("--as", "as_user", required=True, help="Who draws: a supervisor or an admin.")
@click.option("--reviewer", required=True, help="The QA reviewer the calls go to.")
@click.option("--rate", required=True, help="Share of calls to draw: 5%, 0.5%, 100%.")
@click.option("--team", help="Only calls of this team at call time (and teams below it).")
@click.option("--since", help="Calls started at or after: 2026-11-01 or an ISO timestamp.")
@click.option("--until", help="Calls started before this instant.")
@click.option("--seed", type=click.IntRange(min=0), help="Draw seed (default: random).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def qa_sample(
    ctx: Context,
    as_user: str,
    reviewer: str,
    rate: str,
    team: str | None,
    since: str | None,
    until: str | None,
    seed: int | None,
    as_json: bool,
) -> None:
    """Draw a seeded random sample of calls and assign it to a reviewer.

    ceil(N x rate) calls are drawn (5% of 400 = 20; at least 1 from a non-empty scope)
    from the available, unrestricted calls the drawer may list, in the --team and
    [--since, --until) window, never the reviewer's own calls. The seed is recorded:
    `callrec qa replay SAMPLE_ID` redraws and proves the same calls come out.

    \b
    Examples:
      callrec qa sample --as siri --reviewer quinn --rate 5% --team oslo-1
      callrec qa sample --as admin1 --reviewer quinn --rate 2% --since 2026-11-01 --seed 42
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        request = SampleRequest(
            reviewer=reviewer,
            rate_bp=parse_rate(rate),
            seed=seed if seed is not None else int.from_bytes(ctx.rng(4), "big"),
            team=team,
            since=_date(since, "--since"),
            until=_date(until, "--until"),
        )
        with ctx.vault() as vault:
            result = do_draw(vault, config, principal, request, now=ctx.now(), rng=ctx.rng)
        s = result.sample
        if as_json:
            ctx.out.print_json(
                json.dumps(
                    {
                        "sample": s.id,
                        "reviewer": s.reviewer_id,
                        "seed": s.seed,
                        "rate_bp": s.rate_bp,
                        "population": s.population,
                        "drawn": s.drawn,
                        "newly_assigned": result.newly_assigned,
                        "ids": list(result.drawn),
                    }
                )  # fmt: skip
            )
            return
        ctx.out.print(
            f"Sample {s.id}: drew {s.drawn} of {s.population} call(s) at {s.rate_bp / 100:g}% "
            f"for {s.reviewer_id} (seed {s.seed}); {result.newly_assigned} newly assigned.",
            highlight=False,
        )

    run_guarded(ctx.err, body)


@qa.command("replay")
@click.argument("sample_id")
@click.option("--as", "as_user", required=True, help="A supervisor, admin or the DPO.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def qa_replay(ctx: Context, sample_id: str, as_user: str, as_json: bool) -> None:
    """Redraw a recorded sample from its seed and check it matches (exit 1 if not).

    \b
    Example:
      callrec qa replay 3f2a... --as siri
    """

    def body() -> None:
        config = ctx.config()
        with ctx.vault() as vault:
            result = replay_sample(
                vault, config, principal_for(config, as_user), sample_id, now=ctx.now()
            )
        if as_json:
            ctx.out.print_json(
                json.dumps(
                    {
                        "sample": sample_id,
                        "reproduced": result.reproduced,
                        "population_matches": result.population_matches,
                        "draw_matches": result.draw_matches,
                        "ids": list(result.drawn),
                    }
                )  # fmt: skip
            )
        elif result.reproduced:
            ctx.out.print(f"Reproduced: the same {len(result.drawn)} call(s) were drawn.")
        else:
            ctx.out.print(
                "NOT reproduced: "
                + (
                    "the population changed since the draw"
                    if not result.population_matches
                    else "the draw differs"
                )  # fmt: skip
            )
        if not result.reproduced:
            raise QaError("replay did not reproduce the recorded draw")

    run_guarded(ctx.err, body)


@qa.command("assignments")
@click.option("--as", "as_user", required=True, help="The QA reviewer.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def qa_assignments(ctx: Context, as_user: str, as_json: bool) -> None:
    """The calls sampled to you for review, in review order (masked numbers).

    \b
    Example:
      callrec qa assignments --as quinn
    """

    def body() -> None:
        with ctx.vault() as vault:
            cards = review_desk(ctx, vault, as_user).assignments(now=ctx.now())
        if as_json:
            ctx.out.print_json(json.dumps([card_dict(c) for c in cards]))
            return
        table = Table("#", "id", "started (UTC)", "duration", "caller", "agent", "team", "scored")
        for c in cards:
            table.add_row(
                str(c.number), c.recording_id, f"{c.started_at:%Y-%m-%d %H:%M}",
                f"{(c.duration_ms or 0) / 1000:.0f} s", c.caller, c.agent or "", c.team or "",
                "yes" if c.scored else "",
            )  # fmt: skip
        ctx.out.print(table)
        done = sum(c.scored for c in cards)
        ctx.out.print(f"{len(cards)} call(s) assigned to {as_user}, {done} scored.")

    run_guarded(ctx.err, body)


@qa.command("report")
@click.option("--team", required=True, help="The team (teams below it are included).")
@click.option("--as", "as_user", required=True, help="A supervisor who led the team.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write one line per agent and criterion to this CSV file.")  # fmt: skip
@pass_ctx
def qa_report_cmd(
    ctx: Context, team: str, as_user: str, as_json: bool, csv_path: Path | None
) -> None:
    """Scores per agent and criterion (n, mean) for a team you led.

    \b
    Examples:
      callrec qa report --team oslo-1 --as siri
      callrec qa report --team oslo-1 --as siri --json
      callrec qa report --team oslo-1 --as siri --csv oslo-scores.csv
    """

    def body() -> None:
        config = ctx.config()
        with ctx.vault() as vault:
            report = qa_report(
                vault, config, principal_for(config, as_user), team=team, now=ctx.now()
            )
        if csv_path is not None:
            write_atomically(csv_path, iter([report_csv(report).encode()]))
        if as_json:
            ctx.out.print_json(json.dumps(report_dict(report)))
            return
        table = Table("agent", *report.criteria, "calls", "weighted %")
        for total in report.agents:
            cells = []
            for name in report.criteria:
                row = next(
                    (r for r in report.rows if r.agent == total.agent and r.criterion == name),
                    None,
                )
                cells.append("-" if row is None else f"{row.mean:.2f} (n={row.n})")
            weighted = "-" if total.weighted is None else f"{total.weighted:.1f}"
            table.add_row(total.agent, *cells, str(total.calls), weighted)
        ctx.out.print(table)
        ctx.out.print(f"{report.scorecards} scorecard(s) for team {team}.", highlight=False)
        if csv_path is not None:
            ctx.out.print(f"Wrote {csv_path}.", highlight=False)

    run_guarded(ctx.err, body)


# The review group lives in its own module; importing it registers it under `qa`.
from recorder.cli import qa_review_cmds  # noqa: E402, F401
