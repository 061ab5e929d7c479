"""Topic categories from configured phrases, with evidence spans (and only the phrase)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.transcribe.test_redact import transcript
from transcribe.categorize import (
    DEFAULT_TOPICS,
    Category,
    Evidence,
    Topic,
    categorize,
    parse_topics,
)
from transcribe.errors import BadTopics, TranscribeError
from transcribe.models import Segment, Transcript
from transcribe.redact import redact

TABLE = {
    "card_block": {"en": ["block my card", "lost my card"], "sv": ["spärra kortet"]},
    "address_change": {"en": ["new address", "moved*"], "nb": ["ny adresse"]},
}


def test_parse_topics() -> None:
    topics = parse_topics(TABLE)
    assert [t.name for t in topics] == ["card_block", "address_change"]
    assert topics[0].phrases["en"] == ("block my card", "lost my card")
    assert topics[1].phrases_for("no") == ("ny adresse",)
    assert topics[1].phrases_for("nn") == ("ny adresse",)
    assert topics[1].phrases_for("fi") == ()


def test_phrases_are_normalised() -> None:
    (topic,) = parse_topics({"complaint": {"en": ["  Speak to a MANAGER! "]}})
    assert topic.phrases["en"] == ("speak to a manager",)


@pytest.mark.parametrize(
    ("table", "path"),
    [
        ([], "ai.topics"),
        ({}, "ai.topics"),
        ({"Card Block": {"en": ["x"]}}, "ai.topics.Card Block"),
        ({"card": "block"}, "ai.topics.card"),
        ({"card": {}}, "ai.topics.card"),
        ({"card": {"english": ["block"]}}, "ai.topics.card.english"),
        ({"card": {"en": "block"}}, "ai.topics.card.en"),
        ({"card": {"en": []}}, "ai.topics.card.en"),
        ({"card": {"en": ["block", 3]}}, "ai.topics.card.en[1]"),
        ({"card": {"en": ["block", "  !! "]}}, "ai.topics.card.en[1]"),
        ({"card": {"en": ["call 4111"]}}, "ai.topics.card.en[0]"),
    ],
)
def test_bad_topic_tables_name_the_path(table: Any, path: str) -> None:
    with pytest.raises(BadTopics) as info:
        parse_topics(table)
    assert str(info.value).startswith(path + ":")
    assert isinstance(info.value, TranscribeError)


def test_phrase_text_never_appears_in_errors() -> None:
    with pytest.raises(BadTopics) as info:
        parse_topics({"card": {"en": ["secret phrase 1234"]}})
    assert "secret" not in str(info.value)


def test_categorize_finds_topics_with_evidence() -> None:
    t = transcript(
        ("agent", "how can I help"),
        ("customer", "I lost my card, please block my card"),
        ("agent", "done. Have you moved recently?"),
    )
    cats = categorize(t, parse_topics(TABLE))
    assert [c.topic for c in cats] == ["card_block", "address_change"]
    card = cats[0]
    assert card.score == 1.0  # two 3-word phrases
    assert [e.phrase for e in card.evidence] == ["lost my card", "block my card"]
    words = t.segments[1].words
    assert card.evidence[0] == Evidence(1, words[1].start, words[3].end, "lost my card")
    assert cats[1].evidence[0].phrase == "moved*"
    assert 0 < cats[1].score < 1


def test_no_match_no_category() -> None:
    assert categorize(transcript(("agent", "hello there")), parse_topics(TABLE)) == ()


def test_language_picks_phrases_and_falls_back_to_english() -> None:
    topics = parse_topics(TABLE)
    sv = transcript(("customer", "jag vill spärra kortet"), language="sv")
    assert [c.topic for c in categorize(sv, topics)] == ["card_block"]
    no = transcript(("customer", "I have a new address"), language="fi")
    assert [c.topic for c in categorize(no, topics)] == ["address_change"]  # no fi phrases


def test_speakers_filter() -> None:
    t = transcript(
        ("agent", "did you lose your card? block my card is what you said"), ("customer", "yes")
    )
    topics = parse_topics(TABLE)
    assert categorize(t, topics, speakers=("customer",)) == ()
    assert categorize(t, topics, speakers=("agent",))


def test_segments_without_words_use_the_segment_span() -> None:
    seg = Segment(start=1.0, end=3.0, text="Please block my card.", words=(), speaker="customer")
    t = Transcript(language="en", duration=4.0, segments=(seg,), model="m")
    (cat,) = categorize(t, parse_topics(TABLE))
    assert cat.evidence == (Evidence(0, 1.0, 3.0, "block my card"),)


def test_evidence_never_points_at_a_redacted_number() -> None:
    t = transcript(("customer", "block my card it is 4111 1111 1111 1111"))
    (cat,) = categorize(redact(t).transcript, parse_topics(TABLE))
    assert all("4111" not in e.phrase for e in cat.evidence)
    assert cat.to_dict()["evidence"][0]["phrase"] == "block my card"


def test_default_topics_cover_five_languages() -> None:
    names = [t.name for t in DEFAULT_TOPICS]
    assert len(names) == len(set(names)) >= 7
    for topic in DEFAULT_TOPICS:
        assert set(topic.phrases) == {"en", "no", "sv", "da", "fi"}, topic.name
        # the defaults survive the same validation as configured topics
        assert parse_topics({topic.name: {k: list(v) for k, v in topic.phrases.items()}}) == (
            topic,
        )


@pytest.mark.parametrize(
    ("language", "text", "topic"),
    [
        ("en", "I want to dispute a payment, I was charged twice", "payment_dispute"),
        ("no", "jeg har flyttet og trenger ny adresse", "address_change"),
        ("sv", "jag vill spärra kortet, det är stulet", "card_block"),
        ("da", "jeg vil gerne høre om et boliglån og renten", "loan_enquiry"),
        ("fi", "haluaisin sijoittaa rahastoon", "investment_advice"),
        ("en", "where is my parcel, it has not arrived", "parcel_tracking"),
        ("en", "I want to make a complaint", "complaint"),
    ],
)
def test_default_topics_find_their_calls(language: str, text: str, topic: str) -> None:
    cats = categorize(transcript(("customer", text), language=language), DEFAULT_TOPICS)
    assert cats and cats[0].topic == topic


def test_categories_are_plain_data() -> None:
    cat = Category("x", 0.5, (Evidence(0, 1.0, 2.0, "p"),))
    assert cat.to_dict() == {
        "topic": "x",
        "score": 0.5,
        "evidence": [{"segment": 0, "start": 1.0, "end": 2.0, "phrase": "p"}],
    }
    assert Topic("x", {"en": ("a",)}).phrases_for("en") == ("a",)
