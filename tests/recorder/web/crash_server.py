"""A webhook server that dies (``os._exit``) around the job insert: the D1 victim.

Run as ``python -m tests.recorder.web.crash_server TMP STEP``; prints the port, then
serves until the first delivery kills it at STEP: ``before-insert`` (nothing committed)
or ``after-commit`` (the job is durable, the ack never leaves).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from recorder.web.store import Item
from storage.jobs import JobStore, jobs_path
from tests.recorder.web.harness import running

EXIT_CODE = 77


class Dying:
    """A real job store that kills the process at one step of ``enqueue``."""

    def __init__(self, store: JobStore, step: str) -> None:
        self.store, self.step = store, step

    def enqueue(
        self, *, provider: str, recording_id: str, payload: Mapping[str, Any], now: datetime
    ) -> bool:
        if self.step == "before-insert":
            os._exit(EXIT_CODE)
        new = self.store.enqueue(
            provider=provider, recording_id=recording_id, payload=payload, now=now
        )
        if self.step == "after-commit":
            os._exit(EXIT_CODE)
        return new

    def enqueue_many(self, items: Sequence[Item]) -> list[bool]:
        if self.step == "before-insert":
            os._exit(EXIT_CODE)
        new = self.store.enqueue_many(items)
        if self.step == "after-commit":
            os._exit(EXIT_CODE)
        return new

    def ping(self) -> None:
        self.store.ping()

    def close(self) -> None:
        self.store.close()


def main() -> None:
    tmp, step = Path(sys.argv[1]), sys.argv[2]
    with running(tmp, open_jobs=lambda home: Dying(JobStore.open(jobs_path(home)), step)) as web:
        print(web.port, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
