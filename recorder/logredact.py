"""A logging filter that redacts anything that looks like a phone number (invariant I7).

callrec logs ids only (ARCHITECTURE.md §3); this filter is the safety net for the day a
number slips into a log message, an exception text or an ``extra`` field anyway. The CLI
and the server call :func:`install` once logging is configured. It deliberately does not
use ``phonenumbers`` (confined to :mod:`recorder.masking`): a log line needs no parsing,
only a generous pattern, and the filter must be cheap and never fail.

What is redacted is decided by :func:`storage.numbershape.redact`, the same notion of a
*number run* that refuses number-shaped ids and free text everywhere else (one rule, see
that module): every run of **6 or more digits**, digits joined by white space, ``.``,
``-``, ``_``, ``/``, brackets or dashes, becomes ``[number]``:
``caller +47 912 34 567`` -> ``caller [number]``, ``tel:+4791234567`` -> ``tel:[number]``,
``spool item 4791234568-bad`` -> ``spool item [number]-bad``, ``rec_91234567`` ->
``rec_[number]``. Kept: a run directly glued to letters (hex digests, provider SIDs),
canonical UUIDs, ISO dates and times of day. Still redacted, by design: byte counts and
durations of 6+ digits, IP addresses with 6+ digits, masked displays (``+4791234***`` ->
``[number]***``: logs carry ids, not callers). Over-redaction costs a little debugging;
under-redaction is a GDPR incident.

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
import traceback
from types import TracebackType

from storage.numbershape import LOG_MIN_DIGITS as MIN_DIGITS
from storage.numbershape import REDACTED, redact

__all__ = ["MIN_DIGITS", "REDACTED", "NumberRedactingFilter", "install", "redact"]

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]

#: Attributes every LogRecord has; any other string attribute came in via ``extra=``.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


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
