"""Find e-mail addresses and Nordic national id numbers in free text, each by its own rule.

Why: typed chat holds what speech rarely does: ``anna.berg@example.no``, a Norwegian
fødselsnummer, a Swedish personnummer, a Finnish henkilötunnus or a Danish CPR number.
Each national id is recognised with its checksum, so ``[national-id]`` means "this was one";
a look-alike that fails its checksum is left to the number redaction of
:mod:`transcribe.textredact`, which removes any run of 7+ digits anyway (over-redaction is
safe, under-redaction is a breach).

=====================  ===========================  =======================================
kind                   shape                        check
=====================  ===========================  =======================================
Norway fødselsnummer   ``DDMMYY IIIKK`` (11)        two mod-11 control digits; D/H numbers
Sweden personnummer    ``(YY)YYMMDD-NNNC`` (10/12)  Luhn over the last 10; samordningsnummer
Finland henkilötunnus  ``DDMMYYCZZZQ``              Q = "0123456789ABCDEFHJKLMNPRSTUVWXY"[n % 31]
Denmark CPR            ``DDMMYY-SSSS`` (10)         mod 11 (weights 4 3 2 7 6 5 4 3 2 1)
=====================  ===========================  =======================================

Dates are checked too (month 1-12, day 1-31, with the offsets D-numbers, H-numbers,
samordningsnummer and test numbers use). Nothing here logs or raises with the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["Found", "find_identifiers", "normalise_email"]

Kind = Literal["email", "national_id"]


@dataclass(frozen=True, slots=True)
class Found:
    """One identifier: ``text[start:end]`` is it; ``country`` for national ids."""

    kind: Kind
    start: int
    end: int
    country: str = ""


_AT: Final = r"\s?(?:@|＠|\(at\)|\[at\]|\{at\})\s?"
_EMAIL: Final = re.compile(
    r"(?<![\w.%+-])[\w.%+-]{1,64}" + _AT + r"[\w-]{1,63}(?:\.[\w-]{1,63})*\.[^\W\d_]{2,24}(?!\w)",
    re.IGNORECASE,
)
_NO: Final = re.compile(r"(?<![\w+])(\d{6}) ?(\d{5})(?!\w)")
_SE: Final = re.compile(r"(?<![\w+])((?:19|20)\d{2}|\d{2})(\d{4})([-+ ]?)(\d{4})(?!\w)")
_FI: Final = re.compile(r"(?<![\w+])(\d{6})([-+ABCDEFUVWXY])(\d{3})([0-9A-Y])(?!\w)", re.I)
_DK: Final = re.compile(r"(?<![\w+])(\d{6})[- ]?(\d{4})(?!\w)")
_FI_CHECK: Final = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def _date_ok(
    day: int, month: int, *, day_offsets: tuple[int, ...], month_offsets: tuple[int, ...]
) -> bool:
    days = any(1 <= day - off <= 31 for off in day_offsets)
    months = any(1 <= month - off <= 12 for off in month_offsets)
    return days and months


def _mod11(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11


def norwegian_ok(digits: str) -> bool:
    """An 11-digit fødselsnummer (or D/H/test number) with both control digits right."""
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit():
        return False
    if not _date_ok(
        int(digits[0:2]), int(digits[2:4]), day_offsets=(0, 40), month_offsets=(0, 40, 80)
    ):
        return False
    k1 = 11 - _mod11(digits[:9], (3, 7, 6, 1, 8, 9, 4, 5, 2))
    k1 = 0 if k1 == 11 else k1
    k2 = 11 - _mod11(digits[:10], (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
    k2 = 0 if k2 == 11 else k2
    return k1 != 10 and k2 != 10 and digits[9] == str(k1) and digits[10] == str(k2)


def swedish_ok(digits: str) -> bool:
    """A personnummer or samordningsnummer (10 digits, YYMMDDNNNC) with its Luhn digit."""
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    if not _date_ok(int(digits[4:6]), int(digits[2:4]), day_offsets=(0, 60), month_offsets=(0,)):
        return False
    total = 0
    for i, ch in enumerate(digits):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def finnish_ok(date: str, individual: str, check: str) -> bool:
    """A henkilötunnus: DDMMYY, century sign, ZZZ, and the check character."""
    if not _date_ok(int(date[0:2]), int(date[2:4]), day_offsets=(0,), month_offsets=(0,)):
        return False
    return _FI_CHECK[int(date + individual) % 31] == check.upper()


def danish_ok(digits: str) -> bool:
    """A CPR number (DDMMYYSSSS) with a valid date and the mod-11 check."""
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    if not _date_ok(int(digits[0:2]), int(digits[2:4]), day_offsets=(0,), month_offsets=(0,)):
        return False
    return _mod11(digits, (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)) == 0


def _national(text: str) -> list[Found]:
    found: list[Found] = []
    for m in _NO.finditer(text):
        if norwegian_ok(m.group(1) + m.group(2)):
            found.append(Found(kind="national_id", start=m.start(), end=m.end(), country="NO"))
    for m in _SE.finditer(text):
        if swedish_ok(m.group(1)[-2:] + m.group(2) + m.group(4)):
            found.append(Found(kind="national_id", start=m.start(), end=m.end(), country="SE"))
    for m in _FI.finditer(text):
        if finnish_ok(m.group(1), m.group(3), m.group(4)):
            found.append(Found(kind="national_id", start=m.start(), end=m.end(), country="FI"))
    for m in _DK.finditer(text):
        if danish_ok(m.group(1) + m.group(2)):
            found.append(Found(kind="national_id", start=m.start(), end=m.end(), country="DK"))
    return found


def find_identifiers(text: str) -> tuple[Found, ...]:
    """E-mail addresses and checksum-valid national ids in ``text``, sorted, not overlapping.

    Where two matches overlap (a 10-digit run valid both as a Swedish and a Danish id) the
    earlier and longer one is kept.
    """
    hits = [Found(kind="email", start=m.start(), end=m.end()) for m in _EMAIL.finditer(text)]
    hits += _national(text)
    hits.sort(key=lambda f: (f.start, -(f.end - f.start)))
    out: list[Found] = []
    for hit in hits:
        if out and hit.start < out[-1].end:
            continue
        out.append(hit)
    return tuple(out)


def normalise_email(value: str) -> str | None:
    """The form an e-mail address is looked up by (trimmed, case-folded), or None if it is not
    one address (a data-subject request names it; the digest is over this form)."""
    text = value.strip()
    match = _EMAIL.fullmatch(text)
    if match is None or "@" not in text:
        return None
    return text.casefold()
