"""Background threads shared by the long-running commands (``worker``, ``serve``).

One job: start the periodic work of the long-running commands: the retention sweep, so
``callrec worker`` and ``callrec serve --with-worker`` run the very same sweep
(``recorder.sweep.run_periodic``) and, after each pass, the same pending GDPR erasures
(``recorder.subject``); and the audit checkpointer of ``serve``, which signs the chain
every [audit policy] M minutes whatever else runs (``storage.audit_policy``).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from recorder.cli.app import Context
from recorder.config import Config
from recorder.job_retention import erase_jobs, purge_finished
from recorder.retention import load_classes, sweep_interval
from recorder.subject import erased_recordings, run_pending_erasures
from recorder.sweep import run_periodic
from storage.keyring import FileKeyRing
from storage.vault import Vault

log = logging.getLogger(__name__)
#: Seconds between two checks of the checkpointer.
CHECK_SECONDS = 60.0


def start_checkpointer(ctx: Context, stop: threading.Event) -> threading.Thread:
    """Check every minute until ``stop`` whether an audit checkpoint is due; sign it if so."""

    def loop() -> None:
        while not stop.wait(CHECK_SECONDS):
            try:
                with ctx.vault() as vault:  # ctx.vault() checkpoints on exit when due
                    vault.audit.head()
            except Exception as exc:  # noqa: BLE001 - a failed check must not stop the loop
                log.error("audit checkpointer: %s", type(exc).__name__)

    thread = threading.Thread(target=loop, name="callrec-checkpoints", daemon=True)
    thread.start()
    return thread


def after_sweep(ctx: Context, config: Config, vault: Vault, now: datetime) -> int:
    """What follows every sweep pass: pending erasures that may run now (and the jobs of
    what they erased), then finished jobs past their retention. How many jobs went."""
    erased = erased_recordings(vault, run_pending_erasures(vault, config, now=now, rng=ctx.rng))
    return erase_jobs(ctx.paths.home, erased) + purge_finished(ctx.paths.home, config, now=now)


def start_sweeper(ctx: Context, config: Config, stop: threading.Event) -> threading.Thread:
    """Start the retention sweep thread: every ``[retention] sweep_interval_minutes``
    until ``stop`` is set, then the pending erasures after each pass. The caller joins it.

    ``[retention]`` is read here, so a bad table fails the command at start-up.
    """
    classes, interval = load_classes(config), sweep_interval(config)

    def open_vault() -> Vault:
        return Vault.open(ctx.paths.home, FileKeyRing.load(ctx.paths.keyring))

    thread = threading.Thread(
        target=run_periodic,
        args=(stop, interval),
        kwargs={
            "open_vault": open_vault,
            "classes": classes,
            "clock": ctx.now,
            "after_pass": lambda vault, now: after_sweep(ctx, config, vault, now),
        },
        name="callrec-sweep",
        daemon=True,
    )
    thread.start()
    return thread
