"""Parse one chat delivery (webhook body, chat file, spool item) into a :class:`Delivery`.

The format (``"v": 1``; unknown keys are refused, so a typo is an error, not lost data)::

    {"v": 1, "platform": "webchat", "conversation_id": "c-7f3a", "language": "no",
     "customer_id": "…",                          # optional: logged in
     "ip": "203.0.113.45",                        # optional
     "topics": ["card"],                          # optional, configured names
     "contact": {"name": "…", "email": "…", "phone": "…"},   # optional: the advisor queue
     "messages": [{"id": "m1", "sender": "bot" | "customer" | "advisor:<user id>",
                   "at": "2026-11-23T09:00:00Z", "text": "…"}],
     "events": [{"id": "e1", "type": "handover" | "complaint" | "ended",
                 "at": "…", "advisor": "<user id>"}]}   # advisor: handover only

Limits: :data:`MAX_BATCH` messages and :data:`MAX_EVENTS` events per delivery, texts of
:data:`MAX_TEXT` characters, ids of 1-128 printable ASCII characters. The IP address is
truncated here (/24 for IPv4, /48 for IPv6) or dropped (``[chat] ip = "none"``), so the full
address never leaves this function. Errors (:class:`InvalidChat`) name the field, never
its value.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from recorder.chat.jsonin import read_json
from recorder.chat.model import ADVISOR, BOT, CUSTOMER, Contact, Delivery, Event, EventKind, Message
from recorder.chat.settings import LANGUAGES, ChatSettings
from recorder.config import Config
from recorder.errors import InvalidChat

MAX_BATCH: Final = 1000
MAX_EVENTS: Final = 100
MAX_TEXT: Final = 4000
MAX_CONTACT: Final = 200
_ID: Final = re.compile(r"[!-~]{1,128}")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_KEYS: Final = frozenset(
    {
        "v",
        "platform",
        "conversation_id",
        "language",
        "customer_id",
        "ip",
        "topics",
        "contact",
        "messages",
        "events",
    }
)
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _keys(value: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InvalidChat(f"{where}: unknown field")


def _ident(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidChat(f"{where}: expected an id of 1-128 printable ASCII characters")
    return value


def _time(value: Any, where: str) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise InvalidChat(f"{where}: expected an ISO-8601 time with an offset")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidChat(f"{where}: expected an ISO-8601 time with an offset") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidChat(f"{where}: time needs an offset (Z or +01:00)")
    parsed = parsed.astimezone(UTC)
    if not _EARLIEST <= parsed < _LATEST:
        raise InvalidChat(f"{where}: time out of range")
    return parsed


def _text(value: Any, where: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidChat(f"{where}: expected text of at most {limit} characters")
    return _CONTROL.sub(" ", value)


def _list(value: Any, where: str, limit: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > limit:
        raise InvalidChat(f"{where}: expected a list of at most {limit} items")
    return value


def _advisor(value: Any, where: str, config: Config) -> str:
    advisor = _ident(value, where)
    if advisor not in config.users:
        raise InvalidChat(f"{where}: not a configured user")
    return advisor


def _message(raw: Any, i: int, config: Config) -> Message:
    where = f"messages[{i}]"
    if not isinstance(raw, dict):
        raise InvalidChat(f"{where}: expected an object")
    _keys(raw, frozenset({"id", "sender", "at", "text"}), where)
    sender = raw.get("sender")
    if sender not in (BOT, CUSTOMER):
        if not isinstance(sender, str) or not sender.startswith(ADVISOR + ":"):
            raise InvalidChat(f"{where}.sender: expected bot, customer or advisor:<user id>")
        sender = ADVISOR + ":" + _advisor(sender.partition(":")[2], f"{where}.sender", config)
    return Message(
        id=_ident(raw.get("id"), f"{where}.id"),
        sender=sender,
        at=_time(raw.get("at"), f"{where}.at"),
        text=_text(raw.get("text"), f"{where}.text"),
    )


def _event(raw: Any, i: int, config: Config) -> Event:
    where = f"events[{i}]"
    if not isinstance(raw, dict):
        raise InvalidChat(f"{where}: expected an object")
    _keys(raw, frozenset({"id", "type", "at", "advisor"}), where)
    try:
        kind = EventKind(str(raw.get("type")))
    except ValueError:
        raise InvalidChat(f"{where}.type: expected handover, complaint or ended") from None
    at = _time(raw.get("at"), f"{where}.at")
    advisor = None
    if kind is EventKind.HANDOVER:
        advisor = _advisor(raw.get("advisor"), f"{where}.advisor", config)
    elif raw.get("advisor") is not None:
        raise InvalidChat(f"{where}.advisor: only a handover names an advisor")
    given = raw.get("id")
    ident = _ident(given, f"{where}.id") if given is not None else f"{kind}@{at.isoformat()}"
    return Event(id=ident, kind=kind, at=at, advisor=advisor)


def _ip(value: Any, mode: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidChat("ip: expected an IPv4 or IPv6 address")
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        raise InvalidChat("ip: expected an IPv4 or IPv6 address") from None
    if mode == "none":
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _contact(value: Any) -> Contact | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidChat("contact: expected an object")
    _keys(value, frozenset({"name", "email", "phone"}), "contact")
    fields = {
        key: None if value.get(key) is None else _text(value[key], f"contact.{key}", MAX_CONTACT)
        for key in ("name", "email", "phone")
    }
    if not any(fields.values()):
        return None
    return Contact(**fields)


def _topics(value: Any, known: Sequence[str]) -> tuple[str, ...]:
    items = _list(value, "topics", 20)
    if not all(isinstance(t, str) and len(t) <= 64 for t in items):
        raise InvalidChat("topics: expected a list of names")
    return tuple(dict.fromkeys(t if t in known else "other" for t in items))


def parse_delivery(document: Any, settings: ChatSettings, config: Config) -> Delivery:
    """Validate a decoded delivery document (see the module docstring)."""
    if not isinstance(document, dict):
        raise InvalidChat("body: expected a JSON object")
    _keys(document, _KEYS, "body")
    if document.get("v") != 1:
        raise InvalidChat("v: expected 1")
    platform = document.get("platform")
    if platform not in settings.platforms:
        raise InvalidChat("platform: not a configured chat platform")
    language = document.get("language", settings.languages[0])
    if language not in LANGUAGES:
        raise InvalidChat(f"language: expected one of {list(LANGUAGES)}")
    messages = tuple(
        _message(m, i, config)
        for i, m in enumerate(_list(document.get("messages"), "messages", MAX_BATCH))
    )
    events = tuple(
        _event(e, i, config)
        for i, e in enumerate(_list(document.get("events"), "events", MAX_EVENTS))
    )
    if not messages and not events:
        raise InvalidChat("body: a delivery needs at least one message or event")
    customer = document.get("customer_id")
    return Delivery(
        platform=str(platform),
        conversation_id=_ident(document.get("conversation_id"), "conversation_id"),
        language=str(language),
        messages=messages,
        events=events,
        customer_id=None if customer is None else _ident(customer, "customer_id"),
        ip=_ip(document.get("ip"), settings.ip),
        contact=_contact(document.get("contact")),
        topics=_topics(document.get("topics"), settings.topics),
    )


def read_delivery(raw: bytes, settings: ChatSettings, config: Config) -> Delivery:
    """:func:`read_json` within ``settings.max_bytes``, then :func:`parse_delivery`."""
    return parse_delivery(read_json(raw, max_bytes=settings.max_bytes), settings, config)
