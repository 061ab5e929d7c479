"""P15: With AI, calls may be categorised automatically into predefined topics.

Each AI sample call was written about one configured topic (``samples/ai/expected.json``);
the real pipeline (faster-whisper ``tiny.en`` on the espeak-ng audio) must file it there.
Topics come only from the configuration, and the evidence is the configured phrase, never
other words of the call.
"""

from __future__ import annotations

import json

import pytest

from recorder.ai_config import parse_ai
from storage.models import ArtefactKind
from tests.recorder.ai.real import (
    EXPECTED,
    NAMES,
    AiSampleStore,
    ai_sample_store,
    read_artefact,
)
from transcribe.categorize import DEFAULT_TOPICS, categorize
from transcribe.models import Transcript


@pytest.fixture(scope="module")
def ai_samples(tmp_path_factory: pytest.TempPathFactory) -> AiSampleStore:
    return ai_sample_store(tmp_path_factory.mktemp)


@pytest.mark.parametrize("name", NAMES)
def test_each_call_is_filed_under_its_intended_topic(ai_samples: AiSampleStore, name: str) -> None:
    categories = json.loads(read_artefact(ai_samples, name, ArtefactKind.CATEGORIES))
    assert categories and categories[0]["topic"] == EXPECTED[name]["topic"]


def test_every_configured_topic_has_a_call_filed_under_it(ai_samples: AiSampleStore) -> None:
    """Issue 7: a sample call about each configured topic, and each is heard as such."""
    configured = {t.name for t in DEFAULT_TOPICS}
    assert {EXPECTED[name]["topic"] for name in NAMES} == configured
    firsts = {
        json.loads(read_artefact(ai_samples, name, ArtefactKind.CATEGORIES))[0]["topic"]
        for name in NAMES
    }
    assert firsts == configured


def test_only_predefined_topics_and_configured_phrases_appear(ai_samples: AiSampleStore) -> None:
    configured = {t.name: {p for ps in t.phrases.values() for p in ps} for t in DEFAULT_TOPICS}
    for name in NAMES:
        for category in json.loads(read_artefact(ai_samples, name, ArtefactKind.CATEGORIES)):
            assert category["topic"] in configured
            for evidence in category["evidence"]:
                assert evidence["phrase"] in configured[category["topic"]]


def test_the_topics_are_the_ones_the_operator_configured(ai_samples: AiSampleStore) -> None:
    only = parse_ai({"topics": {"lost_card": {"en": ["lost my card"]}}}).topics
    transcript = Transcript.from_dict(
        json.loads(read_artefact(ai_samples, "ai-01", ArtefactKind.TRANSCRIPT))
    )
    assert [c.topic for c in categorize(transcript, only)] == ["lost_card"]
    assert categorize(transcript, parse_ai({"topics": {"x": {"en": ["pension"]}}}).topics) == ()
