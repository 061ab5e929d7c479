"""D4 for the job path: ENOSPC/EIO at each blob open/write/fsync/close/rename during a
fetched recording's capture, and a database error at each statement of the capture
transaction up to the commit → the job is retried (then failed after max attempts),
nothing is half-visible, and the store's invariants hold (RELIABILITY.md T-CRASH)."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from storage.errors import CatalogError
from storage.fsutil import REAL_OPS, FsOps
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
    twilio_id,
    wav,
)

STEPS = ("open", "write", "fsync", "close", "rename")
ERRNOS = (errno.ENOSPC, errno.EIO)


def failing(step: str, code: int) -> FsOps:
    """Real file-system calls, except every ``step`` call raises ``OSError(code)``."""
    real: Callable[..., Any] = getattr(REAL_OPS, step)

    def broken(*args: Any) -> Any:
        if step == "close":  # still release the descriptor, then report the failure
            real(*args)
        raise OSError(code, os.strerror(code))

    return replace(REAL_OPS, **{step: broken})


def _visible(home: Path, keyring_path: Path, rid: str) -> bool:
    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    try:
        return vault.catalog.find_recording("twilio", rid) is not None
    finally:
        vault.close()


@pytest.mark.parametrize("code", ERRNOS, ids=["ENOSPC", "EIO"])
@pytest.mark.parametrize("step", STEPS)
def test_disk_error_during_capture_retries_then_succeeds(
    step: str,
    code: int,
    provider: FakeProvider,
    jobs: JobStore,
    workers: Workers,
    clock: Clock,
    home: Path,
    keyring_path: Path,
) -> None:
    rid = twilio_id(400 + STEPS.index(step) * 2 + ERRNOS.index(code))
    provider.add(rid, wav(seed=400))
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())
    broken = workers("broken", ops=failing(step, code))
    try:
        result = broken.run_once()
    finally:
        broken.close()
    assert result is not None and result.outcome == "retry", result
    (job,) = jobs.list()
    assert job.state == "queued" and job.last_error and job.last_error.startswith("storage:")
    assert not _visible(home, keyring_path, rid)
    check_invariants(home, keyring_path, canaries=pcm_canaries(canary_pcm(2.0, seed=400)),
                     numbers=[CALLER])  # fmt: skip
    clock.advance(60)
    healthy = workers("healthy")
    try:
        again = healthy.run_once()
    finally:
        healthy.close()
    assert again is not None and again.outcome == "done"
    assert _visible(home, keyring_path, rid)
    check_invariants(home, keyring_path, canaries=pcm_canaries(canary_pcm(2.0, seed=400)),
                     numbers=[CALLER])  # fmt: skip


def test_a_disk_that_stays_full_fails_the_job_cleanly(
    provider: FakeProvider,
    jobs: JobStore,
    workers: Workers,
    clock: Clock,
    home: Path,
    keyring_path: Path,
) -> None:
    rid = twilio_id(450)
    provider.add(rid, wav(seed=450))
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())
    settings = make_settings(provider)
    outcomes = []
    for _ in range(settings.max_attempts):
        worker = workers("w", ops=failing("write", errno.ENOSPC))
        try:
            result = worker.run_once()
        finally:
            worker.close()
        assert result is not None
        outcomes.append(result.outcome)
        clock.advance(settings.backoff_max_seconds)
    assert outcomes == ["retry"] * (settings.max_attempts - 1) + ["failed"]
    assert jobs.list(state="failed")[0].attempts == settings.max_attempts
    assert not _visible(home, keyring_path, rid)
    check_invariants(home, keyring_path, canaries=pcm_canaries(canary_pcm(2.0, seed=450)),
                     numbers=[CALLER])  # fmt: skip


TX_STEPS = ("recording.inserted", "artefact.inserted", "audited", "available")


@pytest.mark.parametrize("at", TX_STEPS)
def test_database_error_inside_the_capture_transaction_rolls_back_and_retries(
    at: str,
    provider: FakeProvider,
    jobs: JobStore,
    workers: Workers,
    clock: Clock,
    home: Path,
    keyring_path: Path,
) -> None:
    """SQLite's own I/O errors cannot be injected from Python; the catalog translates them
    to ``CatalogError``, raised here at each statement of the transaction (the last one,
    ``available``, stands for the commit): the whole capture is rolled back."""
    rid = twilio_id(460 + TX_STEPS.index(at))
    provider.add(rid, wav(seed=460))
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())

    def fail_at(name: str) -> None:
        if name == at:
            raise CatalogError("committing: disk I/O error")

    broken = workers("broken", step=fail_at)
    try:
        result = broken.run_once()
    finally:
        broken.close()
    assert result is not None and result.outcome == "retry"
    assert not _visible(home, keyring_path, rid)
    check_invariants(home, keyring_path, canaries=pcm_canaries(canary_pcm(2.0, seed=460)),
                     numbers=[CALLER])  # fmt: skip
    clock.advance(60)
    healthy = workers("healthy")
    try:
        again = healthy.run_once()
    finally:
        healthy.close()
    assert again is not None and again.outcome == "done" and _visible(home, keyring_path, rid)
