"""Our own transcript types: the speech library's objects never leave ``engine.py``.

``Transcript`` -> ``Segment`` -> ``Word``, all frozen. Times are seconds from the start of the
audio handed to the engine. Invariants hold for every instance (checked on construction,
raising :class:`~transcribe.errors.BadTranscript`):

- every time is finite and ``>= 0``; ``start <= end``; ``0 <= probability <= 1``;
- words inside a segment and segments inside a transcript are ordered by start time.

Transcripts cross package boundaries as JSON (``to_dict`` / ``from_dict``, ``"v": 1``);
``from_dict`` is strict: exact keys, exact types (a ``bool`` is not a number), known version.
Error messages name the field position, never its text (transcripts are personal data).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from transcribe.errors import BadTranscript

VERSION: Final = 1

_LANGUAGE = re.compile(r"[a-z]{2,3}")
_TRANSCRIPT_KEYS: Final = frozenset({"v", "language", "duration", "model", "segments"})
_SEGMENT_KEYS: Final = frozenset({"start", "end", "text", "speaker", "words"})
_WORD_KEYS: Final = frozenset({"text", "start", "end", "probability"})


def _check_times(where: str, start: float, end: float) -> None:
    for name, value in (("start", start), ("end", end)):
        if not math.isfinite(value) or value < 0:
            raise BadTranscript(f"{where}.{name}: must be a finite number >= 0")
    if start > end:
        raise BadTranscript(f"{where}: start is after end")


@dataclass(frozen=True, slots=True, kw_only=True)
class Word:
    """One recognised word with its time span and the model's confidence."""

    text: str
    start: float
    end: float
    probability: float

    def __post_init__(self) -> None:
        _check_times("word", self.start, self.end)
        if not math.isfinite(self.probability) or not 0.0 <= self.probability <= 1.0:
            raise BadTranscript("word.probability: must be within [0, 1]")

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "probability": self.probability,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Segment:
    """A stretch of speech: its text, its words and, after merging channels, its speaker."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    speaker: str | None = None

    def __post_init__(self) -> None:
        _check_times("segment", self.start, self.end)
        if any(b.start < a.start for a, b in zip(self.words, self.words[1:], strict=False)):
            raise BadTranscript("segment.words: not ordered by start time")
        if self.speaker is not None and not self.speaker:
            raise BadTranscript("segment.speaker: empty label (use None for unknown)")

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "speaker": self.speaker,
            "words": [w.to_dict() for w in self.words],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Transcript:
    """What the engine heard in one stretch of audio.

    ``language`` is the code transcribed with (given or detected), ``duration`` the length
    of the audio in seconds, ``model`` the name of the model that produced it.
    """

    language: str
    duration: float
    segments: tuple[Segment, ...]
    model: str

    def __post_init__(self) -> None:
        if not _LANGUAGE.fullmatch(self.language):
            raise BadTranscript("language: expected a 2- or 3-letter lower-case code")
        if not math.isfinite(self.duration) or self.duration < 0:
            raise BadTranscript("duration: must be a finite number >= 0")
        if not self.model:
            raise BadTranscript("model: must name the model")
        if any(b.start < a.start for a, b in zip(self.segments, self.segments[1:], strict=False)):
            raise BadTranscript("segments: not ordered by start time")

    @property
    def text(self) -> str:
        """The segments' text joined with single spaces."""
        return " ".join(s.text for s in self.segments if s.text)

    @property
    def words(self) -> tuple[Word, ...]:
        """Every word in time order."""
        return tuple(w for s in self.segments for w in s.words)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict carrying ``"v": 1``."""
        return {
            "v": VERSION,
            "language": self.language,
            "duration": self.duration,
            "model": self.model,
            "segments": [s.to_dict() for s in self.segments],
        }

    @classmethod
    def from_dict(cls, data: object) -> Transcript:
        """Rebuild a transcript from :meth:`to_dict` output, or raise ``BadTranscript``."""
        obj = _mapping(data, "transcript", _TRANSCRIPT_KEYS)
        version = obj["v"]
        if type(version) is not int or version != VERSION:
            raise BadTranscript(f"transcript.v: unsupported version (this code reads v{VERSION})")
        segments = _list(obj["segments"], "transcript.segments")
        return cls(
            language=_str(obj["language"], "transcript.language"),
            duration=_number(obj["duration"], "transcript.duration"),
            model=_str(obj["model"], "transcript.model"),
            segments=tuple(
                _segment(s, f"transcript.segments[{i}]") for i, s in enumerate(segments)
            ),
        )


def _segment(data: object, where: str) -> Segment:
    obj = _mapping(data, where, _SEGMENT_KEYS)
    speaker = obj["speaker"]
    fields: dict[str, Any] = {
        "start": _number(obj["start"], f"{where}.start"),
        "end": _number(obj["end"], f"{where}.end"),
        "text": _str(obj["text"], f"{where}.text"),
        "speaker": None if speaker is None else _str(speaker, f"{where}.speaker"),
        "words": tuple(
            _word(w, f"{where}.words[{i}]")
            for i, w in enumerate(_list(obj["words"], f"{where}.words"))
        ),
    }
    try:
        return Segment(**fields)
    except BadTranscript as exc:
        raise BadTranscript(f"{where}: {exc}") from None


def _word(data: object, where: str) -> Word:
    obj = _mapping(data, where, _WORD_KEYS)
    fields: dict[str, Any] = {
        "text": _str(obj["text"], f"{where}.text"),
        "start": _number(obj["start"], f"{where}.start"),
        "end": _number(obj["end"], f"{where}.end"),
        "probability": _number(obj["probability"], f"{where}.probability"),
    }
    try:
        return Word(**fields)
    except BadTranscript as exc:
        raise BadTranscript(f"{where}: {exc}") from None


def _mapping(data: object, where: str, keys: frozenset[str]) -> Mapping[str, object]:
    if not isinstance(data, Mapping):
        raise BadTranscript(f"{where}: expected an object")
    found = set(data)
    if found != keys:
        missing = sorted(keys - found)
        extra = len(found - keys)
        raise BadTranscript(f"{where}: missing keys {missing}, {extra} unknown key(s)")
    return data


def _list(value: object, where: str) -> list[object]:
    if not isinstance(value, list | tuple):
        raise BadTranscript(f"{where}: expected a list")
    return list(value)


def _str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise BadTranscript(f"{where}: expected a string")
    return value


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadTranscript(f"{where}: expected a number")
    result = float(value)
    if not math.isfinite(result):
        raise BadTranscript(f"{where}: expected a finite number")
    return result
