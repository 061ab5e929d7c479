"""Retention classes and the expiry they give a recording at capture.

The minimal table the capture spine needs; the retention issue turns it into data in the
configuration, with MIN/MAX conflict rules, legal hold and the sweeper. Durations in
calendar months clamp to the month's last day (31 Aug + 6 months = 28/29 Feb), in UTC.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from recorder.errors import InvalidEvent

DEFAULT_CLASS = "standard_6m"


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionClass:
    """A named lifetime: ``max`` = delete by, ``min`` = keep at least (legal obligation)."""

    name: str
    months: int = 0
    hours: int = 0
    kind: str = "max"
    #: Whole days (after the months, before the hours); issue 8.
    days: int = 0
    #: What the class is for: any of ``call``, ``ai``, ``chat`` (issue 8).
    applies_to: tuple[str, ...] = ("call",)


CLASSES: dict[str, RetentionClass] = {
    c.name: c
    for c in (
        RetentionClass(name="buffer_24h", hours=24),
        RetentionClass(name="ai_30d", days=30, applies_to=("call", "ai")),
        RetentionClass(name="standard_6m", months=6),
        RetentionClass(name="regulated_5y", months=60, kind="min"),
        # Chat promises P23-P26 (a chat pipeline comes later; the classes exist now).
        RetentionClass(name="chat_bot_1m", months=1, applies_to=("chat",)),
        RetentionClass(name="chat_bot_90d", days=90, applies_to=("chat",)),
        RetentionClass(name="chat_1y", months=12, applies_to=("chat",)),
        RetentionClass(name="chat_advisor_18m", months=18, applies_to=("chat",)),
        RetentionClass(name="chat_complaint_42m", months=42, applies_to=("chat",)),
        RetentionClass(name="chat_advisor_5y", months=60, applies_to=("chat",)),
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
    """When a recording of class ``cls`` that started at ``start`` expires.

    All arithmetic is in UTC (a local ``start`` is converted first), so a DST switch
    never moves a deadline: months clamp to the month's end, then days and hours are
    exact 24 h / 60 min steps.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise InvalidEvent("retention start: timestamp needs a timezone")
    utc = start.astimezone(UTC)
    return add_months(utc, cls.months) + timedelta(days=cls.days, hours=cls.hours)
