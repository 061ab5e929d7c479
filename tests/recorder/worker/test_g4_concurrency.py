"""G4: leases expire, so a crashed worker's job is retried; two workers never store the same
recording twice, even when both hold it at once (RELIABILITY.md T-HOOK, issue 5)."""

from __future__ import annotations

import os
import random
import threading
import traceback
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from recorder.fetch import Fetched, Fetcher, MediaFile, ProviderMedia
from recorder.worker import Result
from storage.jobs import JobStore
from storage.keyring import FileKeyRing
from storage.vault import Vault
from tests.invariants import check_invariants, pcm_canaries
from tests.recorder.conftest import canary_pcm
from tests.recorder.fake_provider import FakeProvider
from tests.recorder.worker.conftest import (
    CALLER,
    Clock,
    Workers,
    make_settings,
    payload,
    telnyx_id,
    twilio_id,
    wav,
)


def _recordings(home: Path, keyring_path: Path) -> list[tuple[str, str]]:
    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    try:
        rows = vault.catalog.rows(
            "test", "SELECT provider, provider_id FROM recordings ORDER BY provider_id", ()
        )
        return [(r["provider"], r["provider_id"]) for r in rows]
    finally:
        vault.close()


COUNT = 200 if os.environ.get("RUN_EXTENDED") == "1" else 24


def test_four_workers_drain_a_shared_queue_exactly_once(
    provider: FakeProvider,
    jobs: JobStore,
    workers: Workers,
    clock: Clock,
    home: Path,
    keyring_path: Path,
) -> None:
    ids = [twilio_id(100 + n) if n % 2 else telnyx_id(100 + n) for n in range(COUNT)]
    for n, rid in enumerate(ids):
        provider.add(rid, wav(seconds=1.0, seed=200 + n))
        if n % 5 == 0:
            provider.fault(rid, "503")  # some need a retry, racing the others
        name = "twilio" if rid.startswith("RE") else "telnyx"
        jobs.enqueue(provider=name, recording_id=rid, payload=payload(name, rid), now=clock())
    results: list[Result] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    long_lease = make_settings(provider, lease_seconds=86400.0)  # idle workers move the clock

    def run(worker_id: str) -> None:
        worker = workers(worker_id, settings=long_lease)
        try:
            while True:
                result = worker.run_once()
                if result is None:
                    if not jobs_left():
                        return
                    clock.advance(5)  # past any backoff; all workers share the clock
                    threading.Event().wait(0.01)
                    continue
                with lock:
                    results.append(result)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            worker.close()

    def jobs_left() -> bool:
        store = JobStore.open(home / "jobs.sqlite3")
        try:
            counts = store.counts()
        finally:
            store.close()
        return counts["queued"] + counts["leased"] > 0

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    outcomes = Counter(r.outcome for r in results)
    retried = len(range(0, COUNT, 5))
    assert outcomes["done"] == COUNT and outcomes["retry"] == retried and outcomes["failed"] == 0
    assert jobs.counts() == {"queued": 0, "leased": 0, "done": COUNT, "failed": 0}
    stored = _recordings(home, keyring_path)
    assert sorted(rid for _p, rid in stored) == sorted(ids)  # each exactly once
    canaries = [
        c for n in range(COUNT) for c in pcm_canaries(canary_pcm(1.0, seed=200 + n), count=1)
    ]
    check_invariants(home, keyring_path, canaries=canaries, numbers=[CALLER])


class _Gate(ProviderMedia):
    """Holds every download until ``parties`` workers have downloaded (forces the race)."""

    def __init__(self, fetcher: Fetcher, barrier: threading.Barrier) -> None:
        super().__init__(fetcher)
        self.barrier = barrier

    def download(
        self, provider: str, recording_id: str, media: MediaFile, *, formats: Sequence[str]
    ) -> Fetched:
        fetched = super().download(provider, recording_id, media, formats=formats)
        self.barrier.wait(timeout=30)
        return fetched


