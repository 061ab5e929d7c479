"""Jobs under retention (issue 13, low): finished jobs are purged after their own retention;
a data subject's jobs go with their calls (the payload holds the masked display and the
lookup digest, which are the subject's personal data)."""

from __future__ import annotations

import sqlite3
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from recorder.config import parse_config
from recorder.errors import ConfigError
from recorder.job_retention import erase_jobs, job_retention, purge_finished
from storage.jobs import JobStore, jobs_path
from storage.vault import Vault
from tests.recorder.conftest import ORG_CHART
from tests.recorder.fake_provider import FakeProvider
from tests.recorder.worker.conftest import MASKED, Clock, Workers, payload, twilio_id, wav


def test_finished_jobs_are_purged_after_their_retention_and_the_rest_stay(
    jobs: JobStore, home: Path, clock: Clock
) -> None:
    config = parse_config(tomllib.loads(ORG_CHART))
    for n, state in enumerate(("done", "failed", "queued", "leased")):
        rid = twilio_id(n)
        jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid),
                     now=clock())  # fmt: skip
        if state != "queued":
            leased = jobs.lease(worker="w", now=clock(), lease_for=timedelta(hours=1))
            assert leased is not None
            if state == "done":
                jobs.complete(leased.id, worker="w", now=clock())
            elif state == "failed":
                jobs.fail(leased.id, worker="w", now=clock(), error="x")
    assert purge_finished(home, config, now=clock() + timedelta(days=6)) == 0
    assert purge_finished(home, config, now=clock() + timedelta(days=8)) == 2
    assert sorted(j.state for j in jobs.list()) == ["leased", "queued"]


def test_purged_payloads_leave_no_residue_on_disk(jobs: JobStore, home: Path, clock: Clock) -> None:
    config = parse_config(tomllib.loads(ORG_CHART))
    rid = twilio_id(9)
    marker = "fe" * 32
    masked = dict(MASKED, digest=marker)
    jobs.enqueue(provider="twilio", recording_id=rid, now=clock(),
                 payload=payload("twilio", rid, masked_caller=masked))  # fmt: skip
    leased = jobs.lease(worker="w", now=clock(), lease_for=timedelta(hours=1))
    assert leased is not None
    jobs.complete(leased.id, worker="w", now=clock())
    assert purge_finished(home, config, now=clock() + timedelta(days=30)) == 1
    raw = b"".join(p.read_bytes() for p in home.glob("jobs.sqlite3*"))
    assert marker.encode() not in raw  # secure_delete + WAL truncated: gone from the file


def test_the_retention_is_configurable_and_checked() -> None:
    config = parse_config(tomllib.loads(ORG_CHART + "\n[retention]\nfinished_jobs_days = 30\n"))
    assert job_retention(config) == timedelta(days=30)
    bad = parse_config(tomllib.loads(ORG_CHART + "\n[retention]\nfinished_jobs_days = 0\n"))
    with pytest.raises(ConfigError, match="finished_jobs_days"):
        job_retention(bad)


def test_erasing_a_subject_erases_their_jobs(
    workers: Workers, jobs: JobStore, provider: FakeProvider, home: Path, vault: Vault,
    clock: Clock,
) -> None:  # fmt: skip
    stored, other = twilio_id(21), twilio_id(22)
    for rid in (stored, other):
        provider.add(rid, wav())
        jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid),
                     now=clock())  # fmt: skip
    worker = workers()
    try:
        assert worker.run_once() is not None
    finally:
        worker.close()
    recording = vault.catalog.find_recording("twilio", stored)
    assert recording is not None
    assert erase_jobs(home, [recording]) == 2  # its own job, and the other with its digest
    assert jobs.list() == []


def test_cli_subject_erase_takes_the_jobs_with_the_calls(
    env: dict[str, str], tmp_path: Path
) -> None:
    from tests.recorder.conftest import canary_pcm, run, write_wav

    (tmp_path / "callrec.toml").write_text(
        ORG_CHART + '\n[[users]]\nid = "dpo1"\nroles = ["dpo"]\n'
    )
    assert run(env, "init").exit_code == 0
    home = Path(env["CALLREC_HOME"])
    call = write_wav(tmp_path / "c.wav", canary_pcm(2.0))
    assert run(env, "ingest", str(call), "--agent", "anna", "--caller", "+47 912 34 567",
               "--source-id", "cli-erase-1").exit_code == 0  # fmt: skip
    store = JobStore.open(jobs_path(home))
    try:
        conn = sqlite3.connect(home / "catalog.db")
        vault_digest = conn.execute("SELECT caller_digest FROM recordings").fetchone()[0]
        conn.close()
        masked = dict(MASKED, digest=vault_digest)
        rid = twilio_id(31)
        store.enqueue(provider="twilio", recording_id=rid, now=Clock()(),
                      payload=payload("twilio", rid, masked_caller=masked))  # fmt: skip
    finally:
        store.close()
    result = run(env, "subject", "erase", "--number", "+47 912 34 567", "--as", "dpo1")
    assert result.exit_code == 0, result.output
    store = JobStore.open(jobs_path(home))
    try:
        assert store.list() == []
    finally:
        store.close()
