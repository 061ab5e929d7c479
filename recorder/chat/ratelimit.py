"""A fixed-window rate limit for the self-service endpoints, on a clock passed in.

Why: a per-conversation secret has 256 bits, so guessing is hopeless, but every attempt
costs a database read and an audit entry; the limit keeps a noisy client from turning
that into load. Keys are the client address and the chat id in the path, each allowed
``per_minute`` requests per minute; over it the answer is 429 with ``Retry-After``.
In memory, per server process (state is lost on restart, which only loosens it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime

from recorder.errors import RateLimited

_MAX_KEYS = 100_000


class RateLimit:
    """``per_minute`` requests per key and minute (UTC minutes of ``clock``)."""

    def __init__(self, per_minute: int, clock: Callable[[], datetime]) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._lock = threading.Lock()
        self._window = ""
        self._counts: dict[str, int] = {}

    def hit(self, keys: Iterable[str]) -> None:
        """Count one request for each key; :class:`RateLimited` if any is over its limit."""
        now = self.clock()
        window = now.strftime("%Y%m%d%H%M")
        with self._lock:
            if window != self._window or len(self._counts) > _MAX_KEYS:
                self._window, self._counts = window, {}
            over = False
            for key in keys:
                count = self._counts.get(key, 0) + 1
                self._counts[key] = count
                over = over or count > self.per_minute
        if over:
            raise RateLimited(retry_after=60 - now.second)
