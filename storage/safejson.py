"""The one bounded JSON reader: every JSON document callrec reads goes through :func:`loads`.

Why: ``json.loads`` has no limits of its own. 30,000 nested ``[`` raise ``RecursionError``
(a crash, not a parse error); a 5,000-digit integer raises ``ValueError`` from ``int()``
(Python's 4,300-digit guard) after the parser did the work; a huge string is read whole.
Webhook bodies, upload metadata, spool sidecars, provider API documents and rows of a
database someone may have edited are all JSON from outside. :func:`loads` refuses every
such document cheaply and up front with one error, :class:`~storage.errors.MalformedJson`,
which each caller maps to its own "malformed" outcome (HTTP 400, a rejected spool pair, a
failed job), never to a retry or a crash.

Checks, in order (:class:`JsonLimits`):

1. size: at most ``max_bytes`` bytes (before anything is decoded);
2. strict UTF-8 (no UTF-16/32 guessing, as ``json.loads(bytes)`` would do);
3. nesting: arrays and objects at most ``max_depth`` deep, counted by a scan that skips
   string literals, *before* the recursive parser runs;
4. numbers: an integer of at most ``max_int_digits`` digits, a float literal of at most
   :data:`MAX_FLOAT_CHARS` characters that is finite; ``NaN``/``Infinity`` are refused;
5. keys: an object that names a key twice is refused (parsers disagree on which one wins,
   so a signed document could be read two ways).

Messages are fixed phrases; no part of the document ever appears in one.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from storage.errors import MalformedJson

MAX_FLOAT_CHARS = 40
_TOKEN = re.compile(rb'[\[\]{}"]')
_STRING_REST = re.compile(rb'(?:[^"\\]|\\.)*"', re.DOTALL)


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonLimits:
    """What :func:`loads` accepts at most. The defaults fit every document callrec reads."""

    max_bytes: int = 64 * 1024
    max_depth: int = 32
    max_int_digits: int = 20

    def __post_init__(self) -> None:
        if min(self.max_bytes, self.max_depth, self.max_int_digits) < 1:
            raise ValueError("JSON limits must be positive")


DEFAULT_LIMITS = JsonLimits()


def _depth_ok(raw: bytes, max_depth: int) -> bool:
    """True if no array/object is nested deeper than ``max_depth`` (strings skipped).

    One left-to-right pass (linear: an unterminated string ends the scan, the parser then
    refuses the document), so a hostile document cannot make it quadratic.
    """
    depth, pos = 0, 0
    while (token := _TOKEN.search(raw, pos)) is not None:
        char = raw[token.start()]
        if char == 0x22:  # a string literal: skip to its closing quote
            rest = _STRING_REST.match(raw, token.end())
            if rest is None:
                return True
            pos = rest.end()
            continue
        pos = token.end()
        if char in b"[{":
            depth += 1
            if depth > max_depth:
                return False
        else:
            depth -= 1
    return True


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise MalformedJson("JSON object names a key twice")
    return out


def loads(raw: bytes | str, *, limits: JsonLimits = DEFAULT_LIMITS) -> Any:
    """Parse ``raw`` within ``limits``; :class:`MalformedJson` for anything else."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if len(data) > limits.max_bytes:
        raise MalformedJson(f"JSON document larger than {limits.max_bytes} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedJson("not UTF-8 JSON") from None
    if not _depth_ok(data, limits.max_depth):
        raise MalformedJson(f"JSON nested deeper than {limits.max_depth} levels")

    def parse_int(literal: str) -> int:
        if len(literal.lstrip("-")) > limits.max_int_digits:
            raise MalformedJson(f"JSON integer longer than {limits.max_int_digits} digits")
        return int(literal)

    def parse_float(literal: str) -> float:
        value = float(literal) if len(literal) <= MAX_FLOAT_CHARS else math.inf
        if not math.isfinite(value):
            raise MalformedJson("JSON number out of range")
        return value

    def parse_constant(literal: str) -> Any:
        raise MalformedJson("JSON NaN or Infinity is not allowed")

    try:
        return json.loads(
            text,
            parse_int=parse_int,
            parse_float=parse_float,
            parse_constant=parse_constant,
            object_pairs_hook=_unique_keys,
        )
    except MalformedJson:
        raise
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        raise MalformedJson("not valid JSON") from None
