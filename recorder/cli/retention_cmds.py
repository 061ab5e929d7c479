"""``callrec retention`` and ``callrec hold``: automatic destruction and legal hold (issue 8)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from recorder.access import principal_for
from recorder.chat.subjects import SubjectKey
from recorder.cli.app import Context, cli, run_guarded
from recorder.config import Config
from recorder.errors import AccessDenied, InvalidEvent
from recorder.holds import (
    HoldOutcome,
    HoldTarget,
    chat_targets,
    place_hold,
    release_hold,
    target_for,
)
from recorder.job_retention import erase_jobs, purge_finished
from recorder.retention import load_classes
from recorder.subject import ErasureOutcome, erased_recordings, run_pending_erasures
from recorder.sweep import SweepReport, sweep
from storage import holds as hold_store
from storage.vault import Vault

pass_ctx = click.make_pass_decorator(Context)


@cli.group()
def retention() -> None:
    """Retention classes and the sweep that destroys what is due.

    \b
    Examples:
      callrec retention classes              the classes in force (defaults + config)
      callrec retention sweep --dry-run      what a pass would destroy, changing nothing
      callrec retention sweep --spool /var/spool/callrec --json
    """


def _duration(months: int, days: int, hours: int) -> str:
    parts = [f"{v} {u}" for v, u in ((months, "months"), (days, "days"), (hours, "hours")) if v]
    return ", ".join(parts)


@retention.command("classes")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def retention_classes(ctx: Context, as_json: bool) -> None:
    """List the retention classes: duration, kind (max = delete by, min = keep at least).

    Classes come from the defaults and ``[retention.classes.NAME]`` in the config file.

    \b
    Example:
      callrec retention classes --json
    """

    def body() -> None:
        classes = load_classes(ctx.config())
        if as_json:
            rows = [
                {"name": c.name, "months": c.months, "days": c.days, "hours": c.hours,
                 "kind": c.kind, "applies_to": list(c.applies_to)}
                for c in classes.values()
            ]  # fmt: skip
            ctx.out.print_json(json.dumps(rows))
            return
        table = Table("class", "duration", "kind", "applies to")
        for c in classes.values():
            kind = "min (keep at least)" if c.kind == "min" else "max (delete by)"
            table.add_row(
                c.name, _duration(c.months, c.days, c.hours), kind, ", ".join(c.applies_to)
            )
        ctx.out.print(table)

    run_guarded(ctx.err, body)


def _print_report(ctx: Context, report: SweepReport) -> None:
    verb = "would destroy" if report.dry_run else "destroyed"
    ctx.out.print(
        f"Retention sweep {verb} {report.recordings_destroyed} recording(s) and "
        f"{report.artefacts_destroyed} artefact(s).",
        highlight=False,
    )
    for reason, count in sorted(report.blocked.items()):
        ctx.out.print(f"  kept (due, but {reason}): {count}", highlight=False)
    if report.rejected_deleted:
        ctx.out.print(f"  spool rejected/ files deleted: {report.rejected_deleted}")
    if report.blobs_deleted and not report.dry_run:
        ctx.out.print(f"  ciphertext files deleted: {report.blobs_deleted}", highlight=False)


@retention.command("sweep")
@click.option("--dry-run", is_flag=True, help="Report what is due; destroy nothing.")
@click.option(
    "--spool",
    "spools",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="A spool folder whose rejected/ files older than 24 h are deleted (repeatable).",
)
@click.option(
    "--batch",
    default=500,
    show_default=True,
    type=click.IntRange(min=1),
    help="Recordings per commit.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def retention_sweep(
    ctx: Context, dry_run: bool, spools: tuple[Path, ...], batch: int, as_json: bool
) -> None:
    """One pass: crypto-shred every due recording and artefact that nothing keeps.

    Kept: legal holds, restricted recordings (Art. 18), MIN classes until their date.
    Safe to interrupt and to run again: each batch commits on its own and nothing is
    destroyed twice. ``serve``/``worker`` also sweep periodically.

    \b
    Examples:
      callrec retention sweep --dry-run
      callrec retention sweep --json
    """

    def body() -> None:
        classes = load_classes(ctx.config())
        with ctx.vault() as vault, _spinner(ctx, as_json) as bar:
            task = bar.add_task("sweeping", total=None)
            report = sweep(
                vault,
                classes=classes,
                now=ctx.now(),
                batch=batch,
                dry_run=dry_run,
                spools=spools,
                progress=lambda done, _total: bar.update(
                    task, description=f"sweeping: {done} recordings"
                ),
            )
            erased = [] if dry_run else _finish_erasures(ctx, vault)
            jobs = 0
            if not dry_run:
                done = erased_recordings(vault, erased)
                jobs = erase_jobs(ctx.paths.home, done)
                jobs += purge_finished(ctx.paths.home, ctx.config(), now=ctx.now())
        if erased and not as_json:
            ctx.out.print(f"pending erasures completed: {len(erased)}", highlight=False)
        if jobs and not as_json:
            ctx.out.print(f"finished or erased webhook jobs purged: {jobs}", highlight=False)
        if as_json:
            ctx.out.print_json(json.dumps(report.as_dict() | {"jobs_purged": jobs}))
        else:
            _print_report(ctx, report)

    run_guarded(ctx.err, body)


def _finish_erasures(ctx: Context, vault: Vault) -> list[ErasureOutcome]:
    """Data-subject erasures that waited for a hold, restriction or MIN class to lift."""
    return run_pending_erasures(vault, ctx.config(), now=ctx.now(), rng=ctx.rng)


def _spinner(ctx: Context, quiet: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=ctx.err,
        transient=True,
        disable=quiet or not ctx.err.is_terminal,
    )


# -- legal hold ---------------------------------------------------------------------------


@cli.group()
def hold() -> None:
    """Legal holds: held calls are never destroyed, by the sweep or by erasure.

    A hold on --number or --agent is standing: it also covers calls captured later.
    Only the roles ``legal`` and ``dpo`` may place or release holds; every attempt is
    audited.

    \b
    Examples:
      callrec hold place --recording 3f2a… --reason "complaint board case" --as lena
      callrec hold place --number "+47 912 34 567" --reason "police request" --as lena
      callrec hold release --agent anna --reason "case closed" --as lena
      callrec hold place --email kari@example.no --reason "complaint" --as lena   (chats)
      callrec hold list --as lena
    """


def _target_options(f: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(
        [
            click.option("--recording", help="One recording id."),
            click.option("--number", help="Every call of this caller (any format)."),
            click.option("--agent", help="Every call taken by this agent id."),
            click.option("--email", help="Every chat stored so far under this contact e-mail."),
            click.option("--customer", help="Every chat stored so far of this customer id."),
            click.option("--reason", required=True, help="Why (no phone or case numbers)."),
            click.option("--as", "as_user", required=True, help="The user acting."),
            click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
        ]
    ):
        f = option(f)
    return f


def _targets(
    vault: Vault,
    config: Config,
    recording: str | None,
    number: str | None,
    agent: str | None,
    email: str | None,
    customer: str | None,
) -> list[HoldTarget]:
    """One target, or for ``--email``/``--customer`` one per chat stored under it."""
    if email is None and customer is None:
        return [target_for(vault, config, recording=recording, number=number, agent=agent)]
    if recording is not None or number is not None or agent is not None:
        raise InvalidEvent("target: give exactly one of --recording, --number, --agent, "
                           "--email, --customer")  # fmt: skip
    return chat_targets(vault, SubjectKey(email=email, customer=customer))


def _print_outcome(ctx: Context, verb: str, outcome: HoldOutcome, as_json: bool) -> None:
    if as_json:
        ctx.out.print_json(
            json.dumps(
                {"target": outcome.target.kind, "label": outcome.target.label,
                 "holds": outcome.holds, "recordings": outcome.recordings}
            )
        )  # fmt: skip
        return
    ctx.out.print(
        f"Hold {verb} on {outcome.target.kind} {outcome.target.label}: "
        f"{outcome.holds} hold(s), {outcome.recordings} recording(s).",
        highlight=False,
    )


@hold.command("place")
@_target_options
@pass_ctx
def hold_place(
    ctx: Context,
    recording: str | None,
    number: str | None,
    agent: str | None,
    email: str | None,
    customer: str | None,
    reason: str,
    as_user: str,
    as_json: bool,
) -> None:
    """Place a legal hold on a recording, every call of a caller, or of an agent.

    \b
    Example:
      callrec hold place --number "+4791234567" --reason "dispute" --as lena
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            for target in _targets(vault, config, recording, number, agent, email, customer):
                outcome = place_hold(
                    vault, config, principal, target, reason=reason, now=ctx.now(), rng=ctx.rng
                )
                _print_outcome(ctx, "placed", outcome, as_json)

    run_guarded(ctx.err, body)


