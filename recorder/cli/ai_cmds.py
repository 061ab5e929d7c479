"""``callrec ai``, ``callrec summary`` and ``callrec transcript``: the AI path (issue 7)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from recorder.access import principal_for
from recorder.ai import AiOutcome, AiPipeline, opt_out
from recorder.ai_config import AiSettings, ai_settings
from recorder.ai_review import (
    SummaryView,
    approve_summary,
    edit_summary,
    ensure_may_opt_out,
    show_summary,
    show_transcript,
)
from recorder.ai_sampling import draw_sample, record_verdict
from recorder.cli.app import Context, cli, run_guarded
from recorder.cli.call_cmds import _parse_clock
from recorder.cli.store_cmds import pass_ctx, progress_bar
from recorder.errors import ConfigError, InvalidEvent
from recorder.retention import load_classes
from transcribe.engine import SpeechEngine, WhisperEngine
from transcribe.errors import TranscribeError

_RATE = re.compile(r"(\d+(?:\.\d+)?)(%?)")


def default_engine(settings: AiSettings) -> SpeechEngine:
    """The configured local Whisper model (never downloaded)."""
    return WhisperEngine(settings.model, cpu_threads=settings.threads)


#: How ``ai run`` gets its speech engine (tests swap in ``ScriptedEngine``).
make_engine: Callable[[AiSettings], SpeechEngine] = default_engine


def _outcome_dict(o: AiOutcome) -> dict[str, Any]:
    return {
        "id": o.recording_id,
        "done": o.done,
        "reason": o.reason,
        "covered_ms": o.covered_ms,
        "redacted_spans": o.redacted_spans,
        "topics": list(o.topics),
        "model": o.model,
    }


@cli.group()
def ai() -> None:
    """The AI path: transcribe, redact, categorise and draft summaries, offline.

    \b
    Examples:
      callrec ai run --pending                 process every call waiting for AI
      callrec ai run 3f2a...                   process one call
      callrec ai optout 3f2a... --at 00:02:10 --as anna
                                               the customer said "stop the AI" at 2:10
      callrec ai review-sample --as qa1 --rate 5% --seed 7
                                               draw calls to check the AI's output (P19)
      callrec ai verdict 3f2a... ok --as qa1   record the check's result

    AI runs only on calls whose record says the customer was told (the sidecar's
    "ai_notice": true), never after an opt-out point, and never on restricted calls.
    """


@ai.command("run")
@click.argument("recording_id", required=False)
@click.option("--pending", is_flag=True, help="Process every call waiting for AI.")
@click.option("--limit", type=click.IntRange(min=1), help="At most N calls (with --pending).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def ai_run(
    ctx: Context, recording_id: str | None, pending: bool, limit: int | None, as_json: bool
) -> None:
    """Transcribe, redact, categorise and summarise captured calls (ID, or --pending).

    Writes four encrypted artefacts per call (redacted audio, redacted transcript,
    categories, draft summary), each with its own key and the 30-day AI retention class.
    Calls without the AI notice, opted out or restricted are skipped, and the skip is
    audited. Exit 1 if a call failed.

    \b
    Examples:
      callrec ai run --pending
      callrec ai run 3f2a9c... --json
    """
    if (recording_id is None) == (not pending):
        raise click.UsageError("give a recording ID or --pending (not both)")

    def body() -> None:
        config = ctx.config()
        settings = ai_settings(config)
        classes = load_classes(config)
        try:
            engine = make_engine(settings)
        except TranscribeError as exc:
            raise ConfigError(f"ai: {exc}") from None
        with ctx.vault() as vault:
            pipeline = AiPipeline(vault, settings, engine, classes=classes)
            if recording_id is not None:
                outcomes = [pipeline.process(recording_id, now=ctx.now(), rng=ctx.rng)]
            else:
                with progress_bar(ctx) as bar:
                    task = bar.add_task("AI", total=None)
                    outcomes = pipeline.run_pending(now=ctx.now, rng=ctx.rng, limit=limit)
                    bar.update(task, completed=len(outcomes), total=len(outcomes))
        if as_json:
            ctx.out.print_json(json.dumps([_outcome_dict(o) for o in outcomes]))
        else:
            table = Table("id", "result", "covered", "redacted", "topics")
            for o in outcomes:
                table.add_row(o.recording_id, "done" if o.done else f"skipped: {o.reason}",
                              f"{o.covered_ms / 1000:.1f} s", str(o.redacted_spans),
                              ", ".join(o.topics))  # fmt: skip
            ctx.out.print(table)
            done = sum(o.done for o in outcomes)
            ctx.out.print(f"{done} processed, {len(outcomes) - done} skipped.")
        if any(o.reason.startswith("AI failed") for o in outcomes):
            raise SystemExit(1)

    run_guarded(ctx.err, body)


@ai.command("optout")
@click.argument("recording_id")
@click.option("--as", "as_user", required=True, help="Who records the opt-out (a user id).")
@click.option("--at", "at", help="When the customer asked, after the answer: 130, 2:10, 00:02:10.")
@click.option("--purpose", help="Purpose code, if your role needs one (dsar for the DPO).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def ai_optout(
    ctx: Context, recording_id: str, as_user: str, at: str | None, purpose: str | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Stop AI for a call, from --at on (default: the whole call). Audited.

    AI output already made from audio after that point is shredded, and the recording
    returns to its non-AI retention class. With --at, the next `ai run` covers only the
    audio before the point; without it, the call never gets AI output.

    \b
    Examples:
      callrec ai optout 3f2a9c... --as anna --at 00:02:10
      callrec ai optout 3f2a9c... --as dpo1 --purpose dsar
    """

    def body() -> None:
        at_ms = _parse_clock(at, "--at")
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            now = ctx.now()
            ensure_may_opt_out(vault, config, principal, recording_id, now=now, purpose=purpose)
            result = opt_out(vault, recording_id, at_ms=at_ms, now=now,
                             actor_id=principal.user_id, actor_role=principal.role)  # fmt: skip
        if as_json:
            ctx.out.print_json(json.dumps({
                "id": result.recording_id, "at_ms": result.at_ms, "shredded": result.shredded,
                "pending_again": result.pending_again,
                "retention_class": result.retention_class,
            }))  # fmt: skip
            return
        where = "the whole call" if result.at_ms == 0 else f"{result.at_ms / 1000:.1f} s on"
        ctx.out.print(
            f"AI stopped for {recording_id} ({where}); {result.shredded} AI artefact(s) "
            f"shredded; retention class {result.retention_class}.",
            highlight=False,
        )

    run_guarded(ctx.err, body)


