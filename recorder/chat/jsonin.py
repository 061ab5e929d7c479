"""A bounded JSON reader for chat deliveries: size, depth, numbers and keys limited first.

One small function on purpose: when the shared reader of the input-hardening work
(``storage/safejson.py``) lands, :func:`read_json` becomes a call to it and nothing else
changes. Why not plain ``json.loads``: a 10 MB string, 100,000 nested brackets or a
5,000-digit integer must be a clear "malformed" (HTTP 400), never a ``RecursionError``, a
CPU burn or a crash (RELIABILITY H4); a duplicated key is refused, not silently resolved.
"""

from __future__ import annotations

import json
from typing import Any, Final

from recorder.errors import InvalidChat

MAX_DEPTH: Final = 8
_MAX_NUMBER_CHARS: Final = 20


def _depth_ok(raw: bytes, limit: int) -> bool:
    """True if brackets nest at most ``limit`` deep (strings skipped, escapes honoured)."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def _number(text: str) -> int | float:
    if len(text) > _MAX_NUMBER_CHARS:
        raise InvalidChat("body: a number is too long")
    return float(text) if any(c in text for c in ".eE") else int(text)


def _no_constants(name: str) -> float:
    raise InvalidChat("body: NaN and Infinity are not JSON")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InvalidChat("body: a key is given twice")
        out[key] = value
    return out


def read_json(raw: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``raw`` as one UTF-8 JSON document within the limits; :class:`InvalidChat` if not."""
    if len(raw) > max_bytes:
        raise InvalidChat(f"body: larger than {max_bytes} bytes")
    if not _depth_ok(raw, max_depth):
        raise InvalidChat(f"body: nested deeper than {max_depth}")
    try:
        text = raw.decode("utf-8")
        return json.loads(
            text,
            parse_int=_number,
            parse_float=_number,
            parse_constant=_no_constants,
            object_pairs_hook=_object,
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError):
        raise InvalidChat("body: not UTF-8 JSON") from None
