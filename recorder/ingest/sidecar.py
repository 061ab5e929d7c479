"""The spool sidecar: JSON metadata written next to each call's audio file.

Written by the PBX integration (Asterisk/FreeSWITCH dialplan or a script) *after* the
audio file is complete, ideally by writing ``call.json.tmp`` and renaming it, because the
sidecar's arrival is what tells callrec the pair is ready::

    {
      "v": 1,
      "source_id": "pbx1-5f1e0c2a9b",         # unique per recording at this source; no
                                              # phone-length digit run (not ${UNIQUEID})
      "caller": "+47 912 34 567",             # any format; anything unusable = withheld
      "service_number": "+47 22 00 00 00",
      "agent": "anna",
      "started_at": "2026-11-20T09:00:00Z",   # the audio file starts here
      "answered_at": "2026-11-20T09:00:03Z",  # audio before this is not kept
      "ended_at": "2026-11-20T09:00:31Z",     # audio after this is not kept
      "channels": ["agent", "customer"],      # or ["mixed"]
      "ai": true,                             # false: the customer declined AI
      "retention_class": null,                # null: the policy default
      "language": "en",
      "ai_notice": true,                      # the customer was told AI is used (P18)
      "ai_optout_at_ms": null,                # ms after the answer the customer said
                                              # "stop the AI" (P17); 0 = no AI at all
      "participants": ["bjorn"]               # optional: other agents who took part
                                              # (conference, transfer); for access each
                                              # is an agent of the call
    }

Errors name the field, never its value (the value may be a phone number). Every id and
text field follows ``recorder.fieldrules``: a number-shaped value is refused, and an
unusable caller id is withheld, never a reason to refuse the call. The document is read
with the bounded JSON reader (``storage.safejson``): too deep, too large or a huge
integer is "malformed", like any other broken sidecar.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from recorder.errors import InvalidEvent
from recorder.fieldrules import caller_id, check_event, check_language
from recorder.models import CallEvent
from recorder.timeutil import parse_utc
from storage import safejson
from storage.errors import MalformedJson

MAX_SIDECAR_BYTES = 64 * 1024
SOURCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@\-]{0,63}")
CHANNEL_NAMES = {"agent", "customer", "mixed"}


def _opt_str(data: dict[str, Any], key: str, limit: int = 128) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidEvent(f"{key}: expected a string of at most {limit} characters")
    return value


def _ident(data: dict[str, Any], key: str, pattern: re.Pattern[str]) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidEvent(f"{key}: missing or not a valid identifier")
    return value


def _opt_ident(data: dict[str, Any], key: str, pattern: re.Pattern[str]) -> str | None:
    return None if data.get(key) is None else _ident(data, key, pattern)


def _time(data: dict[str, Any], key: str, required: bool) -> Any:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidEvent(f"{key}: required")
        return None
    return parse_utc(value, key, InvalidEvent)


def _ai_notice(data: dict[str, Any]) -> bool:
    value = data.get("ai_notice", False)
    if not isinstance(value, bool):
        raise InvalidEvent("ai_notice: expected true or false")
    return value


def _optout_ms(data: dict[str, Any]) -> int | None:
    value = data.get("ai_optout_at_ms")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**40:
        raise InvalidEvent("ai_optout_at_ms: expected milliseconds after the answer (>= 0)")
    return value


MAX_PARTICIPANTS = 16


def _participants(data: dict[str, Any]) -> tuple[str, ...]:
    value = data.get("participants", [])
    if (
        not isinstance(value, list)
        or len(value) > MAX_PARTICIPANTS
        or not all(isinstance(v, str) and USER_ID.fullmatch(v) for v in value)
    ):
        raise InvalidEvent(f"participants: expected a list of at most {MAX_PARTICIPANTS} user ids")
    return tuple(sorted(set(value)))


def parse_sidecar(raw: bytes, audio_path: Path, *, source: str = "spool") -> CallEvent:
    """Validate a sidecar document into a :class:`CallEvent` for ``audio_path``."""
    if len(raw) > MAX_SIDECAR_BYTES:
        raise InvalidEvent("sidecar: larger than 64 KiB")
    try:
        data = safejson.loads(raw, limits=safejson.JsonLimits(max_bytes=MAX_SIDECAR_BYTES))
    except MalformedJson as exc:
        raise InvalidEvent(f"sidecar: malformed ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidEvent("sidecar: expected a JSON object")
    if data.get("v") != 1:
        raise InvalidEvent("v: unsupported sidecar version (expected 1)")
    channels = data.get("channels", ["mixed"])
    if (
        not isinstance(channels, list)
        or not 1 <= len(channels) <= 2
        or not all(isinstance(c, str) and c in CHANNEL_NAMES for c in channels)
    ):
        raise InvalidEvent('channels: expected ["mixed"] or ["agent", "customer"]')
    ai = data.get("ai", True)
    if not isinstance(ai, bool):
        raise InvalidEvent("ai: expected true or false")
    event = CallEvent(
        source=source,
        source_id=_ident(data, "source_id", SOURCE_ID),
        audio_path=audio_path,
        caller=caller_id(data.get("caller")),
        service_number=_opt_str(data, "service_number", 32),
        agent_id=_opt_ident(data, "agent", USER_ID),
        started_at=_time(data, "started_at", required=True),
        answered_at=_time(data, "answered_at", required=False),
        ended_at=_time(data, "ended_at", required=False),
        channels=tuple(channels),
        ai=ai,
        retention_class=_opt_str(data, "retention_class", 64),
        language=check_language(_opt_str(data, "language", 16)),
        ai_notice=_ai_notice(data),
        ai_optout_at_ms=_optout_ms(data),
        participants=_participants(data),
    )
    check_event(event)
    return event
