"""``callrec qa review``: the reviewer's loop, interactive or one step per command.

Thin over :class:`recorder.qa.Review`: every step decides, audits and re-checks the
assignment there; this module parses input and prints.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from recorder.cli.app import Context, run_guarded
from recorder.cli.qa_cmds import card_dict, qa, review_desk, write_atomically
from recorder.cli.store_cmds import pass_ctx
from recorder.errors import AccessDenied, QaError, RecorderError
from recorder.qa import CallCard, Review, SummaryView, TranscriptView
from recorder.qa_config import QaSettings
from recorder.timeutil import parse_offset_ms
from storage.errors import StorageError


def _clock(value: str | None, field: str) -> int | None:
    """'90', '1:30', '00:01:30' or '30s' -> milliseconds (see ``parse_offset_ms``)."""
    return parse_offset_ms(value, field, QaError)


def _scores(pairs: tuple[str, ...], settings: QaSettings) -> dict[str, int | None]:
    raw: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise QaError("--score: expected CRITERION=N, e.g. greeting=4 (or =na)")
        raw[name.strip()] = value
    return settings.parse_scores(raw)


def _print_card(ctx: Context, card: CallCard | None) -> None:
    if card is None:
        ctx.out.print("Nothing left to review: every call assigned to you is scored.")
        return
    seconds = (card.duration_ms or 0) / 1000
    ai = "" if card.has_transcript or card.has_summary else "  (no AI output for this call)"
    ctx.out.print(f"Call {card.number} of {card.total}  {card.recording_id}", highlight=False)
    ctx.out.print(f"  caller   {card.caller}", highlight=False)
    ctx.out.print(f"  agent    {card.agent or '-'} (team {card.team or '-'})", highlight=False)
    ctx.out.print(
        f"  started  {card.started_at:%Y-%m-%d %H:%M} UTC, {seconds:.0f} s", highlight=False
    )
    ctx.out.print(f"  topics   {', '.join(card.topics) or '-'}{ai}", highlight=False)


def _print_transcript(ctx: Context, view: TranscriptView) -> None:
    if not view.present:
        ctx.out.print("No AI output for this call (no transcript).")
        return
    for line in view.lines:
        who = f"{line.speaker}: " if line.speaker else ""
        ctx.out.print(f"[{line.start:7.1f}s] {who}{line.text}", highlight=False, markup=False)


def _print_summary(ctx: Context, view: SummaryView) -> None:
    if not view.present:
        ctx.out.print("No AI output for this call (no summary).")
        return
    status = f" ({view.status})" if view.status else ""
    ctx.out.print(f"Draft summary{status}:", highlight=False)
    ctx.out.print(view.text, highlight=False, markup=False)


_LOOP_HELP = """Commands:
  next                                show the call to review (the same until scored)
  play START DURATION [--out FILE]    e.g. play 0:30 20s --out call.wav (purpose: quality)
  transcript                          the redacted transcript, if the AI path made one
  summary                             the AI draft summary, if any
  score                               score the call on every criterion, then a comment
  help                                this list
  quit                                pause the session (resume with: callrec qa review)"""


@qa.group("review", invoke_without_command=True)
@click.option("--as", "as_user", help="The QA reviewer (interactive session).")
@click.pass_context
def qa_review(click_ctx: click.Context, as_user: str | None) -> None:
    """Review the calls sampled to you: interactively, or one step per command.

    Every step re-checks that the call is assigned to you and is audited. A session is
    resumable: `next` shows the same call until you score it, even after `quit`.

    \b
    Interactive:
      callrec qa review --as quinn
    Scripted:
      callrec qa review next --as quinn
      callrec qa review play ID --as quinn --start 0:30 --duration 20s --out call.wav
      callrec qa review transcript ID --as quinn
      callrec qa review score ID --as quinn --score greeting=4 --score identification=5 \\
          --score resolution=4 --score compliance=5 --score tone=4 --comment "clear and calm"
    """
    if click_ctx.invoked_subcommand is not None:
        return
    if as_user is None:
        raise click.UsageError("give --as REVIEWER (or a subcommand, see --help)")
    ctx = click_ctx.find_object(Context)
    assert ctx is not None  # noqa: S101  (set by the root group)
    run_guarded(ctx.err, lambda: _interactive(ctx, as_user))


def _interactive(ctx: Context, as_user: str) -> None:
    with ctx.vault() as vault:
        review = review_desk(ctx, vault, as_user)
        session = review.open(now=ctx.now())
        ctx.out.print(f"Review session {session.id} for {as_user}. Type help for commands.")
        card = review.next(now=ctx.now())
        _print_card(ctx, card)
        while True:
            try:
                line = click.prompt("qa", default="next", prompt_suffix="> ", err=True)
            except click.Abort:
                line = "quit"
            try:
                words = shlex.split(line)
            except ValueError:
                words = ["help"]
            command, args = (words[0].lower(), words[1:]) if words else ("next", [])
            if command in ("quit", "q", "exit"):
                review.pause(now=ctx.now())
                ctx.out.print(f"Paused. Resume with: callrec qa review --as {as_user}")
                return
            try:
                card = _step(ctx, review, card, command, args)
            except (AccessDenied, QaError, RecorderError, StorageError) as exc:
                ctx.err.print(f"[bold red]error:[/] {exc}", highlight=False)


def _step(
    ctx: Context, review: Review, card: CallCard | None, command: str, args: list[str]
) -> CallCard | None:
    if command in ("next", "n"):
        card = review.next(now=ctx.now())
        _print_card(ctx, card)
        return card
    if command in ("help", "?", "h"):
        ctx.out.print(_LOOP_HELP, highlight=False, markup=False)
        return card
    if card is None:
        raise QaError("no call is open: type next")
    if command in ("play", "p"):
        out = None
        if "--out" in args:
            i = args.index("--out")
            out = args[i + 1] if i + 1 < len(args) else None
            args = args[:i] + args[i + 2 :]
        start = _clock(args[0] if args else None, "START") or 0
        duration = _clock(args[1] if len(args) > 1 else None, "DURATION")
        target = Path(out or f"qa-{card.recording_id[:8]}.wav")
        playback = review.play(
            card.recording_id, now=ctx.now(), start_ms=start, duration_ms=duration
        )
        write_atomically(target, playback.wav_chunks())
        ctx.out.print(f"Wrote {playback.duration_ms / 1000:.1f} s to {target}.", highlight=False)
    elif command in ("transcript", "t"):
        _print_transcript(ctx, review.transcript(card.recording_id, now=ctx.now()))
    elif command in ("summary", "s"):
        _print_summary(ctx, review.summary(card.recording_id, now=ctx.now()))
    elif command == "score":
        scores = {
            c.name: click.prompt(
                f"  {c.name} ({c.low}-{c.high})", type=click.IntRange(c.low, c.high), err=True
            )
            for c in review.settings.criteria
        }
        comment = click.prompt("  comment", default="", show_default=False, err=True)
        review.score(card.recording_id, scores, comment=comment, now=ctx.now())
        ctx.out.print("Scorecard saved.")
        card = review.next(now=ctx.now())
        _print_card(ctx, card)
    else:
        raise QaError("unknown command: type help")
    return card


@qa_review.command("next")
@click.option("--as", "as_user", required=True, help="The QA reviewer.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def review_next(ctx: Context, as_user: str, as_json: bool) -> None:
    """Show the call to review now (the same one until it is scored)."""

    def body() -> None:
        with ctx.vault() as vault:
            card = review_desk(ctx, vault, as_user).next(now=ctx.now())
        if as_json:
            ctx.out.print_json(json.dumps(None if card is None else card_dict(card)))
        else:
            _print_card(ctx, card)

    run_guarded(ctx.err, body)


@qa_review.command("play")
@click.argument("recording_id")
@click.option("--as", "as_user", required=True, help="The QA reviewer.")
@click.option("--start", help="Start offset: 90, 1:30 or 00:01:30.")
@click.option("--duration", help="How long: 30s, 0:30.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False))
@pass_ctx
def review_play(
    ctx: Context, recording_id: str, as_user: str, start: str | None, duration: str | None,
    out: Path,
) -> None:  # fmt: skip
    """Write a range of an assigned call to a WAV file (purpose: quality; audited first).

    \b
    Example:
      callrec qa review play ID --as quinn --start 1:30 --duration 20s --out call.wav
    """

    def body() -> None:
        with ctx.vault() as vault:
            playback = review_desk(ctx, vault, as_user).play(
                recording_id,
                now=ctx.now(),
                start_ms=_clock(start, "--start") or 0,
                duration_ms=_clock(duration, "--duration"),
            )
            write_atomically(out, playback.wav_chunks())
        ctx.err.print(f"Wrote {playback.duration_ms / 1000:.1f} s to {out}.", highlight=False)

    run_guarded(ctx.err, body)


@qa_review.command("transcript")
@click.argument("recording_id")
@click.option("--as", "as_user", required=True, help="The QA reviewer.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def review_transcript(ctx: Context, recording_id: str, as_user: str, as_json: bool) -> None:
    """Show the redacted transcript of an assigned call (if the AI path made one)."""

    def body() -> None:
        with ctx.vault() as vault:
            view = review_desk(ctx, vault, as_user).transcript(recording_id, now=ctx.now())
        if as_json:
            ctx.out.print_json(
                json.dumps(
                    {
                        "id": view.recording_id,
                        "present": view.present,
                        "language": view.language,
                        "segments": [
                            {"start": s.start, "end": s.end, "speaker": s.speaker, "text": s.text}
                            for s in view.lines
                        ],
                    }
                )  # fmt: skip
            )
        else:
            _print_transcript(ctx, view)

    run_guarded(ctx.err, body)


@qa_review.command("summary")
@click.argument("recording_id")
@click.option("--as", "as_user", required=True, help="The QA reviewer.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def review_summary(ctx: Context, recording_id: str, as_user: str, as_json: bool) -> None:
    """Show the AI draft summary of an assigned call (if there is one)."""

    def body() -> None:
        with ctx.vault() as vault:
            view = review_desk(ctx, vault, as_user).summary(recording_id, now=ctx.now())
        if as_json:
            ctx.out.print_json(
                json.dumps(
                    {
                        "id": view.recording_id,
                        "present": view.present,
                        "text": view.text,
                        "status": view.status,
                    }
                )  # fmt: skip
            )
        else:
            _print_summary(ctx, view)

    run_guarded(ctx.err, body)


@qa_review.command("score")
@click.argument("recording_id")
@click.option("--as", "as_user", required=True, help="The QA reviewer.")
@click.option(
    "--score", "pairs", multiple=True, help="CRITERION=N (or =na where [qa] allows), once each."
)
@click.option("--comment", default="", help="Free text; numbers in it are redacted.")
@pass_ctx
def review_score(
    ctx: Context, recording_id: str, as_user: str, pairs: tuple[str, ...], comment: str
) -> None:
    """Record your scorecard for an assigned call (every criterion of [qa], on its scale).

    Scoring again replaces your earlier scorecard for that call. Numbers in the comment
    are redacted before it is stored.

    \b
    Example (the default criteria):
      callrec qa review score ID --as quinn --score greeting=4 --score identification=5 \\
          --score resolution=4 --score compliance=5 --score tone=4 --comment "calm, clear"
    """

    def body() -> None:
        with ctx.vault() as vault:
            desk = review_desk(ctx, vault, as_user)
            card = desk.score(
                recording_id, _scores(pairs, desk.settings), comment=comment, now=ctx.now()
            )
        ctx.out.print(f"Scorecard {card.id} saved for {card.recording_id}.", highlight=False)

    run_guarded(ctx.err, body)


@qa_review.command("pause")
@click.option("--as", "as_user", required=True, help="The QA reviewer.")
@pass_ctx
def review_pause(ctx: Context, as_user: str) -> None:
    """Pause your session; `next` later resumes at the same call."""

    def body() -> None:
        with ctx.vault() as vault:
            session = review_desk(ctx, vault, as_user).pause(now=ctx.now())
        ctx.out.print("Paused." if session is not None else "No session to pause.")

    run_guarded(ctx.err, body)
