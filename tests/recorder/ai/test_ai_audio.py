"""Redacted audio, measured: spans filled exactly (plus margin) and nothing else touched,
and the conservative extra fills for numbers the recogniser did not write down."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recorder.ai_audio import (
    fill_spans,
    number_fragments,
    repetition_loops,
    sample_ranges,
    unheard,
)
from recorder.wavfmt import PcmFormat
from tests.recorder.ai.checks import dbfs, tone_purity
from transcribe.models import Word

RATE = 8000
FMT = PcmFormat(sample_rate=RATE, channels=2)


def _noise(seconds: float, seed: int = 3) -> bytes:
    draw = np.random.default_rng(seed)
    return draw.integers(-20000, 20000, (int(seconds * RATE), 2)).astype("<i2").tobytes()


def _words(text: str, start: float = 0.0, step: float = 0.3) -> list[Word]:
    return [Word(text=t, start=start + i * step, end=start + i * step + 0.25, probability=0.9)
            for i, t in enumerate(text.split())]  # fmt: skip


def test_tone_fill_is_a_pure_1khz_beep_and_silence_is_digital_zero() -> None:
    pcm = _noise(3.0)
    for fill in ("tone", "silence"):
        out = fill_spans(pcm, FMT, [(1.0, 1.5)], fill=fill, margin_s=0.25)
        assert len(out) == len(pcm)
        x = np.frombuffer(out, "<i2").reshape(-1, 2)
        span = x[int(0.75 * RATE) : int(1.75 * RATE)]
        for ch in range(2):
            if fill == "tone":
                assert tone_purity(span[:, ch], RATE) > 0.999 and -16 < dbfs(span[:, ch]) < -12
            else:
                assert dbfs(span[:, ch]) == -np.inf
    with pytest.raises(ValueError):
        fill_spans(pcm, FMT, [], fill="beep", margin_s=0.25)


@given(
    spans=st.lists(
        st.tuples(st.floats(0, 2.0), st.floats(0, 1.0)).map(lambda t: (t[0], t[0] + t[1])),
        max_size=5,
    ),
    margin=st.floats(0, 0.5),
)
def test_only_the_widened_spans_change(spans: list[tuple[float, float]], margin: float) -> None:
    pcm = _noise(2.5)
    out = np.frombuffer(fill_spans(pcm, FMT, spans, fill="silence", margin_s=margin), "<i2")
    src = np.frombuffer(pcm, "<i2")
    frames = src.size // 2
    mask = np.zeros(frames, dtype=bool)
    for a, b in sample_ranges(spans, rate=RATE, frames=frames, margin_s=margin):
        mask[a:b] = True
    out2, src2 = out.reshape(-1, 2), src.reshape(-1, 2)
    assert np.array_equal(out2[~mask], src2[~mask])
    assert not out2[mask].any()


def test_number_fragments_and_loops_are_found_in_the_words() -> None:
    words = _words("I want to 3, 4, 5, 6, 7. Thanks")
    (span,) = number_fragments(words, languages=("en",))
    assert span == (words[2].start, words[7].end)  # "to" (weak "two") joins the run
    assert number_fragments(_words("call me at five"), languages=("en",)) == []
    loop = _words("my card is time time time time time for")
    assert repetition_loops(loop) == [(loop[3].start, loop[7].end)]
    assert repetition_loops(_words("no no no")) == []


def test_speech_no_word_covers_is_found() -> None:
    x = np.zeros(3 * RATE, dtype=np.int16)
    x[int(0.5 * RATE) : int(2.5 * RATE)] = 10000  # 2 s of "speech"
    words = _words("hello there", start=0.5)  # 0.5 .. 1.05, covering 0.2 .. 1.35 with slack
    (gap,) = unheard(x, RATE, words)
    assert gap == (pytest.approx(1.35, abs=0.02), pytest.approx(2.5, abs=0.02))
    assert unheard(x, RATE, _words(" ".join(["w"] * 7), start=0.5)) == []
