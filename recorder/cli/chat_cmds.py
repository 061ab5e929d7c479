"""``callrec chat``: ingest chat files, staff access, review samples, statistics, DPO requests.

Every command decides through :mod:`recorder.access` and is audited (issue 17). Chat text
is printed only by ``chat show`` (staff, audited first) and ``chat sample`` (no ids).
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from recorder.access import principal_for
from recorder.chat import render, staff
from recorder.chat.ingest import IngestResult, ingest_delivery
from recorder.chat.parse import read_delivery
from recorder.chat.sample import MAX_SAMPLE, draw_sample
from recorder.chat.selfservice import close_request
from recorder.chat.settings import load_chat_settings
from recorder.chat.spool import ChatSpoolReport, run_chat_spool
from recorder.chat.stats import chat_stats
from recorder.cli.app import Context, cli, run_guarded
from recorder.errors import AccessDenied
from recorder.listing import parse_when
from storage import chats
from storage.vault import Vault

pass_ctx = click.make_pass_decorator(Context)
as_option = click.option(
    "--as", "as_user", required=True, help="The user acting (a configured id)."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
since_option = click.option("--since", help="From this day (YYYY-MM-DD, UTC) or ISO-8601 instant.")
until_option = click.option("--until", help="Up to this day (inclusive) or ISO-8601 instant.")


@cli.group()
def chat() -> None:
    """Chat conversations: ingest, staff access, review samples, statistics.

    \b
    Examples:
      callrec chat ingest conversation.json          store one delivery (prints the secret)
      callrec chat list --as anna                    the chats anna took part in
      callrec chat show ID --as anna [--contact]     the redacted text (and contact details)
      callrec chat show ID --as dpo1 --purpose dsar --text
      callrec chat sample --as qa1 --count 20 --seed 7   redacted bot questions, no ids
      callrec chat stats --as siri --since 2026-11-01 --json
      callrec chat requests --as dpo1                customers' deletion requests
      callrec chat erase ID --as dpo1                carry one out (crypto-shredding)
    """


def _print_result(ctx: Context, result: IngestResult, as_json: bool) -> None:
    data = {"secret": None, "secret_expires_at": None, **result.as_dict()}
    if as_json:
        ctx.out.print_json(json.dumps(data))
        return
    ctx.out.print(
        f"Chat {result.chat_id}: {result.status}, {result.messages_added} message(s) and "
        f"{result.events_added} event(s) added; {result.phase} chat, class "
        f"{result.retention_class}",
        highlight=False,
    )
    if result.secret is not None:
        ctx.out.print(f"secret (give it to the customer's browser only): {result.secret}")


@chat.command("ingest")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@json_option
@pass_ctx
def chat_ingest(ctx: Context, file: Path, as_json: bool) -> None:
    """Store one chat delivery from FILE (the webhook's JSON format; see docs/chat.md).

    Idempotent: the same conversation and message ids add nothing the second time. A new
    chat prints its self-service secret once.

    \b
    Example:
      callrec chat ingest conversation.json --json
    """

    def body() -> None:
        config = ctx.config()
        settings = load_chat_settings(config)
        with file.open("rb") as fh:
            raw = fh.read(settings.max_bytes + 1)
        delivery = read_delivery(raw, settings, config)
        with ctx.vault() as vault:
            result = ingest_delivery(
                vault, config, settings, delivery, source="file", now=ctx.now(), rng=ctx.rng
            )
        _print_result(ctx, result, as_json)

    run_guarded(ctx.err, body)


def chat_spool_pass(ctx: Context, vault: Vault, folder: Path) -> ChatSpoolReport:
    """The chat files (``*.chat.json``) of a spool folder; used by ``callrec spool run``."""
    config = ctx.config()
    report = run_chat_spool(
        folder, vault, config, load_chat_settings(config), now=ctx.now, rng=ctx.rng
    )
    if report.stored or report.rejected or report.failed:
        ctx.out.print(
            f"chats: {len(report.stored)} stored, {report.duplicates} already stored, "
            f"{len(report.rejected)} rejected, {len(report.failed)} left for retry."
        )
    return report


@chat.command("list")
@as_option
@click.option("--purpose", help="Purpose code (required for the DPO and legal).")
@since_option
@until_option
@json_option
@pass_ctx
def chat_list(
    ctx: Context,
    as_user: str,
    purpose: str | None,
    since: str | None,
    until: str | None,
    as_json: bool,
) -> None:
    """The chats USER may see: advisors theirs, supervisors their team's (audited).

    \b
    Examples:
      callrec chat list --as anna
      callrec chat list --as dpo1 --purpose dsar --since 2026-11-01 --json
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            rows = staff.list_chats(
                vault, config, principal, now=ctx.now(), purpose=purpose,
                since=parse_when(since, "--since", end=False),
                until=parse_when(until, "--until", end=True),
            )  # fmt: skip
        if as_json:
            ctx.out.print_json(json.dumps([r.as_dict() for r in rows]))
            return
        table = Table("chat", "started (UTC)", "phase", "class", "messages", "advisor", "contact")
        for r in rows:
            table.add_row(r.chat_id, f"{r.started_at:%Y-%m-%d %H:%M}", r.phase, r.retention_class,
                          str(r.messages), r.advisor or "-", r.contact_number)  # fmt: skip
        ctx.out.print(table)
        ctx.out.print(f"{len(rows)} chat(s)")

    run_guarded(ctx.err, body)


@chat.command("show")
@click.argument("chat_id")
@as_option
@click.option("--purpose", help="Purpose code (required for the DPO and legal).")
@click.option("--text", "as_text", is_flag=True, help="Plain text instead of JSON.")
@click.option("--contact", is_flag=True, help="The contact details (handling advisor only).")
@pass_ctx
def chat_show(
    ctx: Context, chat_id: str, as_user: str, purpose: str | None, as_text: bool, contact: bool
) -> None:
    """One chat's redacted text, or with --contact the queue's contact details (audited).

    \b
    Examples:
      callrec chat show 3f2a… --as anna --text
      callrec chat show 3f2a… --as anna --contact
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            if contact:
                found = staff.show_contact(
                    vault, config, principal, chat_id, now=ctx.now(), purpose=purpose
                )
                ctx.out.print_json(json.dumps(None if found is None else found.as_dict()))
                return
            conv = staff.show_chat(vault, config, principal, chat_id, now=ctx.now(),
                                   purpose=purpose)  # fmt: skip
        if as_text:
            ctx.out.print(escape(render.as_text(conv, staff=True)), highlight=False)
        else:
            ctx.out.print_json(json.dumps(render.as_dict(conv, staff=True), ensure_ascii=False))

    run_guarded(ctx.err, body)


@chat.command("sample")
@as_option
@click.option("--count", type=click.IntRange(1, MAX_SAMPLE), default=20, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), help="Replay a draw (default: a new seed).")
@since_option
@until_option
@json_option
@pass_ctx
def chat_sample(
    ctx: Context,
    as_user: str,
    count: int,
    seed: int | None,
    since: str | None,
    until: str | None,
    as_json: bool,
) -> None:
    """A random sample of redacted bot questions for review: no chat id, time or customer.

    The seed is printed; the same seed over the same chats draws the same sample.

    \b
    Example:
      callrec chat sample --as qa1 --count 20 --seed 7
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        drawn_seed = seed if seed is not None else int.from_bytes(ctx.rng(4), "big")
        with ctx.vault() as vault:
            questions = draw_sample(
                vault, config, principal, count=count, seed=drawn_seed, now=ctx.now(),
                since=parse_when(since, "--since", end=False),
                until=parse_when(until, "--until", end=True),
            )  # fmt: skip
        if as_json:
            ctx.out.print_json(json.dumps({"seed": drawn_seed, "questions": questions}))
            return
        for question in questions:
            ctx.out.print(f"- {escape(question)}", highlight=False)
        ctx.out.print(f"{len(questions)} question(s), seed {drawn_seed}")

    run_guarded(ctx.err, body)


@chat.command("stats")
@as_option
@since_option
@until_option
@json_option
@pass_ctx
def chat_stats_cmd(
    ctx: Context, as_user: str, since: str | None, until: str | None, as_json: bool
) -> None:
    """Counts per day: conversations, handovers, complaints, topics. Never an id or a text.

    \b
    Example:
      callrec chat stats --as siri --since 2026-11-01 --until 2026-11-30 --json
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            days = chat_stats(
                vault, config, principal, now=ctx.now(),
                since=parse_when(since, "--since", end=False),
                until=parse_when(until, "--until", end=True),
            )  # fmt: skip
        if as_json:
            ctx.out.print_json(json.dumps([d.as_dict() for d in days]))
            return
        table = Table("day", "chats", "handovers", "complaints", "topics")
        for d in days:
            topics = ", ".join(f"{k} {v}" for k, v in sorted(d.topics.items()))
            table.add_row(d.day.isoformat(), str(d.conversations), str(d.handovers),
                          str(d.complaints), topics or "-")  # fmt: skip
        ctx.out.print(table)

    run_guarded(ctx.err, body)


@chat.command("requests")
@as_option
@json_option
@pass_ctx
def chat_requests(ctx: Context, as_user: str, as_json: bool) -> None:
    """Customers' open requests to delete an advisor chat (for the DPO).

    \b
    Example:
      callrec chat requests --as dpo1
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        if "dpo" not in principal.roles:
            raise AccessDenied("only the DPO handles deletion requests")
        with ctx.vault() as vault:
            open_ = chats.requests(vault.catalog)
        rows = [
            {"chat_id": r.recording_id, "requested_at": r.requested_at.isoformat()} for r in open_
        ]
        if as_json:
            ctx.out.print_json(json.dumps(rows))
            return
        for row in rows:
            ctx.out.print(f"{row['chat_id']}  requested {row['requested_at']}")
        ctx.out.print(f"{len(rows)} open request(s)")

    run_guarded(ctx.err, body)


@chat.command("erase")
@click.argument("chat_id")
@as_option
@pass_ctx
def chat_erase(ctx: Context, chat_id: str, as_user: str) -> None:
    """Carry out a customer's deletion request: crypto-shred the chat (DPO, audited).

    Under a legal hold, a restriction or a MIN class the erasure stays pending and is done
    by `callrec subject erase --pending` once that lifts.

    \b
    Example:
      callrec chat erase 3f2a… --as dpo1
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            status = close_request(vault, config, principal, chat_id, now=ctx.now(), rng=ctx.rng)
        ctx.out.print(f"Chat {chat_id}: {status}")

    run_guarded(ctx.err, body)


__all__ = ["chat", "chat_spool_pass"]
