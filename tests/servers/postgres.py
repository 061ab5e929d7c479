"""A throwaway PostgreSQL cluster on 127.0.0.1: initdb in a temp dir, start, restart, crash.

The server binaries come from Debian's ``postgresql`` package (``make system``). ``initdb``
and ``postgres`` refuse to run as root, so as root both run as the ``postgres`` user (the
temp dir is given to it); as any other user they run as that user.

Durability is a parameter: ``durable=True`` (the default) keeps PostgreSQL's own settings
(fsync, synchronous_commit, full_page_writes on), which crash tests need: a commit that
returned must survive ``kill()``. ``durable=False`` turns those three off for speed where a
test never crashes the server.

Each test gets its own database cheaply with :meth:`PostgresServer.fresh_database`, a copy
of a template database (``CREATE DATABASE ... TEMPLATE``) that a setup step (a migration,
say) filled once per session.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from tests.servers._process import (
    HarnessError,
    ManagedProcess,
    chown_tree,
    find_binary,
    free_port,
    run_checked,
    server_dir,
    wait_until,
)

if TYPE_CHECKING:
    import psycopg

PACKAGE = "the Debian package `postgresql` (PostgreSQL 15; `make system` installs it)"
#: The OS user the server runs as when the tests run as root.
OS_USER = "postgres"
#: The database user (a superuser, so tests may create databases, VACUUM, read pg_* views).
DB_USER = "callrec"
TEMPLATE = "callrec_template"

StopMode = Literal["smart", "fast", "immediate"]
_STOP_SIGNALS: dict[str, signal.Signals] = {
    "smart": signal.SIGTERM,  # waits for clients to disconnect
    "fast": signal.SIGINT,  # rolls back open transactions, checkpoints, exits
    "immediate": signal.SIGQUIT,  # no checkpoint: the next start runs crash recovery
}


def find_bindir() -> Path:
    """The directory of ``initdb`` and ``postgres`` (``$CALLREC_PG_BINDIR`` overrides).

    Debian keeps them out of ``PATH`` in ``/usr/lib/postgresql/<major>/bin``; the newest
    major version there wins.
    """
    override = os.environ.get("CALLREC_PG_BINDIR")
    if override:
        candidates = [Path(override)]
    else:
        root = Path("/usr/lib/postgresql")
        majors = sorted(
            (p for p in root.glob("*/bin") if p.parent.name.isdigit()),
            key=lambda p: int(p.parent.name),
            reverse=True,
        )
        candidates = majors
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    initdb = find_binary("initdb", package=PACKAGE)
    return initdb.resolve().parent


class PostgresServer:
    """One PostgreSQL cluster in its own temp dir, on a free port of 127.0.0.1.

    ``settings`` are extra ``postgresql.conf`` parameters (``-c name=value`` at start).
    """

    def __init__(
        self,
        *,
        durable: bool = True,
        settings: Mapping[str, str] | None = None,
        bindir: Path | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self.durable = durable
        self.settings = dict(settings or {})
        self._bindir = bindir
        self._own_dir = base_dir is None
        self.base_dir = base_dir or server_dir("pg")
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir / "run"
        self.log_path = self.base_dir / "postgres.log"
        self.port = free_port()
        self.host = "127.0.0.1"
        self.user = DB_USER
        self.password = secrets.token_urlsafe(18)
        self._run_as = OS_USER if os.geteuid() == 0 else None
        self._process: ManagedProcess | None = None
        self._names = itertools.count(1)
        self.templates: set[str] = set()

    # -- addresses ---------------------------------------------------------------------

    def dsn(self, dbname: str = "postgres") -> str:
        """A SQLAlchemy URL for ``dbname``: ``postgresql+psycopg://user:pw@127.0.0.1:port/db``."""
        return (
            f"postgresql+psycopg://{quote(self.user)}:{quote(self.password, safe='')}"
            f"@{self.host}:{self.port}/{quote(dbname)}"
        )

    def conninfo(self, dbname: str = "postgres") -> str:
        """A libpq connection string for ``dbname`` (what ``psycopg.connect`` takes)."""
        return (
            f"host={self.host} port={self.port} user={self.user} "
            f"password={self.password} dbname={dbname} connect_timeout=5"
        )

    def connect(
        self, dbname: str = "postgres", *, autocommit: bool = False
    ) -> psycopg.Connection[Any]:
        """A new psycopg connection to ``dbname`` (the caller closes it)."""
        import psycopg

        return psycopg.connect(self.conninfo(dbname), autocommit=autocommit)

    # -- life cycle --------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the postmaster process is alive."""
        return self._process is not None and self._process.running

    @property
    def pid(self) -> int | None:
        """The postmaster's pid (for tests that signal it themselves)."""
        return self._process.pid if self._process is not None else None

    def start(self) -> PostgresServer:
        """initdb on first start, then start the server and wait until it answers SQL."""
        bindir = self._bindir or find_bindir()
        for name in ("initdb", "postgres"):
            if not (bindir / name).is_file():
                raise HarnessError(f"`{bindir / name}` not found: install {PACKAGE}")
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(bindir)
        if self._process is None:
            self._process = ManagedProcess(
                "postgres",
                [bindir / "postgres", "-D", self.data_dir, *self._options()],
                log_path=self.log_path,
                cwd=self.base_dir,
                run_as=self._run_as,
                stop_signal=signal.SIGINT,
                death_signal=signal.SIGQUIT,
                stop_timeout=30.0,
            )
        self._process.start()
        wait_until(self._answers, what=f"PostgreSQL on port {self.port}", process=self._process)
        return self

    def _initdb(self, bindir: Path) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        pwfile = self.base_dir / "pwfile"
        pwfile.write_text(self.password + "\n", "utf-8")
        pwfile.chmod(0o600)
        if self._run_as is not None:
            chown_tree(self.base_dir, self._run_as)
        try:
            run_checked(
                [
                    bindir / "initdb",
                    "-D",
                    self.data_dir,
                    "-U",
                    self.user,
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-locale",
                    # initdb's own fsync of the new files only guards against an OS crash,
                    # which no test makes; the server's fsync (durable) is what counts.
                    "--no-sync",
                    "--no-instructions",
                ],
                what="initdb",
                run_as=self._run_as,
                cwd=self.base_dir,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def _options(self) -> list[str]:
        conf: dict[str, str] = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "max_connections": "100",
            "shared_buffers": "32MB",
            "logging_collector": "off",
            "log_min_messages": "warning",
        }
        if not self.durable:
            conf |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        conf |= self.settings
        return [arg for k, v in conf.items() for arg in ("-c", f"{k}={v}")]

    def _answers(self) -> bool:
        with self.connect() as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)

    def stop(self, mode: StopMode = "fast") -> None:
        """Shut the server down (``fast``: open transactions roll back) and wait for it."""
        if self._process is not None:
            self._process.stop(_STOP_SIGNALS[mode])

    def kill(self) -> None:
        """SIGKILL the postmaster and all backends: a machine-crash-like stop for fault tests.

        The next :meth:`start` runs crash recovery from the WAL; with ``durable=True``
        every transaction whose COMMIT returned is there afterwards.
        """
        if self._process is not None:
            self._process.kill()

    def restart(self, mode: StopMode | Literal["kill"] = "fast") -> None:
        """Stop (``fast``, ``immediate``, ``smart``) or crash (``kill``), then start again.

        Same port, same data, same password: clients reconnect to the same DSN.
        """
        if mode == "kill":
            self.kill()
        else:
            self.stop(mode)
        self.start()

    def cleanup(self) -> None:
        """Stop the server (fast) and delete its temp dir (kept if CALLREC_KEEP_SERVER_DIRS=1)."""
        try:
            self.stop("fast")
        finally:
            if self._own_dir and os.environ.get("CALLREC_KEEP_SERVER_DIRS") != "1":
                shutil.rmtree(self.base_dir, ignore_errors=True)

    # -- databases ---------------------------------------------------------------------

    def execute(self, sql: str, dbname: str = "postgres") -> list[tuple[Any, ...]]:
        """Run one statement in autocommit mode; its rows (empty if it returns none)."""
        with self.connect(dbname, autocommit=True) as conn:
            cur = conn.execute(sql.encode("utf-8"))
            return list(cur.fetchall()) if cur.description is not None else []

    def create_template(
        self, setup: Callable[[str], None] | None = None, name: str = TEMPLATE
    ) -> str:
        """Create template database ``name``, let ``setup(dsn)`` fill it, freeze it; ``name``.

        It is marked ``IS_TEMPLATE`` and closed to connections, so no stray session can
        block the copies :meth:`fresh_database` makes of it.
        """
        from psycopg import sql

        with self.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        if setup is not None:
            setup(self.dsn(name))
        with self.connect(autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(
                    sql.Identifier(name)
                )
            )
        self.templates.add(name)
        return name

    def fresh_database(self, template: str | None = None, name: str | None = None) -> str:
        """A new database copied from ``template`` (default: an empty one); its name.

        PostgreSQL 15's default strategy (WAL_LOG) is used: on a durable cluster it took
        ~35 ms per copy of a 20-table template here, FILE_COPY ~140 ms (two checkpoints).
        """
        from psycopg import sql

        if template is None:
            if TEMPLATE not in self.templates:
                self.create_template()
            template = TEMPLATE
        name = name or f"test_{os.getpid()}_{next(self._names)}"
        with self.connect(autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending any session still connected to it."""
        from psycopg import sql

        with self.connect(autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
