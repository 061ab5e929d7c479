"""The server's one database thread: the job table and the health check live here.

SQLite connections belong to the thread that opened them, and a commit with
``synchronous=FULL`` blocks on fsync, so neither may run on the event loop. Every job
insert and health probe is handed to one dedicated thread, which opens the job store
(and the catalog, for ``/healthz``) itself. One writer thread also means inserts never
fight each other for SQLite's write lock.

Group commit: an fsync costs milliseconds, so one commit per delivery would cap the
server at a few hundred new jobs a second. Deliveries that arrive while a commit is in
flight wait in a batch; the next turn of the store thread inserts the whole batch in one
transaction (``JobStore.enqueue_many``: one ``BEGIN IMMEDIATE ... COMMIT``, one fsync) and
only then answers every one of them. Each answer still leaves after the commit that made
its job durable. If a batch fails, nothing of it was written and it is retried item by
item, so one refused delivery never fails the others.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from storage.catalog import Catalog

log = logging.getLogger(__name__)
T = TypeVar("T")

#: (provider, recording id, payload, now): one job to insert.
Item = tuple[str, str, Mapping[str, Any], datetime]
#: Largest batch committed at once.
MAX_BATCH = 256


class JobQueue(Protocol):
    """What the server needs of ``storage.jobs.JobStore``."""

    def enqueue(
        self, *, provider: str, recording_id: str, payload: Mapping[str, Any], now: datetime
    ) -> bool: ...

    def enqueue_many(self, items: Sequence[Item]) -> list[bool]:
        """Insert every item in ONE committed transaction; all or nothing; True if new."""
        ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


def _settle(answers: Sequence[tuple[asyncio.Future[bool], bool | BaseException]]) -> None:
    """Answer every request of a batch (one loop wake-up for the batch, not one each)."""
    for future, result in answers:
        if future.done():  # the request was cancelled (client gone); the job stands anyway
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


class StoreThread:
    """Runs job-store and catalog calls on one thread that owns both connections."""

    def __init__(
        self,
        open_jobs: Callable[[], JobQueue],
        catalog_path: Path,
        check_keyring: Callable[[], None],
    ) -> None:
        self._open_jobs = open_jobs
        self._catalog_path = catalog_path
        self._check_keyring = check_keyring
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="callrec-store")
        self._jobs: JobQueue | None = None
        self._catalog: Catalog | None = None
        self._lock = threading.Lock()
        self._pending: list[tuple[Item, asyncio.Future[bool]]] = []

    async def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the store thread and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn)

    def _job_store(self) -> JobQueue:
        if self._jobs is None:
            self._jobs = self._open_jobs()
        return self._jobs

    def _reset_jobs(self) -> None:
        """Drop a job store that failed, so the next call reopens it (DB back up)."""
        jobs, self._jobs = self._jobs, None
        if jobs is not None:
            try:
                jobs.close()
            except Exception:  # noqa: BLE001 - it is broken already; reopen next time
                log.warning("closing a failed job store raised")

    def _insert_one(self, item: Item) -> bool | BaseException:
        provider, recording_id, payload, now = item
        try:
            return self._job_store().enqueue(
                provider=provider, recording_id=recording_id, payload=payload, now=now
            )
        except Exception as exc:  # noqa: BLE001 - delivered to its awaiting request
            self._reset_jobs()
            return exc

    def _insert(self, items: Sequence[Item]) -> list[bool | BaseException]:
        """One transaction for the batch when possible, else one per item."""
        if len(items) > 1:
            try:
                return list(self._job_store().enqueue_many(items))
            except Exception:  # noqa: BLE001 - nothing of the batch was written
                self._reset_jobs()
                log.info("a batch of %d jobs failed; inserting one by one", len(items))
        return [self._insert_one(item) for item in items]

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            if self._pending:
                self._executor.submit(self._flush, loop)
        results = self._insert([item for item, _ in batch])
        answers = [(future, result) for (_, future), result in zip(batch, results, strict=True)]
        loop.call_soon_threadsafe(_settle, answers)

    async def enqueue(
        self, *, provider: str, recording_id: str, payload: Mapping[str, Any], now: datetime
    ) -> bool:
        """Insert a job (duplicates do nothing); returns after the commit. True if new."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        with self._lock:
            self._pending.append(((provider, recording_id, payload, now), future))
            first = len(self._pending) == 1
        if first:
            self._executor.submit(self._flush, loop)
        return await future

    def _health(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            self._job_store().ping()
            checks["jobs"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            self._reset_jobs()
            checks["jobs"] = f"error: {type(exc).__name__}"
        try:
            if self._catalog is None:
                self._catalog = Catalog.open(self._catalog_path)
            self._catalog.one("healthz", "SELECT 1")
            checks["catalog"] = "ok"
        except Exception as exc:  # noqa: BLE001
            self._catalog = None
            checks["catalog"] = f"error: {type(exc).__name__}"
        try:
            self._check_keyring()
            checks["keyring"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["keyring"] = f"error: {type(exc).__name__}"
        return checks

    async def health(self) -> dict[str, str]:
        """``{"jobs": "ok", "catalog": "ok", "keyring": "ok"}`` or the failing checks' kinds."""
        return await self.call(self._health)

    def _close(self) -> None:
        self._reset_jobs()
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None

    def close(self) -> None:
        """Close both connections on their own thread, then stop the thread."""
        self._executor.submit(self._close).result()
        self._executor.shutdown(wait=True)
