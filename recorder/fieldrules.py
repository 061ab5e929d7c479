"""Rules for the metadata fields of a call, the same on every ingest path.

One job: decide whether an id or free-text value from outside may be stored, with one
rule for "could this be a phone number" (:func:`storage.numbershape.number_shaped`) and
one rule for the caller id. Capture applies :func:`check_event` to every
:class:`~recorder.models.CallEvent` (spool sidecar, signed upload, ``callrec ingest``,
webhook jobs), so no path can store a number the others refuse.

- **Ids and free text** (source id, agent and participant ids, language, hold and erasure
  reasons): a number-shaped value is refused with :class:`InvalidEvent` naming the field,
  never its value. A caller's number belongs in the caller field, where it is masked.
- **The caller id** is never a reason to refuse a call: whatever cannot be used (not a
  string, too long, a SIP URI, letters, ...) is *withheld* and the call is kept
  (:func:`caller_id` here, then :func:`recorder.masking.mask`).
- **The service number** (the company line that was called) is the one field that holds
  a full number on purpose; it must look like one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from recorder.errors import InvalidEvent
from recorder.models import CallEvent
from storage.numbershape import number_shaped

#: ``en``, ``nb-NO``, ``sv-FI``: a BCP 47 language tag, short form.
LANGUAGE = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8}){0,3}")
MAX_LANGUAGE = 16
SERVICE_NUMBER = re.compile(r"\+?[0-9][0-9 ()./-]{1,30}")


def refuse_number(value: str | None, field: str) -> None:
    """Raise :class:`InvalidEvent` if ``value`` is number-shaped (``field`` names it)."""
    if value is not None and number_shaped(value):
        raise InvalidEvent(f"{field}: looks like a phone number (ids and text may not hold one)")


def check_text(value: str, field: str, *, max_chars: int) -> str:
    """Free text (a reason): stripped, 1 to ``max_chars`` characters, no number in it."""
    text = value.strip()
    if not text or len(text) > max_chars:
        raise InvalidEvent(f"{field}: expected 1 to {max_chars} characters")
    refuse_number(text, field)
    return text


def check_language(value: str | None, field: str = "language") -> str | None:
    """A language tag (``en``, ``nb-NO``) or None; anything else is refused."""
    if value is None:
        return None
    if len(value) > MAX_LANGUAGE or not LANGUAGE.fullmatch(value):
        raise InvalidEvent(f"{field}: expected a language tag such as en or nb-NO")
    refuse_number(value, field)
    return value


def caller_id(value: object) -> str | None:
    """The caller id to mask: a string as delivered, else None (withheld, call kept)."""
    return value if isinstance(value, str) else None


def _ids(event: CallEvent) -> Iterable[tuple[str, str | None]]:
    yield "source_id", event.source_id
    yield "agent", event.agent_id
    for participant in event.participants:
        yield "participants", participant


def check_event(event: CallEvent) -> None:
    """Refuse an event whose ids or language are number-shaped, or whose service number
    is not a number (:class:`InvalidEvent`, naming the field)."""
    for field, value in _ids(event):
        refuse_number(value, field)
    check_language(event.language)
    service = event.service_number
    if service is not None and not SERVICE_NUMBER.fullmatch(service):
        raise InvalidEvent("service_number: expected the number that was called")
