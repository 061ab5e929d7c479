"""Transcript / Segment / Word: invariants, JSON round trip and strict ``from_dict``."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transcribe.errors import BadTranscript, TranscribeError
from transcribe.models import VERSION, Segment, Transcript, Word

SPOKEN_CARD = "my card is 4111 1111 1111 1111"

times = st.floats(min_value=0.0, max_value=1e5, allow_nan=False, allow_infinity=False)
lengths = st.floats(min_value=0.0, max_value=60.0, allow_nan=False, allow_infinity=False)
probabilities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
labels = st.one_of(st.none(), st.text(min_size=1, max_size=12))


@st.composite
def word_lists(draw: st.DrawFn) -> tuple[Word, ...]:
    starts = sorted(draw(st.lists(times, max_size=6)))
    return tuple(
        Word(text=draw(st.text(max_size=10)), start=s, end=s + draw(lengths), probability=p)
        for s, p in zip(
            starts,
            draw(st.lists(probabilities, min_size=len(starts), max_size=len(starts))),
            strict=True,
        )
    )


@st.composite
def transcripts(draw: st.DrawFn) -> Transcript:
    starts = sorted(draw(st.lists(times, max_size=5)))
    segments = tuple(
        Segment(
            start=s,
            end=s + draw(lengths),
            text=draw(st.text(max_size=40)),
            words=draw(word_lists()),
            speaker=draw(labels),
        )
        for s in starts
    )
    return Transcript(
        language=draw(st.sampled_from(["en", "sv", "no", "da", "fi", "haw"])),
        duration=draw(times),
        segments=segments,
        model=draw(st.text(min_size=1, max_size=20)),
    )


def sample() -> Transcript:
    return Transcript(
        language="en",
        duration=10.0,
        model="tiny.en",
        segments=(
            Segment(
                start=1.0,
                end=2.5,
                text=SPOKEN_CARD,
                speaker="customer",
                words=(
                    Word(text="my", start=1.0, end=1.2, probability=0.9),
                    Word(text="card", start=1.2, end=1.6, probability=0.8),
                ),
            ),
            Segment(start=3.0, end=4.0, text="thanks", speaker=None, words=()),
        ),
    )


@given(transcripts())
def test_round_trip_through_json(t: Transcript) -> None:
    data = t.to_dict()
    assert data["v"] == VERSION == 1
    again = Transcript.from_dict(json.loads(json.dumps(data)))
    assert again == t
    assert again.to_dict() == data


def test_to_dict_shape() -> None:
    data = sample().to_dict()
    assert list(data) == ["v", "language", "duration", "model", "segments"]
    assert data["segments"][0] == {
        "start": 1.0,
        "end": 2.5,
        "text": SPOKEN_CARD,
        "speaker": "customer",
        "words": [
            {"text": "my", "start": 1.0, "end": 1.2, "probability": 0.9},
            {"text": "card", "start": 1.2, "end": 1.6, "probability": 0.8},
        ],
    }


def test_text_and_words_helpers() -> None:
    t = sample()
    assert t.text == f"{SPOKEN_CARD} thanks"
    assert [w.text for w in t.words] == ["my", "card"]


def test_objects_are_frozen() -> None:
    t = sample()
    with pytest.raises(AttributeError):
        t.language = "sv"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        t.segments[0].words[0].start = 5.0  # type: ignore[misc]


Mutation = Callable[[dict[str, Any]], object]


def _set(path: tuple[str | int, ...], value: object) -> Mutation:
    def mutate(d: dict[str, Any]) -> object:
        target: Any = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return d

    return mutate


def _delete(path: tuple[str | int, ...]) -> Mutation:
    def mutate(d: dict[str, Any]) -> object:
        target: Any = d
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        return d

    return mutate


BAD: dict[str, Mutation] = {
    "not an object": lambda d: [d],
    "none": lambda d: None,
    "version 2": _set(("v",), 2),
    "version 0": _set(("v",), 0),
    "version as string": _set(("v",), "1"),
    "version as bool": _set(("v",), True),
    "version as float": _set(("v",), 1.0),
    "no version": _delete(("v",)),
    "unknown top-level key": _set(("text",), SPOKEN_CARD),
    "missing segments": _delete(("segments",)),
    "segments not a list": _set(("segments",), {"0": {}}),
    "language upper case": _set(("language",), "EN"),
    "language empty": _set(("language",), ""),
    "language not a string": _set(("language",), 7),
    "duration as string": _set(("duration",), "10"),
    "duration as bool": _set(("duration",), True),
    "duration negative": _set(("duration",), -1.0),
    "duration NaN": _set(("duration",), math.nan),
    "duration infinite": _set(("duration",), math.inf),
    "model empty": _set(("model",), ""),
    "model missing": _delete(("model",)),
    "segment not an object": _set(("segments", 0), SPOKEN_CARD),
    "segment start after end": _set(("segments", 0, "start"), 3.0),
    "segment negative start": _set(("segments", 0, "start"), -0.5),
    "segment text not a string": _set(("segments", 0, "text"), None),
    "segment speaker empty": _set(("segments", 0, "speaker"), ""),
    "segment speaker a number": _set(("segments", 0, "speaker"), 1),
    "segment extra key": _set(("segments", 0, "extra"), SPOKEN_CARD),
    "segment missing words": _delete(("segments", 0, "words")),
    "segments out of order": _set(("segments", 1, "start"), 0.5),
    "word missing probability": _delete(("segments", 0, "words", 0, "probability")),
    "word probability above 1": _set(("segments", 0, "words", 0, "probability"), 1.5),
    "word probability as string": _set(("segments", 0, "words", 0, "probability"), "0.5"),
    "word end before start": _set(("segments", 0, "words", 1, "end"), 1.1),
    "words out of order": _set(("segments", 0, "words", 1, "start"), 0.5),
    "word text not a string": _set(("segments", 0, "words", 0, "text"), b"my"),
    "words not a list": _set(("segments", 0, "words"), "my card"),
}


@pytest.mark.parametrize("mutate", BAD.values(), ids=BAD.keys())
def test_from_dict_rejects(mutate: Mutation) -> None:
    data = mutate(copy.deepcopy(sample().to_dict()))
    with pytest.raises(BadTranscript) as info:
        Transcript.from_dict(data)
    assert isinstance(info.value, TranscribeError)
    assert "4111" not in str(info.value)  # messages name positions, never transcript text


def test_from_dict_names_the_position() -> None:
    data = sample().to_dict()
    data["segments"][0]["words"][1]["end"] = "late"
    with pytest.raises(BadTranscript, match=r"segments\[0\]\.words\[1\]\.end"):
        Transcript.from_dict(data)


def test_from_dict_says_which_version_it_reads() -> None:
    data = sample().to_dict()
    data["v"] = 2
    with pytest.raises(BadTranscript, match="unsupported version"):
        Transcript.from_dict(data)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Word(text="a", start=2.0, end=1.0, probability=0.5),
        lambda: Word(text="a", start=math.nan, end=1.0, probability=0.5),
        lambda: Word(text="a", start=0.0, end=1.0, probability=-0.1),
        lambda: Segment(start=0.0, end=math.inf, text="a"),
        lambda: Segment(start=0.0, end=1.0, text="a", speaker=""),
        lambda: Transcript(language="english", duration=1.0, segments=(), model="m"),
        lambda: Transcript(language="en", duration=-1.0, segments=(), model="m"),
        lambda: Transcript(language="en", duration=1.0, segments=(), model=""),
    ],
)
def test_constructors_enforce_invariants(build: Callable[[], object]) -> None:
    with pytest.raises(BadTranscript):
        build()
