"""Redact typed free text (chat messages) with the transcript rules plus e-mails and ids.

Why one function: a chat message must lose exactly what a transcript loses -- card numbers,
phone numbers and any other run of 7+ digits, written as numerals or as number words of the
five languages (:func:`transcribe.redact.digit_runs`, the same machinery as for speech) --
and also what typed text adds: e-mail addresses and national id numbers
(:mod:`transcribe.identifiers`). Order matters: identifiers first (an e-mail's digits must
not be half-eaten by the number rule), then numbers on what is left.

Each redacted thing becomes one token: ``[email]``, ``[national-id]``, ``[card]``,
``[phone]``, ``[number]``. Line breaks and the spacing between untouched words are kept.
Nothing here logs or raises with the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from transcribe.identifiers import find_identifiers
from transcribe.redact import TOKENS, digit_runs

__all__ = ["KINDS", "TextRedaction", "redact_text"]

ID_TOKENS: Final = {"email": "[email]", "national_id": "[national-id]"}
#: Every kind counted in :attr:`TextRedaction.counts`.
KINDS: Final = ("card", "phone", "digits", "email", "national_id")
_WORD: Final = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class TextRedaction:
    """Redacted text and how many of each kind were removed (safe to log: no text)."""

    text: str
    counts: Mapping[str, int] = field(default_factory=dict)


def _identifiers(text: str, counts: dict[str, int]) -> str:
    out: list[str] = []
    at = 0
    for hit in find_identifiers(text):
        out.append(text[at : hit.start])
        out.append(ID_TOKENS[hit.kind])
        counts[hit.kind] += 1
        at = hit.end
    out.append(text[at:])
    return "".join(out)


def _numbers(line: str, languages: Sequence[str], counts: dict[str, int]) -> str:
    words = list(_WORD.finditer(line))
    if not words:
        return line
    runs = [r for r in digit_runs(line, languages=languages) if r.kind is not None]
    if not runs:
        return line
    replace: dict[int, str] = {}
    for run in runs:
        kind = run.kind or "digits"
        counts[kind] += 1
        for i in range(run.first, run.last + 1):
            replace[i] = ""
        replace[run.first] = TOKENS[kind]
    # a run's other words go with the whitespace before them (always inside the run)
    out: list[str] = []
    at = 0
    for i, word in enumerate(words):
        if i not in replace:
            continue
        if replace[i]:
            out += [line[at : word.start()], replace[i]]
        at = word.end()
    out.append(line[at:])
    return "".join(out)


def redact_text(text: str, *, languages: Sequence[str] = ("en",)) -> TextRedaction:
    """``text`` with e-mails, national ids, card and phone numbers (and any 7+ digit run)
    replaced by tokens, line by line; ``languages`` picks the number words read."""
    counts = dict.fromkeys(KINDS, 0)
    cleaned = _identifiers(text, counts)
    lines = [_numbers(line, languages, counts) for line in cleaned.split("\n")]
    return TextRedaction(text="\n".join(lines), counts=counts)
