"""Timestamps at the edges: strict ISO-8601 with an explicit offset, always UTC inside."""

from __future__ import annotations

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