@hold.command("release")
@_target_options
@pass_ctx
def hold_release(
    ctx: Context,
    recording: str | None,
    number: str | None,
    agent: str | None,
    email: str | None,
    customer: str | None,
    reason: str,
    as_user: str,
    as_json: bool,
) -> None:
    """Release the holds on a target; what is due is destroyed by the next sweep.

    \b
    Example:
      callrec hold release --recording 3f2a… --reason "case closed" --as lena
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            for target in _targets(vault, config, recording, number, agent, email, customer):
                outcome = release_hold(
                    vault, config, principal, target, reason=reason, now=ctx.now()
                )
                _print_outcome(ctx, "released", outcome, as_json)

    run_guarded(ctx.err, body)


@hold.command("list")
@click.option("--as", "as_user", required=True, help="The user asking (legal or dpo).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def hold_list(ctx: Context, as_user: str, as_json: bool) -> None:
    """The active holds (a caller hold shows as a digest prefix, never a number).

    \b
    Example:
      callrec hold list --as lena --json
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        if not principal.roles & {"legal", "dpo"}:
            raise AccessDenied("only legal and dpo see holds")
        with ctx.vault() as vault:
            active = hold_store.active(vault.catalog)
        rows = [
            {"target": h.target,
             "value": h.value[:12] + "…" if h.target == "caller" else h.value,
             "reason": h.reason, "placed_at": h.placed_at.isoformat(), "placed_by": h.placed_by}
            for h in active
        ]  # fmt: skip
        if as_json:
            ctx.out.print_json(json.dumps(rows))
            return
        table = Table("target", "value", "reason", "placed at", "by")
        for r in rows:
            table.add_row(*(str(r[k]) for k in ("target", "value", "reason", "placed_at",
                                                 "placed_by")))  # fmt: skip
        ctx.out.print(table)
        ctx.out.print(f"{len(rows)} active hold(s).")

    run_guarded(ctx.err, body)
