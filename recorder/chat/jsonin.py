"""Chat deliveries through the one bounded JSON reader (``storage.safejson``).

A delivery is read within the chat settings' byte limit and a shallow depth (a
conversation document is never deeper than a few levels); whatever the reader refuses
(size, depth, long numbers, NaN, a key given twice, not UTF-8) is an :class:`InvalidChat`,
which every chat edge answers as malformed (HTTP 400, a rejected spool file).
"""

from __future__ import annotations

from typing import Any, Final

from recorder.errors import InvalidChat
from storage.errors import MalformedJson
from storage.safejson import JsonLimits, loads

MAX_DEPTH: Final = 8


def read_json(raw: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``raw`` as one UTF-8 JSON document within the limits; :class:`InvalidChat` if not."""
    limits = JsonLimits(max_bytes=max_bytes, max_depth=max_depth)
    try:
        return loads(raw, limits=limits)
    except MalformedJson as exc:
        raise InvalidChat(f"body: {exc}") from None
