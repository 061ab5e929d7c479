"""T-PCI P1/P2 and topics on the REAL pipeline: faster-whisper on the espeak-ng AI calls.

``samples/ai/expected.json`` says what each call is about, which numbers are spoken where,
and where the customer opted out. The stored artefacts are decrypted and measured.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recorder.ai import AI_KINDS
from recorder.wavfmt import HEADER_SIZE, parse_header
from storage.models import ArtefactKind, State
from tests.recorder.ai.checks import card_runs, phone_runs, silent_or_tone
from tests.recorder.ai.real import EXPECTED, NAMES, AiSampleStore
from transcribe.redact import AUDIO_MARGIN_S, TOKENS

REDACTED = frozenset(TOKENS.values())


def _read(store: AiSampleStore, name: str, kind: ArtefactKind) -> bytes:
    artefact = store.vault.catalog.artefact_by_kind(store.ids[name], kind)
    assert artefact is not None and artefact.state is State.AVAILABLE, (name, kind)
    with store.vault.open_artefact(artefact.id) as reader:
        return reader.read_all()


def _transcript(store: AiSampleStore, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_read(store, name, ArtefactKind.TRANSCRIPT))
    return data


def strings(data: object) -> list[str]:
    """Every string value in a JSON document (times and scores are numbers, not text)."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for v in data.values() for s in strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in strings(v)]
    return []


def recognised_spans(transcript: dict[str, Any]) -> list[tuple[float, float]]:
    """Time spans of the redacted runs: a ``[card]``-like word and the emptied words after it."""
    spans: list[tuple[float, float]] = []
    for seg in transcript["segments"]:
        current: list[float] | None = None
        for word in seg["words"]:
            if word["text"] in REDACTED:
                if current is not None:
                    spans.append((current[0], current[1]))
                current = [word["start"], word["end"]]
            elif word["text"] == "" and current is not None:
                current[1] = word["end"]
            elif current is not None:
                spans.append((current[0], current[1]))
                current = None
        if current is not None:
            spans.append((current[0], current[1]))
    return spans


def test_every_sample_call_was_processed(ai_samples: AiSampleStore) -> None:
    for name in NAMES:
        outcome = ai_samples.outcomes[name]
        assert outcome.done, (name, outcome.reason)
        kinds = {a.kind for a in ai_samples.vault.catalog.artefacts_for(ai_samples.ids[name])
                 if a.state is State.AVAILABLE}  # fmt: skip
        assert kinds == {ArtefactKind.AUDIO, *AI_KINDS}, name


@pytest.mark.parametrize("name", NAMES)
def test_p2_no_card_or_phone_number_in_any_stored_text(
    ai_samples: AiSampleStore, name: str
) -> None:
    for kind in (ArtefactKind.TRANSCRIPT, ArtefactKind.SUMMARY, ArtefactKind.CATEGORIES):
        text = " ".join(strings(json.loads(_read(ai_samples, name, kind))))
        assert card_runs(text) == [], (name, kind)
        assert phone_runs(text) == [], (name, kind)
    for number in EXPECTED[name]["numbers"]:  # the oracle finds what was said: it can fail
        found = card_runs(number["spoken"]) + phone_runs(number["spoken"])
        assert number["digits"] in found or any(number["digits"].endswith(f) for f in found)


@pytest.mark.parametrize("name", [n for n in NAMES if EXPECTED[n]["numbers"]])
def test_p1_redacted_audio_is_silence_or_tone_over_each_recognised_span(
    ai_samples: AiSampleStore, name: str
) -> None:
    spans = recognised_spans(_transcript(ai_samples, name))  # may be none: tiny.en is weak
    redacted = _read(ai_samples, name, ArtefactKind.REDACTED_AUDIO)
    fmt, frames = parse_header(redacted[:HEADER_SIZE])
    pcm = np.frombuffer(redacted[HEADER_SIZE:], "<i2").reshape(-1, fmt.channels)
    for start, end in spans:
        a = max(0, int((start - AUDIO_MARGIN_S) * fmt.sample_rate))
        b = min(frames, int((end + AUDIO_MARGIN_S) * fmt.sample_rate))
        for ch in range(fmt.channels):
            assert silent_or_tone(pcm[a:b, ch], fmt.sample_rate), (name, start, end, ch)
    # The recognised spans cover the spoken number (file time -> time after the answer).
    offset = EXPECTED[name]["answered_offset_s"]
    for number in EXPECTED[name]["numbers"]:
        lo, hi = number["start"] - offset, number["end"] - offset
        covered = sum(max(0.0, min(hi, e + AUDIO_MARGIN_S) - max(lo, s - AUDIO_MARGIN_S))
                      for s, e in spans)  # fmt: skip
        assert covered >= 0.9 * (hi - lo), (name, number["kind"], covered, hi - lo)


def test_numbers_were_recognised_and_redacted_in_most_calls(ai_samples: AiSampleStore) -> None:
    """The recognised-span check above is not vacuous: most spoken numbers are recognised."""
    with_numbers = [n for n in NAMES if EXPECTED[n]["numbers"]]
    recognised = [n for n in with_numbers if recognised_spans(_transcript(ai_samples, n))]
    assert len(recognised) * 2 > len(with_numbers), recognised


@pytest.mark.parametrize("name", NAMES)
def test_the_intended_topic_comes_first(ai_samples: AiSampleStore, name: str) -> None:
    categories = json.loads(_read(ai_samples, name, ArtefactKind.CATEGORIES))
    assert categories, name
    assert categories[0]["topic"] == EXPECTED[name]["topic"], [c["topic"] for c in categories]


def test_mid_call_opt_out_sample_covers_nothing_after_the_point(ai_samples: AiSampleStore) -> None:
    (name,) = [n for n in NAMES if EXPECTED[n]["optout_at_ms"] is not None]
    point = EXPECTED[name]["optout_at_ms"]
    assert ai_samples.outcomes[name].covered_ms == point
    words = [w for s in _transcript(ai_samples, name)["segments"] for w in s["words"]]
    assert words and max(w["end"] for w in words) <= point / 1000
    categories = json.loads(_read(ai_samples, name, ArtefactKind.CATEGORIES))
    assert "investment_advice" not in {c["topic"] for c in categories}  # said after the point
    redacted = _read(ai_samples, name, ArtefactKind.REDACTED_AUDIO)
    fmt, frames = parse_header(redacted[:HEADER_SIZE])
    assert frames == fmt.frame_at(point)


def test_ai_artefacts_carry_the_ai_30d_expiry(ai_samples: AiSampleStore) -> None:
    for name in NAMES:
        rec = ai_samples.vault.catalog.get_recording(ai_samples.ids[name])
        assert rec.answered_at is not None
        expiry = rec.answered_at + timedelta(days=30)
        assert rec.retention_class == "ai_30d" and rec.expires_at == expiry
        for artefact in ai_samples.vault.catalog.artefacts_for(rec.id):
            assert artefact.expires_at == expiry, (name, artefact.kind)


def test_no_plaintext_file_was_written_while_processing(ai_samples: AiSampleStore) -> None:
    blobs = (ai_samples.home / "blobs").resolve()
    assert ai_samples.writes, "the watch saw nothing: it could not fail"
    for written in ai_samples.writes:
        path = Path(written).resolve()
        assert path.is_relative_to(blobs) or path.name.startswith("catalog.db"), written
    assert ai_samples.tmp_after == []
