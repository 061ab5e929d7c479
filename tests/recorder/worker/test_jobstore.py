"""The durable job queue (storage/jobs.py): dedup, durability, atomic leases, ownership,
and no full number in the table."""

from __future__ import annotations

import stat
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from storage.errors import JobError, LeaseLost, PragmaError
from storage.jobs import JobStore, check_payload, clean_error, jobs_path
from tests.conftest import NOW
from tests.recorder.worker.conftest import MASKED, payload, telnyx_id, twilio_id

LEASE = timedelta(seconds=30)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    s = JobStore.open(jobs_path(tmp_path / "data"))
    yield s
    s.close()


def test_enqueue_is_idempotent_and_durable(tmp_path: Path) -> None:
    path = jobs_path(tmp_path / "data")
    store = JobStore.open(path)
    rid = twilio_id(1)
    assert store.enqueue(
        provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=NOW
    )
    assert not store.enqueue(provider="twilio", recording_id=rid, payload={"other": 1}, now=NOW)
    assert store.enqueue(provider="telnyx", recording_id=rid, payload={}, now=NOW)  # other key
    store.close()
    reopened = JobStore.open(path)  # committed before enqueue returned
    try:
        jobs = reopened.list()
        assert [(j.provider, j.state, j.attempts) for j in jobs] == [
            ("telnyx", "queued", 0),
            ("twilio", "queued", 0),
        ]
        assert jobs[1].payload == payload("twilio", rid)  # the first payload was kept
        reopened.ping()
    finally:
        reopened.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_pragmas_are_asserted(tmp_path: Path) -> None:
    import sqlite3  # test-only: build a connection without the required pragmas

    conn = sqlite3.connect(tmp_path / "plain.sqlite3")
    with pytest.raises(PragmaError):
        JobStore(conn)
    conn.close()


def test_lease_takes_the_oldest_due_job_and_honours_backoff(store: JobStore) -> None:
    a, b = twilio_id(1), twilio_id(2)
    store.enqueue(provider="twilio", recording_id=a, payload={}, now=NOW)
    store.enqueue(provider="twilio", recording_id=b, payload={}, now=NOW + timedelta(seconds=1))
    assert store.lease(worker="w", now=NOW - timedelta(seconds=1), lease_for=LEASE) is None
    first = store.lease(worker="w", now=NOW + timedelta(seconds=5), lease_for=LEASE)
    assert first is not None and first.recording_id == a and first.attempts == 1
    assert first.lease_owner == "w" and first.lease_until == NOW + timedelta(seconds=35)
    store.retry(first.id, worker="w", now=NOW, error="HTTP 503", at=NOW + timedelta(minutes=5))
    second = store.lease(worker="w", now=NOW + timedelta(seconds=6), lease_for=LEASE)
    assert second is not None and second.recording_id == b
    assert store.lease(worker="w", now=NOW + timedelta(seconds=7), lease_for=LEASE) is None
    store.complete(second.id, worker="w", now=NOW + timedelta(seconds=8))
    again = store.lease(worker="w", now=NOW + timedelta(minutes=5), lease_for=LEASE)
    assert again is not None and again.recording_id == a and again.attempts == 2
    assert again.last_error == "HTTP 503"


def test_only_the_lease_owner_may_finish(store: JobStore) -> None:
    store.enqueue(provider="twilio", recording_id=twilio_id(1), payload={}, now=NOW)
    job = store.lease(worker="a", now=NOW, lease_for=LEASE)
    assert job is not None
    taken = store.lease(worker="b", now=NOW + LEASE + timedelta(seconds=1), lease_for=LEASE)
    assert taken is not None and taken.id == job.id and taken.attempts == 2
    finishers: tuple[Callable[[], None], ...] = (
        lambda: store.complete(job.id, worker="a", now=NOW),
        lambda: store.fail(job.id, worker="a", now=NOW, error="x"),
        lambda: store.retry(job.id, worker="a", now=NOW, error="x", at=NOW),
        lambda: store.extend(job.id, worker="a", now=NOW, lease_for=LEASE),
    )
    for finish in finishers:
        with pytest.raises(LeaseLost):
            finish()
    store.fail(job.id, worker="b", now=NOW, error="HTTP 404 for RE12345678")
    (failed,) = store.list(state="failed")
    assert failed.last_error == "HTTP 404 for RE#" and failed.lease_owner is None
    with pytest.raises(LeaseLost):  # terminal
        store.complete(job.id, worker="b", now=NOW)
    assert store.lease(worker="c", now=NOW + timedelta(days=1), lease_for=LEASE) is None


def test_concurrent_leases_never_hand_out_a_job_twice(tmp_path: Path) -> None:
    path = jobs_path(tmp_path / "data")
    setup = JobStore.open(path)
    for n in range(60):
        setup.enqueue(provider="telnyx", recording_id=telnyx_id(n), payload={}, now=NOW)
    setup.close()
    taken: list[int] = []
    lock = threading.Lock()

    def run(name: str) -> None:
        store = JobStore.open(path)  # its own connection, like another process
        try:
            while (job := store.lease(worker=name, now=NOW, lease_for=LEASE)) is not None:
                with lock:
                    taken.append(job.id)
                store.complete(job.id, worker=name, now=NOW)
        finally:
            store.close()

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(taken) == list(range(1, 61))
    check = JobStore.open(path)
    try:
        assert check.counts() == {"queued": 0, "leased": 0, "done": 60, "failed": 0}
    finally:
        check.close()


