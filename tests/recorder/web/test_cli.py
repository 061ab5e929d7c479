"""``callrec serve`` as a real process, and ``callrec jobs list``."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from recorder.web.config import ENV_TWILIO
from tests.recorder.conftest import run
from tests.recorder.web.harness import (
    BASE_URL,
    TWILIO_TOKEN,
    hex32,
    twilio_params,
    twilio_request,
)

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: object, attempts: int = 600) -> None:
    """Poll ``check()`` every 50 ms until it is true (a readiness wait, not a timing test)."""
    pause = threading.Event()
    for _ in range(attempts):
        try:
            if check():  # type: ignore[operator]
                return
        except OSError:
            pass
        pause.wait(0.05)
    raise AssertionError("condition never became true")


def healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    finally:
        conn.close()


def test_serve_help_teaches(env: dict[str, str]) -> None:
    result = run(env, "serve", "--help")
    assert result.exit_code == 0
    for text in ("--with-worker", "--no-sweep", "CALLREC_TWILIO_AUTH_TOKEN", "/hooks/twilio"):
        assert text in result.output
    assert "Examples" in result.output
    assert "--state" in run(env, "jobs", "list", "--help").output


def test_jobs_list_before_anything_arrived(env: dict[str, str]) -> None:
    assert run(env, "init").exit_code == 0
    result = run(env, "jobs", "list")
    assert result.exit_code == 0 and "no jobs" in result.output
    assert json.loads(run(env, "jobs", "list", "--json").output) == []
    assert run(env, "jobs", "list", "--state", "bogus").exit_code == 2


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_with_worker_end_to_end(
    env: dict[str, str], tmp_path: Path, stop: signal.Signals
) -> None:
    """A delivery to `callrec serve` becomes a job; the in-process worker takes it. No
    [providers] table is configured here, so the worker fails it at once with a reason
    that `callrec jobs list` shows."""
    config = Path(env["CALLREC_CONFIG"])
    config.write_text(config.read_text() + f'\n[webhooks]\npublic_base_url = "{BASE_URL}"\n')
    assert run(env, "init").exit_code == 0
    port = free_port()
    proc_env = os.environ | env | {ENV_TWILIO[0]: TWILIO_TOKEN, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from recorder.cli import main; main()",
         "serve", "--port", str(port)],
        cwd=tmp_path, env=proc_env, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_until(lambda: healthy(port))
        rng = __import__("random").Random(4)
        recording = "RE" + hex32(rng)
        params = twilio_params(recording, "CA" + hex32(rng), "AC" + hex32(rng))
        target, body, headers = twilio_request(params)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", target, body, dict(headers))
        answer = json.loads(conn.getresponse().read())
        conn.close()
        assert answer["job"] == "queued"

        def failed() -> bool:
            rows = json.loads(run(env, "jobs", "list", "--json", "--state", "failed").output)
            return [r["recording_id"] for r in rows] == [recording]

        wait_until(failed)
        table = run(env, "jobs", "list").output
        assert recording in table and "failed" in table
    finally:
        proc.send_signal(stop)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert b"serving on" in err and TWILIO_TOKEN.encode() not in err
    assert b"retention sweep: on" in err  # the worker's periodic sweep runs in serve too


def test_serve_with_worker_reads_the_retention_table(env: dict[str, str]) -> None:
    """--with-worker starts the retention sweep, so a bad [retention] table stops `serve`
    before it listens (usage error); with --no-sweep (or --no-worker) it is not read."""
    config = Path(env["CALLREC_CONFIG"])
    config.write_text(
        config.read_text() + f'\n[webhooks]\npublic_base_url = "{BASE_URL}"\n'
        "\n[retention]\nsweep_interval_minutes = 0\n"
    )
    assert run(env, "init").exit_code == 0
    proc_env = os.environ | env | {ENV_TWILIO[0]: TWILIO_TOKEN, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from recorder.cli import main; main()",
         "serve", "--port", str(free_port())],
        cwd=env["CALLREC_HOME"], env=proc_env, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # it served instead of refusing the table
        proc.kill()
        proc.communicate()
        raise AssertionError("serve --with-worker ignored a bad [retention] table") from None
    assert proc.returncode == 2, err.decode()
    assert b"retention.sweep_interval_minutes" in err


def test_serve_on_a_busy_port_is_a_one_line_error(env: dict[str, str]) -> None:
    """uvicorn exits 3 when it cannot bind; 3 means 'denied' here, so it becomes exit 1."""
    assert run(env, "init").exit_code == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(env, "serve", "--port", str(port), "--no-worker")
    assert result.exit_code == 1
    assert f"error: could not listen on 127.0.0.1:{port}" in result.stderr
