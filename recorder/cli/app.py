"""Root command group, shared context, and the mapping of errors to exit codes."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from recorder import logredact
from recorder.config import EMPTY, Config, load_config
from recorder.errors import AccessDenied, ConfigError, RecorderError
from recorder.settings import Paths, resolve_paths
from storage.audit_policy import maybe_checkpoint
from storage.errors import KeyringError, StorageError
from storage.keyring import FileKeyRing
from storage.vault import Vault

log = logging.getLogger(__name__)
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_DENIED = 0, 1, 2, 3

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(slots=True)
class Context:
    """What every command gets: resolved paths, consoles, clock and randomness."""

    paths: Paths
    out: Console
    err: Console
    now: Callable[[], datetime]
    rng: Callable[[int], bytes]

    def config(self) -> Config:
        """The org chart; an empty one (nobody may play) when no file is configured."""
        return EMPTY if self.paths.config is None else load_config(self.paths.config)

    @contextmanager
    def vault(self) -> Iterator[Vault]:
        """Open the configured store; the keyring must exist (``callrec init``)."""
        keyring = FileKeyRing.load(self.paths.keyring)
        vault = Vault.open(self.paths.home, keyring)
        try:
            yield vault
        finally:
            checkpoint_if_due(vault, self.now())
            vault.close()


def checkpoint_if_due(vault: Vault, now: datetime) -> None:
    """Sign an audit checkpoint if the policy says one is due (``storage.audit_policy``);
    best effort: a failure is logged, and ``audit verify`` reports what it means."""
    try:
        maybe_checkpoint(vault.audit, now=now)
    except StorageError as exc:
        log.warning("audit checkpoint not written: %s", type(exc).__name__)


def _console(*, stderr: bool) -> Console:
    """A console that never truncates ids: wide and soft-wrapped when piped."""
    console = Console(stderr=stderr, soft_wrap=True)
    if not console.is_terminal:
        console = Console(stderr=stderr, soft_wrap=True, width=200)
    return console


def fail(err: Console, message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``code``."""
    # escape: a message may quote user input (a path, "[hh:]mm:ss"); never rich markup
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(path_type=Path, file_okay=False),
    help="Data dir (catalog, encrypted blobs, audit checkpoints). "
    "Default: $CALLREC_HOME or ./callrec-data.",
)
@click.option(
    "--keyring",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Master keyring file, kept OUTSIDE the data dir. "
    "Default: $CALLREC_KEYRING or <home>-keys/keyring.json.",
)
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Org chart and defaults (TOML). Default: $CALLREC_CONFIG or <home>/callrec.toml.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.pass_context
def cli(
    ctx: click.Context, home: Path | None, keyring: Path | None, config: Path | None, verbose: bool
) -> None:
    """callrec: capture, mask, encrypt and govern contact-centre call recordings.

    \b
    Start here:
      callrec demo                  set up, ingest the sample calls, list, play, audit
      callrec init                  create the data dir and the master keyring
      callrec ingest FILE --caller … --agent …   store one call
      callrec spool run DIR         capture every audio+sidecar pair in a spool folder
      callrec calls list --as USER  the calls USER may see (masked numbers)
      callrec play ID --as USER --purpose quality --out call.wav
      callrec download ID --as USER --purpose dispute --out call.wav
      callrec serve                 receive Twilio/Telnyx/upload webhooks
      callrec webhooks callback-url --provider telnyx --agent anna   the URL to configure
      callrec web                   the QA review and supervisor web app (:8090)
      callrec worker                fetch queued provider recordings, store them
      callrec jobs list             the webhook job queue (what failed, why)
      callrec ai run --pending      transcribe and summarise waiting calls
      callrec qa review --as USER   review the calls sampled to you
      callrec subject find --number … --as DPO   every recording of a caller
      callrec chat list --as USER   the chats USER may see (chat ingest|show|sample|stats)
      callrec init --profile NAME   start from a ready configuration (docs/profiles.md)
      callrec retention sweep       crypto-shred what is past its retention period
      callrec audit verify          prove nobody edited the access log
      callrec fsck                  check every invariant of the store
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logredact.install()
    ctx.obj = Context(
        paths=resolve_paths(home, keyring, config=config),
        out=_console(stderr=False),
        err=_console(stderr=True),
        now=lambda: datetime.now(UTC),
        rng=os.urandom,
    )


def run_guarded(err: Console, body: Callable[[], None]) -> None:
    """Run a command body, turning our error trees into messages and exit codes."""
    try:
        body()
    except AccessDenied as exc:
        fail(err, str(exc), EXIT_DENIED)
    except ConfigError as exc:
        fail(err, str(exc), EXIT_USAGE)
    except KeyringError as exc:
        fail(err, str(exc))
    except (StorageError, RecorderError) as exc:
        fail(err, str(exc))
    except OSError as exc:  # a file the user named: missing directory, no permission, disk full
        where = f"{exc.filename}: " if exc.filename is not None else ""
        fail(err, f"{where}{exc.strerror or type(exc).__name__}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="callrec")
