"""The AI sample calls (``samples/ai/``) through real faster-whisper, redaction, topics, summary.

Each call is transcribed once per session with the default tiny.en model (per channel, then
merged into agent/customer turns, like ``test_engine.py``). On those real transcripts:

- T-PCI P2: after redaction, 0 Luhn-valid 13-19 digit runs and 0 phone-length runs, by the
  independent oracle in ``pci_oracle.py`` -- and the raw transcripts DID hold such runs, so
  the check can fail;
- every spoken number's time span (exact, from the generator) lies inside a redacted span
  widened by the audio margin (``AUDIO_MARGIN_S`` = 0.25 s);
- the intended topic is the best category; in the opt-out call it is found in what was said
  before the opt-out, and the topic spoken only after it is not;
- the draft summary is built from the redaction and holds no number.

Measured (tiny.en int8, 2 threads, 2 shared cores): card calls come out as ``"42, 42, ..."``
and ``"5, 5, 5, ..."``, the phone as ``"plus 46, 823, 45, 6, 8"``; whisper's first digit
starts up to 0.56 s late (the preceding word swallows it), which ``WORD_SLACK_S`` absorbs.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import wave
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from recorder.ingest.sidecar import parse_sidecar
from tests.transcribe.pci_oracle import card_runs, phone_runs
from transcribe.audio import merge_turns, pcm16_to_channels
from transcribe.categorize import DEFAULT_TOPICS, categorize
from transcribe.engine import WhisperEngine
from transcribe.models import Transcript
from transcribe.redact import AUDIO_MARGIN_S, Redaction, padded, redact
from transcribe.summarize import ExtractiveSummarizer, Summary

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "ai"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text("utf-8"))
CALLS = {c["file"]: c for c in EXPECTED["calls"]}
WITH_NUMBERS = [name for name, c in CALLS.items() if c["numbers"]]


@dataclass(frozen=True)
class Heard:
    transcript: Transcript
    redaction: Redaction
    summary: Summary


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "callrec_ai_samples_generate", SAMPLES / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def ai_heard() -> dict[str, Heard]:
    """Every AI sample call transcribed once (real tiny.en), redacted, categorised, summarised."""
    engine = WhisperEngine()
    engine.load()
    out: dict[str, Heard] = {}
    for name in CALLS:
        with wave.open(str(SAMPLES / name), "rb") as w:
            channels = pcm16_to_channels(
                w.readframes(w.getnframes()),
                sample_rate=w.getframerate(),
                channels=w.getnchannels(),
            )
        per_channel = {
            role: engine.transcribe(audio, language="en", speaker=role)
            for role, audio in zip(("agent", "customer"), channels, strict=True)
        }
        transcript = merge_turns(per_channel)
        redaction = redact(transcript, languages=("en",))
        categories = categorize(redaction.transcript, DEFAULT_TOPICS)
        out[name] = Heard(
            transcript, redaction, ExtractiveSummarizer().summarize(redaction, categories)
        )
    return out


def test_samples_are_well_formed() -> None:
    assert _generator().check() == []
    assert {c["topic"] for c in CALLS.values()} == {t.name for t in DEFAULT_TOPICS}
    for name in CALLS:
        sidecar = (SAMPLES / name).with_suffix(".json")
        event = parse_sidecar(sidecar.read_bytes(), SAMPLES / name)
        assert event.ai and event.ai_notice and event.channels == ("agent", "customer")
        assert event.ai_optout_at_ms == CALLS[name]["optout_at_ms"]


@pytest.mark.parametrize("name", WITH_NUMBERS)
def test_raw_transcripts_hold_the_numbers(ai_heard: dict[str, Heard], name: str) -> None:
    """Without redaction the oracle finds the spoken number: the P2 check below can fail."""
    raw = ai_heard[name].transcript.text
    assert phone_runs(raw), "whisper did not hear the number: the sample no longer tests redaction"


@pytest.mark.parametrize("name", list(CALLS))
def test_p2_no_card_or_phone_after_redaction(ai_heard: dict[str, Heard], name: str) -> None:
    heard = ai_heard[name]
    for text in (heard.redaction.text, *(w.text for w in heard.redaction.transcript.words)):
        assert card_runs(text) == []
        assert phone_runs(text) == []


@pytest.mark.parametrize("name", WITH_NUMBERS)
def test_spoken_number_spans_are_covered(ai_heard: dict[str, Heard], name: str) -> None:
    heard = ai_heard[name]
    silenced = padded(heard.redaction.spans, pad=AUDIO_MARGIN_S, duration=heard.transcript.duration)
    for number in CALLS[name]["numbers"]:
        assert any(s.start <= number["start"] and number["end"] <= s.end for s in silenced), (
            number["start"],
            number["end"],
            silenced,
        )


@pytest.mark.parametrize("name", [n for n, c in CALLS.items() if c["optout_s"] is None])
def test_intended_topic_is_the_best_category(ai_heard: dict[str, Heard], name: str) -> None:
    cats = categorize(ai_heard[name].redaction.transcript, DEFAULT_TOPICS)
    assert cats and cats[0].topic == CALLS[name]["topic"]


def _before(transcript: Transcript, cut: float) -> Transcript:
    """The transcript as if transcription had stopped at ``cut`` seconds (words kept whole)."""
    segments = []
    for seg in transcript.segments:
        words = tuple(w for w in seg.words if w.start < cut)
        if words:
            segments.append(
                replace(
                    seg,
                    words=words,
                    end=min(seg.end, words[-1].end),
                    text=" ".join(w.text for w in words),
                )
            )
    return replace(transcript, segments=tuple(segments))


def test_optout_call_topic_before_and_after(ai_heard: dict[str, Heard]) -> None:
    (name,) = [n for n, c in CALLS.items() if c["optout_s"] is not None]
    call = CALLS[name]
    full = categorize(ai_heard[name].redaction.transcript, DEFAULT_TOPICS)
    before = categorize(
        _before(ai_heard[name].redaction.transcript, call["optout_s"]), DEFAULT_TOPICS
    )
    assert [c.topic for c in before] == [call["topic"]]
    # everything heard after the opt-out is gone from what the categoriser saw
    assert all(e.end <= call["optout_s"] + 0.5 for c in before for e in c.evidence)
    assert len(_before(ai_heard[name].transcript, call["optout_s"]).words) < len(
        ai_heard[name].transcript.words
    )
    # investment talk comes only after the opt-out: heard in the whole call, not before it
    assert "investment_advice" in [c.topic for c in full]
    assert "investment_advice" not in [c.topic for c in before]


@pytest.mark.parametrize("name", list(CALLS))
def test_summary_is_built_from_redacted_text(ai_heard: dict[str, Heard], name: str) -> None:
    heard = ai_heard[name]
    summary = heard.summary
    assert summary.draft
    for text in (summary.text, summary.request, summary.resolution):
        assert card_runs(text) == [] and phone_runs(text) == []
    redacted = heard.redaction.text
    for part in (summary.request, summary.resolution):
        assert part.rstrip(" …") in redacted  # quoted from the redacted transcript
    assert (
        summary.topics
        and summary.topics[0] == categorize(heard.redaction.transcript, DEFAULT_TOPICS)[0].topic
    )


def test_summarizer_refuses_the_raw_transcript(ai_heard: dict[str, Heard]) -> None:
    raw: Any = ai_heard[WITH_NUMBERS[0]].transcript
    with pytest.raises(TypeError):
        ExtractiveSummarizer().summarize(raw, [])
