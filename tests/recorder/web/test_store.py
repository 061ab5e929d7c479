"""The store thread: group commit, and one refused delivery never fails its batch."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from recorder.web.store import Item, StoreThread
from storage.errors import JobError
from storage.jobs import JobStore, jobs_path
from tests.recorder.web.harness import NOW


class Picky:
    """A real job store that refuses one recording id, batched or not."""

    def __init__(self, path: Path) -> None:
        self.store = JobStore.open(path)
        self.batches: list[int] = []

    def enqueue(
        self, *, provider: str, recording_id: str, payload: Mapping[str, Any], now: datetime
    ) -> bool:
        if recording_id == "poison":
            raise JobError("refused")
        return self.store.enqueue(
            provider=provider, recording_id=recording_id, payload=payload, now=now
        )

    def enqueue_many(self, items: Sequence[Item]) -> list[bool]:
        self.batches.append(len(items))
        if any(r == "poison" for _, r, _, _ in items):
            raise JobError("refused")
        return [self.enqueue(provider=p, recording_id=r, payload=d, now=n) for p, r, d, n in items]

    def ping(self) -> None:
        self.store.ping()

    def close(self) -> None:
        self.store.close()


def test_one_refused_delivery_never_fails_the_others(tmp_path: Path) -> None:
    picky: list[Picky] = []

    def open_jobs() -> Picky:
        picky.append(Picky(jobs_path(tmp_path)))
        return picky[-1]

    store = StoreThread(open_jobs, tmp_path / "catalog.db", lambda: None)
    ids = [f"rec-{i}" for i in range(40)]
    ids[17] = "poison"
    ids[30] = "rec-3"  # a duplicate inside the same burst

    async def burst() -> list[bool | BaseException]:
        calls = [
            store.enqueue(provider="twilio", recording_id=r, payload={"v": 1}, now=NOW) for r in ids
        ]
        return await asyncio.gather(*calls, return_exceptions=True)

    try:
        results = asyncio.run(burst())
    finally:
        store.close()
    assert isinstance(results[17], JobError)
    assert results[30] is False and results[3] is True
    assert all(r is True for i, r in enumerate(results) if i not in (17, 30))
    check = JobStore.open(jobs_path(tmp_path))
    try:
        assert len(check.list(limit=100)) == 38
    finally:
        check.close()


@pytest.mark.parametrize("size", [1, 300])
def test_every_waiting_delivery_is_answered(tmp_path: Path, size: int) -> None:
    store = StoreThread(lambda: JobStore.open(jobs_path(tmp_path)), tmp_path / "c.db", lambda: None)

    async def burst() -> list[bool]:
        return await asyncio.gather(
            *(
                store.enqueue(provider="telnyx", recording_id=f"r{i}", payload={}, now=NOW)
                for i in range(size)
            )
        )

    try:
        assert asyncio.run(burst()) == [True] * size
    finally:
        store.close()
