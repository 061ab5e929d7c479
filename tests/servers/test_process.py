"""The process plumbing under every server: no orphan survives pytest, waits are bounded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.servers._process import (
    HarnessError,
    ManagedProcess,
    find_binary,
    sweep_stale_dirs,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has already died


def test_a_server_dies_with_a_sigkilled_pytest(tmp_path: Path) -> None:
    """A child started through ManagedProcess gets its death signal when its parent is
    SIGKILLed (no finalizer, no atexit ran): no orphan is left."""
    code = textwrap.dedent(
        f"""
        import os, signal, sys
        from pathlib import Path
        from tests.servers._process import ManagedProcess
        proc = ManagedProcess("sleeper", ["sleep", "120"], log_path=Path({str(tmp_path)!r}) / "log")
        proc.start()
        print(proc.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    parent = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert parent.returncode == -signal.SIGKILL
    child = int(parent.stdout.strip())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), f"orphan {child} still running"


def test_stop_escalates_to_sigkill_for_a_server_that_ignores_its_signal(tmp_path: Path) -> None:
    """A child that ignores SIGTERM is killed after the stop timeout, not waited on forever."""
    proc = ManagedProcess(
        "stubborn",
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(120)",
        ],
        log_path=tmp_path / "log",
        stop_timeout=0.5,
    )
    proc.start()
    wait_until(lambda: "ready" in (tmp_path / "log").read_text(), what="stubborn", process=proc)
    started = time.monotonic()
    proc.stop()
    assert not proc.running and proc.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_wait_until_is_bounded_and_shows_the_log(tmp_path: Path) -> None:
    """A server that never gets ready fails the wait with its log; one that exits fails at once."""
    proc = ManagedProcess(
        "talker", ["sh", "-c", "echo 'FATAL: no luck'; sleep 30"], log_path=tmp_path / "log"
    )
    proc.start()
    try:
        with pytest.raises(HarnessError, match=r"not ready after 0 s(.|\n)*FATAL: no luck"):
            wait_until(lambda: False, what="talker", timeout=0.3, process=proc)
    finally:
        proc.stop()
    quitter = ManagedProcess("quitter", ["sh", "-c", "exit 3"], log_path=tmp_path / "log2")
    quitter.start()
    with pytest.raises(HarnessError, match="exited with code 3"):
        wait_until(lambda: False, what="quitter", timeout=30, process=quitter)


def test_missing_binary_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """find_binary's error says which package brings the program."""
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(HarnessError, match="`initdb` not found: install the Debian package x"):
        find_binary("initdb", package="the Debian package x")
    assert os.environ["PATH"] == "/nonexistent"


def test_dirs_of_a_dead_run_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    """A SIGKILLed run leaves its server dirs; the next run removes those whose owner died
    (or whose pid was reused: the start time differs), never a live run's."""
    me = Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()[19]
    dirs = {
        "callrec-pg-live": f"{os.getpid()} {me}",
        "callrec-s3-reused": f"{os.getpid()} 1",
        "callrec-hsm-dead": f"{2**22 + 1} 5",
        "unrelated-dir": f"{2**22 + 1} 5",
    }
    for name, owner in dirs.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / ".owner").write_text(owner)
    removed = sweep_stale_dirs(tmp_path)
    assert sorted(p.name for p in removed) == ["callrec-hsm-dead", "callrec-s3-reused"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["callrec-pg-live", "unrelated-dir"]
