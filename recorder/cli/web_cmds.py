"""``callrec serve`` and ``callrec jobs``: the webhook ingest edge (issue 5)."""

from __future__ import annotations

import importlib
import json
import logging
import threading
from typing import Any
from urllib.parse import urlencode

import click
from rich.table import Table

from recorder.cli.app import Context, cli, run_guarded
from recorder.cli.background import start_checkpointer, start_sweeper
from recorder.errors import ConfigError
from recorder.ingest.verify.query import query_key, sign_query
from recorder.web.adapters import parse_query
from recorder.web.config import load_web_settings
from recorder.web.server import ServerPaths, make_deps, uvicorn_config
from recorder.web.server import serve as serve_on
from storage.jobs import STATES, Job, JobStore, jobs_path
from storage.keyring import FileKeyRing

pass_ctx = click.make_pass_decorator(Context)
log = logging.getLogger(__name__)


def _start_worker(ctx: Context, stop: threading.Event) -> threading.Thread:
    """The in-process worker of ``serve --with-worker`` (``recorder.worker``)."""
    try:
        worker_module: Any = importlib.import_module("recorder.worker")
    except ImportError as exc:
        raise ConfigError("--with-worker: recorder.worker is not available") from exc
    worker = worker_module.build_worker(
        ctx.paths, ctx.config(), now=ctx.now, rng=ctx.rng, worker_id="serve"
    )
    thread = threading.Thread(
        target=worker.run, args=(stop,), kwargs={"poll_interval": 0.5}, name="callrec-worker"
    )
    thread.start()
    return thread


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--with-worker/--no-worker",
    default=True,
    show_default=True,
    help="Also run a worker thread that fetches media and captures queued jobs.",
)
@click.option(
    "--sweep/--no-sweep",
    default=True,
    show_default=True,
    help="With --with-worker: also run the retention sweep every "
    "[retention] sweep_interval_minutes (one sweeper per store is enough).",
)
@pass_ctx
def serve(ctx: Context, host: str, port: int, with_worker: bool, sweep: bool) -> None:
    """Receive Twilio, Telnyx and signed-upload webhooks over HTTP.

    Endpoints: POST /hooks/twilio, POST /hooks/telnyx, POST /hooks/upload, GET /healthz.
    Each delivery is verified, then queued as a job (committed to
    <home>/jobs.sqlite3 before the 200 goes out); uploads are captured at once.

    The embedded default (--with-worker) runs one worker thread in this process that
    fetches queued recordings from the provider and stores them, plus the periodic
    retention sweep (and pending erasures) like `callrec worker`; use --no-worker when
    you run `callrec worker` processes separately.

    Secrets come from [webhooks] in the config file or, better, from the environment:
    CALLREC_TWILIO_AUTH_TOKEN (+ _PREVIOUS during rotation), CALLREC_TELNYX_PUBLIC_KEY,
    CALLREC_UPLOAD_SECRET (+ _PREVIOUS). An endpoint without a secret answers 404.

    \b
    Examples:
      export CALLREC_TWILIO_AUTH_TOKEN=…      # from the Twilio console
      callrec serve                           # 127.0.0.1:8080, with a worker
      callrec serve --host 0.0.0.0 --port 9000 --no-worker
      curl -s http://127.0.0.1:8080/healthz
    Put a TLS-terminating proxy in front; set [webhooks] public_base_url to the URL
    Twilio calls (or trust_forwarded = true behind a proxy that sets X-Forwarded-*).
    """

    def body() -> None:
        config = ctx.config()
        settings = load_web_settings(config)
        FileKeyRing.load(ctx.paths.keyring)  # fail fast: `callrec init` first
        deps = make_deps(
            ServerPaths(home=ctx.paths.home, keyring=ctx.paths.keyring),
            config,
            settings,
            clock=ctx.now,
            rng=ctx.rng,
        )
        on = [n for n in ("twilio", "telnyx", "upload") if getattr(settings, n) is not None]
        ctx.err.print(
            f"callrec serving on http://{host}:{port} "
            f"(endpoints: {', '.join(on) or 'none configured'}; "
            f"worker: {'on' if with_worker else 'off'}; "
            f"retention sweep: {'on' if with_worker and sweep else 'off'})",
            highlight=False,
        )
        stop = threading.Event()
        checkpointer: threading.Thread | None = None
        sweeper: threading.Thread | None = None
        worker: threading.Thread | None = None
        try:
            checkpointer = start_checkpointer(ctx, stop)
            if with_worker:
                worker = _start_worker(ctx, stop)
                if sweep:
                    sweeper = start_sweeper(ctx, config, stop)
            serve_on(uvicorn_config(deps, host, port))
        finally:
            stop.set()
            if worker is not None:
                worker.join(timeout=60)
            if sweeper is not None:
                sweeper.join(timeout=30)
            if checkpointer is not None:
                checkpointer.join(timeout=30)
            deps.store.close()

    run_guarded(ctx.err, body)