@pytest.mark.parametrize(
    "bad",
    [
        {"caller": "+4791234567"},
        {"caller": "+47 912 34 567"},
        {"caller": "004791234567"},
        {"caller": "91234567"},
        {"caller": 4791234567},
        {"caller": 4.791234567e9},
        {"note": "call from +47 912 34 567 failed"},
        {"note": "tel:+4791234567"},
        {"nested": [{"x": "+46701234567"}]},
        {"+4791234567": "key"},
        {"masked_caller": {"display": "+4791234567"}},
        {"blob": object()},
        {"big": "x" * 5000},
    ],
)
def test_payloads_with_a_full_number_or_junk_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(JobError):
        check_payload(bad)


def test_real_payloads_pass() -> None:
    for body in (payload("twilio", twilio_id(1)), payload("telnyx", telnyx_id(10**30))):
        check_payload(body)
    check_payload({"masked_caller": MASKED, "service_number": "+4722000000"})


def test_ids_workers_and_times_are_checked(store: JobStore) -> None:
    with pytest.raises(JobError):
        store.enqueue(provider="twilio", recording_id="+4791234567", payload={}, now=NOW)
    with pytest.raises(JobError):
        store.enqueue(provider="", recording_id="x", payload={}, now=NOW)
    with pytest.raises(JobError):
        store.enqueue(provider="twilio", recording_id="x\n", payload={}, now=NOW)
    with pytest.raises(JobError):
        store.enqueue(provider="twilio", recording_id="x", payload={}, now=datetime(2026, 1, 1))
    with pytest.raises(JobError):
        store.list(state="running")


def test_clean_error_keeps_status_codes_and_drops_numbers() -> None:
    assert clean_error("HTTP 503") == "HTTP 503"
    assert clean_error("bad\nline\x1b[31m +4791234567 ") == "bad line [31m #"
    assert clean_error("from +47 912 34 567 (x)") == "from # (x)"
    assert clean_error("gave up after 4 attempts: HTTP 503") == "gave up after 4 attempts: HTTP 503"
    assert len(clean_error("x" * 1000)) == 200
    assert clean_error("") == "error"


def test_enqueue_many_commits_a_batch_once_with_duplicates(tmp_path: Path) -> None:
    path = jobs_path(tmp_path / "data")
    store = JobStore.open(path)
    a, b = twilio_id(1), telnyx_id(0)  # 00000000-0000-0000-0000-000000000001: all decimal
    store.enqueue(provider="twilio", recording_id=twilio_id(9), payload={}, now=NOW)
    try:
        inserted = store.enqueue_many(
            [
                ("twilio", a, payload("twilio", a), NOW),
                ("telnyx", b, payload("telnyx", b), NOW),
                ("twilio", a, {"other": 1}, NOW),  # repeated inside the batch
                ("twilio", twilio_id(9), {}, NOW),  # already queued before
            ]
        )
        assert inserted == [True, True, False, False]
        assert store.enqueue_many([]) == []
        other = JobStore.open(path)  # a second connection sees the batch: committed
        try:
            got = {(j.provider, j.recording_id): j for j in other.list()}
            assert set(got) == {("twilio", a), ("telnyx", b), ("twilio", twilio_id(9))}
            assert got[("twilio", a)].payload == payload("twilio", a)  # the first one kept
            assert all(j.state == "queued" and j.attempts == 0 for j in got.values())
        finally:
            other.close()
    finally:
        store.close()


@pytest.mark.parametrize(
    "bad",
    [
        ("twilio", "+4791234567", {}, NOW),
        ("twilio", twilio_id(7), {"caller": "+4791234567"}, NOW),
        ("", twilio_id(7), {}, NOW),
        ("twilio", twilio_id(7), {}, datetime(2026, 1, 1)),
    ],
)
def test_enqueue_many_writes_nothing_when_one_item_is_refused(
    store: JobStore, bad: tuple[str, str, dict[str, object], datetime]
) -> None:
    good = [("twilio", twilio_id(n), payload("twilio", twilio_id(n)), NOW) for n in (1, 2)]
    with pytest.raises(JobError):
        store.enqueue_many([good[0], bad, good[1]])
    assert store.list() == []
    assert store.enqueue_many(good) == [True, True]  # the store is usable afterwards


@pytest.mark.parametrize(
    "uuid_like",
    [
        "00000000-0000-0000-0000-000000000007",
        "12345678-1234-1234-1234-123456789012",
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    ],
)
def test_all_decimal_uuids_are_ids_not_numbers(store: JobStore, uuid_like: str) -> None:
    check_payload({"call_id": uuid_like, "ids": [uuid_like], uuid_like: 1})
    assert store.enqueue(provider="telnyx", recording_id=uuid_like, payload={}, now=NOW)


@pytest.mark.parametrize(
    "number",
    [
        "+47 912 34 567",
        "0047-912-34-567",
        "91234567 92345678",  # two numbers in a row are still numbers
        "004791234567004791234568",
        "1234-5678-9012-3456",  # not the UUID shape
        "00000000-0000-0000-0000-00000000000",  # one digit short of a UUID
        "+12345678-1234-1234-1234-123456789012",
    ],
)
def test_phone_numbers_stay_refused_next_to_uuids(number: str) -> None:
    with pytest.raises(JobError):
        check_payload({"caller": number})


def test_enqueue_many_takes_a_large_batch(store: JobStore) -> None:
    """More than the server's largest batch: one transaction, repeats far apart."""
    ids = [twilio_id(n) for n in range(600)]
    items = [("twilio", rid, {"n": n}, NOW) for n, rid in enumerate(ids)]
    items += [("twilio", ids[5], {}, NOW), ("twilio", ids[599], {}, NOW)]
    assert store.enqueue_many(items) == [True] * 600 + [False, False]
    assert store.counts()["queued"] == 600
    job = store.find("twilio", ids[5])
    assert job is not None and job.payload == {"n": 5}
