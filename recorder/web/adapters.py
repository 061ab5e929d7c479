"""Provider callbacks → jobs: pure functions over verified parameters (no HTTP here).

The web routes verify a request's signature first and hand the *signed* values here.
An adapter answers with a :class:`NewJob` (insert into the job table, then ack) or an
:class:`Ignored` (ack at once, nothing stored), or raises
:class:`~recorder.errors.InvalidEvent` (HTTP 400) naming the field, never its value.

Job payload, version 1 (what ``recorder/worker.py`` reads; JSON, no full number)::

    {
      "v": 1,
      "provider": "twilio" | "telnyx",
      "recording_id": "RE…" | "<uuid>",     # also the job key with the provider
      "call_id": "CA…" | call_leg_id,        # to look the call up at the provider
      "account_id": "AC…" | null,            # Twilio account the recording belongs to
      "started_at": ISO-8601 UTC | null,     # recording start = answer (provider metadata)
      "answered_at": ISO-8601 UTC | null,
      "ended_at": ISO-8601 UTC | null,       # hang-up = start + duration (provider metadata)
      "duration_s": int | null,
      "channels": 1 | 2 | null,
      "masked_caller": {"display": "+4791234***", "digest": hex,
                        "pepper_version": n} | null,    # masked HERE, at ingest
      "service_number": "+4722…" | null,     # the company line called (?service= or
                                             # Telnyx "to"); the job table allows this key
      "agent_id": "anna" | null,             # from ?agent= on the callback URL
      "ai_notice": true | false,             # from ?ai_notice=1: the caller was told AI
                                             # is used (P18); without it AI never runs
      "media_formats": ["wav", "mp3"]        # what the provider says it holds
    }

Agent, service number and the AI notice come from query parameters of the callback URL the
operator configures (``/hooks/twilio?agent=anna&service=%2B4722000000&ai_notice=1``, the
last on the queues whose greeting tells the caller about AI): Twilio signs the full
URL; Telnyx signs the body only, so there they count only with the ``sig`` of
``recorder.ingest.verify.query`` (checked by the web route before this module sees them).
For Telnyx the service number defaults to the event's ``to``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from recorder.errors import InvalidEvent
from recorder.fieldrules import caller_id, refuse_number
from recorder.masking import mask
from recorder.models import MaskedNumber
from recorder.timeutil import parse_utc

PAYLOAD_VERSION = 1
TWILIO_RECORDING = re.compile(r"RE[0-9a-f]{32}")
TWILIO_CALL = re.compile(r"CA[0-9a-f]{32}")
TWILIO_ACCOUNT = re.compile(r"AC[0-9a-f]{32}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TELNYX_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_:\-]{0,127}")
AGENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@\-]{0,63}")
SERVICE = re.compile(r"\+?[0-9]{2,15}")
TWILIO_STATUSES = frozenset({"completed", "in-progress", "absent", "failed"})
TELNYX_SAVED = "call.recording.saved"
#: A recording longer than this is not a call (the decoder's own cap is 4 h).
MAX_DURATION_S = 4 * 3600

#: Masks a raw caller id into what callrec keeps (bound to the keyring's pepper).
Masker = Callable[[str | None], MaskedNumber]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewJob:
    """Insert this job (ON CONFLICT DO NOTHING), then acknowledge."""

    provider: str
    recording_id: str
    payload: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Ignored:
    """Acknowledge without storing anything; ``kind`` says why (log-safe)."""

    kind: str


Decision = NewJob | Ignored


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackQuery:
    """Operator-configured query parameters of the callback URL."""

    agent_id: str | None = None
    service_number: str | None = None
    ai_notice: bool = False


def parse_query(pairs: Sequence[tuple[str, str]]) -> CallbackQuery:
    """``agent``, ``service`` and ``ai_notice`` from the callback URL; others are ignored."""
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in ("agent", "service", "ai_notice"):
            if name in values:
                raise InvalidEvent(f"{name}: given more than once in the callback URL")
            values[name] = value
    agent = values.get("agent")
    if agent is not None and not AGENT.fullmatch(agent):
        raise InvalidEvent("agent: not a valid user id")
    refuse_number(agent, "agent")
    service = values.get("service")
    if service is not None and not SERVICE.fullmatch(service):
        raise InvalidEvent("service: not a phone number")
    notice = values.get("ai_notice", "0")
    if notice not in ("0", "1"):
        raise InvalidEvent("ai_notice: expected 0 or 1")
    return CallbackQuery(agent_id=agent, service_number=service, ai_notice=notice == "1")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _masked(value: MaskedNumber | None) -> dict[str, Any] | None:
    if value is None or value.digest is None:
        return None if value is None else {"display": value.display}
    return {
        "display": value.display,
        "digest": value.digest.digest,
        "pepper_version": value.digest.pepper_version,
    }


def _payload(
    *,
    provider: str,
    recording_id: str,
    call_id: str | None,
    account_id: str | None,
    started: datetime | None,
    ended: datetime | None,
    duration_s: int | None,
    channels: int | None,
    caller: MaskedNumber | None,
    query: CallbackQuery,
    service_number: str | None,
    formats: Sequence[str],
) -> dict[str, Any]:
    return {
        "v": PAYLOAD_VERSION,
        "provider": provider,
        "recording_id": recording_id,
        "call_id": call_id,
        "account_id": account_id,
        "started_at": _iso(started),
        "answered_at": _iso(started),
        "ended_at": _iso(ended),
        "duration_s": duration_s,
        "channels": channels,
        "masked_caller": _masked(caller),
        "service_number": query.service_number or service_number,
        "agent_id": query.agent_id,
        "ai_notice": query.ai_notice,
        "media_formats": list(formats),
    }


# -- Twilio -------------------------------------------------------------------------------


def _single(params: Sequence[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in params:
        if name in found and found[name] != value:
            raise InvalidEvent(f"{name}: given more than once")
        found[name] = value
    return found


def _sid(values: Mapping[str, str], name: str, pattern: re.Pattern[str]) -> str:
    value = values.get(name)
    if value is None or not pattern.fullmatch(value):
        raise InvalidEvent(f"{name}: missing or not a valid id")
    return value


def _count(values: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    value = values.get(name)
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise InvalidEvent(f"{name}: expected a whole number from {low} to {high}")
    return int(value)


def _rfc2822(values: Mapping[str, str], name: str) -> datetime | None:
    value = values.get(name)
    if value is None or value == "":
        return None
    try:
        parsed = parsedate_to_datetime(value) if len(value) <= 64 else None
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidEvent(f"{name}: expected an RFC 2822 date with a zone")
    return parsed.astimezone(UTC)


def twilio_decision(params: Sequence[tuple[str, str]], query: CallbackQuery) -> Decision:
    """A verified Twilio callback: a recording status callback, or a call status one.

    ``completed`` → a job; ``in-progress``, ``absent`` and ``failed`` → acknowledged,
    nothing stored (``absent``/``failed`` recordings have no media to fetch); a call
    status callback (no ``RecordingSid``) → acknowledged. Twilio's recording callback
    carries no caller number, so ``masked_caller`` is null here and the worker may look
    the call up by ``call_id``.
    """
    values = _single(params)
    account = _sid(values, "AccountSid", TWILIO_ACCOUNT)
    call = _sid(values, "CallSid", TWILIO_CALL)
    if "RecordingSid" not in values:
        if "CallStatus" not in values:
            raise InvalidEvent("RecordingSid: missing (and not a call status callback)")
        return Ignored(kind="call-status")
    recording = _sid(values, "RecordingSid", TWILIO_RECORDING)
    status = values.get("RecordingStatus", "")
    if status not in TWILIO_STATUSES:
        raise InvalidEvent("RecordingStatus: not a known recording status")
    if status != "completed":
        return Ignored(kind=f"recording-{status}")
    duration = _count(values, "RecordingDuration", 0, MAX_DURATION_S)
    channels = _count(values, "RecordingChannels", 1, 2)
    started = _rfc2822(values, "RecordingStartTime")
    ended = None if started is None or duration is None else started + timedelta(seconds=duration)
    return NewJob(
        provider="twilio",
        recording_id=recording,
        payload=_payload(
            provider="twilio",
            recording_id=recording,
            call_id=call,
            account_id=account,
            started=started,
            ended=ended,
            duration_s=duration,
            channels=channels,
            caller=None,
            query=query,
            service_number=None,
            formats=("wav", "mp3"),
        ),
    )


# -- Telnyx -------------------------------------------------------------------------------


def _obj(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InvalidEvent(f"{name}: expected a JSON object")
    return value


def _opt_text(data: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidEvent(f"{name}: expected a string of at most {limit} characters")
    return value


def _telnyx_time(data: Mapping[str, Any], name: str) -> datetime | None:
    value = data.get(name)
    if value is None:
        return None
    return parse_utc(value, name, InvalidEvent)


def telnyx_decision(document: Any, query: CallbackQuery, masker: Masker) -> Decision:
    """A verified Telnyx event (parsed JSON): ``call.recording.saved`` → a job.

    Any other event type is acknowledged and ignored. The caller (``from``) is masked
    here and only the masked display and lookup digest enter the payload.
    """
    data = _obj(_obj(document, "body").get("data"), "data")
    event_type = data.get("event_type")
    if not isinstance(event_type, str) or not TELNYX_ID.fullmatch(event_type.replace(".", "_")):
        raise InvalidEvent("data.event_type: missing or not an event type")
    if event_type != TELNYX_SAVED:
        return Ignored(kind="telnyx-other-event")
    payload = _obj(data.get("payload"), "data.payload")
    recording = payload.get("recording_id")
    if not isinstance(recording, str) or not UUID.fullmatch(recording.lower()):
        raise InvalidEvent("data.payload.recording_id: missing or not a UUID")
    recording = recording.lower()
    call = _opt_text(payload, "call_leg_id", 128)
    if call is not None and not TELNYX_ID.fullmatch(call):
        raise InvalidEvent("data.payload.call_leg_id: not a valid id")
    started = _telnyx_time(payload, "recording_started_at")
    ended = _telnyx_time(payload, "recording_ended_at")
    if started is not None and ended is not None and ended < started:
        raise InvalidEvent("data.payload.recording_ended_at: before recording_started_at")
    duration = None
    if started is not None and ended is not None:
        duration = int((ended - started).total_seconds())
        if duration > MAX_DURATION_S:
            raise InvalidEvent("data.payload: recording longer than 4 hours")
    channels_text = _opt_text(payload, "channels", 16)
    channels = {"single": 1, "dual": 2, None: None}.get(channels_text, -1)
    if channels == -1:
        raise InvalidEvent('data.payload.channels: expected "single" or "dual"')
    to = _opt_text(payload, "to", 64)
    urls = payload.get("recording_urls")
    formats = sorted(k for k in urls if k in ("wav", "mp3")) if isinstance(urls, dict) else []
    return NewJob(
        provider="telnyx",
        recording_id=recording,
        payload=_payload(
            provider="telnyx",
            recording_id=recording,
            call_id=call,
            account_id=None,
            started=started,
            ended=ended,
            duration_s=duration,
            channels=channels,
            caller=masker(caller_id(payload.get("from"))),  # unusable: withheld, call kept
            query=query,
            service_number=to if to is not None and SERVICE.fullmatch(to) else None,
            formats=formats or ["wav"],
        ),
    )


def make_masker(pepper: bytes, pepper_version: int, default_region: str) -> Masker:
    """A :data:`Masker` bound to one pepper version and the configured default region."""

    def masker(raw: str | None) -> MaskedNumber:
        return mask(
            raw, pepper=pepper, pepper_version=pepper_version, default_region=default_region
        )

    return masker