def test_expired_lease_race_stores_one_recording(
    provider: FakeProvider,
    jobs: JobStore,
    workers: Workers,
    clock: Clock,
    home: Path,
    keyring_path: Path,
) -> None:
    """A stalls past its lease; B takes the job over; both capture at once: one recording."""
    rid = twilio_id(300)
    provider.add(rid, wav(seed=300))
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())
    lease = make_settings(provider).lease_seconds
    barrier = threading.Barrier(2)
    late = Clock(clock() + timedelta(seconds=lease + 1))
    a = workers("a", media=lambda f: _Gate(f, barrier))
    b = workers("b", media=lambda f: _Gate(f, barrier), clock=late)
    results: dict[str, Result | None] = {}

    def run(name: str, worker: object) -> None:
        results[name] = worker.run_once()  # type: ignore[attr-defined]
        worker.close()  # type: ignore[attr-defined]

    ta = threading.Thread(target=run, args=("a", a))
    ta.start()
    while not jobs.list(state="leased"):  # A holds the lease before B looks
        threading.Event().wait(0.01)
    tb = threading.Thread(target=run, args=("b", b))
    tb.start()
    ta.join(timeout=60)
    tb.join(timeout=60)
    ra, rb = results["a"], results["b"]
    assert ra is not None and rb is not None
    assert ra.outcome == "lost"  # its lease went to B; it cannot mark the job
    assert rb.outcome in ("done", "duplicate")
    assert ra.recording_id == rb.recording_id  # the loser of the capture race got the winner's
    assert _recordings(home, keyring_path) == [("twilio", rid)]
    (job,) = jobs.list()
    assert job.state == "done" and job.attempts == 2
    check_invariants(home, keyring_path, canaries=pcm_canaries(canary_pcm(2.0, seed=300)),
                     numbers=[CALLER])  # fmt: skip


def test_crashed_worker_job_is_retried_after_the_lease(
    provider: FakeProvider, jobs: JobStore, workers: Workers, clock: Clock
) -> None:
    rid = twilio_id(301)
    provider.add(rid, wav(seed=301))
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())
    lease = timedelta(seconds=make_settings(provider).lease_seconds)
    assert jobs.lease(worker="crashed", now=clock(), lease_for=lease) is not None  # then dies
    worker = workers("w")
    try:
        assert worker.run_once() is None  # the lease still holds
        clock.advance(lease.total_seconds() + 1)
        result = worker.run_once()
    finally:
        worker.close()
    assert result is not None and result.outcome == "done"
    assert jobs.list()[0].attempts == 2


def test_a_job_that_kills_every_worker_ends_failed(
    provider: FakeProvider, jobs: JobStore, workers: Workers, clock: Clock
) -> None:
    rid = twilio_id(302)
    provider.add(rid, wav(seed=302))
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())
    settings = make_settings(provider)
    lease = timedelta(seconds=settings.lease_seconds)
    for n in range(settings.max_attempts):
        assert jobs.lease(worker=f"crash{n}", now=clock(), lease_for=lease) is not None
        clock.advance(lease.total_seconds() + 1)
    worker = workers("w")
    try:
        result = worker.run_once()
    finally:
        worker.close()
    assert result is not None and result.outcome == "failed"
    (job,) = jobs.list(state="failed")
    assert job.last_error is not None and "gave up" in job.last_error
    assert provider.media_requests(rid) == 0


def test_already_stored_recording_completes_without_fetching(
    provider: FakeProvider, jobs: JobStore, workers: Workers, clock: Clock, home: Path
) -> None:
    """A worker that crashed after capture but before ``complete``: the retry is a no-op."""
    rid = twilio_id(303)
    provider.add(rid, wav(seed=303))
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())
    first = workers("first")
    try:
        job = jobs.lease(worker="first", now=clock(), lease_for=timedelta(seconds=60))
        assert job is not None
        first._process(job)  # captured, then "crash" before complete  # noqa: SLF001
    finally:
        first.close()
    clock.advance(61)
    second = workers("second")
    try:
        result = second.run_once()
    finally:
        second.close()
    assert result is not None and result.outcome == "duplicate"
    assert provider.media_requests(rid) == 1
    assert jobs.list()[0].state == "done"


def test_worker_processes_share_the_queue_exactly_once(
    provider: FakeProvider,
    jobs: JobStore,
    workers: Workers,
    clock: Clock,
    home: Path,
    keyring_path: Path,
) -> None:
    """Three forked worker processes (own SQLite connections, real file locks) drain one
    queue: every job is leased once, every recording fetched once and stored once."""
    ids = [twilio_id(800 + n) for n in range(12)]
    for n, rid in enumerate(ids):
        provider.add(rid, wav(seconds=1.0, seed=800 + n))
        jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid),
                     now=clock())  # fmt: skip
    pids = []
    for i in range(3):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            code = 1
            try:
                workers.rng = random.Random(9000 + i).randbytes  # each process its own ids
                worker = workers(f"p{i}")
                while worker.run_once() is not None:
                    pass
                worker.close()
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        pids.append(pid)
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert jobs.counts() == {"queued": 0, "leased": 0, "done": 12, "failed": 0}
    assert sorted(rid for _p, rid in _recordings(home, keyring_path)) == ids
    assert all(provider.media_requests(rid) == 1 for rid in ids)
    canaries = [c for n in range(12) for c in pcm_canaries(canary_pcm(1.0, seed=800 + n), count=1)]
    check_invariants(home, keyring_path, canaries=canaries, numbers=[CALLER])
