"""Chat statistics without personal data: per day, how many chats, handovers, complaints,
and how often each configured topic came up. Never an id, a time of day or a text.

Counted from the chat rows (nothing is decrypted); restricted chats are left out (Art. 18:
no processing). Days are UTC dates of the chat's start.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from recorder.access import Action, Principal
from recorder.chat.aggregate import allow, readable
from recorder.config import Config
from storage.vault import Vault


@dataclass(frozen=True, slots=True, kw_only=True)
class DayStats:
    """One day's counts."""

    day: date
    conversations: int
    handovers: int
    complaints: int
    topics: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "day": self.day.isoformat(),
            "conversations": self.conversations,
            "handovers": self.handovers,
            "complaints": self.complaints,
            "topics": dict(sorted(self.topics.items())),
        }


def chat_stats(
    vault: Vault,
    config: Config,
    principal: Principal,
    *,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[DayStats]:
    """Counts per day over ``[since, until)`` (chats destroyed since still count); audited."""
    rows = readable(
        vault,
        config,
        principal,
        Action.CHAT_STATS,
        now=now,
        since=since,
        until=until,
        live_only=False,
    )
    days: dict[date, list[Counter[str]]] = {}
    for chat, _, started in rows:
        counts, topics = days.setdefault(started.date(), [Counter(), Counter()])
        counts["conversations"] += 1
        counts["handovers"] += 1 if chat.handovers or chat.phase != "bot" else 0
        counts["complaints"] += 1 if chat.phase == "complaint" else 0
        topics.update(chat.topics)
    out = [
        DayStats(
            day=day,
            conversations=c["conversations"],
            handovers=c["handovers"],
            complaints=c["complaints"],
            topics=dict(t),
        )
        for day, (c, t) in sorted(days.items())
    ]
    allow(
        vault, principal, Action.CHAT_STATS, now=now, detail={"days": len(out), "chats": len(rows)}
    )
    return out
