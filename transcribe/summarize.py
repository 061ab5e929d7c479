"""Draft call summaries from REDACTED transcripts only: a protocol and an offline default.

Why: the bank's notice promises an AI-drafted summary that an advisor reviews. The draft
must never carry a card or phone number, so a :class:`Summarizer` takes a
:class:`~transcribe.redact.Redaction` -- the only way to get one is :func:`redact` -- and
never a ``str`` or a raw ``Transcript`` (checked at run time too: ``TypeError``).

:class:`ExtractiveSummarizer` (``method="extractive-v1"``) is deterministic and offline: it
quotes sentences of the call, never invents text:

- *request*: the first customer sentence with substance (4+ words, not a greeting);
- *resolution*: the last agent sentence with an action verb (``blocked``, ``I have sent``,
  ``will``...), else the agent's last sentence with substance;
- *key turns*: for each category, the sentence holding its first evidence.

As a second lock it re-runs :func:`redact` over the redaction it is given, so even a
hand-built ``Redaction`` cannot smuggle a number through. Every summary is a ``draft`` until
a person reviews it (that state lives in the recorder, not here).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from transcribe.categorize import Category
from transcribe.errors import BadSummary
from transcribe.redact import Redaction, redact

__all__ = ["METHOD", "VERSION", "ExtractiveSummarizer", "Summarizer", "Summary"]

VERSION: Final = 1
METHOD: Final = "extractive-v1"
_KEYS: Final = frozenset({"v", "text", "request", "resolution", "topics", "draft", "method"})
_SENTENCE: Final = re.compile(r"[^.!?]+[.!?]*")
_WORD: Final = re.compile(r"[^\W_]+|\[\w+\]", re.UNICODE)
_MIN_WORDS: Final = 4
_MAX_WORDS: Final = 40
_GREETINGS: Final = frozenset(
    {"hello", "hi", "hey", "good", "morning", "afternoon", "evening", "thanks", "thank", "you",
     "hei", "hej", "moi", "terve", "god", "dag", "morgen", "takk", "tack", "tak", "kiitos",
     "bye", "goodbye", "ha", "det", "bra", "yes", "no", "ok", "okay", "this", "is", "my",
     "name", "speaking", "calling", "from", "the", "bank", "welcome", "to", "how", "can", "i",
     "help", "a", "and", "ja", "nei", "nej", "joo", "ei", "for", "me"}
)  # fmt: skip
_ACTION: Final = re.compile(
    r"\b(?:i have|i've|i will|i'll|we will|we'll|i can|has been|have been|is now|are now|"
    r"blocked|cancel+ed|sent|changed|updated|registered|booked|refunded|opened|closed|"
    r"ordered|arranged|scheduled|forwarded|noted|stopped|done|"
    r"sperret|endret|sendt|spärrat|ändrat|skickat|spærret|ændret|sendt|"
    r"suljettu|muutettu|lähetetty)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """A draft summary: the full ``text`` plus its ``request``/``resolution`` parts and topics."""

    text: str
    request: str
    resolution: str
    topics: tuple[str, ...]
    draft: bool = True
    method: str = METHOD

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict carrying ``"v": 1``."""
        return {
            "v": VERSION,
            "text": self.text,
            "request": self.request,
            "resolution": self.resolution,
            "topics": list(self.topics),
            "draft": self.draft,
            "method": self.method,
        }

    @classmethod
    def from_dict(cls, data: object) -> Summary:
        """Rebuild from :meth:`to_dict` output (exact keys and types), or raise ``BadSummary``."""
        if not isinstance(data, Mapping):
            raise BadSummary("summary: expected an object")
        if set(data) != _KEYS:
            missing = sorted(_KEYS - set(data))
            raise BadSummary(f"summary: missing keys {missing}, {len(set(data) - _KEYS)} unknown")
        if type(data["v"]) is not int or data["v"] != VERSION:
            raise BadSummary(f"summary.v: unsupported version (this code reads v{VERSION})")
        for key in ("text", "request", "resolution", "method"):
            if not isinstance(data[key], str):
                raise BadSummary(f"summary.{key}: expected a string")
        if type(data["draft"]) is not bool:
            raise BadSummary("summary.draft: expected true or false")
        topics = data["topics"]
        if not isinstance(topics, list | tuple) or not all(isinstance(t, str) for t in topics):
            raise BadSummary("summary.topics: expected a list of strings")
        if not data["method"]:
            raise BadSummary("summary.method: must name the method")
        return cls(
            text=data["text"],
            request=data["request"],
            resolution=data["resolution"],
            topics=tuple(topics),
            draft=data["draft"],
            method=data["method"],
        )