@cli.group()
def webhooks() -> None:
    """Webhook set-up helpers: the callback URLs to configure at each provider."""


@webhooks.command("callback-url")
@click.option("--provider", type=click.Choice(["twilio", "telnyx"]), required=True)
@click.option("--agent", help="The agent (user id) whose calls this callback delivers.")
@click.option("--service", help="The company number those calls came in on.")
@click.option("--ai-notice", is_flag=True, help="The caller hears that AI is used (P18).")
@pass_ctx
def callback_url(
    ctx: Context, provider: str, agent: str | None, service: str | None, ai_notice: bool
) -> None:
    """Print the callback URL to configure at the provider, with its parameters.

    Twilio signs the whole URL, so its parameters are protected as they are. Telnyx signs
    only the body: the URL gets a ``sig`` (HMAC under a key derived from this store's
    keyring) and a Telnyx callback whose agent, service or AI notice lacks a valid one is
    refused with 403. Needs [webhooks] public_base_url in the config file.

    \b
    Examples:
      callrec webhooks callback-url --provider telnyx --agent anna --ai-notice
      callrec webhooks callback-url --provider twilio --agent anna --service +4722000000
    """

    def body() -> None:
        base = ctx.config().section("webhooks").get("public_base_url")
        if not isinstance(base, str) or not base.startswith("https://"):
            raise ConfigError("webhooks.public_base_url: set the https:// URL providers call")
        pairs = [(n, v) for n, v in (("agent", agent), ("service", service)) if v is not None]
        pairs += [("ai_notice", "1")] if ai_notice else []
        parse_query(pairs)  # the server's own checks: no number as agent, a service number
        if provider == "telnyx" and pairs:
            key = query_key(FileKeyRing.load(ctx.paths.keyring).audit_signing_seed())
            pairs.append(("sig", sign_query(key, pairs)))
        query = f"?{urlencode(pairs)}" if pairs else ""
        click.echo(f"{base.rstrip('/')}/hooks/{provider}{query}")

    run_guarded(ctx.err, body)


@cli.group()
def jobs() -> None:
    """The webhook job queue (<home>/jobs.sqlite3): what was received, fetched, failed."""


def _job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "provider": job.provider,
        "recording_id": job.recording_id,
        "state": job.state,
        "attempts": job.attempts,
        "next_attempt_at": job.next_attempt_at.isoformat(),
        "last_error": job.last_error,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
    }


@jobs.command("list")
@click.option("--state", type=click.Choice(STATES), help="Only jobs in this state.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
@pass_ctx
def jobs_list(ctx: Context, state: str | None, limit: int, as_json: bool) -> None:
    """List jobs, newest first. Failed jobs show why (never a number or a secret).

    \b
    Examples:
      callrec jobs list
      callrec jobs list --state failed
      callrec jobs list --json | jq '.[] | select(.attempts > 1)'
    """

    def body() -> None:
        store = JobStore.open(jobs_path(ctx.paths.home))
        try:
            found = store.list(state=state, limit=limit)
        finally:
            store.close()
        if as_json:
            click.echo(json.dumps([_job_json(j) for j in found], indent=2))
            return
        if not found:
            ctx.out.print("no jobs" + (f" in state {state}" if state else ""))
            return
        table = Table("id", "provider", "recording", "state", "attempts", "updated", "error")
        for job in found:
            table.add_row(
                str(job.id),
                job.provider,
                job.recording_id,
                job.state,
                str(job.attempts),
                job.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
                job.last_error or "",
            )
        ctx.out.print(table)

    run_guarded(ctx.err, body)
