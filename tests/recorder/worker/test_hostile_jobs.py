"""Hostile input reaching the worker (H2, H4): a decompression bomb as provider media, a
JSON bomb as the provider's API document, a job payload someone edited in the database.
Each job ends ``failed`` with the reason; none crashes the worker or is retried for ever.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.jobs import JobStore, jobs_path
from tests.recorder import mp3bombs
from tests.recorder.fake_provider import FakeProvider
from tests.recorder.worker.conftest import Clock, Workers, payload, telnyx_id, twilio_id


def run_one(workers: Workers) -> tuple[str, str]:
    worker = workers()
    try:
        result = worker.run_once()
    finally:
        worker.close()
    assert result is not None
    return result.outcome, result.error or ""


def test_a_bomb_from_the_provider_fails_its_job(
    workers: Workers, jobs: JobStore, provider: FakeProvider, clock: Clock, tmp_path: Path
) -> None:
    rid = twilio_id(77)
    provider.add(rid, mp3bombs.version_switch(tmp_path))
    jobs.enqueue(provider="twilio", recording_id=rid, now=clock(),
                 payload=payload("twilio", rid, media_formats=["mp3"]))  # fmt: skip
    outcome, error = run_one(workers)
    assert outcome == "failed" and "changes sample rate or channels" in error


@pytest.mark.parametrize(
    "document",
    [
        b"[" * 30_000,
        b'{"data": ' + b"9" * 5000 + b"}",
        b'{"data": "' + b"x" * 300_000 + b'"}',
        b'{"data": {"download_urls": {"wav": NaN}}}',
    ],
    ids=["nested", "5000-digit integer", "oversized", "NaN"],
)
def test_a_json_bomb_from_the_provider_api_fails_the_job_at_once(
    workers: Workers, jobs: JobStore, provider: FakeProvider, clock: Clock, document: bytes
) -> None:
    rid = telnyx_id(5)
    provider.documents[rid] = document
    jobs.enqueue(provider="telnyx", recording_id=rid, payload=payload("telnyx", rid), now=clock())
    outcome, error = run_one(workers)
    assert outcome == "failed", error
    assert "malformed JSON" in error or "larger than the size cap" in error
    assert jobs.counts()["failed"] == 1 and jobs.counts()["queued"] == 0  # never retried


@pytest.mark.parametrize(
    "stored",
    ["[" * 30_000, '{"v": 1, "n": ' + "1" * 5000 + "}", "not json", "[1, 2, 3]"],
    ids=["nested", "5000 digits", "garbage", "not an object"],
)
def test_a_payload_edited_in_the_database_fails_its_job(
    workers: Workers, jobs: JobStore, home: Path, clock: Clock, stored: str
) -> None:
    rid = twilio_id(8)
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())
    conn = sqlite3.connect(jobs_path(home))
    with conn:
        conn.execute("UPDATE jobs SET payload = ?", (stored,))
    conn.close()
    outcome, error = run_one(workers)
    assert (outcome, error.split(" (")[0]) == ("failed", "payload malformed")