class Summarizer(Protocol):
    """Drafts a summary of a call from its redacted transcript and categories."""

    def summarize(self, redacted: Redaction, categories: Sequence[Category]) -> Summary: ...


@dataclass(frozen=True, slots=True)
class _Sentence:
    segment: int
    speaker: str | None
    text: str
    start: float
    end: float


def _sentences(redacted: Redaction) -> list[_Sentence]:
    out: list[_Sentence] = []
    for si, seg in enumerate(redacted.transcript.segments):
        for match in _SENTENCE.finditer(seg.text):
            text = " ".join(match.group().split())
            if text:
                out.append(_Sentence(si, seg.speaker, text, seg.start, seg.end))
    return out


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _substance(text: str) -> bool:
    words = _words(text)
    return len(words) >= _MIN_WORDS and any(w not in _GREETINGS for w in words)


def _clip(text: str) -> str:
    words = text.split()
    return text if len(words) <= _MAX_WORDS else " ".join(words[:_MAX_WORDS]) + " …"


class ExtractiveSummarizer:
    """The default summariser: deterministic, offline, quoting the redacted call.

    ``customer``/``agent`` name the speaker labels of the merged turns. Without speaker labels
    the first substantive sentence is the request and the last one with an action verb the
    resolution.
    """

    method: Final = METHOD

    def __init__(self, *, customer: str = "customer", agent: str = "agent") -> None:
        self._customer = customer
        self._agent = agent

    def summarize(self, redacted: Redaction, categories: Sequence[Category]) -> Summary:
        """A draft :class:`Summary` of ``redacted``; raises ``TypeError`` for anything else."""
        if not isinstance(redacted, Redaction):
            raise TypeError("summarize() takes a Redaction (from transcribe.redact.redact)")
        # second lock: a hand-built Redaction still goes through redaction
        safe = redact(redacted.transcript, languages=("en", redacted.transcript.language))
        sentences = _sentences(safe)
        labelled = any(s.speaker is not None for s in sentences)

        def by(speaker: str) -> list[_Sentence]:
            return [s for s in sentences if not labelled or s.speaker == speaker]

        request = next((s for s in by(self._customer) if _substance(s.text)), None)
        agent = by(self._agent)
        resolution = next(
            (s for s in reversed(agent) if _ACTION.search(s.text) and _substance(s.text)), None
        ) or next((s for s in reversed(agent) if _substance(s.text)), None)

        topics = tuple(c.topic for c in categories)
        lines: list[str] = []
        if request is not None:
            lines.append(f"Customer: {_clip(request.text)}")
        seen = {id(request), id(resolution)}
        for category in categories:
            if not category.evidence:
                continue
            first = category.evidence[0]
            key = next(
                (
                    s
                    for s in sentences
                    if s.segment == first.segment
                    and first.phrase.split()[0].rstrip("*") in s.text.casefold()
                ),
                None,
            )
            if key is not None and id(key) not in seen and key.text not in _texts(lines):
                seen.add(id(key))
                who = (key.speaker or "speaker").capitalize()
                lines.append(f"{who} ({category.topic}): {_clip(key.text)}")
        if resolution is not None:
            lines.append(f"Agent: {_clip(resolution.text)}")
        if topics:
            lines.append("Topics: " + ", ".join(topics) + ".")
        return Summary(
            text="\n".join(lines),
            request=_clip(request.text) if request else "",
            resolution=_clip(resolution.text) if resolution else "",
            topics=topics,
            draft=True,
            method=METHOD,
        )


def _texts(lines: Sequence[str]) -> str:
    return "\n".join(lines)
