"""A logging filter that redacts anything that looks like a phone number (invariant I7).

callrec logs ids only (ARCHITECTURE.md §3); this filter is the safety net for the day a
number slips into a log message, an exception text or an ``extra`` field anyway. The CLI
and the server call :func:`install` once logging is configured. It deliberately does not
use ``phonenumbers`` (confined to :mod:`recorder.masking`): a log line needs no parsing,
only a generous pattern, and the filter must be cheap and never fail.

What is redacted
----------------
A *run*: an optional leading ``+`` (or fullwidth ``＋`` or URL-encoded ``%2B``), then
digits (any Unicode decimal digit, so look-alike digits are caught too) separated by up
to three characters of horizontal white space, ``.``, ``-``, ``/``, ``(``, ``)``, Unicode
dashes or ``%20``. A run with **6 or more digits** becomes ``[number]``:
``caller +47 912 34 567`` -> ``caller [number]``, ``tel:+4791234567`` -> ``tel:[number]``,
``sip:+4791234567@pbx`` -> ``sip:[number]@pbx``, ``(0)8-123 456 78`` -> ``([number]``.
A run starts at a digit (or the ``+``), so ``lookup(91234567)`` is not mistaken for a
token glued to ``lookup``.

What is kept, and why
---------------------
- The part of a run glued to a longer alphanumeric token: a letter or digit right before
  or after the run, or ``-``/``_`` then a letter or digit (``3f2a9b1c-1234-5678-9abc-...``).
  Ids are UUIDs and hex digests, whose digit stretches are not numbers; redacting them
  would make logs useless for correlating ids. Only the glued part up to the nearest white
  space, bracket or slash is kept: in ``agent a1 91234567`` the ``1`` stays and
  ``91234567`` is redacted; in ``0 0 0 0 0 0(0A`` only ``(0`` stays. A number
  glued to letters (``abc4791234567``) is therefore *not* redacted - code must not build
  such strings.
- A run followed by ``:`` and a digit (a time: ``2026-11-23 12:00:00``), and a run that is
  exactly an ISO date (``2026-11-23``), so timestamps in messages survive.

Still redacted, by design: byte counts and durations of 6+ digits, IP addresses with 6+
digits, masked displays (``+4791234***`` -> ``[number]***``: logs carry ids, not callers).
Over-redaction costs a little debugging; under-redaction is a GDPR incident.

Why handlers, not loggers
-------------------------
A filter on a *logger* only sees records logged on that very logger; records from child
loggers (``recorder.capture`` -> root) propagate straight to the parent's *handlers* and
skip the parent's logger filters. Every record that is written passes through a handler,
so :func:`install` attaches the filter to every handler of the root logger (and to
``logging.lastResort``, which writes warnings when no handler is configured). Handlers
added after :func:`install` need :func:`install` again (it is idempotent) or the filter
added by hand (``handler.addFilter(NumberRedactingFilter())``).
"""

from __future__ import annotations

import logging
import re
import traceback
from types import TracebackType

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]

REDACTED = "[number]"
#: Runs with at least this many digits are redacted.
MIN_DIGITS = 6

_SEP = r"(?:[^\S\r\n\f\v]|[./()\-\u2010-\u2015\u2212]|%20)"
_RUN = re.compile(rf"(?:[+\uff0b]|%2[Bb])?\d(?:{_SEP}{{0,3}}\d)*")
_ISO_DATE = re.compile(r"(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])")
_JOINERS = "-_"
#: Where a run glued to a word is cut: white space, brackets and slashes (never ``-``/``.``,
#: which join the parts of ids and versions).
_SPACE = re.compile(r"(?:[^\S\r\n\f\v]|[()/]|%20)+")

#: Attributes every LogRecord has; any other string attribute came in via ``extra=``.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


def _is_word(char: str) -> bool:
    return char.isalnum()


def _glued_before(text: str, start: int) -> bool:
    if start == 0:
        return False
    before = text[start - 1]
    if _is_word(before):
        return True
    return before in _JOINERS and start >= 2 and _is_word(text[start - 2])


def _glued_after(text: str, end: int) -> bool:
    if end >= len(text):
        return False
    after = text[end]
    if _is_word(after):
        return True
    nxt = text[end + 1] if end + 1 < len(text) else ""
    if after in _JOINERS and _is_word(nxt):
        return True
    return after == ":" and nxt.isdigit()  # a time of day follows: part of a timestamp


def _redact_body(body: str) -> str:
    digits = sum(c.isdigit() for c in body)
    if digits < MIN_DIGITS or _ISO_DATE.fullmatch(body):
        return body
    return REDACTED


def _redact_run(run: str, glued_before: bool, glued_after: bool) -> str:
    """Redact one run; a glued end keeps only its own part (cut at white space, brackets, /).

    ``3f2a9b1c-1234-5678-...`` (no white space) is kept whole, but in ``agent a1 91234567``
    the run ``1 91234567`` keeps ``1 `` (part of ``a1``) and ``91234567`` is redacted.
    """
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
    return head + _redact_body(body) + tail


def redact(text: str) -> str:
    """``text`` with every number-like run replaced by ``[number]`` (rules: module doc)."""

    def replace(match: re.Match[str]) -> str:
        run = match.group()
        if sum(c.isdigit() for c in run) < MIN_DIGITS:
            return run
        before = _glued_before(text, match.start())
        after = _glued_after(text, match.end())
        return _redact_run(run, before, after)

    return _RUN.sub(replace, text)


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return "(unprintable log message)"


def _format_exception(exc_info: _ExcInfo) -> str:
    """What ``logging.Formatter.formatException`` would produce, without its failure modes."""
    try:
        return "".join(traceback.format_exception(*exc_info))
    except Exception:
        return "(unprintable exception)"


class NumberRedactingFilter(logging.Filter):
    """Rewrites each record so no number-like run reaches a handler's output.

    The message is formatted first (``getMessage()``), redacted, and stored back with
    ``args = ()``; exception and stack text are formatted into ``exc_text`` and redacted,
    and ``exc_info`` is cleared so no formatter renders the raw exception again. String
    ``extra`` fields are redacted too. Redacting twice is harmless (idempotent), so a
    record passing several filtered handlers is fine. The filter never raises and never
    drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # Wrong arguments: logging itself would print them with a traceback through
            # handleError, unredacted. Keep the template, drop the arguments.
            message = f"{_safe_str(record.msg)} (unformattable arguments dropped)"
        record.msg = redact(message)
        record.args = ()
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = _format_exception(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text.rstrip("\n"))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, name, redact(value))
        return True


def _has_filter(filterer: logging.Filterer) -> bool:
    return any(isinstance(f, NumberRedactingFilter) for f in filterer.filters)


def install(logger: logging.Logger | None = None) -> None:
    """Attach a :class:`NumberRedactingFilter` to every handler of ``logger`` (root).

    With the root logger (the default) ``logging.lastResort`` is covered as well.
    Idempotent: a handler that already has the filter is left alone. Call it after
    logging is configured (see the module docstring for why handlers, not loggers).
    """
    target = logger if logger is not None else logging.getLogger()
    handlers: list[logging.Handler] = list(target.handlers)
    if logger is None and logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if not _has_filter(handler):
            handler.addFilter(NumberRedactingFilter())
