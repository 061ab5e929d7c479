"""Valid synthetic identifiers for the redaction tests: each national id with its checksum.

Generated, never real: random dates and serials from a seeded generator, checked by the
same rules the redactor uses (and, for the Swedish and Danish ids, by an independent
second implementation here, so a shared bug cannot pass both).
"""

from __future__ import annotations

import random

_FI = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def _date(rng: random.Random) -> tuple[int, int, int]:
    return rng.randint(1, 28), rng.randint(1, 12), rng.randint(0, 99)


def norwegian(rng: random.Random) -> str:
    """An 11-digit fødselsnummer with both mod-11 control digits."""
    while True:
        d, m, y = _date(rng)
        base = f"{d:02d}{m:02d}{y:02d}{rng.randint(0, 999):03d}"
        w1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
        k1 = 11 - sum(int(c) * w for c, w in zip(base, w1, strict=True)) % 11
        k1 = 0 if k1 == 11 else k1
        if k1 == 10:
            continue
        w2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
        k2 = 11 - sum(int(c) * w for c, w in zip(base + str(k1), w2, strict=True)) % 11
        k2 = 0 if k2 == 11 else k2
        if k2 != 10:
            return f"{base}{k1}{k2}"


def swedish(rng: random.Random, *, long: bool = False) -> str:
    """A personnummer ``YYMMDD-NNNC`` (or ``YYYYMMDDNNNC`` with ``long``), Luhn digit last."""
    d, m, y = _date(rng)
    nine = f"{y:02d}{m:02d}{d:02d}{rng.randint(0, 999):03d}"
    total = 0
    for i, ch in enumerate(nine):
        v = int(ch) * (2 - i % 2)
        total += v // 10 + v % 10
    check = (10 - total % 10) % 10
    if long:
        return f"19{nine}{check}"
    return f"{nine[:6]}-{nine[6:]}{check}"


def finnish(rng: random.Random) -> str:
    """A henkilötunnus ``DDMMYY-ZZZQ`` (century sign ``-`` or ``A``)."""
    d, m, y = _date(rng)
    z = rng.randint(2, 899)
    date = f"{d:02d}{m:02d}{y:02d}"
    return f"{date}{rng.choice('-A')}{z:03d}{_FI[int(f'{date}{z:03d}') % 31]}"


def danish(rng: random.Random) -> str:
    """A CPR number ``DDMMYY-SSSS`` passing the mod-11 check."""
    while True:
        d, m, y = _date(rng)
        nine = f"{d:02d}{m:02d}{y:02d}{rng.randint(0, 999):03d}"
        weights = (4, 3, 2, 7, 6, 5, 4, 3, 2)
        last = (-sum(int(c) * w for c, w in zip(nine, weights, strict=True))) % 11
        if last != 10:
            return f"{nine[:6]}-{nine[6:]}{last}"


def luhn_card(rng: random.Random, length: int = 16) -> str:
    """A Luhn-valid test card number of ``length`` digits."""
    body = [rng.randint(0, 9) for _ in range(length - 1)]
    body[0] = 4
    total = 0
    for i, v in enumerate(reversed(body)):
        if i % 2 == 0:
            v *= 2
            v -= 9 if v > 9 else 0
        total += v
    return "".join(map(str, body)) + str((10 - total % 10) % 10)


def email(rng: random.Random) -> str:
    """A plausible contact address."""
    first = rng.choice(["kari", "anna.berg", "j_lind", "pekka.v", "soren+post", "ølstad"])
    host = rng.choice(["example.no", "post.example.se", "example.fi", "mail.example.dk"])
    return f"{first}{rng.randint(1, 99)}@{host}"
