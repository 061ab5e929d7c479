"""Retention classes and the expiry they give a recording at capture.

The minimal table the capture spine needs; the retention issue turns it into data in the
configuration, with MIN/MAX conflict rules, legal hold and the sweeper. Durations in
calendar months clamp to the month's last day (31 Aug + 6 months = 28/29 Feb), in UTC.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

from recorder.errors import InvalidEvent

DEFAULT_CLASS = "standard_6m"


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionClass:
    """A named lifetime: ``max`` = delete by, ``min`` = keep at least (legal obligation)."""

    name: str
    months: int = 0
    hours: int = 0
    kind: str = "max"


CLASSES: dict[str, RetentionClass] = {
    c.name: c
    for c in (
        RetentionClass(name="buffer_24h", hours=24),
        RetentionClass(name="ai_30d", hours=30 * 24),
        RetentionClass(name="standard_6m", months=6),
        RetentionClass(name="regulated_5y", months=60, kind="min"),
    )
}


def add_months(at: datetime, months: int) -> datetime:
    """``at`` plus calendar months, clamping the day to the target month's length."""
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def retention_class(name: str | None) -> RetentionClass:
    """The class by name (None = the default); :class:`InvalidEvent` if unknown."""
    try:
        return CLASSES[name or DEFAULT_CLASS]
    except KeyError:
        raise InvalidEvent(f"unknown retention class; known: {', '.join(CLASSES)}") from None


def expires_at(cls: RetentionClass, start: datetime) -> datetime:
    """When a recording of class ``cls`` that started at ``start`` expires."""
    return add_months(start, cls.months) + timedelta(hours=cls.hours)
