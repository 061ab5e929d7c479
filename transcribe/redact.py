"""Find spoken and written card and phone numbers in a transcript and redact them.

Why: transcripts and AI artefacts must never hold a card number (T-PCI P2) or a phone number,
and the audio under those words must be silenced (P1). Speech recognisers write digits in
every possible way -- ``"four one one one"``, ``"41, 1, 1, 1"``, ``"4111-1111"``, ``"plus four
seven"``, ``"double one"``, ``"oh"`` -- and tiny.en even *loops* on digit strings
(``"one"`` x 37). So we do not look for patterns in the text; we read the words:

1. every word is split into tokens: numerals (``"4111-1111."`` -> ``"4111"``, ``"1111"``), number
   words of the configured languages (EN, NO, SV, DA, FI; units, teens, tens and Nordic
   compounds such as ``"tjugoett"``, ``"enogtyve"``, ``"kaksikymmentäkolme"``), ``double`` /
   ``triple``, ``plus`` / ``pluss``, fillers (``"uh"``, ``"and"``), and punctuation;
2. consecutive number tokens -- across words, punctuation, fillers, segments and speakers --
   form a *run* with its digit string; runs one misheard word apart (``"45, 6, I, 8"``) are
   joined when one of them is redacted anyway or both were read digit by digit;
3. a run of 13-19 digits (or longer, with a Luhn-valid 13-19 window) passing Luhn is a
   ``"card"``; a run of 7+ digits with a leading plus or 7-12 digits is a ``"phone"``; any
   other run of 7+ digits is ``"digits"`` (Luhn-invalid card-length runs included:
   over-redaction is safe, under-redaction is a breach). Shorter runs (amounts, dates,
   times) stay.

Each redacted run becomes ONE token (``"[card]"``, ``"[phone]"``, ``"[number]"``) in the first
of its words; its other words become empty. Times and structure are kept, and the run's
time span (first word start -> last word end, widened by up to :data:`WORD_SLACK_S` into the
neighbouring words because recognisers misplace word edges) is returned for the audio side,
which widens it by another :data:`AUDIO_MARGIN_S` (see :func:`padded`). Runs of 4+ separate
number tokens are redacted whatever their length (PINs; numbers whose digits were dropped).

Weak words (``"to"``, ``"for"``, ``"oh"``, Nordic ``"en"``/``"ett"``) count as digits only
inside a run that has a strong number token or at least :data:`MIN_SPOKEN` of them
(``"ett ett ett ett"``); otherwise they are ordinary speech.
Nothing here logs or raises with transcript text.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal

from transcribe.models import Segment, Transcript, Word

__all__ = [
    "AUDIO_MARGIN_S",
    "LANGUAGES",
    "MIN_DIGITS",
    "MIN_SPOKEN",
    "TOKENS",
    "WORD_SLACK_S",
    "DigitRun",
    "RedactedSpan",
    "Redaction",
    "digit_runs",
    "luhn_valid",
    "merge_spans",
    "padded",
    "redact",
]

Kind = Literal["card", "phone", "digits"]

AUDIO_MARGIN_S: Final = 0.25
"""Seconds the audio side silences before and after each redacted span."""

MIN_DIGITS: Final = 7
"""Runs with at least this many digits are redacted."""

MIN_SPOKEN: Final = 4
"""Runs of at least this many separate number tokens ("1, 1, 1, 1", "four two four two") are
redacted too, whatever their length: digit-by-digit speech is how card, phone and PIN numbers
are read out, and the recogniser often drops digits of a longer number."""

WORD_SLACK_S: Final = 0.5
"""Recognisers place word boundaries loosely (the word before a number often swallows the
number's onset). Each span is widened by up to this much into the neighbouring words of the
same turn, never past their midpoints, so the neighbours stay audible."""

TOKENS: Final[dict[str, str]] = {"card": "[card]", "phone": "[phone]", "digits": "[number]"}
"""The replacement token for each kind of run."""

LANGUAGES: Final = ("en", "no", "sv", "da", "fi")
"""Languages whose number words are known (``"nb"``/``"nn"`` read as ``"no"``)."""

_KIND_RANK: Final[dict[str, int]] = {"digits": 0, "phone": 1, "card": 2}

# --- lexicon -------------------------------------------------------------------------------

# (value, weak) per unit word; teens and tens are ints; compounds join them.
_UNITS: Final[dict[str, dict[str, tuple[int, bool]]]] = {
    "en": {
        "zero": (0, False), "oh": (0, True), "o": (0, True), "nought": (0, False),
        "naught": (0, False), "nil": (0, True), "one": (1, False), "won": (1, True),
        "two": (2, False), "to": (2, True), "too": (2, True), "three": (3, False),
        "tree": (3, True), "four": (4, False), "for": (4, True), "fore": (4, True),
        "five": (5, False), "six": (6, False), "seven": (7, False), "eight": (8, False),
        "ate": (8, True), "nine": (9, False),
    },
    "no": {
        "null": (0, False), "en": (1, True), "ett": (1, True), "ei": (1, True),
        "to": (2, False), "tre": (3, False), "fire": (4, False), "fem": (5, False),
        "seks": (6, False), "sju": (7, False), "syv": (7, False), "åtte": (8, False),
        "ni": (9, False),
    },
    "sv": {
        "noll": (0, False), "ett": (1, True), "en": (1, True), "två": (2, False),
        "tre": (3, False), "fyra": (4, False), "fem": (5, False), "sex": (6, False),
        "sju": (7, False), "åtta": (8, False), "nio": (9, False),
    },
    "da": {
        "nul": (0, False), "en": (1, True), "et": (1, True), "to": (2, False),
        "tre": (3, False), "fire": (4, False), "fem": (5, False), "seks": (6, False),
        "syv": (7, False), "otte": (8, False), "ni": (9, False),
    },
    "fi": {
        "nolla": (0, False), "yksi": (1, False), "yks": (1, False), "kaksi": (2, False),
        "kaks": (2, False), "kolme": (3, False), "neljä": (4, False), "viisi": (5, False),
        "viis": (5, False), "kuusi": (6, False), "kuus": (6, False), "seitsemän": (7, False),
        "seittemän": (7, False), "kahdeksan": (8, False), "yhdeksän": (9, False),
    },
}  # fmt: skip

_TEENS: Final[dict[str, dict[str, int]]] = {
    "en": {
        "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
        "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    },
    "no": {
        "ti": 10, "elleve": 11, "tolv": 12, "tretten": 13, "fjorten": 14, "femten": 15,
        "seksten": 16, "sytten": 17, "søtten": 17, "atten": 18, "nitten": 19,
    },
    "sv": {
        "tio": 10, "elva": 11, "tolv": 12, "tretton": 13, "fjorton": 14, "femton": 15,
        "sexton": 16, "sjutton": 17, "arton": 18, "nitton": 19,
    },
    "da": {
        "ti": 10, "elleve": 11, "tolv": 12, "tretten": 13, "fjorten": 14, "femten": 15,
        "seksten": 16, "sytten": 17, "atten": 18, "nitten": 19,
    },
    "fi": {"kymmenen": 10},
}  # fmt: skip

_TENS: Final[dict[str, dict[str, int]]] = {
    "en": {
        "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
        "seventy": 70, "eighty": 80, "ninety": 90,
    },
    "no": {
        "tjue": 20, "tyve": 20, "tretti": 30, "tredve": 30, "førti": 40, "firti": 40,
        "femti": 50, "seksti": 60, "sytti": 70, "søtti": 70, "åtti": 80, "nitti": 90,
    },
    "sv": {
        "tjugo": 20, "trettio": 30, "fyrtio": 40, "femtio": 50, "sextio": 60, "sjuttio": 70,
        "åttio": 80, "nittio": 90,
    },
    "da": {
        "tyve": 20, "tredive": 30, "fyrre": 40, "fyrretyve": 40, "halvtreds": 50, "tres": 60,
        "halvfjerds": 70, "firs": 80, "halvfems": 90,
    },
    "fi": {},
}  # fmt: skip

_HUNDRED: Final[dict[str, frozenset[str]]] = {
    "en": frozenset({"hundred"}),
    "no": frozenset({"hundre"}),
    "sv": frozenset({"hundra"}),
    "da": frozenset({"hundrede"}),
    "fi": frozenset({"sata"}),
}
_REPEAT: Final[dict[str, dict[str, int]]] = {
    "en": {"double": 2, "triple": 3},
    "no": {"dobbel": 2, "dobbelt": 2, "trippel": 3},
    "sv": {"dubbel": 2, "dubbla": 2, "trippel": 3},
    "da": {"dobbelt": 2, "dobbel": 2, "tripel": 3},
    "fi": {"tupla": 2, "tuplat": 2},
}
_PLUS: Final = frozenset({"plus", "pluss"})
_FILLERS: Final[dict[str, frozenset[str]]] = {
    "en": frozenset({"uh", "um", "umm", "er", "erm", "eh", "ah", "hmm", "mm", "and", "then"}),
    "no": frozenset({"eh", "øh", "ehm", "og", "så", "mm"}),
    "sv": frozenset({"eh", "öh", "ehm", "och", "å", "sen", "mm"}),
    "da": frozenset({"øh", "eh", "og", "så", "mm"}),
    "fi": frozenset({"öö", "ää", "eli", "ja", "sitten", "mm"}),
}
# Finnish compounds: yksitoista = 11, kaksikymmentä = 20, kolmesataa = 300.
_FI_TEEN_SUFFIX: Final = "toista"
_FI_TENS_SUFFIX: Final = ("kymmentä", "kymment")
_NORDIC_AND: Final = ("og", "och")

_TOKEN: Final = re.compile(r"\+|\d+(?:st|nd|rd|th|e)?(?![^\W\d_])|\d+|[^\W\d_]+", re.UNICODE)
# Full dates with a 4-digit year and clock times are not numbers to redact: "23.11.2026", "10:30".
_DATE_OR_TIME: Final = re.compile(
    r"[(\[]?(?:\d{1,2}[./]\d{1,2}[./]\d{4}|\d{1,2}:\d{2}(?::\d{2})?)[.,;:!?)\]]*"
)
_UNIT_SIGNS: Final = frozenset("%‰$€£¥¢")
_ORDINALS_EN: Final[dict[str, int]] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9,
}  # fmt: skip


# --- public types --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RedactedSpan:
    """A stretch of audio (seconds) that held a redacted number; ``kind`` says what it was."""

    kind: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Redaction:
    """A transcript with its numbers replaced, and the time spans to silence in the audio.

    ``transcript`` has the same segments, words and times as the input; ``spans`` are sorted
    and merged. Built only by :func:`redact`, so holding a ``Redaction`` means holding text
    that went through redaction (the summariser accepts nothing else).
    """

    transcript: Transcript
    spans: tuple[RedactedSpan, ...]

    @property
    def text(self) -> str:
        """The redacted transcript's text."""
        return self.transcript.text

    @property
    def counts(self) -> dict[str, int]:
        """How many spans of each kind were redacted (safe to log: no text)."""
        out = {"card": 0, "phone": 0, "digits": 0}
        for span in self.spans:
            out[span.kind] = out.get(span.kind, 0) + 1
        return out


@dataclass(frozen=True, slots=True)
class DigitRun:
    """A run of number tokens found in text: its digits, kind and token positions.

    ``first``/``last`` index the tokens of the source (words for :func:`redact`, whitespace
    tokens for :func:`digit_runs`); ``kind`` is ``None`` for runs too short to redact;
    ``tokens`` counts the numerals and number words read.
    """

    digits: str
    plus: bool
    first: int
    last: int
    kind: Kind | None
    tokens: int = 1


# --- tokenising ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Lexicon:
    units: dict[str, tuple[int, bool]]
    teens: dict[str, int]
    tens: dict[str, int]
    hundred: frozenset[str]
    repeat: dict[str, int]
    fillers: frozenset[str]
    nordic: bool
    finnish: bool
    english: bool


def _lexicon(languages: Sequence[str]) -> _Lexicon:
    return _lexicon_for(tuple(languages))


@functools.lru_cache(maxsize=32)
def _lexicon_for(languages: tuple[str, ...]) -> _Lexicon:
    langs = []
    for lang in languages:
        code = "no" if lang in ("nb", "nn") else lang
        if code in LANGUAGES and code not in langs:
            langs.append(code)
    if "en" not in langs:
        langs.append("en")  # numerals and English number words are always read
    units: dict[str, tuple[int, bool]] = {}
    for lang in langs:
        for word, (value, weak) in _UNITS[lang].items():
            old = units.get(word)
            # strong in any language wins; values agree across languages where they clash
            if old is None or (old[1] and not weak):
                units[word] = (value, weak)
    return _Lexicon(
        units=units,
        teens={w: v for lang in langs for w, v in _TEENS[lang].items()},
        tens={w: v for lang in langs for w, v in _TENS[lang].items()},
        hundred=frozenset(w for lang in langs for w in _HUNDRED[lang]),
        repeat={w: v for lang in langs for w, v in _REPEAT[lang].items()},
        fillers=frozenset(w for lang in langs for w in _FILLERS[lang]),
        nordic=any(lang in ("no", "sv", "da") for lang in langs),
        finnish="fi" in langs,
        english=True,
    )


# A token is ("num", digits, weak) | ("tens", value) | ("hundred",) | ("rep", n) | ("plus",)
# | ("sep",) (punctuation / filler: may sit inside a run) | ("word",) (ends a run).
_Tok = tuple[str, str, bool]


def _compound(word: str, lex: _Lexicon) -> str | None:
    """The digits of a one-word compound number (``tjugoett``, ``enogtyve``, FI), or None."""
    if lex.finnish:
        value = _finnish(word, lex)
        if value is not None:
            return str(value)
    if not lex.nordic:
        return None
    for tens_word, tens in lex.tens.items():
        # tjugoett / tjueen / tjuefem: tens + unit
        if word.startswith(tens_word) and len(word) > len(tens_word):
            unit = lex.units.get(word[len(tens_word) :])
            if unit is not None and unit[0] > 0:
                return str(tens + unit[0])
        # enogtyve / femogfyrre: unit + og + tens
        for joiner in _NORDIC_AND:
            suffix = joiner + tens_word
            if word.endswith(suffix) and len(word) > len(suffix):
                unit = lex.units.get(word[: -len(suffix)])
                if unit is not None and unit[0] > 0:
                    return str(tens + unit[0])
    return None


def _finnish(word: str, lex: _Lexicon) -> int | None:
    """Finnish compounds up to 99: ``yksitoista``, ``kaksikymmentä``, ``kaksikymmentäkolme``."""
    for unit_word, (unit, _) in lex.units.items():
        if unit < 1 or not word.startswith(unit_word):
            continue
        rest = word[len(unit_word) :]
        if rest == _FI_TEEN_SUFFIX:
            return 10 + unit
        for suffix in _FI_TENS_SUFFIX:
            if rest.startswith(suffix):
                tail = rest[len(suffix) :]
                if not tail:
                    return unit * 10
                extra = lex.units.get(tail)
                if extra is not None and extra[0] > 0 and unit > 1:
                    return unit * 10 + extra[0]
    if word.startswith("kymmenen") and word != "kymmenen":
        extra = lex.units.get(word[len("kymmenen") :])
        if extra is not None:
            return 10 + extra[0]
    return None


def _tokens(text: str, lex: _Lexicon) -> list[tuple[str, str, bool]]:
    """Split one word (or a whitespace token) into number tokens."""
    stripped = text.strip()
    if _DATE_OR_TIME.fullmatch(stripped):
        return [("word", "", False)]  # 23.11.2026, 10:30: dates and times stay
    out: list[tuple[str, str, bool]] = []
    for match in _TOKEN.finditer(text.casefold()):
        piece = match.group()
        if piece == "+" or piece in _PLUS:
            out.append(("plus", "", False))
        elif piece[0].isdecimal():
            # numerals in any script, ordinal suffixes dropped: "4th" -> "4" (a digit to us)
            digits = "".join(str(unicodedata.decimal(ch)) for ch in piece if ch.isdecimal())
            out.append(("num", digits, False))
        elif piece in lex.units:
            value, weak = lex.units[piece]
            out.append(("num", str(value), weak))
        elif piece in lex.teens:
            out.append(("num", str(lex.teens[piece]), False))
        elif piece in lex.tens:
            out.append(("tens", str(lex.tens[piece]), False))
        elif piece in lex.hundred:
            out.append(("hundred", "", False))
        elif piece in lex.repeat:
            out.append(("rep", str(lex.repeat[piece]), True))
        elif piece in lex.fillers:
            out.append(("sep", "", False))
        elif lex.english and piece in _ORDINALS_EN:
            out.append(("num", str(_ORDINALS_EN[piece]), True))
        else:
            compound = _compound(piece, lex)
            out.append(("num", compound, False) if compound else ("word", "", False))
    if not out:
        # punctuation only; a unit sign ends a run ("5 % 10 %" are two amounts)
        out.append(("word", "", False) if _UNIT_SIGNS & set(text) else ("sep", "", False))
    return out


# --- runs ----------------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    """True if ``digits`` (only ASCII digits, at least 2) passes the Luhn check."""
    if len(digits) < 2 or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _has_card(digits: str) -> bool:
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return True
    if len(digits) <= 19:
        return False
    return any(
        luhn_valid(digits[i : i + n]) for n in range(13, 20) for i in range(0, len(digits) - n + 1)
    )


def _kind(digits: str, plus: bool, count: int) -> Kind | None:
    if len(digits) < MIN_DIGITS:
        return "digits" if count >= MIN_SPOKEN else None
    if _has_card(digits):
        return "card"
    if plus or len(digits) <= 12:
        return "phone"
    return "digits"


class _Builder:
    """Accumulates the tokens of one run into its digit string."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.plus = False
        self.strong = False
        self.first = -1
        self.last = -1
        self.count = 0  # number tokens (numerals, number words) in the run
        self._repeat = 1
        self._open_tens = False  # last part is a tens value waiting for its unit

    def add(self, tok: tuple[str, str, bool], index: int) -> None:
        kind, value, weak = tok
        if self.first < 0:
            self.first = index
        self.last = index
        if kind == "plus":
            self.plus = self.plus or not self.parts
            return
        if kind == "rep":
            self._repeat = int(value)
            return
        if kind == "hundred":
            if self.parts:
                self.parts[-1] += "00"
            else:
                self.parts.append("100")
            self._open_tens = False
            self.strong = True
            return
        if kind == "tens":
            self.count += 1
            self.parts.append(value)
            self._open_tens = True
            self.strong = True
            self._repeat = 1
            return
        # kind == "num"
        self.count += 1
        self.strong = self.strong or not weak
        if self._open_tens and len(value) == 1 and value != "0":
            self.parts[-1] = self.parts[-1][0] + value  # twenty one -> 21
        else:
            self.parts.append(value * self._repeat)
        self._repeat = 1
        self._open_tens = False

    @property
    def digits(self) -> str:
        return "".join(self.parts)

    def run(self) -> DigitRun | None:
        if not self.parts or not (self.strong or self.count >= MIN_SPOKEN):
            return None  # "to", "for", "oh", "en" alone are words; four in a row are digits
        return DigitRun(
            digits=self.digits,
            plus=self.plus,
            first=self.first,
            last=self.last,
            kind=_kind(self.digits, self.plus, self.count),
            tokens=self.count,
        )


def _runs(pieces: Sequence[str], lex: _Lexicon) -> list[DigitRun]:
    """Runs of number tokens over ``pieces`` (words), indexed by piece."""
    runs: list[DigitRun] = []
    builder = _Builder()
    for index, piece in enumerate(pieces):
        for tok in _tokens(piece, lex):
            kind = tok[0]
            if kind == "word":
                done = builder.run()
                if done is not None:
                    runs.append(done)
                builder = _Builder()
            elif kind == "sep":
                continue  # punctuation and fillers neither end nor extend a run
            else:
                if kind == "plus" and builder.parts:
                    done = builder.run()
                    if done is not None:
                        runs.append(done)
                    builder = _Builder()
                builder.add(tok, index)
    done = builder.run()
    if done is not None:
        runs.append(done)
    return _bridge(runs, pieces, lex)


def _bridge(runs: list[DigitRun], pieces: Sequence[str], lex: _Lexicon) -> list[DigitRun]:
    """Join runs split by ONE non-number word when the recogniser probably misheard a digit.

    tiny.en writes digits as look-alike words ("plus 46, 823, 45, 6, I, 8"; "Born 1 1 1 Born
    1 1 2"). Two runs with one word between them are joined if either would be redacted
    anyway, or if both were read digit by digit (2+ tokens each) and together reach
    :data:`MIN_DIGITS`. Amounts ("1500 kroner 2000") and counts ("3 kids, 4 dogs") stay apart.
    """

    def gap_words(prev: DigitRun, run: DigitRun) -> int:
        between = pieces[prev.last + 1 : run.first]
        words = sum(1 for p in between if any(t[0] == "word" for t in _tokens(p, lex)))
        return words + (1 if run.first == prev.last else 0)  # "6,I,8" is one piece

    def join(group: Sequence[DigitRun]) -> DigitRun:
        digits = "".join(r.digits for r in group)
        count = sum(r.tokens for r in group)
        return DigitRun(
            digits=digits,
            plus=group[0].plus,
            first=group[0].first,
            last=group[-1].last,
            kind=_kind(digits, group[0].plus, count),
            tokens=count,
        )

    # pass 1: chains of digit-by-digit runs (2+ tokens each) one word apart, if long enough
    chained: list[DigitRun] = []
    group: list[DigitRun] = []
    for run in [*runs, None]:
        if (
            run is not None
            and group
            and run.tokens >= 2
            and group[-1].tokens >= 2
            and gap_words(group[-1], run) <= 1
        ):
            group.append(run)
            continue
        if len(group) > 1 and len(join(group).digits) >= MIN_DIGITS:
            chained.append(join(group))
        else:
            chained.extend(group)
        group = [] if run is None else [run]
    # pass 2: a redacted run swallows a neighbour one word away
    out: list[DigitRun] = []
    for run in chained:
        if out and (out[-1].kind or run.kind) and gap_words(out[-1], run) <= 1:
            out[-1] = join((out[-1], run))
        else:
            out.append(run)
    return out


def digit_runs(text: str, *, languages: Sequence[str] = ("en",)) -> tuple[DigitRun, ...]:
    """Every run of number tokens in ``text`` (whitespace-separated), with its digits and kind.

    ``first``/``last`` index the whitespace tokens of ``text``. Short runs are included with
    ``kind=None``; ``[r for r in digit_runs(t) if r.kind]`` is what :func:`redact` removes.
    """
    return tuple(_runs(text.split(), _lexicon(languages)))


# --- redaction -----------------------------------------------------------------------------


def redact(transcript: Transcript, *, languages: Sequence[str] = ("en",)) -> Redaction:
    """Replace card, phone and other 7+ digit numbers in ``transcript``; return spans to silence.

    ``languages`` picks the number words read (English always; the transcript's own language
    is added). Segments without words are redacted on their text, with the whole segment
    as the span (conservative).
    """
    langs = (*languages, transcript.language)
    lex = _lexicon(langs)
    # every word (or, for word-less segments, every whitespace token) with its position
    slots: list[tuple[int, int]] = []  # (segment index, word index or -1 - token index)
    pieces: list[str] = []
    times: list[tuple[float, float]] = []
    for si, seg in enumerate(transcript.segments):
        if seg.words:
            for wi, word in enumerate(seg.words):
                slots.append((si, wi))
                pieces.append(word.text)
                times.append((word.start, word.end))
        else:
            for ti, tok in enumerate(seg.text.split()):
                slots.append((si, -1 - ti))
                pieces.append(tok)
                times.append((seg.start, seg.end))
    found = [r for r in _runs(pieces, lex) if r.kind is not None]
    if not found:
        return Redaction(transcript=transcript, spans=())

    replaced: dict[int, str] = {}
    raw_spans: list[RedactedSpan] = []
    for run in found:
        kind: Kind = run.kind or "digits"
        for i in range(run.first, run.last + 1):
            replaced[i] = ""
        replaced[run.first] = TOKENS[kind]
        start = min(t[0] for t in times[run.first : run.last + 1])
        end = max(t[1] for t in times[run.first : run.last + 1])
        # widen into the neighbouring words of the same turn, never past their midpoints
        lead, trail = start - WORD_SLACK_S, end + WORD_SLACK_S
        before, after = run.first - 1, run.last + 1
        if before >= 0 and slots[before][0] == slots[run.first][0]:
            lead = max(lead, sum(times[before]) / 2)
        if after < len(slots) and slots[after][0] == slots[run.last][0]:
            trail = min(trail, sum(times[after]) / 2)
        limit = transcript.duration if transcript.duration > 0 else math.inf
        raw_spans.append(
            RedactedSpan(
                kind=kind,
                start=round(max(0.0, min(start, lead)), 3),
                end=round(min(limit, max(end, trail)), 3),
            )
        )
    new_words: dict[tuple[int, int], str] = {slots[i]: text for i, text in replaced.items()}
    segments = tuple(
        _redact_segment(si, seg, new_words) for si, seg in enumerate(transcript.segments)
    )
    return Redaction(
        transcript=replace(transcript, segments=segments), spans=merge_spans(raw_spans)
    )


def _redact_segment(si: int, seg: Segment, new: dict[tuple[int, int], str]) -> Segment:
    if seg.words:
        if not any((si, wi) in new for wi in range(len(seg.words))):
            return seg
        words = tuple(
            _new_word(w, new[(si, wi)]) if (si, wi) in new else w for wi, w in enumerate(seg.words)
        )
        return replace(seg, words=words, text=" ".join(w.text for w in words if w.text))
    tokens = seg.text.split()
    if not any((si, -1 - ti) in new for ti in range(len(tokens))):
        return seg
    kept = [new.get((si, -1 - ti), tok) for ti, tok in enumerate(tokens)]
    return replace(seg, text=" ".join(t for t in kept if t))


def _new_word(word: Word, text: str) -> Word:
    return replace(word, text=text)


def merge_spans(spans: Iterable[RedactedSpan]) -> tuple[RedactedSpan, ...]:
    """Sort spans and merge those that overlap or touch; the merged kind is the most sensitive."""
    out: list[RedactedSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if out and span.start <= out[-1].end:
            prev = out[-1]
            kind = max(prev.kind, span.kind, key=lambda k: _KIND_RANK.get(k, 0))
            out[-1] = RedactedSpan(kind=kind, start=prev.start, end=max(prev.end, span.end))
        else:
            out.append(span)
    return tuple(out)


def padded(
    spans: Iterable[RedactedSpan],
    *,
    pad: float = AUDIO_MARGIN_S,
    duration: float | None = None,
) -> tuple[RedactedSpan, ...]:
    """Spans widened by ``pad`` seconds each side, clipped to ``[0, duration]``, re-merged."""
    wide = [
        RedactedSpan(
            kind=s.kind,
            start=max(0.0, s.start - pad),
            end=s.end + pad if duration is None else min(duration, s.end + pad),
        )
        for s in spans
    ]
    return merge_spans(wide)
