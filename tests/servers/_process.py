"""Child-process plumbing shared by the server harnesses: binaries, ports, waits, teardown.

Every server the tests start is a direct child of the pytest process, in its own process
group, started through util-linux ``setpriv`` so that it (a) runs as another user where the
server insists (``initdb``/``postgres`` refuse root) without an intermediate process, as
``runuser`` would leave, and (b) gets ``PR_SET_PDEATHSIG``: if pytest itself dies (SIGKILL,
a crashed interpreter), the kernel signals the server and no orphan stays behind. Normal
teardown, a failing test and Ctrl-C (pytest still runs fixture finalizers) stop it
explicitly; an ``atexit`` hook is the last net.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

#: How long a server may take to become ready before the harness gives up (seconds).
#: Generous for a 2-core machine shared with other test runs; a healthy start takes 1-3 s.
READY_TIMEOUT = 60.0


class HarnessError(RuntimeError):
    """A test server could not be provided: missing binary, failed start, not ready in time.

    Raised (never a skip): a missing server must fail the run with a message saying what
    to install, so CI cannot go green by testing less.
    """


def find_binary(
    name: str,
    *,
    package: str,
    candidates: Sequence[Path] = (),
    env_var: str | None = None,
) -> Path:
    """The path of executable ``name``: ``$env_var``, then ``candidates``, then ``PATH``.

    ``package`` names what provides it (e.g. "the Debian package postgresql (make system)"),
    so the error tells the reader exactly what to install.
    """
    if env_var and (override := os.environ.get(env_var)):
        path = Path(override)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise HarnessError(f"{env_var}={override} is not an executable file ({name})")
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    found = shutil.which(name)
    if found:
        return Path(found)
    raise HarnessError(f"`{name}` not found: install {package}")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it).

    There is a window between closing the probe socket and the server binding; servers
    that cannot bind fail their start with a clear error rather than picking another port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``port`` can be bound on ``host`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def wait_until(
    ready: Callable[[], bool],
    *,
    what: str,
    timeout: float = READY_TIMEOUT,
    process: ManagedProcess | None = None,
    interval: float = 0.05,
) -> None:
    """Poll ``ready`` until it returns true; fail after ``timeout`` s or if ``process`` dies.

    ``ready`` may raise (connection refused and the like): that counts as "not yet".
    """
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        if process is not None and not process.running:
            raise HarnessError(
                f"{what}: {process.name} exited with code {process.returncode} while starting\n"
                f"{process.log_tail()}"
            )
        try:
            if ready():
                return
        except Exception as exc:  # any failure means "not ready yet"
            last = exc
        if time.monotonic() >= deadline:
            tail = process.log_tail() if process is not None else ""
            raise HarnessError(
                f"{what}: not ready after {timeout:.0f} s (last error: {last!r})\n{tail}"
            )
        time.sleep(interval)


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (telling a live owner from a reused pid), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def server_dir(kind: str) -> Path:
    """A new private temp dir ``/tmp/callrec-<kind>-XXXX`` stamped with its owner process.

    A run that was SIGKILLed cannot remove its dirs; the next run's
    :func:`sweep_stale_dirs` removes every dir whose owner is no longer alive.
    """
    sweep_stale_dirs()
    path = Path(tempfile.mkdtemp(prefix=f"callrec-{kind}-"))
    (path / ".owner").write_text(f"{os.getpid()} {_start_time(os.getpid())}\n", "utf-8")
    return path


def sweep_stale_dirs(root: Path | None = None) -> list[Path]:
    """Remove the server dirs under ``root`` (default: the temp dir) whose owner has died."""
    removed: list[Path] = []
    for owner in (root or Path(tempfile.gettempdir())).glob("callrec-*-*/.owner"):
        try:
            pid_text, started = owner.read_text("utf-8").split()
            pid = int(pid_text)
        except (OSError, ValueError):
            continue
        if _start_time(pid) != started:
            shutil.rmtree(owner.parent, ignore_errors=True)
            removed.append(owner.parent)
    return removed


def _user_ids(user: str) -> tuple[int, int]:
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def chown_tree(path: Path, user: str) -> None:
    """Give ``path`` (and what is under it) to ``user``; a no-op when not root."""
    if os.geteuid() != 0:
        return
    uid, gid = _user_ids(user)
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def wrapper(run_as: str | None, death_signal: signal.Signals) -> list[str]:
    """The ``setpriv`` prefix: switch to ``run_as`` (when root) and set the death signal."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        if run_as is not None and os.geteuid() == 0:
            raise HarnessError(
                f"`setpriv` not found (needed to run a server as {run_as}): "
                "install the Debian package util-linux"
            )
        return []
    argv = [setpriv, f"--pdeathsig={death_signal.name.removeprefix('SIG')}"]
    if run_as is not None and os.geteuid() == 0:
        argv += [f"--reuid={run_as}", f"--regid={run_as}", "--init-groups"]
    return [*argv, "--"]


