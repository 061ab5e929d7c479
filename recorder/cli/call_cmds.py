"""Call commands: ingest, spool run|watch, calls list, play, download."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import click
from rich.table import Table

from recorder.access import agents_of, principal_for
from recorder.capture import Capturer
from recorder.cli.app import Context, cli, run_guarded
from recorder.cli.chat_cmds import chat_spool_pass
from recorder.cli.store_cmds import pass_ctx, progress_bar
from recorder.download import download as download_recording
from recorder.download import write_atomically
from recorder.errors import InvalidEvent, RecorderError
from recorder.ingest.spool import SpoolReport, run_spool
from recorder.listing import CallFilter, list_calls, masked_pattern, parse_when
from recorder.models import CallEvent
from recorder.playback import open_playback
from recorder.timeutil import parse_offset_ms, parse_utc
from storage.qa import CatalogAssignments


def _when(value: str | None, field: str) -> datetime | None:
    return None if value is None else parse_utc(value, field, InvalidEvent)


def _file_id(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return "sha256-" + digest.hexdigest()


@cli.command()
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--caller", help="Caller id as delivered (any format; 'anonymous' = withheld).")
@click.option("--agent", required=True, help="Agent user id who took the call.")
@click.option("--service-number", help="The number the customer called.")
@click.option("--started-at", help="When FILE starts (ISO-8601 with offset). Default: now.")
@click.option("--answered-at", help="When the call was answered; audio before is dropped.")
@click.option("--ended-at", help="When the call was hung up; audio after is dropped.")
@click.option("--no-ai", is_flag=True, help="The customer declined AI processing.")
@click.option("--class", "retention", help="Retention class (default: standard_6m).")
@click.option("--source-id", help="Idempotency key. Default: SHA-256 of FILE's bytes.")
@pass_ctx
def ingest(
    ctx: Context,
    file: Path,
    caller: str | None,
    agent: str,
    service_number: str | None,
    started_at: str | None,
    answered_at: str | None,
    ended_at: str | None,
    no_ai: bool,
    retention: str | None,
    source_id: str | None,
) -> None:
    """Capture one call recording FILE (WAV PCM/µ-law/A-law or MP3).

    The caller's number is masked (last three digits) before anything is written; the
    same FILE ingested twice is stored once.
    """

    def body() -> None:
        now = ctx.now()
        event = CallEvent(
            source="cli",
            source_id=source_id or _file_id(file),
            audio_path=file,
            caller=caller,
            service_number=service_number,
            agent_id=agent,
            started_at=_when(started_at, "--started-at") or now,
            answered_at=_when(answered_at, "--answered-at"),
            ended_at=_when(ended_at, "--ended-at"),
            ai=not no_ai,
            retention_class=retention,
        )
        with ctx.vault() as vault:
            result = Capturer(vault, ctx.config()).capture(event, now=now, rng=ctx.rng)
        verb = "Already stored" if result.duplicate else "Stored"
        ctx.out.print(
            f"{verb} recording {result.recording_id} ({result.duration_ms / 1000:.1f} s, "
            f"caller {result.caller_display})",
            highlight=False,
        )

    run_guarded(ctx.err, body)


@cli.group()
def spool() -> None:
    """Spool folders: NAME.wav (or .mp3) + NAME.json sidecar, written by the PBX, and chat
    deliveries as NAME.chat.json (see docs/chat.md)."""


def spool_pass(ctx: Context, folder: Path, *, quiet: bool = False) -> SpoolReport:
    with ctx.vault() as vault, progress_bar(ctx) as bar:
        task = bar.add_task(f"capturing {folder.name}", total=None)
        report = run_spool(
            folder,
            Capturer(vault, ctx.config()),
            now=ctx.now,
            rng=ctx.rng,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
        chats = chat_spool_pass(ctx, vault, folder)  # NAME.chat.json files (issue 17)
    if not quiet or report.captured or report.rejected or report.failed:
        ctx.out.print(
            f"{len(report.captured)} captured, {report.duplicates} already stored, "
            f"{len(report.rejected)} rejected (see {folder / 'rejected'}), "
            f"{len(report.failed)} left for retry."
        )
    report.failed.extend(chats.failed)
    return report


@spool.command("run")
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
@pass_ctx
def spool_run(ctx: Context, folder: Path) -> None:
    """One pass over FOLDER: capture every complete pair, then remove it.

    Bad pairs move to FOLDER/rejected/ with a NAME.reason.txt. Exit 1 if any pair was
    left for retry (e.g. disk full).
    """

    def body() -> None:
        if spool_pass(ctx, folder).failed:
            sys.exit(1)

    run_guarded(ctx.err, body)


@spool.command("watch")
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--interval", default=2.0, show_default=True, help="Seconds between passes.")
@click.option("--passes", default=0, type=click.IntRange(min=0), help="Stop after N (0: never).")
@pass_ctx
def spool_watch(ctx: Context, folder: Path, interval: float, passes: int) -> None:
    """Run a pass over FOLDER every --interval seconds until interrupted (Ctrl-C).

    Only passes that did something are reported. Run it under a service manager
    (systemd, supervisord) next to the PBX; a pair that failed is retried next pass.
    """

    def body() -> None:
        done = 0
        try:
            while passes == 0 or done < passes:
                spool_pass(ctx, folder, quiet=True)
                done += 1
                if passes == 0 or done < passes:
                    time.sleep(interval)
        except KeyboardInterrupt:
            ctx.err.print("stopped")

    run_guarded(ctx.err, body)


@cli.group()
def calls() -> None:
    """Recorded calls."""


@calls.command("list")
@click.option("--as", "as_user", required=True, help="The user asking (a configured id).")
@click.option("--agent", help="Only calls this agent took part in (answered or joined).")
@click.option("--team", help="Only calls of this team (or a sub-team) at call time.")
@click.option("--since", help="From this date (YYYY-MM-DD, UTC) or instant (ISO-8601).")
@click.option("--until", help="Up to and including this date, or before this instant.")
@click.option("--masked", help="A piece of the masked number, e.g. 234*** (never a full one).")
@click.option("--topic", help="Only calls the AI path put in this topic (e.g. card_block).")
@click.option("--number", help="Caller's full number (DPO/legal only, with --purpose).")
@click.option("--purpose", help="Why: dsar (DPO) or legal (legal) when listing as them.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def calls_list(
    ctx: Context,
    as_user: str,
    agent: str | None,
    team: str | None,
    since: str | None,
    until: str | None,
    masked: str | None,
    topic: str | None,
    number: str | None,
    purpose: str | None,
    as_json: bool,
) -> None:
    """The calls USER may see, narrowed by filters (filters never widen access).

    Agents see their own calls (answered or joined), supervisors their teams' calls at
    call time, QA reviewers the calls sampled to them, the admin metadata only; the DPO
    and legal list with --purpose dsar / legal. Numbers are always shown masked. Each
    listing is audited with the names of the filters used, never their values.

    \b
    Examples:
      callrec calls list --as siri
      callrec calls list --as siri --agent anna --since 2026-11-01 --until 2026-11-30
      callrec calls list --as sven --team stockholm-1 --masked 234*** --json
      callrec calls list --as dpo1 --purpose dsar --number "+47 912 34 567"

    --number looks the caller up through the keyed lookup digest (any format of the
    number works); it is for the DPO (dsar) and legal (legal) only, and is audited as a
    search without the number. Exit 3 when refused.
    """
    wanted = CallFilter(agent=agent, team=team, number=number, topic=topic)
    run_guarded(
        ctx.err,
        lambda: show_calls(
            ctx,
            as_user,
            as_json,
            wanted=wanted,
            purpose=purpose,
            raw_since=since,
            raw_until=until,
            raw_masked=masked,
        ),  # fmt: skip
    )


def show_calls(
    ctx: Context,
    as_user: str,
    as_json: bool,
    *,
    wanted: CallFilter | None = None,
    purpose: str | None = None,
    raw_since: str | None = None,
    raw_until: str | None = None,
    raw_masked: str | None = None,
) -> None:
    """List (and audit the listing of) the calls ``as_user`` may see that pass the filters."""
    config = ctx.config()
    principal = principal_for(config, as_user)
    wanted = replace(
        wanted or CallFilter(),
        since=parse_when(raw_since, "--since", end=False),
        until=parse_when(raw_until, "--until", end=True),
        masked=masked_pattern(raw_masked),
    )
    with ctx.vault() as vault:
        rows = list_calls(
            vault, config, principal, wanted, now=ctx.now(), purpose=purpose,
            assignments=CatalogAssignments(vault.catalog),
        )  # fmt: skip
    if as_json:
        ctx.out.print_json(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "started_at": r.started_at.isoformat(),
                        "answered_at": r.answered_at.isoformat() if r.answered_at else None,
                        "ended_at": r.ended_at.isoformat() if r.ended_at else None,
                        "duration_ms": r.duration_ms,
                        "service_number": r.service_number,
                        "caller": r.caller_display,
                        "agent": r.agent_id,
                        "participants": list(r.participants),
                        "team": r.team_id,
                        "channels": r.channels,
                        "retention_class": r.retention_class,
                    }
                    for r in rows
                ]
            )
        )
        return
    table = Table("id", "started (UTC)", "duration", "caller", "agent", "team", "class")
    for r in rows:
        agents = ", ".join(agents_of(r))
        table.add_row(
            r.id,
            r.started_at.strftime("%Y-%m-%d %H:%M"),
            f"{(r.duration_ms or 0) / 1000:.0f} s",
            r.caller_display,
            agents,
            r.team_id or "",
            r.retention_class,
        )
    ctx.out.print(table)
    ctx.out.print(f"{len(rows)} call(s) visible to {as_user}.")


def _parse_clock(value: str | None, field: str) -> int | None:
    """'90', '1:30', '00:01:30' or '30s' -> milliseconds (see ``parse_offset_ms``)."""
    return parse_offset_ms(value, field, InvalidEvent)


@cli.command()
@click.argument("recording_id")
@click.option("--as", "as_user", required=True, help="The user asking (a configured id).")
@click.option("--purpose", required=True, help="Why: quality, dispute, training, dsar, legal.")
@click.option("--start", help="Start offset: 90, 1:30 or 00:01:30.")
@click.option("--duration", help="How long: 30s, 0:30.")
@click.option("--out", "out", default="-", show_default=True, help="WAV file, or - for stdout.")
@pass_ctx
def play(
    ctx: Context,
    recording_id: str,
    as_user: str,
    purpose: str,
    start: str | None,
    duration: str | None,
    out: str,
) -> None:
    """Play a recording as WAV, if USER may. Exit 3 when denied.

    The access decision (allowed or denied, with the purpose and range) is written to the
    audit log and committed before the first audio byte is produced. QA reviewers play
    the calls sampled to them (purpose quality or training).

    \b
    Examples:
      callrec play ID --as anna --purpose quality --out call.wav
      callrec play ID --as siri --purpose dispute --start 1:30 --duration 30s | aplay
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            playback = open_playback(
                vault,
                config,
                principal,
                recording_id,
                purpose=purpose,
                now=ctx.now(),
                start_ms=_parse_clock(start, "--start") or 0,
                duration_ms=_parse_clock(duration, "--duration"),
                assignments=CatalogAssignments(vault.catalog),
            )
            target: BinaryIO
            if out == "-":
                target = sys.stdout.buffer
                for chunk in playback.wav_chunks():
                    target.write(chunk)
                target.flush()
            else:
                try:
                    write_atomically(Path(out), playback.wav_chunks(), force=True)
                except OSError as exc:
                    raise RecorderError(f"cannot write --out: {exc.strerror}") from None
                ctx.err.print(
                    f"Wrote {playback.duration_ms / 1000:.1f} s to {out} "
                    f"(access recorded in the audit log).",
                    highlight=False,
                )

    run_guarded(ctx.err, body)


