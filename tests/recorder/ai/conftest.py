"""Fixtures for the AI path: a scripted speech engine that "hears" known words at known
times, and calls captured with (or without) the AI notice into the real store.

The scripted engine is the transcribe package's own twin (``ScriptedEngine``); it only
returns words that end inside the audio it was handed, so cutting the audio at an opt-out
point really removes what was said after it, as with the real engine.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable
from datetime import datetime

import numpy as np
import pytest

from recorder.ai import AiPipeline
from recorder.ai_config import AiSettings
from recorder.capture import Capturer
from recorder.config import Config, parse_config
from recorder.models import CallEvent
from tests.recorder.ai.real import AiSampleStore, ai_sample_store
from tests.recorder.conftest import ORG_CHART, MakeCall, write_wav
from transcribe.engine import SAMPLE_RATE, ScriptedEngine
from transcribe.models import Segment, Transcript, Word

DIGITS = "zero one two three four five six seven eight nine".split()
#: The public Luhn-valid test card number and a Norwegian mobile number (fictional).
CARD = "4111111111111111"
PHONE = "91234567"

Said = tuple[str, float]  # (word, start second)


def spoken(text: str, start: float, step: float = 0.3) -> list[Said]:
    """Words of ``text`` said ``step`` seconds apart from ``start`` (digits become words)."""
    out: list[Said] = []
    t = start
    for token in text.split():
        for word in [DIGITS[int(d)] for d in token] if token.isdigit() else [token]:
            out.append((word, round(t, 3)))
            t += step
    return out


#: What each channel of the scripted call says (seconds from the answer).
AGENT: list[Said] = spoken("Welcome to Nordbank how can I help", 0.2) + spoken(
    "Thank you your card is blocked and a new card is on its way", 12.9
)
CUSTOMER: list[Said] = (
    spoken("my card number is", 2.4)
    + spoken(CARD, 3.7)
    + spoken("and my phone is", 8.8)
    + spoken(PHONE, 10.1)
)
#: Audio long enough for everything above (the stored audio starts at the answer).
CALL_SECONDS = 19.0
ANSWER_AFTER = 1.0


def scripted_pcm(rate: int = 8000, seed: int = 11) -> bytes:
    """The scripted call's audio: each channel loud (seeded noise) only while its speaker
    says a word (with 0.1 s either side), digital silence otherwise, like a dual-channel
    PBX recording. The file starts ``ANSWER_AFTER`` before the words' time zero."""
    draw = np.random.default_rng(seed)
    frames = int(CALL_SECONDS * rate)
    pcm = np.zeros((frames, 2), dtype="<i2")
    for ch, words in enumerate((AGENT, CUSTOMER)):
        for _, start in words:
            a = int((ANSWER_AFTER + start - 0.1) * rate)
            b = int((ANSWER_AFTER + start + 0.35) * rate)
            pcm[a:b, ch] = draw.integers(-20000, 20000, b - a)
    return pcm.tobytes()


def _segments(words: list[Said], speaker: str | None, limit: float) -> list[Segment]:
    """The words heard before ``limit``, one segment per stretch without a pause > 1 s."""
    heard = [Word(text=w, start=s, end=s + 0.25, probability=0.9) for w, s in words
             if s + 0.25 <= limit]  # fmt: skip
    groups: list[list[Word]] = []
    for word in heard:
        if groups and word.start - groups[-1][-1].end <= 1.0:
            groups[-1].append(word)
        else:
            groups.append([word])
    return [Segment(start=g[0].start, end=g[-1].end, text=" ".join(w.text for w in g),
                    words=tuple(g), speaker=speaker) for g in groups]  # fmt: skip


def script(audio: np.ndarray, language: str | None, speaker: str | None) -> Transcript:
    """The scripted "recognition": the words of the speaker's channel heard in ``audio``."""
    limit = audio.size / SAMPLE_RATE
    if speaker == "agent":
        segments = tuple(_segments(AGENT, speaker, limit))
    elif speaker == "customer":
        segments = tuple(_segments(CUSTOMER, speaker, limit))
    else:  # one mixed channel: both speakers' words, in time order, unlabelled
        segments = tuple(_segments(sorted(AGENT + CUSTOMER, key=lambda w: w[1]), None, limit))
    return Transcript(language=language or "en", duration=round(limit, 3),
                      segments=segments, model="scripted")  # fmt: skip


#: The recorder tests' org chart plus a QA reviewer, a DPO and a second QA reviewer.
AI_ORG_CHART = (
    ORG_CHART
    + """
[[users]]
id = "qa1"
roles = ["qa_reviewer"]
[[users]]
id = "qa2"
roles = ["qa_reviewer"]
[[users]]
id = "dpo1"
roles = ["dpo"]
"""
)


@pytest.fixture
def config() -> Config:
    """The recorder org chart (siri leads anna) plus qa1, qa2 and dpo1."""
    return parse_config(tomllib.loads(AI_ORG_CHART))


@pytest.fixture
def engine() -> ScriptedEngine:
    return ScriptedEngine(script)


@pytest.fixture
def settings() -> AiSettings:
    return AiSettings(redaction_fill="tone")


@pytest.fixture
def pipeline(capturer: Capturer, settings: AiSettings, engine: ScriptedEngine) -> AiPipeline:
    return AiPipeline(capturer.vault, settings, engine)


CaptureAi = Callable[..., str]


@pytest.fixture
def capture_ai(
    capturer: Capturer, make_call: MakeCall, now: datetime, rng: Callable[[int], bytes]
) -> CaptureAi:
    """Capture a dual-channel call (notice given unless told otherwise); its recording id."""

    def capture(
        *, notice: bool = True, optout_at_ms: int | None = None, language: str = "en",
        **kw: object,
    ) -> str:  # fmt: skip
        kw.setdefault("seconds", CALL_SECONDS)
        kw.setdefault("answer_after", ANSWER_AFTER)
        kw.setdefault("channels", 2)
        event: CallEvent = make_call(**kw)
        if kw["channels"] == 2 and kw["seconds"] == CALL_SECONDS:
            write_wav(event.audio_path, scripted_pcm(), channels=2)
        event = dataclasses.replace(event, ai_notice=notice, ai_optout_at_ms=optout_at_ms,
                                    language=language)  # fmt: skip
        return capturer.capture(event, now=now, rng=rng).recording_id

    return capture


@pytest.fixture(scope="session")
def ai_samples(tmp_path_factory: pytest.TempPathFactory) -> AiSampleStore:
    """The seven AI sample calls through the real pipeline (shared, run once)."""
    return ai_sample_store(tmp_path_factory.mktemp)
