"""An independent oracle for T-PCI P2: digit runs in text after normalising number words.

Written separately from ``transcribe/redact.py`` on purpose (a shared bug cannot hide a
leak): lower-case the text, turn every number word of the five languages and every numeral
into digits, drop punctuation and whitespace between them, and let any other word end a run.
Only unambiguous number words are mapped (``"to"`` is English for "towards", ``"en"`` an
article), so the oracle never finds digits that a person would not read as a number.
"""

from __future__ import annotations

import re

WORDS: dict[str, dict[str, int]] = {
    "en": dict(zero=0, one=1, two=2, three=3, four=4, five=5, six=6, seven=7, eight=8, nine=9),
    "no": {"null": 0, "to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6, "sju": 7, "syv": 7,
           "åtte": 8, "ni": 9},
    "sv": {"noll": 0, "två": 2, "tre": 3, "fyra": 4, "fem": 5, "sex": 6, "sju": 7, "åtta": 8,
           "nio": 9},
    "da": {"nul": 0, "to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6, "syv": 7, "otte": 8,
           "ni": 9},
    "fi": {"nolla": 0, "yksi": 1, "kaksi": 2, "kolme": 3, "neljä": 4, "viisi": 5, "kuusi": 6,
           "seitsemän": 7, "kahdeksan": 8, "yhdeksän": 9},
}  # fmt: skip
#: Nordic "one" is also an article; in a number it is one (the oracle is told the language).
ONE: dict[str, tuple[str, ...]] = {
    "no": ("en", "ett", "ei"),
    "sv": ("ett", "en"),
    "da": ("en", "et"),
}

TEENS_EN = dict(
    ten=10, eleven=11, twelve=12, thirteen=13, fourteen=14, fifteen=15, sixteen=16,
    seventeen=17, eighteen=18, nineteen=19,
)  # fmt: skip
TENS_EN = dict(twenty=2, thirty=3, forty=4, fifty=5, sixty=6, seventy=7, eighty=8, ninety=9)

_PIECE = re.compile(r"[0-9]+|[^\W\d_]+|\[[a-z]+\]", re.UNICODE)


def normalised_runs(text: str, language: str = "en") -> list[str]:
    """Maximal digit strings of ``text`` with number words read as digits."""
    table = dict(WORDS["en"])
    table.update(WORDS.get(language, {}))
    for word in ONE.get(language, ()):
        table[word] = 1
    runs: list[str] = []
    current = ""
    tens_open = False  # "forty" waits for "one" (-> 41) or anything else (-> 40)
    for piece in _PIECE.findall(text.casefold()):
        if tens_open:
            tens_open = False
            if piece in table and 1 <= table[piece] <= 9:
                current += str(table[piece])
                continue
            current += "0"
        if piece.isdigit():
            current += piece
        elif piece in table:
            current += str(table[piece])
        elif piece in TEENS_EN:
            current += str(TEENS_EN[piece])
        elif piece in TENS_EN:
            current += str(TENS_EN[piece])
            tens_open = True
        else:
            if current:
                runs.append(current)
            current = ""
    if tens_open:
        current += "0"
    if current:
        runs.append(current)
    return runs


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def card_runs(text: str, language: str = "en") -> list[str]:
    """Every 13-19 digit window of a run that passes Luhn (what P2 forbids)."""
    found = []
    for run in normalised_runs(text, language):
        for n in range(13, 20):
            for i in range(len(run) - n + 1):
                if luhn(run[i : i + n]):
                    found.append(run[i : i + n])
    return found


def phone_runs(text: str, language: str = "en") -> list[str]:
    """Runs long enough to be a phone number (7+ digits)."""
    return [run for run in normalised_runs(text, language) if len(run) >= 7]
