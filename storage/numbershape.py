"""The one rule for "this text could hold a phone number": the log filter and every field.

callrec keeps a caller's number only masked (``recorder.masking``). Everything else that
comes from outside - source ids, agent and participant ids, languages, job payload values,
hold, erasure and QA free text, audit reasons - must not carry one in clear, and no log line
may show one. Both questions are answered here, with one notion of a *number run*:

- :func:`redact` (the log filter's engine, ``recorder.logredact``): every run of 6 or more
  digits becomes ``[number]``;
- :func:`number_shaped` (every id and free-text field, and the job payload check): True
  when the text holds a run of 7 or more digits; such a value is refused (a caller id is
  withheld instead, see ``recorder.fieldrules``).

A *run*: an optional leading ``+`` (or fullwidth ``＋`` or URL-encoded ``%2B``), then digits
(any Unicode decimal digit, so look-alike digits count) separated by up to three characters
of horizontal white space, ``.``, ``-``, ``_``, ``/``, ``(``, ``)``, Unicode dashes or
``%20``. Digits joined by ``-``, ``.`` or ``_`` are therefore one run:
``4791234568-bad`` and ``4791234568.wav`` hold a 10-digit run.

What does not count, and why:

- A run *directly* glued to a letter or digit (no separator in between): it is part of an
  alphanumeric token, which is what ids look like (hex digests, provider SIDs such as
  ``RE…``/``CA…``, ``sha256-…``). Only the
  digits touching the word up to the first separator are kept: in ``a1 91234567`` and
  ``id5-91234567`` the ``91234567`` still counts. A ``-``, ``.`` or ``_`` never glues
  (``rec_91234567`` counts): an id has no need of a phone-length all-digit part after a
  separator, and a number written that way must not slip through. So Asterisk's
  ``1700000000.42`` or ``pbx1-1700000000.42`` is number-shaped (prefer a hex or UUID id).
- A canonical UUID (``8-4-4-4-12`` hex), even an all-decimal one: an id, never a number.
- An ISO date (``2026-11-23``), a whole ISO-8601 timestamp
  (``2026-11-23T12:00:00.000000+00:00``) and a run followed by ``:`` and a digit (a time
  of day), so timestamps survive in logs, reasons and stored rows.
- For :func:`number_shaped` only: a masked display (a run followed by ``***``): what
  callrec itself stores, never a full number.

Over-refusal (an all-digit 7-digit count, a compact date ``20261123``) costs a clearer
message; under-refusal is a GDPR incident. Pure functions over ``str``; never raise.
"""

from __future__ import annotations

import re

REDACTED = "[number]"
#: Runs with at least this many digits are redacted from log lines.
LOG_MIN_DIGITS = 6
#: Runs with at least this many digits make a field value number-shaped (refused).
FIELD_MIN_DIGITS = 7

_SEP = r"(?:[^\S\r\n\f\v]|[./()_\-\u2010-\u2015\u2212]|%20)"
_RUN = re.compile(rf"(?:[+\uff0b]|%2[Bb])?\d(?:{_SEP}{{0,3}}\d)*")
#: A run of at least :data:`FIELD_MIN_DIGITS` digits (the quick pre-test of a field).
_LONG_RUN = re.compile(rf"\d(?:{_SEP}{{0,3}}\d){{{FIELD_MIN_DIGITS - 1},}}")
_ISO_DATE = re.compile(r"(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])")
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
#: An ISO-8601 timestamp (date, time, fraction, zone): protected whole, like a UUID.
_TIMESTAMP = re.compile(
    r"(?:19|20)\d\d-[01]\d-[0-3]\d[T ][0-2]\d:[0-5]\d(?::[0-6]\d(?:[.,]\d{1,9})?)?"
    r"(?:Z|[+-][0-2]\d:?[0-5]\d)?"
)
#: Where a run glued to a word is cut: at any separator, so only the digits touching the
#: word stay with it.
_SPACE = re.compile(rf"{_SEP}+")


def _glued_before(text: str, start: int) -> bool:
    return start > 0 and text[start - 1].isalnum()


def _glued_after(text: str, end: int) -> bool:
    if end >= len(text):
        return False
    after = text[end]
    if after.isalnum():
        return True
    nxt = text[end + 1] if end + 1 < len(text) else ""
    return after == ":" and nxt.isdigit()  # a time of day follows: part of a timestamp


def _counts(body: str, min_digits: int) -> bool:
    return sum(c.isdigit() for c in body) >= min_digits and not _ISO_DATE.fullmatch(body)


def _redact_run(run: str, glued_before: bool, glued_after: bool, min_digits: int) -> str:
    """Redact one run; a glued end keeps only its own part (cut at the nearest separator)."""
    if _ISO_DATE.fullmatch(run):
        return run  # a date, perhaps glued to its time (2026-11-23T12:00)
    head, body, tail = "", run, ""
    if glued_before:
        first = _SPACE.search(body)
        if first is None:
            return run
        head, body = body[: first.end()], body[first.end() :]
    if glued_after:
        spaces = list(_SPACE.finditer(body))
        if not spaces:
            return head + body
        cut = spaces[-1].start()
        body, tail = body[:cut], body[cut:]
    return head + (REDACTED if _counts(body, min_digits) else body) + tail


def redact(text: str, *, min_digits: int = LOG_MIN_DIGITS, keep_masked: bool = False) -> str:
    """``text`` with every number run of ``min_digits``+ digits replaced by ``[number]``.

    ``keep_masked`` leaves masked displays (a run followed by ``***``) alone.
    """
    uuids = [m.span() for m in _UUID.finditer(text)] if "-" in text else []
    if ":" in text:
        uuids += [m.span() for m in _TIMESTAMP.finditer(text)]

    def replace(match: re.Match[str]) -> str:
        run = match.group()
        if sum(c.isdigit() for c in run) < min_digits:
            return run
        start, end = match.span()
        if any(a <= start and end <= b for a, b in uuids):  # inside a UUID or timestamp
            return run
        if keep_masked and text.startswith("***", end):
            return run
        before = _glued_before(text, start)
        after = _glued_after(text, end)
        return _redact_run(run, before, after, min_digits)

    return _RUN.sub(replace, text)


def number_shaped(text: str) -> bool:
    """True if ``text`` holds a run of 7+ digits that could be a phone number (rules above).

    The one test behind every "no number in this field" refusal: source ids, user ids,
    languages, free-text reasons, job payload strings, audit free text.
    """
    if _LONG_RUN.search(text) is None:
        return False  # no run that long at all: the common case, decided in one C scan
    if _TIMESTAMP.fullmatch(text) or _UUID.fullmatch(text):
        return False  # the other common case: a whole value that is a timestamp or a UUID
    return redact(text, min_digits=FIELD_MIN_DIGITS, keep_masked=True) != text