@cli.command()
@click.argument("recording_id")
@click.option("--as", "as_user", required=True, help="The user asking (a configured id).")
@click.option("--purpose", required=True, help="Why: quality, dispute, training, dsar, legal.")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The WAV file to write (created 0600).",
)
@click.option("--start", help="Start offset: 90, 1:30 or 00:01:30.")
@click.option("--duration", help="How long: 30s, 0:30.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@pass_ctx
def download(
    ctx: Context,
    recording_id: str,
    as_user: str,
    purpose: str,
    out: Path,
    start: str | None,
    duration: str | None,
    force: bool,
) -> None:
    """Save a recording (or a range of it) as a WAV file, if USER may download it.

    A download is its own audited action, separate from play: supervisors (their teams'
    calls at call time) and legal (with --purpose legal) may download; agents listen
    with `callrec play`. The decision is audited and committed before the first byte is
    written; the file appears complete or not at all, never overwrites an existing file
    unless --force, and a refusal (exit 3) leaves no file behind.

    \b
    Examples:
      callrec download ID --as siri --purpose dispute --out call.wav
      callrec download ID --as siri --purpose quality --start 1:30 --duration 30s --out part.wav
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            done = download_recording(
                vault,
                config,
                principal,
                recording_id,
                out,
                purpose=purpose,
                now=ctx.now(),
                start_ms=_parse_clock(start, "--start") or 0,
                duration_ms=_parse_clock(duration, "--duration"),
                force=force,
                assignments=CatalogAssignments(vault.catalog),
            )
        ctx.err.print(
            f"Wrote {done.duration_ms / 1000:.1f} s to {out} (download recorded in the audit log).",
            highlight=False,
        )

    run_guarded(ctx.err, body)
