"""Wiring and running: build the app's dependencies from paths + config, run uvicorn.

uvicorn is driven programmatically (``uvicorn.Config`` + ``uvicorn.Server``), so
``callrec serve`` runs it in the main thread and tests run the very same server in a
background thread on 127.0.0.1, port 0. Settings that matter for webhooks:

- h11 (pure-Python HTTP/1.1) with a bounded header block
  (``h11_max_incomplete_event_size``); a request with huge headers is a 400 from h11,
  never a crash. The protocol class is :func:`recorder.web.deadline.header_deadline_protocol`:
  headers must be complete within ``header_timeout_seconds`` (408 and closed otherwise).
- ``limit_concurrency``: at most ``max_connections`` connections (and tasks); beyond that
  uvicorn answers 503 at once instead of queueing without bound.
- ``proxy_headers=False``: uvicorn must not rewrite the scheme or client from
  ``X-Forwarded-*``; Twilio URL reconstruction reads those headers itself, and only when
  ``trust_forwarded`` is configured.
- ``lifespan="off"``, no access log (URLs may carry ids; we log ids ourselves), no
  ``Server``/``Date`` header noise.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import uvicorn

from recorder import logredact
from recorder.capture import Capturer
from recorder.chat.ratelimit import RateLimit
from recorder.chat.settings import load_chat_settings
from recorder.config import Config
from recorder.errors import RecorderError
from recorder.ingest.verify.query import query_key
from recorder.web.adapters import Masker, make_masker
from recorder.web.app import AppDeps, build_app
from recorder.web.chat import ChatDeps
from recorder.web.config import DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, WebSettings
from recorder.web.deadline import header_deadline_protocol
from recorder.web.store import JobQueue, StoreThread
from storage.jobs import JobStore, jobs_path
from storage.keyring import FileKeyRing
from storage.models import Rng
from storage.vault import DB_NAME, Vault

#: Largest header block h11 buffers before refusing the request with a 400.
HEADER_BLOCK_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerPaths:
    """Where the server's state lives (from :class:`recorder.settings.Paths`)."""

    home: Path
    keyring: Path


def make_deps(
    paths: ServerPaths,
    config: Config,
    settings: WebSettings,
    *,
    clock: Callable[[], datetime],
    rng: Rng,
    open_jobs: Callable[[], JobQueue] | None = None,
) -> AppDeps:
    """Dependencies over the data dir; the keyring must exist (``callrec init``)."""
    keyring = FileKeyRing.load(paths.keyring)
    paths.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    Vault.open(paths.home, keyring).close()  # migrate now, with the keyring's guard key

    def check_keyring() -> None:
        ring = FileKeyRing.load(paths.keyring)
        ring.kek(ring.active_kek_version())
        ring.pepper(ring.active_pepper_version())

    def masker() -> Masker:
        version = keyring.active_pepper_version()
        return make_masker(keyring.pepper(version), version, config.default_region)

    @contextlib.contextmanager
    def open_vault() -> Iterator[tuple[Vault, Capturer]]:
        vault = Vault.open(paths.home, keyring)
        try:
            yield vault, Capturer(vault, config)
        finally:
            vault.close()

    def default_jobs() -> JobQueue:
        return JobStore.open(jobs_path(paths.home))

    store = StoreThread(open_jobs or default_jobs, paths.home / DB_NAME, check_keyring)
    chat_settings = load_chat_settings(config)
    return AppDeps(
        settings=settings,
        store=store,
        masker=masker,
        open_vault=open_vault,
        clock=clock,
        rng=rng,
        query_key=query_key(keyring.audit_signing_seed()),
        chat=ChatDeps(
            settings=chat_settings,
            config=config,
            limit=RateLimit(chat_settings.per_minute, clock),
        ),
    )


def uvicorn_config(
    deps: AppDeps, host: str, port: int, *, log_level: str = "warning"
) -> uvicorn.Config:
    """The uvicorn configuration callrec runs with (see the module docstring)."""
    settings = deps.settings
    return asgi_config(
        build_app(deps), host, port, log_level=log_level,
        header_timeout=settings.header_timeout, max_connections=settings.max_connections,
    )  # fmt: skip


def asgi_config(
    app: Callable[..., Awaitable[None]],
    host: str,
    port: int,
    *,
    log_level: str = "warning",
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> uvicorn.Config:
    """The same uvicorn settings for any ASGI app (the benchmark's bare baseline uses it).

    ``uvicorn.Config`` installs its own log handlers (on the ``uvicorn`` and
    ``uvicorn.access`` loggers, which do not propagate to root); they get the number
    redaction filter too, so a traceback uvicorn logs cannot carry a caller's number.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=header_deadline_protocol(header_timeout),
        loop="asyncio",
        lifespan="off",
        proxy_headers=False,
        server_header=False,
        date_header=False,
        access_log=False,
        log_level=log_level,
        h11_max_incomplete_event_size=HEADER_BLOCK_LIMIT,
        timeout_keep_alive=5,
        limit_concurrency=max_connections,
        backlog=256,
    )
    for name in ("uvicorn", "uvicorn.access"):
        logredact.install(logging.getLogger(name))
    return config


class BackgroundServer:
    """A real uvicorn server on a thread; :attr:`port` is the bound port (give port 0)."""

    def __init__(self, config: uvicorn.Config) -> None:
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="callrec-http", daemon=True)

    def start(self, timeout: float = 15.0) -> BackgroundServer:
        """Start and wait until the socket listens."""
        self._thread.start()
        ready = threading.Event()
        for _ in range(int(timeout / 0.01)):
            if self._server.started or not self._thread.is_alive():
                break
            ready.wait(0.01)
        if not self._server.started:
            raise RuntimeError("the HTTP server did not start")
        return self

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        sockets = self._server.servers[0].sockets
        return int(sockets[0].getsockname()[1])

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=30)


class _Stopped(Exception):
    """SIGTERM arrived (re-raised by uvicorn after its graceful shutdown)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Stopped()


def run_forever(config: uvicorn.Config) -> None:
    """Run uvicorn in the calling (main) thread; return normally on SIGINT or SIGTERM.

    uvicorn shuts down gracefully (in-flight requests finish, so no job is left
    acknowledged-but-unwritten) and then re-raises the signal it caught; that is turned
    into a normal return, so ``callrec serve`` exits 0 when asked to stop.
    """
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        uvicorn.Server(config).run()
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(config: uvicorn.Config) -> None:
    """:func:`run_forever`, with uvicorn's exit on an address it cannot bind (it exits 3,
    which is our "denied") turned into a :class:`RecorderError` naming the address."""
    try:
        run_forever(config)
    except SystemExit as exc:
        raise RecorderError(
            f"could not listen on {config.host}:{config.port} (address in use or not resolvable?)"
        ) from exc
