"""``callrec worker``: the command an operator runs, configured only by the TOML file and the
environment, against the fake provider."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

from storage.jobs import JobStore, jobs_path
from tests.conftest import NOW
from tests.recorder.conftest import ORG_CHART, run
from tests.recorder.fake_provider import ACCOUNT, TELNYX_KEY, TOKEN, FakeProvider
from tests.recorder.worker.conftest import payload, telnyx_id, twilio_id, wav
from tests.recorder.worker.netguard import guard


def _env(tmp_path: Path, fake: FakeProvider) -> dict[str, str]:
    config = tmp_path / "callrec.toml"
    config.write_text(
        ORG_CHART
        + f"""
[providers]
allowed_hosts = ["media.telnyx.test:{fake.port}"]
ca_file = "{fake.ca_file}"
allow_loopback_for_tests = true
backoff_seconds = 3600

[providers.twilio]
api_base = "https://api.twilio.test:{fake.port}"
account_sid = "{ACCOUNT}"

[providers.telnyx]
api_base = "https://api.telnyx.test:{fake.port}"
"""
    )
    return {
        "CALLREC_HOME": str(tmp_path / "data"),
        "CALLREC_KEYRING": str(tmp_path / "keys" / "keyring.json"),
        "CALLREC_CONFIG": str(config),
        "CALLREC_TWILIO_AUTH_TOKEN": TOKEN,
        "CALLREC_TELNYX_API_KEY": TELNYX_KEY,
    }


def test_help_teaches() -> None:
    result = run({}, "worker", "--help")
    assert result.exit_code == 0
    assert "callrec worker --once" in result.output and "CALLREC_TWILIO_AUTH_TOKEN" in result.output


def test_worker_once_drains_due_jobs(tmp_path: Path, provider: FakeProvider) -> None:
    env = _env(tmp_path, provider)
    assert run(env, "init").exit_code == 0
    tw, tx, bad = twilio_id(1), telnyx_id(1), twilio_id(2)
    provider.add(tw, wav(seed=1))
    provider.add(tx, wav(seed=2))
    provider.add(bad, wav(seed=3))
    provider.fault(bad, "503")
    jobs = JobStore.open(jobs_path(tmp_path / "data"))
    try:
        for name, rid in (("twilio", tw), ("telnyx", tx), ("twilio", bad)):
            jobs.enqueue(provider=name, recording_id=rid, payload=payload(name, rid), now=NOW)
    finally:
        jobs.close()
    names = dict.fromkeys(("api.twilio.test", "api.telnyx.test", "media.telnyx.test"), "127.0.0.1")
    with guard({("127.0.0.1", provider.port)}, names) as net:
        result = run(env, "worker", "--once", "--json")
        again = run(env, "worker", "--once")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"done": 2, "retry": 1}
    assert again.exit_code == 0 and "no jobs due" in again.stdout  # the retry waits an hour
    assert net.outside == []
    listed = run(env, "calls", "list", "--as", "admin1", "--json")
    assert listed.exit_code == 0


def test_bad_provider_config_is_a_usage_error(tmp_path: Path, provider: FakeProvider) -> None:
    env = _env(tmp_path, provider)
    Path(env["CALLREC_CONFIG"]).write_text(ORG_CHART + '\n[providers]\nmax_attempts = "many"\n')
    assert run(env, "init").exit_code == 0
    result = run(env, "worker", "--once")
    assert result.exit_code == 2 and "providers.max_attempts" in result.stderr


def test_worker_runs_until_sigterm(tmp_path: Path, provider: FakeProvider) -> None:
    """The long-running mode: processes a job, then stops cleanly on SIGTERM (exit 0)."""
    env = _env(tmp_path, provider)
    assert run(env, "init").exit_code == 0
    rid = twilio_id(7)
    provider.add(rid, wav(seed=7))
    path = jobs_path(tmp_path / "data")
    jobs = JobStore.open(path)
    try:
        jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=NOW)
    finally:
        jobs.close()

    def stop_when_done() -> None:
        watcher = JobStore.open(path)
        try:
            for _ in range(3000):  # at most ~30 s
                if watcher.counts()["done"] == 1:
                    break
                threading.Event().wait(0.01)
        finally:
            watcher.close()
        os.kill(os.getpid(), signal.SIGTERM)  # the command's handler is installed by now

    names = dict.fromkeys(("api.twilio.test", "api.telnyx.test", "media.telnyx.test"), "127.0.0.1")
    killer = threading.Thread(target=stop_when_done)
    with guard({("127.0.0.1", provider.port)}, names) as net:
        killer.start()
        result = run(env, "worker", "--poll", "0.05")
        killer.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert "stopped after 1 job(s)" in result.stderr
    assert net.outside == []
