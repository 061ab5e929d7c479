"""Draft summaries: built from a Redaction only, deterministic, strict JSON form."""

from __future__ import annotations

from typing import Any

import pytest

from tests.transcribe.pci_oracle import card_runs, phone_runs
from tests.transcribe.test_redact import transcript
from transcribe.categorize import DEFAULT_TOPICS, categorize
from transcribe.errors import BadSummary, TranscribeError
from transcribe.redact import Redaction, redact
from transcribe.summarize import METHOD, ExtractiveSummarizer, Summarizer, Summary

CALL = transcript(
    ("agent", "Good morning, Nordbank, how can I help?"),
    (
        "customer",
        "Hi. I lost my card and want to block my card. The number is 4111 1111 1111 1111.",
    ),
    ("agent", "Thank you. Can you confirm your phone number?"),
    ("customer", "It is plus four seven nine one two three four five six seven."),
    ("agent", "Thanks. I have blocked the card and a new one is on its way. Anything else?"),
    ("customer", "No, thanks, bye."),
)


def summarize(t: Any = CALL) -> Summary:
    redacted = redact(t)
    return ExtractiveSummarizer().summarize(
        redacted, categorize(redacted.transcript, DEFAULT_TOPICS)
    )


def test_request_resolution_topics() -> None:
    summary = summarize()
    assert summary.request == "I lost my card and want to block my card."
    assert summary.resolution == "I have blocked the card and a new one is on its way."
    assert summary.topics == ("card_block",)
    assert summary.draft is True and summary.method == METHOD == "extractive-v1"
    assert summary.text.splitlines()[0] == "Customer: I lost my card and want to block my card."
    assert summary.text.splitlines()[-1] == "Topics: card_block."


def test_summary_holds_no_number() -> None:
    summary = summarize()
    for text in (summary.text, summary.request, summary.resolution):
        assert card_runs(text) == [] and phone_runs(text) == []


def test_deterministic() -> None:
    assert summarize() == summarize()


@pytest.mark.parametrize("raw", ["I lost my card 4111 1111 1111 1111", CALL, CALL.to_dict(), None])
def test_only_a_redaction_is_accepted(raw: Any) -> None:
    with pytest.raises(TypeError):
        ExtractiveSummarizer().summarize(raw, [])


def test_a_hand_built_redaction_is_redacted_again() -> None:
    smuggled = Redaction(transcript=CALL, spans=())  # claims to be redacted, is not
    summary = ExtractiveSummarizer().summarize(smuggled, [])
    assert card_runs(summary.text) == [] and phone_runs(summary.text) == []
    assert "[card]" not in summary.request  # the request sentence is the one before the number


def test_unlabelled_transcript_still_summarises() -> None:
    t = transcript(
        ("x", "hello"),
        ("y", "I would like to change my address please"),
        ("x", "I have updated your address now"),
    )
    plain = type(t)(
        language="en",
        duration=t.duration,
        model="m",
        segments=tuple(
            s.__class__(start=s.start, end=s.end, text=s.text, words=s.words) for s in t.segments
        ),
    )
    summary = ExtractiveSummarizer().summarize(redact(plain), [])
    assert summary.request == "I would like to change my address please"
    assert summary.resolution == "I have updated your address now"
    assert summary.topics == ()


def test_empty_call() -> None:
    summary = ExtractiveSummarizer().summarize(redact(transcript(("agent", "hello"))), [])
    assert (summary.request, summary.resolution, summary.text) == ("", "", "")


def test_long_sentences_are_clipped() -> None:
    long = "I would like " + "very " * 60 + "much to block my card."
    summary = summarize(transcript(("customer", long)))
    assert len(summary.request.split()) == 41 and summary.request.endswith("…")


def test_is_a_summarizer() -> None:
    s: Summarizer = ExtractiveSummarizer()
    assert isinstance(s.summarize(redact(CALL), []), Summary)


def test_round_trip() -> None:
    summary = summarize()
    data = summary.to_dict()
    assert data["v"] == 1
    assert Summary.from_dict(data) == summary
    edited = Summary(
        text="t", request="r", resolution="s", topics=("a",), draft=False, method="human-edit"
    )
    assert Summary.from_dict(edited.to_dict()) == edited


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"v": 2}, "summary.v"),
        ({"v": True}, "summary.v"),
        ({"text": 3}, "summary.text"),
        ({"draft": "yes"}, "summary.draft"),
        ({"topics": "card_block"}, "summary.topics"),
        ({"topics": [1]}, "summary.topics"),
        ({"method": ""}, "summary.method"),
        ({"extra": 1}, "summary:"),
    ],
)
def test_from_dict_is_strict(change: dict[str, Any], where: str) -> None:
    data = summarize().to_dict() | change
    with pytest.raises(BadSummary) as info:
        Summary.from_dict(data)
    assert str(info.value).startswith(where)
    assert isinstance(info.value, TranscribeError)


def test_from_dict_rejects_non_objects_and_missing_keys() -> None:
    with pytest.raises(BadSummary):
        Summary.from_dict([])
    data = summarize().to_dict()
    del data["request"]
    with pytest.raises(BadSummary, match="request"):
        Summary.from_dict(data)
