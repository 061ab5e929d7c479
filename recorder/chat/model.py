"""The conversation model: what a chat platform delivers and what callrec keeps of it.

A :class:`Delivery` is one webhook body, chat file or spool item as parsed (raw text,
platform ids, contact details and the customer id: request memory only, kept out of
``repr``). A :class:`Conversation` is what is sealed: redacted messages and the events,
never a platform id, customer id, IP address or contact detail (those go to their own
artefact or to keyed digests). Phases only rise: ``bot`` → ``advisor`` (a handover, or an
advisor writing) → ``complaint`` (flagged); the retention class follows the phase.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recorder.errors import InvalidChat

VERSION = 1
BOT, CUSTOMER, ADVISOR = "bot", "customer", "advisor"


class Phase(enum.StrEnum):
    """How far a conversation went; decides its retention class."""

    BOT = "bot"
    ADVISOR = "advisor"
    COMPLAINT = "complaint"


class EventKind(enum.StrEnum):
    """What can happen in a conversation besides messages."""

    HANDOVER = "handover"
    COMPLAINT = "complaint"
    ENDED = "ended"


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One delivered message: ``sender`` is ``bot``, ``customer`` or ``advisor:<user id>``."""

    id: str = field(repr=False)
    sender: str
    at: datetime
    text: str = field(repr=False)

    @property
    def advisor(self) -> str | None:
        """The advisor's user id when an advisor wrote it."""
        return self.sender.partition(":")[2] if self.sender.startswith(ADVISOR + ":") else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """A handover (to ``advisor``), a complaint flag or the end of the conversation."""

    id: str = field(repr=False)
    kind: EventKind
    at: datetime
    advisor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact:
    """Contact details the customer gave in the advisor queue (follow-up only)."""

    name: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)
    phone: str | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, str | None]:
        """The sealed form."""
        return {"name": self.name, "email": self.email, "phone": self.phone}


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """One parsed delivery: a finished conversation or a batch of its messages."""

    platform: str
    conversation_id: str = field(repr=False)
    language: str
    messages: tuple[Message, ...] = ()
    events: tuple[Event, ...] = ()
    customer_id: str | None = field(default=None, repr=False)
    ip: str | None = field(default=None, repr=False)
    contact: Contact | None = field(default=None, repr=False)
    topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    """A stored message: sender label, time, redacted text."""

    sender: str
    at: datetime
    text: str = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Conversation:
    """What the chat artefact holds (JSON, ``"v": 1``): redacted lines and the events."""

    platform: str
    language: str
    lines: tuple[Line, ...] = ()
    events: tuple[tuple[EventKind, datetime], ...] = ()

    @property
    def started_at(self) -> datetime:
        """The first message or event; a conversation has at least one of them."""
        return min([ln.at for ln in self.lines] + [at for _, at in self.events])

    @property
    def ended_at(self) -> datetime | None:
        """When the ``ended`` event says it ended."""
        ends = [at for kind, at in self.events if kind is EventKind.ENDED]
        return max(ends) if ends else None

    @property
    def last_at(self) -> datetime:
        """The last message or event."""
        return max([ln.at for ln in self.lines] + [at for _, at in self.events])

    @property
    def phase(self) -> Phase:
        """``complaint`` if flagged, else ``advisor`` if an advisor took part, else ``bot``."""
        kinds = {kind for kind, _ in self.events}
        if EventKind.COMPLAINT in kinds:
            return Phase.COMPLAINT
        if EventKind.HANDOVER in kinds or any(ln.sender.startswith(ADVISOR) for ln in self.lines):
            return Phase.ADVISOR
        return Phase.BOT

    @property
    def handover_at(self) -> datetime | None:
        """When the conversation first reached an advisor (None: bot only)."""
        times = [at for kind, at in self.events if kind is EventKind.HANDOVER]
        times += [ln.at for ln in self.lines if ln.sender.startswith(ADVISOR)]
        return min(times) if times else None

    def bot_questions(self) -> list[str]:
        """What the customer wrote before any advisor came in (redacted)."""
        until = self.handover_at
        return [
            ln.text
            for ln in self.lines
            if ln.sender == CUSTOMER and (until is None or ln.at < until) and ln.text.strip()
        ]

    def to_json(self) -> bytes:
        """The sealed form."""
        document = {
            "v": VERSION,
            "platform": self.platform,
            "language": self.language,
            "messages": [
                {"sender": ln.sender, "at": ln.at.isoformat(), "text": ln.text} for ln in self.lines
            ],
            "events": [{"kind": str(k), "at": at.isoformat()} for k, at in self.events],
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Conversation:
        """Read the sealed form back (:class:`InvalidChat` if it is not one)."""
        try:
            doc: Any = json.loads(raw.decode("utf-8"))
            if doc.get("v") != VERSION:
                raise InvalidChat("stored chat: unknown version")
            return cls(
                platform=str(doc["platform"]),
                language=str(doc["language"]),
                lines=tuple(
                    Line(
                        sender=str(m["sender"]),
                        at=datetime.fromisoformat(m["at"]),
                        text=str(m["text"]),
                    )
                    for m in doc["messages"]
                ),
                events=tuple(
                    (EventKind(e["kind"]), datetime.fromisoformat(e["at"])) for e in doc["events"]
                ),
            )
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
            raise InvalidChat("stored chat: unreadable") from None
