"""G3: provider media faults on early attempts → eventual success with backoff; permanent
faults and exhausted retries → ``failed``, never half-stored (RELIABILITY.md T-HOOK).

Each test queues a job as the webhook adapters do, injects faults at the fake provider,
runs the worker with a hand-moved clock, and checks the exact job outcome and the store.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recorder.audio import decode
from recorder.worker import backoff
from storage import ai_store
from storage.jobs import JobStore
from storage.keyring import FileKeyRing
from storage.vault import Vault
from tests.invariants import check_invariants, pcm_canaries
from tests.recorder.conftest import canary_pcm
from tests.recorder.fake_provider import FakeProvider
from tests.recorder.worker.conftest import (
    CALLER,
    MASKED,
    Clock,
    Workers,
    make_settings,
    payload,
    telnyx_id,
    twilio_id,
    wav,
)


def _drain(worker_run: Workers, jobs: JobStore, clock: Clock, *, rounds: int = 12) -> list[str]:
    """Run one worker until no job is queued, jumping the clock past each backoff."""
    worker = worker_run()
    outcomes: list[str] = []
    try:
        for _ in range(rounds):
            result = worker.run_once()
            if result is None:
                pending = jobs.list(state="queued")
                if not pending:
                    break
                clock.at = max(clock.at, max(j.next_attempt_at for j in pending))
                continue
            outcomes.append(result.outcome)
    finally:
        worker.close()
    return outcomes


def _stored(home: Path, keyring_path: Path, provider: str, rid: str) -> bytes | None:
    """The decrypted audio stored for (provider, rid), or None."""
    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    try:
        found = vault.catalog.find_recording(provider, rid)
        if found is None:
            return None
        artefacts = vault.catalog.artefacts_for(found.id)
        with vault.open_artefact(artefacts[0].id) as stream:
            return b"".join(stream.read_range())
    finally:
        vault.close()


def _invariants(home: Path, keyring_path: Path, seeds: list[int]) -> None:
    canaries = [c for s in seeds for c in pcm_canaries(canary_pcm(2.0, seed=s))]
    check_invariants(home, keyring_path, canaries=canaries, numbers=[CALLER])


@pytest.mark.parametrize("provider_name", ["twilio", "telnyx"])
def test_clean_fetch_stores_the_exact_audio(
    provider_name: str,
    provider: FakeProvider,
    jobs: JobStore,
    workers: Workers,
    clock: Clock,
    home: Path,
    keyring_path: Path,
    now: object,
) -> None:
    rid = twilio_id(1) if provider_name == "twilio" else telnyx_id(1)
    audio = wav(seed=11)
    provider.add(rid, audio)
    assert jobs.enqueue(provider=provider_name, recording_id=rid,
                        payload=payload(provider_name, rid), now=clock())  # fmt: skip
    assert _drain(workers, jobs, clock) == ["done"]
    assert jobs.counts()["done"] == 1
    stored = _stored(home, keyring_path, provider_name, rid)
    assert stored is not None
    expected = decode_bytes(audio, home)
    assert hashlib.sha256(stored).digest() == hashlib.sha256(expected).digest()
    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    try:  # the caller masked at ingest is what capture keeps (CallEvent.masked_caller)
        found = vault.catalog.find_recording(provider_name, rid)
        assert found is not None and found.caller_display == MASKED["display"]
        assert found.caller_digest is not None
        assert found.caller_digest.digest == MASKED["digest"]
        assert found.agent_id == "anna" and found.service_number == "+4722000000"
        assert found.answered_at == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    finally:
        vault.close()
    _invariants(home, keyring_path, [11])


@pytest.mark.parametrize("notice", [True, False])
def test_the_ai_notice_of_the_callback_reaches_the_call_record(
    notice: bool,
    provider: FakeProvider,
    jobs: JobStore,
    workers: Workers,
    clock: Clock,
    home: Path,
    keyring_path: Path,
) -> None:
    """P18 for webhook calls: ``ai_notice`` in the job payload is what the call record says."""
    rid = twilio_id(40 + notice)
    provider.add(rid, wav(seed=40))
    jobs.enqueue(provider="twilio", recording_id=rid,
                 payload=payload("twilio", rid, ai_notice=notice), now=clock())  # fmt: skip
    assert _drain(workers, jobs, clock) == ["done"]
    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    try:
        found = vault.catalog.find_recording("twilio", rid)
        assert found is not None
        assert ai_store.ai_flags(vault.catalog, found.id).notice is notice
    finally:
        vault.close()


def decode_bytes(audio: bytes, where: Path) -> bytes:
    """The canonical WAV capture stores for ``audio`` (decode, re-encode)."""
    path = where.parent / "expected.wav"
    path.write_bytes(audio)
    return b"".join(decode(path).iter_wav())


@pytest.mark.parametrize(
    "faults",
    [
        ("503",),
        ("500", "502", "503"),
        ("429",),
        ("reset",),
        ("short",),
        ("type",),
        ("reset", "short", "type"),
    ],
)
def test_transient_faults_then_success(
    faults: tuple[str, ...],
    provider: FakeProvider,
    jobs: JobStore,
    workers: Workers,
    clock: Clock,
    home: Path,
    keyring_path: Path,
) -> None:
    rid = twilio_id(2)
    provider.add(rid, wav(seed=12))
    provider.fault(rid, *faults)
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())
    start = clock()
    outcomes = _drain(workers, jobs, clock)
    assert outcomes == ["retry"] * len(faults) + ["done"]
    assert provider.media_requests(rid) == len(faults) + 1
    # exponential backoff: the clock had to move at least base * (1 + 2 + ...) * 0.5
    base = make_settings(provider).backoff_seconds
    least = sum(min(8.0, base * 2**i) * 0.5 for i in range(len(faults)))
    assert clock() - start >= timedelta(seconds=least)
    (job,) = jobs.list()
    assert job.state == "done" and job.attempts == len(faults) + 1
    # 0 truncated recordings: what is stored is the whole provider file, decoded
    assert _stored(home, keyring_path, "twilio", rid) == decode_bytes(wav(seed=12), home)
    _invariants(home, keyring_path, [12])


@pytest.mark.parametrize(
    ("faults", "reason"),
    [
        (("404",), "HTTP 404"),
        (("401",), "HTTP 401"),
        (("oversize",), "size cap"),
        (("redirect:https://169.254.169.254/latest/meta-data/",), "redirect refused"),
    ],
)
def test_permanent_faults_fail_at_once(
    faults: tuple[str, ...],
    reason: str,
    provider: FakeProvider,
    jobs: JobStore,
    workers: Workers,
    clock: Clock,
    home: Path,
    keyring_path: Path,
) -> None:
    rid = twilio_id(3)
    provider.add(rid, wav(seed=13))
    provider.fault(rid, *faults)
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())
    assert _drain(workers, jobs, clock) == ["failed"]
    (job,) = jobs.list(state="failed")
    assert job.attempts == 1 and job.last_error is not None and reason in job.last_error
    assert _stored(home, keyring_path, "twilio", rid) is None
    _invariants(home, keyring_path, [13])


def test_streamed_oversize_is_cut_at_the_cap(
    provider: FakeProvider, jobs: JobStore, workers: Workers, clock: Clock, home: Path,
    keyring_path: Path,
) -> None:  # fmt: skip
    rid = twilio_id(4)
    provider.add(rid, wav(seed=14))
    provider.fault(rid, "stream_oversize")
    settings = make_settings(provider, max_bytes=1024 * 1024)
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())
    worker = workers(settings=settings)
    try:
        result = worker.run_once()
    finally:
        worker.close()
    assert result is not None and result.outcome == "failed"
    assert "size cap" in (jobs.list()[0].last_error or "")
    assert _stored(home, keyring_path, "twilio", rid) is None


def test_stall_times_out_and_is_retried(
    provider: FakeProvider, jobs: JobStore, workers: Workers, clock: Clock
) -> None:
    rid = twilio_id(5)
    provider.add(rid, wav(seed=15))
    provider.fault(rid, "stall")
    settings = make_settings(provider, read_timeout=0.3)
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())
    worker = workers(settings=settings)
    try:
        first = worker.run_once()
        clock.advance(60)
        second = worker.run_once()
    finally:
        worker.close()
    assert first is not None and first.outcome == "retry"
    assert second is not None and second.outcome == "done"


def test_after_max_attempts_the_job_is_failed_and_nothing_is_stored(
    provider: FakeProvider,
    jobs: JobStore,
    workers: Workers,
    clock: Clock,
    home: Path,
    keyring_path: Path,
) -> None:
    rid = twilio_id(6)
    provider.add(rid, wav(seed=16))
    provider.fault(rid, "503", "reset", "short", "503", "503")
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())
    outcomes = _drain(workers, jobs, clock)
    assert outcomes == ["retry", "retry", "retry", "failed"]  # max_attempts = 4
    (job,) = jobs.list(state="failed")
    assert job.attempts == 4
    assert job.last_error is not None and job.last_error.startswith("gave up after 4 attempts")
    assert _stored(home, keyring_path, "twilio", rid) is None
    _invariants(home, keyring_path, [16])


def test_undecodable_or_too_long_audio_fails(
    provider: FakeProvider, jobs: JobStore, workers: Workers, clock: Clock
) -> None:
    bad, long = twilio_id(7), twilio_id(8)
    provider.add(bad, b"RIFF\xff\xff\xff\xffWAVEjunk" * 10)
    provider.add(long, wav(seconds=3.0, seed=18))
    for rid in (bad, long):
        jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid),
                     now=clock())  # fmt: skip
    worker = workers(settings=make_settings(provider, max_duration_seconds=2))
    try:
        results = [worker.run_once(), worker.run_once()]
    finally:
        worker.close()
    assert [r.outcome for r in results if r] == ["failed", "failed"]
    assert jobs.counts()["failed"] == 2


def test_twilio_caller_is_looked_up_and_masked(
    provider: FakeProvider, jobs: JobStore, workers: Workers, clock: Clock, home: Path,
    keyring_path: Path,
) -> None:  # fmt: skip
    rid, call = twilio_id(9), "CA" + "9" * 32
    provider.add(rid, wav(seed=19))
    provider.callers[call] = "+4791234567"
    body = payload("twilio", rid, call_id=call, masked_caller=None)
    jobs.enqueue(provider="twilio", recording_id=rid, payload=body, now=clock())
    assert _drain(workers, jobs, clock) == ["done"]
    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    try:
        found = vault.catalog.find_recording("twilio", rid)
        assert found is not None and found.caller_display == "+4791234***"
    finally:
        vault.close()
    check_invariants(home, keyring_path, canaries=[], numbers=["+4791234567"])


def test_delete_after_capture(
    provider: FakeProvider, jobs: JobStore, workers: Workers, clock: Clock
) -> None:
    tw, tx = twilio_id(10), telnyx_id(10)
    provider.add(tw, wav(seed=20))
    provider.add(tx, wav(seed=21))
    jobs.enqueue(provider="twilio", recording_id=tw, payload=payload("twilio", tw), now=clock())
    jobs.enqueue(provider="telnyx", recording_id=tx, payload=payload("telnyx", tx), now=clock())
    worker = workers(settings=make_settings(provider, delete_after_capture=True))
    try:
        assert [worker.run_once(), worker.run_once()] != [None, None]
    finally:
        worker.close()
    assert sorted(provider.deleted) == sorted([tw, tx])
    assert tw not in provider.recordings and tx not in provider.recordings
    assert jobs.counts()["done"] == 2


def test_unconfigured_provider_and_foreign_account_fail(
    provider: FakeProvider, jobs: JobStore, workers: Workers, clock: Clock
) -> None:
    rid, other = twilio_id(11), twilio_id(12)
    provider.add(rid, wav())
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())
    foreign = payload("twilio", other, account_id="AC" + "f" * 32)
    jobs.enqueue(provider="twilio", recording_id=other, payload=foreign, now=clock())
    worker = workers(settings=replace(make_settings(provider), twilio=None))
    try:
        first = worker.run_once()
    finally:
        worker.close()
    assert first is not None and first.outcome == "failed"
    worker = workers()
    try:
        second = worker.run_once()
    finally:
        worker.close()
    assert second is not None and second.outcome == "failed"
    assert "another Twilio account" in (jobs.get(second.job_id).last_error or "")  # type: ignore[union-attr]


def test_backoff_grows_and_is_capped(provider: FakeProvider) -> None:
    settings = make_settings(provider)
    draws = iter([b"\x00\x00\x00\x00", b"\xff\xff\xff\xff"] * 10)
    delays = [backoff(settings, n, lambda _k: next(draws)).total_seconds() for n in range(1, 7)]
    assert delays[0] == 0.5 and delays[1] == pytest.approx(2 * (0.5 + 0.5 * (2**32 - 1) / 2**32))
    assert all(d <= settings.backoff_max_seconds for d in delays)
    assert delays[-1] >= settings.backoff_max_seconds * 0.5


def test_slow_drip_is_cut_by_the_transfer_deadline(
    provider: FakeProvider, jobs: JobStore, workers: Workers, clock: Clock
) -> None:
    """Every read returns what has arrived, so the whole-transfer deadline is checked while
    a server drips: 16 pieces 50 ms apart can never fit in a 0.1 s deadline, and each
    piece alone would satisfy the 2 s read timeout."""
    rid = twilio_id(13)
    provider.add(rid, wav(seconds=4.0, seed=23))  # 64 KB: 16 pieces of 4 KiB
    provider.fault(rid, "drip")
    settings = make_settings(provider, transfer_timeout=0.1)
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())
    worker = workers(settings=settings)
    try:
        result = worker.run_once()
    finally:
        worker.close()
    assert result is not None and result.outcome == "retry"
    assert "transfer too slow" in (result.error or "")


def test_unknown_twilio_call_stores_the_caller_as_withheld(
    provider: FakeProvider,
    jobs: JobStore,
    workers: Workers,
    clock: Clock,
    home: Path,
    keyring_path: Path,
) -> None:
    rid = twilio_id(14)
    provider.add(rid, wav(seed=24))  # no caller registered for the call: its lookup is a 404
    body = payload("twilio", rid, call_id="CA" + "e" * 32, masked_caller=None)
    jobs.enqueue(provider="twilio", recording_id=rid, payload=body, now=clock())
    assert _drain(workers, jobs, clock) == ["done"]
    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    try:
        found = vault.catalog.find_recording("twilio", rid)
        assert found is not None and found.caller_display == "withheld"
    finally:
        vault.close()
