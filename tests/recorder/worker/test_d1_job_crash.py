"""D1 for the job path: a worker process dies (``os._exit``) at each named step of a job,
a restarted worker recovers, and the store ends with exactly one whole recording and the
invariants holding (RELIABILITY.md T-CRASH).

A forked child leases the job, fetches from the fake provider and captures, and exits at
one step: after the lease, after the download, at every capture step, or right after the
job was marked done. The parent then checks what a restarted process sees before any
repair (no partial recording; the job still leased or done), repairs the way production
does (``fsck --repair`` removes an orphan blob once it is older than the grace period),
lets the lease expire and runs a healthy worker.
"""

from __future__ import annotations

import os
import random
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import pytest

from storage.fsck import fsck
from storage.jobs import JobStore
from storage.keyring import FileKeyRing
from storage.models import State
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

CRASH = 137
LATER = datetime(2100, 1, 1, tzinfo=UTC)
REPS = 10 if os.environ.get("RUN_EXTENDED") == "1" else 1
STEPS = (
    "worker.leased",
    "worker.fetched",
    "decoded",
    "masked",
    "sealed",
    "tx.begin",
    "recording.inserted",
    "artefact.inserted",
    "audited",
    "available",
    "committed",
    "worker.completed",
)
#: Steps at which the recording is already committed when the process dies.
STORED_AT = frozenset({"committed", "worker.completed"})


def _child(workers: Workers, step: str) -> NoReturn:
    code = 1
    try:

        def crash_at(name: str) -> None:
            if name == step:
                os._exit(CRASH)

        workers.rng = random.Random(4321).randbytes  # the dead process drew its own ids
        worker = workers("doomed", step=crash_at)
        worker.run_once()
        code = 0  # the step was never reached
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


@pytest.mark.parametrize("rep", range(REPS))
@pytest.mark.parametrize("step", STEPS)
def test_crash_at_each_step_then_recover(
    step: str,
    rep: int,
    provider: FakeProvider,
    jobs: JobStore,
    workers: Workers,
    clock: Clock,
    home: Path,
    keyring_path: Path,
) -> None:
    rid = twilio_id(700 + rep)
    provider.add(rid, wav(seed=700 + rep))
    jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid), now=clock())
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        _child(workers, step)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == CRASH, status

    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    try:
        found = vault.catalog.find_recording("twilio", rid)
        if step in STORED_AT:
            assert found is not None and found.state is State.AVAILABLE
        else:
            assert found is None  # nothing half-visible
        (job,) = jobs.list()
        assert job.state == ("done" if step == "worker.completed" else "leased")
        clock.advance(make_settings(provider).lease_seconds + 3600)
        # the orphan blob of a dead capture is removed once past the grace period (its mtime
        # is the real file time, hence a repair "now" far in the future)
        fsck(vault, repair=True, now=LATER)
    finally:
        vault.close()

    worker = workers("restarted")
    try:
        result = worker.run_once()
    finally:
        worker.close()
    if step == "worker.completed":
        assert result is None
    else:
        assert result is not None, step
        assert result.error is None, result.error
        assert result.outcome == ("duplicate" if step in STORED_AT else "done")
    (job,) = jobs.list()
    assert job.state == "done"
    assert provider.media_requests(rid) == (1 if step in ("worker.leased",) or step in STORED_AT
                                            else 2)  # fmt: skip
    check_invariants(home, keyring_path, canaries=pcm_canaries(canary_pcm(2.0, seed=700 + rep)),
                     numbers=[CALLER])  # fmt: skip
