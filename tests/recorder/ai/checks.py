"""Test oracles for T-PCI P1/P2: number words back to digits, Luhn runs, phone numbers,
and "is this stretch of audio silence or a pure tone", measured with numpy."""

from __future__ import annotations

import re

import numpy as np

#: Number words 0-9 per language of the samples (a test oracle, independent of
#: transcribe.redact's own tables).
NUMBER_WORDS: dict[str, dict[str, str]] = {
    lang: {word: str(digit) for digit, word in enumerate(words.split())}
    for lang, words in {
        "en": "zero one two three four five six seven eight nine",
        "no": "null en to tre fire fem seks sju åtte ni",
        "sv": "noll ett två tre fyra fem sex sju åtta nio",
        "da": "nul en to tre fire fem seks syv otte ni",
        "fi": "nolla yksi kaksi kolme neljä viisi kuusi seitsemän kahdeksan yhdeksän",
    }.items()
}
NUMBER_WORDS["en"]["oh"] = "0"
NUMBER_WORDS["no"]["ett"] = "1"
NUMBER_WORDS["sv"]["en"] = "1"
_TOKEN = re.compile(r"\w+", re.UNICODE)
_JOINERS = frozenset({"double", "plus", "and"})


def digits_of(text: str, languages: tuple[str, ...] = ("en",)) -> list[str]:
    """Maximal runs of digits after turning number words into digits.

    Tokens that are digits or number words join a run; anything else ends it. "41, 1, 1"
    and "four one one" both become "4111".
    """
    table: dict[str, str] = {}
    for lang in languages:
        table.update(NUMBER_WORDS[lang])
    runs: list[str] = []
    current = ""
    for token in _TOKEN.findall(text.lower()):
        if token.isdigit():
            current += token
        elif token in table:
            current += table[token]
        elif token in _JOINERS:
            continue
        else:
            if current:
                runs.append(current)
            current = ""
    if current:
        runs.append(current)
    return runs


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_runs(text: str, languages: tuple[str, ...] = ("en",)) -> list[str]:
    """Luhn-valid 13-19 digit windows inside any digit run (P2's first count)."""
    found = []
    for run in digits_of(text, languages):
        for n in range(13, 20):
            for i in range(len(run) - n + 1):
                if luhn_ok(run[i : i + n]):
                    found.append(run[i : i + n])
    return found


def phone_runs(text: str, languages: tuple[str, ...] = ("en",)) -> list[str]:
    """Digit runs long enough to be a phone number (7+ digits: P2's second count)."""
    return [run for run in digits_of(text, languages) if len(run) >= 7]


def dbfs(x: np.ndarray) -> float:
    """RMS level of int16 samples in dBFS (-inf for digital silence)."""
    rms = float(np.sqrt(np.mean((x.astype(np.float64) / 32768.0) ** 2))) if x.size else 0.0
    return -np.inf if rms == 0 else 20 * np.log10(rms)


def tone_purity(x: np.ndarray, rate: int, hz: float = 1000.0) -> float:
    """Share of the signal's energy within +-20 Hz of ``hz`` (1.0 = a pure beep)."""
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / rate)
    total = float(spectrum.sum())
    if total == 0:
        return 0.0
    return float(spectrum[np.abs(freqs - hz) <= 20].sum()) / total


def silent_or_tone(x: np.ndarray, rate: int) -> bool:
    """P1's figure: RMS below -60 dBFS, or a pure 1 kHz beep (>= 99 % of the energy)."""
    return dbfs(x) < -60 or tone_purity(x, rate) >= 0.99
