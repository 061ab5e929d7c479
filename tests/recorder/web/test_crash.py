"""D1 for the job path: the server process dies between receiving and acking.

Twilio retries any delivery it got no 2xx for. Whether the process died before the job
insert or after its commit but before the ack, the retry must leave exactly one job,
and the job file must open cleanly (WAL recovered, pragmas in force).
"""

from __future__ import annotations

import http.client
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.recorder.web.crash_server import EXIT_CODE
from tests.recorder.web.harness import hex32, running, twilio_params, twilio_request

ROOT = Path(__file__).resolve().parents[3]


def deliver_to_dying_server(
    tmp: Path, step: str, request: tuple[str, bytes, list[tuple[str, str]]]
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.recorder.web.crash_server", str(tmp), step],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        target, body, headers = request
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            conn.request("POST", target, body, dict(headers))
            conn.getresponse()  # no answer ever comes: the process is gone
        conn.close()
        assert proc.wait(timeout=30) == EXIT_CODE
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.parametrize("step", ["before-insert", "after-commit"])
@pytest.mark.parametrize("attempt", range(3))
def test_d1_kill_between_insert_and_ack_then_retry_gives_one_job(
    tmp_path: Path, step: str, attempt: int
) -> None:
    rng = random.Random(attempt)
    account = "AC" + hex32(rng)
    recording, call = "RE" + hex32(rng), "CA" + hex32(rng)
    request = twilio_request(twilio_params(recording, call, account))
    # a first, acknowledged delivery of another recording, so the file is not empty
    other = twilio_params("RE" + hex32(rng), "CA" + hex32(rng), account)
    with running(tmp_path) as web:
        assert web.twilio(other).body["job"] == "queued"
    deliver_to_dying_server(tmp_path, step, request)
    with running(tmp_path) as web:  # restart; the provider retries
        target, body, headers = request
        reply = web.request("POST", target, body, headers)
        assert reply.status == 200
        assert reply.body["job"] == ("queued" if step == "before-insert" else "duplicate")
        assert web.request("POST", target, body, headers).body["job"] == "duplicate"
        jobs = web.jobs()
        assert sorted(j.recording_id for j in jobs) == sorted([recording, other[2][1]])
        assert web.request("GET", "/healthz").status == 200
