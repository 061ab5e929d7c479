"""Sort a call into predefined topics by the phrases said in it, with the evidence.

Why: the bank's notice says calls are auto-categorised into *predefined* topics, so the
categoriser is a transparent phrase matcher, not a model: a topic lists phrases per language
(configuration, ``[ai.topics.<name>]`` tables of ``<lang> = ["phrase", ...]``), a phrase
matches when its words appear consecutively in a segment (case-folded, punctuation ignored,
a trailing ``*`` in a phrase word matches any ending: ``"block*"`` -> ``blocked``). Each
match is evidence: segment index, start/end seconds (from the matched words when the
segment has them) and the configured phrase -- never any other transcript text.

Score = distinct matched phrases, a one-word phrase counting 1 and a longer one 2, over 3,
capped at 1.0; topics with no match are left out; results are sorted best first. Run it on the
*redacted* transcript (``Redaction.transcript``) so evidence never points at a number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from transcribe.errors import BadTopics
from transcribe.models import Segment, Transcript

__all__ = [
    "DEFAULT_TOPICS",
    "Category",
    "Evidence",
    "Topic",
    "categorize",
    "parse_topics",
]

_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,47}")
_LANG: Final = re.compile(r"[a-z]{2,3}")
_WORD: Final = re.compile(r"[^\W_]+\*?|\[\w+\]", re.UNICODE)
_MAX_PHRASES: Final = 200
_FULL_SCORE_WEIGHT: Final = 3.0
"""Matched phrase weight (1 per one-word phrase, 2 per longer one) that earns a score of 1.0."""


@dataclass(frozen=True, slots=True)
class Topic:
    """A predefined call topic: its name and the phrases that signal it, per language."""

    name: str
    phrases: Mapping[str, tuple[str, ...]]

    def phrases_for(self, language: str) -> tuple[str, ...]:
        """Phrases for ``language`` (``nb``/``nn`` read ``no``), else none."""
        code = "no" if language in ("nb", "nn") else language
        return self.phrases.get(code, ())


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a topic phrase was heard: segment index, time span, and the configured phrase."""

    segment: int
    start: float
    end: float
    phrase: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment": self.segment,
            "start": self.start,
            "end": self.end,
            "phrase": self.phrase,
        }


@dataclass(frozen=True, slots=True)
class Category:
    """A topic found in a call: score in (0, 1] and the evidence for it, in time order."""

    topic: str
    score: float
    evidence: tuple[Evidence, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "score": self.score,
            "evidence": [e.to_dict() for e in self.evidence],
        }


def parse_topics(table: Mapping[str, Any], *, where: str = "ai.topics") -> tuple[Topic, ...]:
    """Topics from a TOML table ``{name: {lang: [phrase, ...]}}``, or raise ``BadTopics``.

    Errors name the TOML path (``ai.topics.card_block.en[2]``), never a phrase.
    """
    if not isinstance(table, Mapping):
        raise BadTopics(f"{where}: expected a table of topics")
    if not table:
        raise BadTopics(f"{where}: no topics configured")
    topics: list[Topic] = []
    for name, langs in table.items():
        path = f"{where}.{name}"
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise BadTopics(f"{path}: topic names are lower-case letters, digits and '_'")
        if not isinstance(langs, Mapping) or not langs:
            raise BadTopics(f"{path}: expected a table of language = [phrases]")
        phrases: dict[str, tuple[str, ...]] = {}
        for lang, items in langs.items():
            lpath = f"{path}.{lang}"
            if not isinstance(lang, str) or not _LANG.fullmatch(lang):
                raise BadTopics(f"{lpath}: expected a 2- or 3-letter language code")
            if not isinstance(items, list | tuple) or not items:
                raise BadTopics(f"{lpath}: expected a non-empty list of phrases")
            if len(items) > _MAX_PHRASES:
                raise BadTopics(f"{lpath}: at most {_MAX_PHRASES} phrases")
            out: list[str] = []
            for i, phrase in enumerate(items):
                if not isinstance(phrase, str) or not _words(phrase):
                    raise BadTopics(f"{lpath}[{i}]: expected a phrase with at least one word")
                if any(ch.isdigit() for ch in phrase):
                    raise BadTopics(f"{lpath}[{i}]: phrases may not contain digits")
                out.append(" ".join(_words(phrase)))
            phrases["no" if lang in ("nb", "nn") else lang] = tuple(out)
        topics.append(Topic(name=name, phrases=phrases))
    return tuple(topics)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _matches(pattern: Sequence[str], words: Sequence[str], at: int) -> bool:
    if at + len(pattern) > len(words):
        return False
    for p, w in zip(pattern, words[at : at + len(pattern)], strict=False):
        if p.endswith("*"):
            if not w.startswith(p[:-1]):
                return False
        elif p != w:
            return False
    return True


def _segment_hits(index: int, seg: Segment, phrase: str, pattern: Sequence[str]) -> list[Evidence]:
    hits: list[Evidence] = []
    if seg.words:
        # word-level: keep each word's time; a Word may hold more than one token
        flat: list[tuple[str, float, float]] = [
            (tok, w.start, w.end) for w in seg.words for tok in _words(w.text)
        ]
        tokens = [t for t, _, _ in flat]
        for at in range(len(tokens)):
            if _matches(pattern, tokens, at):
                last = flat[at + len(pattern) - 1]
                hits.append(Evidence(index, flat[at][1], last[2], phrase))
        return hits
    tokens = _words(seg.text)
    if any(_matches(pattern, tokens, at) for at in range(len(tokens))):
        hits.append(Evidence(index, seg.start, seg.end, phrase))
    return hits