def run_checked(
    argv: Sequence[str | os.PathLike[str]],
    *,
    what: str,
    run_as: str | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> str:
    """Run a short-lived helper (initdb, softhsm2-util) to completion; its output on success.

    A non-zero exit or a time-out raises :class:`HarnessError` with the helper's output.
    """
    full = [*wrapper(run_as, signal.SIGKILL), *map(str, argv)]
    try:
        done = subprocess.run(
            full,
            cwd=cwd,
            env=None if env is None else {**os.environ, **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"{what}: no result after {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise HarnessError(
            f"{what} failed (exit {done.returncode}): {' '.join(full)}\n{done.stdout}{done.stderr}"
        )
    return done.stdout


_LIVE: set[ManagedProcess] = set()


@atexit.register
def _kill_leftovers() -> None:
    """Last net: a process still running when the interpreter exits is killed."""
    for proc in list(_LIVE):
        proc.kill()


class ManagedProcess:
    """One long-running server child: start, stop (graceful, then SIGKILL), crash, log.

    Output goes to ``log_path`` (appended across restarts), so a failed start or test can
    show the server's own words.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str | os.PathLike[str]],
        *,
        log_path: Path,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        run_as: str | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        death_signal: signal.Signals = signal.SIGTERM,
        stop_timeout: float = 20.0,
    ) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.run_as = run_as
        self.stop_signal = stop_signal
        self.death_signal = death_signal
        self.stop_timeout = stop_timeout
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The server's pid (``setpriv`` execs it, so this is the server itself)."""
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        """Whether the child is alive (not exited, not reaped)."""
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code once the child has ended (negative: killed by that signal)."""
        return self._popen.poll() if self._popen is not None else None

    def start(self) -> None:
        """Start the child (no readiness check: the server class waits for its own)."""
        if self.running:
            raise HarnessError(f"{self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log: IO[bytes]
        with open(self.log_path, "ab") as log:
            self._popen = subprocess.Popen(
                [*wrapper(self.run_as, self.death_signal), *self.argv],
                cwd=self.cwd,
                env=None if self.env is None else {**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _LIVE.add(self)
        self._await_exec()

    def _await_exec(self, timeout: float = 5.0) -> None:
        """Wait until ``setpriv`` has exec'd the server: only then is the death signal set
        (a parent dying before that moment would leave an orphan)."""
        if self._popen is None or not (prefix := wrapper(self.run_as, self.death_signal)):
            return
        exe = Path(f"/proc/{self._popen.pid}/exe")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._popen.poll() is None:
            try:
                if os.readlink(exe) != os.path.realpath(prefix[0]):
                    return
            except OSError:
                return  # no /proc (or already gone): nothing to wait for
            time.sleep(0.002)

    def send(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the server process (SIGSTOP/SIGCONT freeze and thaw it)."""
        if self._popen is not None and self._popen.poll() is None:
            self._popen.send_signal(sig)

    def stop(self, sig: signal.Signals | None = None, timeout: float | None = None) -> None:
        """Ask the server to stop with ``sig`` (default: its graceful signal) and wait.

        If it has not exited after ``timeout`` s, its whole process group is SIGKILLed.
        (PostgreSQL's backends and SeaweedFS's goroutines end with their parent process.)
        """
        popen = self._popen
        if popen is None:
            return
        if popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                popen.send_signal(signal.SIGCONT)  # a frozen server cannot act on the signal
                popen.send_signal(sig or self.stop_signal)
            try:
                popen.wait(timeout=self.stop_timeout if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                self._kill_group(popen)
        _LIVE.discard(self)

    def kill(self) -> None:
        """SIGKILL the server and everything in its process group now: a crash."""
        if self._popen is not None and self._popen.returncode is None:
            self._kill_group(self._popen)
        _LIVE.discard(self)

    @staticmethod
    def _kill_group(popen: subprocess.Popen[bytes]) -> None:
        # Only while the leader is unreaped (running or a zombie), so the group id cannot
        # have been reused by an unrelated process.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the server's log, for error messages."""
        try:
            text = self.log_path.read_text("utf-8", errors="replace")
        except OSError:
            return f"(no log at {self.log_path})"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- last lines of {self.log_path} ---\n{tail}"
