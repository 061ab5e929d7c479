"""Times at the edges: strict ISO-8601 with an explicit offset (always UTC inside), and
offsets into a call given as seconds or clock text."""

from __future__ import annotations

import math
from datetime import UTC, datetime


def parse_utc(text: str, field: str, error: type[Exception]) -> datetime:
    """Parse ``2026-11-20T09:00:00Z`` (or any explicit offset) into an aware UTC datetime.

    A timestamp without an offset is refused: guessing the zone of a call is how a
    retention deadline drifts by an hour. Errors name the field, never echo the value.
    """
    if not isinstance(text, str) or len(text) > 64:
        raise error(f"{field}: expected an ISO-8601 timestamp with an offset")
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise error(f"{field}: expected an ISO-8601 timestamp with an offset") from None
    if value.tzinfo is None:
        raise error(f"{field}: timestamp needs an offset such as Z or +01:00")
    return value.astimezone(UTC)


def parse_offset_ms(text: str | None, field: str, error: type[Exception]) -> int | None:
    """'90', '1:30', '00:01:30' or '30s' -> milliseconds (None stays None).

    Refuses negative parts and anything that is not a finite number ('nan', 'inf' and
    '1e400' all parse as floats). Errors name the field, never echo the value.
    """
    if text is None:
        return None
    problem = f"{field}: expected seconds or [hh:]mm:ss"
    try:
        parts = [float(p) for p in text.strip().removesuffix("s").split(":")]
    except ValueError:
        raise error(problem) from None
    if not 1 <= len(parts) <= 3 or any(p < 0 for p in parts):
        raise error(problem)
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    if not math.isfinite(seconds):
        raise error(problem)
    return int(seconds * 1000)
