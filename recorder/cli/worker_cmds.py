"""``callrec worker``: fetch queued provider recordings and capture them (issue 5)."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections import Counter
from types import FrameType

import click

from recorder.cli.app import Context, cli, run_guarded
from recorder.cli.background import start_sweeper
from recorder.worker import build_worker

pass_ctx = click.make_pass_decorator(Context)


def _default_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}"


@cli.command("worker")
@click.option("--once", is_flag=True, help="Process every job that is due now, then exit.")
@click.option(
    "--poll",
    type=click.FloatRange(min=0.05, max=60),
    default=0.5,
    show_default=True,
    help="Seconds to wait between polls when the queue is empty.",
)
@click.option("--id", "worker_id", default=None, help="Lease owner name (default: host-pid).")
@click.option("--json", "as_json", is_flag=True, help="With --once: print a JSON summary.")
@click.option(
    "--sweep/--no-sweep",
    default=True,
    show_default=True,
    help="Also run the retention sweep every [retention] sweep_interval_minutes (not with --once).",
)
@pass_ctx
def worker(
    ctx: Context, once: bool, poll: float, worker_id: str | None, as_json: bool, sweep: bool
) -> None:
    """Lease queued webhook jobs, download the provider's media, store it encrypted.

    The webhook server (`callrec serve`) only queues a job per recording; this command
    does the slow part. Run one or several (they share the queue safely: a recording is
    never stored twice). A worker that dies releases its jobs when their lease expires.

    Media comes only from the provider API bases in [providers] of the config file
    (HTTPS, allow-listed hosts, no redirects, size/duration caps); credentials come from
    CALLREC_TWILIO_AUTH_TOKEN and CALLREC_TELNYX_API_KEY. Transient faults are retried with
    backoff; a job that cannot succeed becomes "failed" (see `callrec jobs list`).

    \b
    Examples:
      callrec worker                    run until Ctrl-C (or SIGTERM)
      callrec worker --once --json      drain what is due now, print counts
      callrec worker --poll 2 --id w2 --no-sweep   a second worker (one sweeper is enough)
    """

    def body() -> None:
        config = ctx.config()
        built = build_worker(
            ctx.paths,
            config,
            now=ctx.now,
            rng=ctx.rng,
            worker_id=worker_id or _default_id(),
        )
        if once:
            counts: Counter[str] = Counter()
            try:
                while (result := built.run_once()) is not None:
                    counts[result.outcome] += 1
            finally:
                built.close()
            if as_json:
                ctx.out.print_json(json.dumps(dict(counts)))
            else:
                summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no jobs due"
                ctx.out.print(f"Worker finished: {summary}.")
            return
        stop = threading.Event()

        def on_signal(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        sweeper = start_sweeper(ctx, config, stop) if sweep else None
        previous = signal.signal(signal.SIGTERM, on_signal)
        ctx.err.print(f"Worker {built.worker_id} running (Ctrl-C to stop).", highlight=False)
        try:
            handled = built.run(stop, poll)
        except KeyboardInterrupt:
            stop.set()
            handled = -1
        finally:
            stop.set()
            signal.signal(signal.SIGTERM, previous)
            if sweeper is not None:
                sweeper.join(timeout=30)
        if handled >= 0:
            ctx.err.print(f"Worker stopped after {handled} job(s).", highlight=False)

    run_guarded(ctx.err, body)