def categorize(
    transcript: Transcript,
    topics: Sequence[Topic],
    *,
    language: str | None = None,
    speakers: Sequence[str] | None = None,
) -> tuple[Category, ...]:
    """Topics heard in ``transcript`` with evidence, best score first (ties: config order).

    ``language`` picks the phrase list (default: the transcript's language); English phrases
    are also tried when the call's language has none, since tiny.en always writes English.
    ``speakers`` limits matching to those segment speakers (default: everyone).
    """
    lang = language or transcript.language
    results: list[tuple[float, int, Category]] = []
    for order, topic in enumerate(topics):
        phrases = topic.phrases_for(lang) or topic.phrases_for("en")
        evidence: list[Evidence] = []
        weight = 0.0
        for phrase in phrases:
            pattern = phrase.split()
            hits = [
                hit
                for si, seg in enumerate(transcript.segments)
                if speakers is None or seg.speaker in speakers
                for hit in _segment_hits(si, seg, phrase, pattern)
            ]
            if hits:
                evidence.extend(hits)
                weight += min(len(pattern), 2)
        if evidence:
            score = round(min(1.0, weight / _FULL_SCORE_WEIGHT), 3)
            ordered = tuple(sorted(evidence, key=lambda e: (e.start, e.segment, e.phrase)))
            results.append((score, order, Category(topic.name, score, ordered)))
    results.sort(key=lambda item: (-item[0], -len(item[2].evidence), item[1]))
    return tuple(category for _, _, category in results)


def _t(**phrases: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return dict(phrases)


DEFAULT_TOPICS: Final[tuple[Topic, ...]] = (
    Topic(
        "card_block",
        _t(
            en=("block my card", "block the card", "lost my card", "card was stolen",
                "stolen card", "freeze my card", "cancel my card", "card blocked"),
            no=("sperre kortet", "sperr kortet", "mistet kortet", "stjålet kort",
                "kortet er stjålet"),
            sv=("spärra kortet", "spärra mitt kort", "tappat kortet", "stulet kort",
                "kortet är stulet"),
            da=("spærre kortet", "spær kortet", "mistet mit kort", "stjålet kort"),
            fi=("sulkea kortti*", "kortti kadonnut", "kortti varastettu", "kortin sulku",
                "kadotin kortti*"),
        ),
    ),
    Topic(
        "address_change",
        _t(
            en=("change my address", "change of address", "new address", "moved house",
                "update my address", "i have moved"),
            no=("endre adresse", "ny adresse", "flyttet", "adresseendring"),
            sv=("ändra adress", "ny adress", "flyttat", "adressändring"),
            da=("ændre adresse", "ny adresse", "flyttet", "adresseændring"),
            fi=("osoitteen muutos", "uusi osoite", "muuttanut", "vaihtaa osoite"),
        ),
    ),
    Topic(
        "loan_enquiry",
        _t(
            en=("a loan", "mortgage", "borrow money", "interest rate", "loan application",
                "apply for a loan", "refinance"),
            no=("lån", "boliglån", "låne penger", "rente", "lånesøknad"),
            sv=("lån", "bolån", "låna pengar", "ränta", "låneansökan"),
            da=("lån", "boliglån", "låne penge", "rente", "låneansøgning"),
            fi=("laina*", "asuntolaina*", "lainahakemus", "korko"),
        ),
    ),
    Topic(
        "investment_advice",
        _t(
            en=("invest", "investment", "investing", "funds", "index fund", "shares",
                "stocks", "savings account", "pension savings"),
            no=("investere", "fond", "aksjer", "sparing", "indeksfond"),
            sv=("investera", "fonder", "aktier", "sparande", "indexfond"),
            da=("investere", "investering", "aktier", "opsparing", "indeksfond"),
            fi=("sijoit*", "rahasto*", "osakkeet", "säästäminen"),
        ),
    ),
    Topic(
        "payment_dispute",
        _t(
            en=("dispute a payment", "dispute the payment", "dispute", "charged twice",
                "unknown payment", "did not make", "money back",
                "did not make this payment", "refund", "chargeback", "wrong amount"),
            no=("reklamere", "trukket to ganger", "ukjent betaling", "tilbakebetaling"),
            sv=("reklamera", "dragits två gånger", "okänd betalning", "återbetalning"),
            da=("reklamere", "trukket to gange", "ukendt betaling", "tilbagebetaling"),
            fi=("reklamaatio", "veloitettu kahdesti", "tuntematon maksu", "hyvitys"),
        ),
    ),
    Topic(
        "complaint",
        _t(
            en=("complaint", "make a complaint", "complain", "not happy", "unacceptable",
                "very disappointed", "speak to a manager", "poor service"),
            no=("klage", "ikke fornøyd", "uakseptabelt", "skuffet"),
            sv=("klagomål", "klaga", "inte nöjd", "oacceptabelt", "besviken"),
            da=("klage", "ikke tilfreds", "uacceptabelt", "skuffet"),
            fi=("valitus", "valittaa", "en ole tyytyväinen", "pettynyt"),
        ),
    ),
    Topic(
        "parcel_tracking",
        _t(
            en=("my parcel", "the parcel", "tracking number", "package", "delivery",
                "track my", "has not arrived"),
            no=("pakken", "sporingsnummer", "levering", "ikke kommet"),
            sv=("paketet", "spårningsnummer", "leverans", "inte kommit"),
            da=("pakken", "sporingsnummer", "levering", "ikke kommet"),
            fi=("paketti", "seurantanumero", "toimitus", "ei ole tullut"),
        ),
    ),
)  # fmt: skip
"""Topics used when the configuration names none: a Nordic bank's service line (and parcels)."""
