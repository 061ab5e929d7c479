"""Storage commands: init, selfcheck, demo, keys, audit (verify, checkpoint, show), fsck."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import timedelta

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from recorder import profiles
from recorder.cli.app import EXIT_ERROR, EXIT_USAGE, Context, cli, fail, run_guarded
from recorder.consultation import audit_rows
from recorder.fsck import fsck
from recorder.selfcheck import Step, run_selfcheck
from storage.errors import KeyringExists
from storage.keyring import FileKeyRing
from storage.vault import Vault

pass_ctx = click.make_pass_decorator(Context)


def progress_bar(ctx: Context) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=ctx.err,
        transient=True,
    )


def init_store(ctx: Context) -> bool:
    """Create keyring + store; False if they already existed."""
    created = True
    try:
        keyring = FileKeyRing.create(ctx.paths.keyring, ctx.rng)
    except KeyringExists:
        keyring = FileKeyRing.load(ctx.paths.keyring)
        created = False
    Vault.open(ctx.paths.home, keyring).close()
    return created


@cli.command()
@click.option(
    "--profile",
    help=f"Start from a ready configuration: {', '.join(profiles.available())} "
    "(see docs/profiles.md).",
)
@pass_ctx
def init(ctx: Context, profile: str | None) -> None:
    """Create the data dir and a new master keyring (mode 0600, outside the data dir).

    Safe to run twice: an existing keyring is never overwritten. Back the keyring up
    separately from the data: without it nothing in the data dir can be decrypted, and
    that is the point. With --profile, the profile's configuration is checked and copied
    to <home>/callrec.toml (an existing different file is never overwritten).

    \b
    Examples:
      callrec init
      callrec init --profile no-bank
      callrec --home /srv/callrec init --profile no-postal-chatbot
    """

    def body() -> None:
        target = ctx.paths.config or ctx.paths.home / "callrec.toml"
        if profile is not None:
            profiles.validate(profiles.profile_path(profile))
        created = init_store(ctx)
        verb = "Initialised" if created else "Already initialised"
        ctx.out.print(f"{verb}: data dir {ctx.paths.home}")
        ctx.out.print(f"             keyring  {ctx.paths.keyring} (mode 0600)")
        if profile is not None:
            copied = profiles.install(profile, target)
            state = "written" if copied else "already in place"
            ctx.out.print(f"             config   {target} (profile {profile}, {state})")

    run_guarded(ctx.err, body)


def _print_step(ctx: Context, step: Step) -> None:
    mark = "[green]ok[/]" if step.ok else "[red]FAILED[/]"
    ctx.out.print(f"  {mark}  {step.name:<22} {step.detail}", highlight=False)


def run_selfcheck_cmd(ctx: Context) -> None:
    with ctx.vault() as vault:
        run_selfcheck(
            vault,
            ctx.paths.home,
            now=ctx.now(),
            rng=ctx.rng,
            on_step=lambda step: _print_step(ctx, step),
        )


@cli.command()
@pass_ctx
def selfcheck(ctx: Context) -> None:
    """Seal, store, reopen, verify, seek, tamper, scan and shred a synthetic recording.

    Runs against the configured store, so it proves this installation works end to end.
    """
    run_guarded(ctx.err, lambda: run_selfcheck_cmd(ctx))


@cli.group()
def keys() -> None:
    """Master keys: status and rotation (data keys are rewrapped, audio never rewritten)."""


@keys.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def keys_status(ctx: Context, as_json: bool) -> None:
    """How many data keys are wrapped under each master key version."""

    def body() -> None:
        with ctx.vault() as vault:
            counts = vault.catalog.count_keys_by_version()
            active = vault.keyring.active_kek_version()
            versions = vault.keyring.kek_versions()
        if as_json:
            ctx.out.print_json(json.dumps({"active": active, "versions": versions, "keys": counts}))
            return
        table = Table("KEK version", "data keys", "active")
        for version in versions:
            table.add_row(
                str(version), str(counts.get(version, 0)), "yes" if version == active else ""
            )
        ctx.out.print(table)

    run_guarded(ctx.err, body)


@keys.command("rotate")
@click.option("--batch", default=200, show_default=True, help="Keys rewrapped per commit.")
@pass_ctx
def keys_rotate(ctx: Context, batch: int) -> None:
    """Create a new master key version and rewrap every data key under it.

    Interrupted? Run it again: it resumes where it stopped (each batch commits on its own)
    instead of starting another version.
    """

    def body() -> None:
        with ctx.vault() as vault:
            pending = vault.rotation_pending()
            start_new = pending == 0
            with progress_bar(ctx) as bar:
                task = bar.add_task("rewrapping data keys", total=None)
                report = vault.rotate_keys(
                    now=ctx.now(),
                    rng=ctx.rng,
                    start_new=start_new,
                    batch=batch,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
        verb = "Rotated to" if start_new else "Resumed rotation to"
        ctx.out.print(
            f"{verb} KEK version {report.kek_version}: {report.rewrapped} data keys rewrapped, "
            f"{report.remaining} remaining."
        )

    run_guarded(ctx.err, body)


@cli.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def audit_verify(ctx: Context, as_json: bool) -> None:
    """Recompute the hash chain and check every signed checkpoint.

    Exit 1 and the first bad entry's sequence number if anything was altered, removed,
    inserted, reordered or truncated, or if more entries lie beyond the newest signed
    checkpoint than the checkpoint policy allows (4,000: checkpoints are written every
    1,000 entries and every 15 minutes, so more means checkpoints were deleted).

    \b
    Examples:
      callrec audit verify
      callrec audit verify --json | jq .size
    """

    def body() -> None:
        with ctx.vault() as vault:
            report = vault.audit.verify()
        if as_json:
            ctx.out.print_json(json.dumps(asdict(report)))
        else:
            ctx.out.print(
                f"Audit chain OK: {report.size} entries, head {report.head[:16]}…, "
                f"{report.checkpoints_checked} signed checkpoint(s) verified."
            )

    run_guarded(ctx.err, body)


@audit.command("checkpoint")
@pass_ctx
def audit_checkpoint(ctx: Context) -> None:
    """Sign the current chain head (Ed25519) into the checkpoint file outside the DB."""

    def body() -> None:
        with ctx.vault() as vault:
            cp = vault.audit.checkpoint(ctx.now())
        ctx.out.print(f"Checkpoint signed at {cp.size} entries, head {cp.head[:16]}…")

    run_guarded(ctx.err, body)


_RECORDING_ID = re.compile(r"[0-9a-f]{32}")


@audit.command("show")
@click.option(
    "--recording", "recording_id", required=True, metavar="ID", help="Recording id (32 hex)."
)
@click.option(
    "--withhold-actors",
    is_flag=True,
    help="Show each actor's role only, never the user id (data-subject consultation report).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (a JSON list).")
@pass_ctx
def audit_show(ctx: Context, recording_id: str, withhold_actors: bool, as_json: bool) -> None:
    """Every audit entry about one recording, in chain order (the DPO's view).

    Columns: seq, time (UTC), actor, role, action, outcome, purpose, reason, detail. No
    phone numbers or audio appear: the audit log never holds them.

    By default actors are shown by user id: this is the DPO's internal view, to answer
    "who played this call, when and why". --withhold-actors replaces every actor id by
    its role, which is the view to hand a data subject consulting the accesses to their
    recording: dates and purposes, with the employees' identity withheld (CJEU C-579/21,
    Pankki S). Exit 2 if ID is not a recording id.
    """
    wanted = recording_id.strip().lower()
    if not _RECORDING_ID.fullmatch(wanted):
        fail(ctx.err, "--recording: expected a recording id (32 hex characters)", EXIT_USAGE)

    def body() -> None:
        with ctx.vault() as vault:
            entries = vault.audit.for_recording(wanted)
        rows = audit_rows(entries, withhold_actors=withhold_actors)
        if as_json:
            ctx.out.print_json(json.dumps(rows))
            return
        if not rows:
            ctx.out.print("No audit entries for that recording.")
            return
        table = Table(
            "seq", "time (UTC)", "actor", "role", "action", "outcome", "purpose", "reason",
            "detail",
        )  # fmt: skip
        for row in rows:
            detail = ", ".join(f"{k}={v}" for k, v in sorted(row["detail"].items()))
            cells = (
                str(row["seq"]), row["ts"], row["actor"], row["role"], row["action"],
                row["outcome"], row["purpose"] or "", row["reason"] or "", detail,
            )  # fmt: skip
            table.add_row(*(Text(str(c)) for c in cells))
        ctx.out.print(table)
        note = " (actors withheld: roles only)" if withhold_actors else ""
        ctx.out.print(f"{len(rows)} entries{note}.", highlight=False)

    run_guarded(ctx.err, body)


@cli.command("fsck")
@click.option("--repair", is_flag=True, help="Remove temp files and orphan ciphertext (I3).")
@click.option(
    "--grace",
    default=3600,
    show_default=True,
    type=click.IntRange(min=0),
    help="Seconds: --repair leaves younger leftovers alone (a capture may be in progress). "
    "Use 0 right after a crash, when nothing else is running.",
)
@click.option("--quick", is_flag=True, help="Skip decrypting every artefact (I1).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def fsck_cmd(ctx: Context, repair: bool, grace: int, quick: bool, as_json: bool) -> None:
    """Check the store's invariants: I1 content, I2 keys, I3 files (no temp, orphan,
    symlink or FIFO in the data dir), I6 audit chain (and checkpoint policy), I7 no
    number-shaped value in any text column, file name or job, I9 catalog rows carry their
    integrity MAC (see docs/security.md).

    Exit 0 when everything holds, 1 when something is broken (and not repaired).

    \b
    Examples:
      callrec fsck --quick           structure, MACs and numbers; no decryption
      callrec fsck --repair --grace 0   right after a crash, nothing else running
    """

    def body() -> None:
        with ctx.vault() as vault, progress_bar(ctx) as bar:
            task = bar.add_task("verifying artefacts", total=None)
            report = fsck(
                vault,
                repair=repair,
                now=ctx.now(),
                grace=timedelta(seconds=grace),
                verify_content=not quick,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                home=ctx.paths.home,
            )
        if as_json:
            ctx.out.print_json(json.dumps(asdict(report) | {"ok": report.ok}))
        else:
            ctx.out.print(
                f"{report.artefacts_checked} artefacts, {report.blobs_seen} blobs, "
                f"{report.audit_entries} audit entries checked."
            )
            for f in report.findings:
                state = "repaired" if f.repaired else "BROKEN"
                ctx.out.print(f"  {f.invariant} {state}: {f.problem} ({f.subject})")
            ctx.out.print("All invariants hold." if report.ok else "Invariants broken.")
        if not report.ok:
            fail(ctx.err, "fsck found broken invariants", EXIT_ERROR)

    run_guarded(ctx.err, body)
