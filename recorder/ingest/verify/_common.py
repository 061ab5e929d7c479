"""What the three verifiers share: limits, a header view, secrets, base64 and time checks.

Error rule for every scheme: a problem with the *authentication headers* (missing,
duplicated, garbled, out of the time window, not matching) is :class:`BadSignature`
(HTTP 401/403); a request refused for its *size or shape* (a limit, a body that is not
what its type says) is :class:`MalformedRequest` (HTTP 400, or 413 when ``too_large``).
No other exception escapes a verifier for any bytes or header values; ``TypeError`` /
``ValueError`` mean the caller passed the wrong kind of argument (a naive ``now``).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from recorder.errors import BadSignature, ConfigError, MalformedRequest

#: What a web adapter may pass as headers: a mapping (any case; a starlette ``Headers``
#: yields repeated headers from ``items()``), or the raw ASGI list of (name, value) pairs.
HeaderInput = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]

#: Default tolerance of timestamped schemes, seconds either side of ``now``.
TOLERANCE = 300

_TIMESTAMP = re.compile(r"0|[1-9][0-9]{0,11}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Hard limits checked before any parsing or cryptography (RELIABILITY.md W7)."""

    max_body: int = 64 * 1024
    max_fields: int = 100
    max_header: int = 8 * 1024
    max_headers: int = 128

    def __post_init__(self) -> None:
        for name in ("max_body", "max_fields", "max_header", "max_headers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"webhook limits: {name} must be a positive integer")

    def check_body(self, body: bytes) -> None:
        if len(body) > self.max_body:
            raise MalformedRequest(f"body larger than {self.max_body} bytes", too_large=True)


class Secret:
    """A configured secret. Its ``repr``/``str`` never show the value; ``reveal()`` does.

    Modelled on starlette's ``Secret``, but holding bytes and not revealing via ``str``.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | bytes) -> None:
        if isinstance(value, str):
            value = value.encode("utf-8")
        if not isinstance(value, bytes):
            raise TypeError("Secret takes str or bytes")
        self._value = value

    def reveal(self) -> bytes:
        """The secret's bytes (UTF-8 if it was given as text)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


def secrets_tuple(values: object, what: str) -> tuple[Secret, ...]:
    """Validate a configured list of :class:`Secret` (at least one, none empty)."""
    if isinstance(values, Secret):
        values = (values,)
    if not isinstance(values, tuple | list) or not values:
        raise ConfigError(f"{what}: expected at least one secret")
    if not all(isinstance(v, Secret) and v.reveal() for v in values):
        raise ConfigError(f"{what}: every secret must be a non-empty Secret")
    return tuple(values)


def _text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, str):
        return value
    raise TypeError("header names and values must be str or bytes")


class Headers:
    """A case-insensitive, multi-valued view of request headers, with W7 limits applied."""

    __slots__ = ("_values",)

    def __init__(self, raw: HeaderInput, limits: Limits) -> None:
        items: Iterable[tuple[str | bytes, str | bytes]]
        items = raw.items() if isinstance(raw, Mapping) else raw
        values: dict[str, list[str]] = {}
        for count, (name, value) in enumerate(items, start=1):
            if count > limits.max_headers:
                raise MalformedRequest(f"more than {limits.max_headers} headers")
            name_text, value_text = _text(name), _text(value)
            if len(name_text) > limits.max_header or len(value_text) > limits.max_header:
                raise MalformedRequest(f"a header is longer than {limits.max_header} bytes")
            values.setdefault(name_text.strip().lower(), []).append(value_text.strip(" \t"))
        self._values = values

    def one(self, name: str) -> str | None:
        """The single value of an authentication header; duplicated → BadSignature."""
        found = self._values.get(name)
        if found is None:
            return None
        if len(found) != 1:
            raise BadSignature(f"{name}: header given more than once")
        return found[0]

    def single(self, name: str) -> str | None:
        """The single value of an ordinary header; duplicated → MalformedRequest."""
        found = self._values.get(name)
        if found is None:
            return None
        if len(found) != 1:
            raise MalformedRequest(f"{name}: header given more than once")
        return found[0]

    def last_item(self, name: str) -> str | None:
        """The right-most item of a comma-separated list header (the nearest proxy's)."""
        found = self._values.get(name)
        if found is None:
            return None
        item = ",".join(found).rsplit(",", 1)[-1].strip(" \t")
        if not item:
            raise MalformedRequest(f"{name}: empty value")
        return item


def require(headers: Headers, name: str) -> str:
    value = headers.one(name)
    if value is None:
        raise BadSignature(f"{name}: header missing")
    return value


def b64_exact(text: str, size: int) -> bytes | None:
    """Canonical, padded standard base64 of exactly ``size`` bytes, else None."""
    try:
        encoded = text.encode("ascii")
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:  # binascii.Error and UnicodeEncodeError are ValueErrors
        return None
    if len(raw) != size or base64.b64encode(raw) != encoded:
        return None
    return raw


def unix_seconds(now: datetime | float) -> float:
    """``now`` as unix seconds; a naive datetime is a caller bug (ValueError)."""
    if isinstance(now, datetime):
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be a timezone-aware datetime")
        return now.timestamp()
    if isinstance(now, bool) or not isinstance(now, int | float):
        raise TypeError("now must be an aware datetime or unix seconds")
    return float(now)


def check_tolerance(tolerance: int, what: str) -> None:
    if not isinstance(tolerance, int) or isinstance(tolerance, bool) or tolerance < 1:
        raise ConfigError(f"{what}: tolerance must be a positive number of seconds")


def fresh_timestamp(text: str, name: str, *, now: datetime | float, tolerance: int) -> int:
    """Parse a unix-seconds header (canonical digits) and check it is within tolerance.

    Accepts ``|timestamp - now| <= tolerance`` (the Standard Webhooks reference accepts
    exactly five minutes either side), so ±299 s passes and ±301 s fails.
    """
    current = unix_seconds(now)
    if not _TIMESTAMP.fullmatch(text):
        raise BadSignature(f"{name}: not a unix timestamp")
    stamp = int(text)
    if abs(stamp - current) > tolerance:
        raise BadSignature(f"{name}: outside the {tolerance} s tolerance")
    return stamp
