"""The web app's one database thread: it opens the vault and runs every catalog call.

SQLite connections belong to the thread that opened them, and a commit with
``synchronous=FULL`` blocks on fsync, so neither may run on the event loop. Each request
hands its catalog work (decide, audit, read rows, open an artefact) to this thread as one
function of the vault; what comes back is plain data, or an iterator over blob bytes that
needs no catalog (``Playback.read_bytes``), which the response then drains elsewhere. One
thread also means one writer: the audit chain and the session rows never race.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from storage.vault import Vault

T = TypeVar("T")


class VaultThread:
    """Runs ``fn(vault)`` on the thread that owns the vault (opened on first use)."""

    def __init__(self, open_vault: Callable[[], Vault]) -> None:
        self._open = open_vault
        self._vault: Vault | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="callrec-ui-db")

    def _run(self, fn: Callable[[Vault], T]) -> T:
        if self._vault is None:
            self._vault = self._open()
        return fn(self._vault)

    async def run(self, fn: Callable[[Vault], T]) -> T:
        """Await ``fn(vault)`` run on the database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, fn)

    def run_sync(self, fn: Callable[[Vault], T]) -> T:
        """``fn(vault)`` on the database thread, from plain (non-async) code."""
        return self._executor.submit(self._run, fn).result()

    def close(self) -> None:
        """Close the vault on its own thread, then stop the thread."""

        def close() -> None:
            if self._vault is not None:
                self._vault.close()
                self._vault = None

        self._executor.submit(close).result()
        self._executor.shutdown(wait=True)