def _rate(text: str) -> float:
    match = _RATE.fullmatch(text.strip())
    if match is None:
        raise InvalidEvent("--rate: expected a share such as 5% or 0.05")
    value = float(match.group(1))
    return value / 100 if match.group(2) else value


@ai.command("review-sample")
@click.option("--as", "as_user", required=True, help="The QA reviewer (a user id).")
@click.option("--rate", default="5%", show_default=True, help="Share of new AI calls to draw.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed: same seed, same draw.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def ai_review_sample(ctx: Context, as_user: str, rate: str, seed: int, as_json: bool) -> None:
    """Draw AI-processed calls for USER to check for discriminatory or unexpected output.

    Draws --rate of the calls with AI output that nobody has drawn yet (at least one),
    reproducibly from --seed, and lists USER's whole queue. USER may then read those
    calls' transcript and summary, and records a verdict with `callrec ai verdict`.

    \b
    Examples:
      callrec ai review-sample --as qa1 --rate 5% --seed 2026
      callrec transcript show 3f2a9c... --as qa1
      callrec ai verdict 3f2a9c... flagged --as qa1
    """

    def body() -> None:
        share = _rate(rate)
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            queue = draw_sample(vault, principal, rate=share, seed=seed, now=ctx.now())
        if as_json:
            ctx.out.print_json(json.dumps([
                {"id": s.recording_id, "drawn_at": s.drawn_at.isoformat(),
                 "verdict": s.verdict} for s in queue
            ]))  # fmt: skip
            return
        table = Table("id", "drawn (UTC)", "verdict")
        for s in queue:
            table.add_row(s.recording_id, s.drawn_at.strftime("%Y-%m-%d %H:%M"),
                          s.verdict or "to check")  # fmt: skip
        ctx.out.print(table)

    run_guarded(ctx.err, body)


@ai.command("verdict")
@click.argument("recording_id")
@click.argument("verdict", type=click.Choice(["ok", "flagged"]))
@click.option("--as", "as_user", required=True, help="The QA reviewer (a user id).")
@pass_ctx
def ai_verdict(ctx: Context, recording_id: str, verdict: str, as_user: str) -> None:
    """Record the result of checking a sampled call's AI output: ok or flagged.

    \b
    Example:
      callrec ai verdict 3f2a9c... flagged --as qa1
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            record_verdict(vault, principal, recording_id, verdict=verdict, now=ctx.now())
        ctx.out.print(f"Recorded {verdict} for {recording_id}.", highlight=False)

    run_guarded(ctx.err, body)


@cli.group()
def summary() -> None:
    """AI draft summaries: read them, approve them, or edit them (a person decides).

    \b
    Examples:
      callrec summary show 3f2a9c... --as anna
      callrec summary approve 3f2a9c... --as anna
      callrec summary edit 3f2a9c... --as anna --text "Card blocked; new card ordered."
      callrec summary edit 3f2a9c... --as anna --file summary.txt
    """


def _summary_dict(view: SummaryView) -> dict[str, Any]:
    review = view.review
    return {
        "id": view.recording_id,
        "status": "draft" if view.draft else review.decision if review else "reviewed",
        "text": view.summary.text,
        "topics": [str(t) for t in view.summary.topics],
        "reviewer": review.reviewer_id if review else None,
        "reviewed_at": review.reviewed_at.isoformat() if review else None,
        "edit_diff": list(view.edit_diff),
    }


def _print_summary(ctx: Context, view: SummaryView, as_json: bool) -> None:
    data = _summary_dict(view)
    if as_json:
        ctx.out.print_json(json.dumps(data, ensure_ascii=False))
        return
    status = data["status"].upper()
    if view.draft:
        status += " (AI draft: not a record until a person approves or edits it)"
    else:
        status += f" by {data['reviewer']} at {data['reviewed_at']}"
    ctx.out.print(f"[bold]{status}[/]", highlight=False)
    if data["topics"]:
        ctx.out.print(f"topics: {', '.join(data['topics'])}", highlight=False)
    ctx.out.print(view.summary.text, highlight=False, markup=False)


_AS = click.option("--as", "as_user", required=True, help="The user asking (a configured id).")
_PURPOSE = click.option("--purpose", help="Purpose code, if your role needs one (dsar, legal).")
_JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@summary.command("show")
@click.argument("recording_id")
@_AS
@_PURPOSE
@_JSON
@pass_ctx
def summary_show(
    ctx: Context, recording_id: str, as_user: str, purpose: str | None, as_json: bool
) -> None:
    """Show a call's summary (draft or reviewed), if USER may. Audited; exit 3 if denied.

    \b
    Examples:
      callrec summary show 3f2a9c... --as anna
      callrec summary show 3f2a9c... --as dpo1 --purpose dsar --json
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            view = show_summary(vault, config, principal, recording_id, now=ctx.now(),
                                purpose=purpose)  # fmt: skip
        _print_summary(ctx, view, as_json)

    run_guarded(ctx.err, body)


@summary.command("approve")
@click.argument("recording_id")
@_AS
@_JSON
@pass_ctx
def summary_approve(ctx: Context, recording_id: str, as_user: str, as_json: bool) -> None:
    """Approve the AI draft as it stands: it becomes the call's reviewed summary.

    \b
    Example (read it first; fix it with `summary edit` instead if it is wrong):
      callrec summary show 3f2a9c... --as anna
      callrec summary approve 3f2a9c... --as anna
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            view = approve_summary(vault, config, principal, recording_id, now=ctx.now())
        _print_summary(ctx, view, as_json)

    run_guarded(ctx.err, body)


@summary.command("edit")
@click.argument("recording_id")
@_AS
@click.option("--text", help="The reviewed summary text.")
@click.option("--file", "file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Read the reviewed summary text from FILE (UTF-8).")  # fmt: skip
@_JSON
@pass_ctx
def summary_edit(
    ctx: Context, recording_id: str, as_user: str, text: str | None, file: Path | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Replace the AI draft with USER's text; the diff, reviewer and time are kept.

    Card and phone numbers typed into the text are redacted like the AI's own output.

    \b
    Examples:
      callrec summary edit 3f2a9c... --as anna --text "Card blocked; new card ordered."
      callrec summary edit 3f2a9c... --as anna --file reviewed.txt
    """
    if (text is None) == (file is None):
        raise click.UsageError("give --text or --file (one of them)")

    def body() -> None:
        try:
            new_text = text if text is not None else file.read_text("utf-8") if file else ""
        except UnicodeDecodeError:  # a WAV or a Latin-1 file by mistake
            raise InvalidEvent("--file: expected UTF-8 text") from None
        config = ctx.config()
        principal = principal_for(config, as_user)
        languages = ai_settings(config).redact_languages
        with ctx.vault() as vault:
            view = edit_summary(vault, config, principal, recording_id, new_text,
                                now=ctx.now(), rng=ctx.rng, languages=languages)  # fmt: skip
        _print_summary(ctx, view, as_json)

    run_guarded(ctx.err, body)


@cli.group()
def transcript() -> None:
    """Redacted call transcripts (the unredacted text is never stored).

    \b
    Example:
      callrec transcript show 3f2a9c... --as anna
    """


@transcript.command("show")
@click.argument("recording_id")
@_AS
@_PURPOSE
@_JSON
@pass_ctx
def transcript_show(
    ctx: Context, recording_id: str, as_user: str, purpose: str | None, as_json: bool
) -> None:
    """Show a call's redacted transcript, turn by turn, if USER may. Audited; exit 3 if denied.

    \b
    Examples:
      callrec transcript show 3f2a9c... --as anna
      callrec transcript show 3f2a9c... --as qa1 --json
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            text = show_transcript(vault, config, principal, recording_id, now=ctx.now(),
                                   purpose=purpose)  # fmt: skip
        if as_json:
            ctx.out.print_json(json.dumps(text.to_dict(), ensure_ascii=False))
            return
        for seg in text.segments:
            who = seg.speaker or "speaker"
            ctx.out.print(f"[{_clock(seg.start)}] {who}: {seg.text}", highlight=False,
                          markup=False)  # fmt: skip

    run_guarded(ctx.err, body)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"
