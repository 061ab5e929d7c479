"""A chat's retention class follows what happened in it; each switch names its cause.

A bot-only chat has the ``bot`` class of ``[chat.classes]``; a handover (or an advisor
writing) switches it to the ``advisor`` class, a complaint flag to the ``complaint`` class.
Phases only rise, so a class never switches back. Every expiry is counted from the chat's
start in UTC (:func:`recorder.retention.expiry`: calendar months clamp to the month's end)
and the conflict rule of calls applies unchanged afterwards: a legal hold, a restriction or
a MIN class keeps the chat whatever its MAX class says (:func:`destruction_blocked`).

A logged-in customer's history copy lives on its own clock (``[chat.history]
visible_months`` from the start); the recording as a whole lives until the later of the
two, so the analysis copy can end at one year while the bank shows the chat for three.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from recorder.chat.model import Phase
from recorder.chat.settings import ChatSettings
from recorder.policy import add_months
from recorder.retention import expiry

_ORDER = (Phase.BOT, Phase.ADVISOR, Phase.COMPLAINT)
#: The event that moves a chat into each phase.
CAUSE = {Phase.ADVISOR: "handover", Phase.COMPLAINT: "complaint"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Switch:
    """One class switch: from, to, and the event that caused it."""

    old: str
    new: str
    event: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Lifetimes:
    """How long each part of a chat lives."""

    retention_class: str
    analysis_until: datetime
    visible_until: datetime | None

    @property
    def recording_until(self) -> datetime:
        """The whole chat: the later of the analysis copy and the history window."""
        return max(self.analysis_until, self.visible_until or self.analysis_until)


def switches(
    settings: ChatSettings, old: Phase | None, new: Phase, *, advisor: bool
) -> list[Switch]:
    """The class switches from ``old`` (None: a new chat, which starts as a bot chat) to
    ``new``: one per phase passed whose class differs; the advisor phase counts only if an
    ``advisor`` took part (a complaint flagged by the bot goes from bot to complaint)."""
    first = _ORDER.index(old or Phase.BOT)
    passed = [p for p in _ORDER[first + 1 : _ORDER.index(new) + 1]]
    current = settings.class_for(str(old or Phase.BOT)).name
    out: list[Switch] = []
    for phase in passed:
        if phase is Phase.ADVISOR and not advisor:
            continue
        target = settings.class_for(str(phase)).name
        if target != current:
            out.append(Switch(old=current, new=target, event=CAUSE[phase]))
            current = target
    return out


def lifetimes(
    settings: ChatSettings, phase: Phase, start: datetime, *, logged_in: bool
) -> Lifetimes:
    """The class of ``phase`` and the dates it gives a chat that started at ``start``."""
    cls = settings.class_for(str(phase))
    history = settings.history
    visible = add_months(start, history.visible_months) if history and logged_in else None
    return Lifetimes(
        retention_class=cls.name, analysis_until=expiry(cls, start), visible_until=visible
    )
