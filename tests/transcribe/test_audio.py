"""PCM decoding, resampling and merging per-channel transcripts into turns."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transcribe.audio import TARGET_RATE, merge_turns, pcm16_to_channels, resample
from transcribe.errors import BadAudio, BadTranscript
from transcribe.models import Segment, Transcript, Word


def tone(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float64)


def peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / rate)[np.argmax(spectrum)])


def to_pcm(*channels: np.ndarray) -> bytes:
    frames = np.stack(channels, axis=1)
    return np.round(frames * 32767).astype("<i2").tobytes()


RATES = [8_000, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000]


@pytest.mark.parametrize("rate", RATES)
def test_resample_keeps_duration(rate: int) -> None:
    for n in (0, 1, 7, rate, 3 * rate + 17):
        out = resample(np.zeros(n), rate)
        assert out.dtype == np.float32
        assert abs(out.size / TARGET_RATE - n / rate) < 1 / TARGET_RATE


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("freq", [300.0, 1_000.0, 3_000.0])
def test_resample_keeps_a_tones_frequency_and_level(rate: int, freq: float) -> None:
    out = resample(tone(freq, rate, 2.0), rate)
    assert abs(peak_hz(out, TARGET_RATE) - freq) <= 1.0  # FFT bin = 0.5 Hz
    body = out[TARGET_RATE // 4 : -TARGET_RATE // 4]  # away from the zero-padded edges
    rms = float(np.sqrt(np.mean(body.astype(np.float64) ** 2)))
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_upsampling_8k_matches_the_ideal_signal() -> None:
    """8 kHz -> 16 kHz reconstructs the band-limited tone, not a staircase or a ramp."""
    freq = 1_234.5
    out = resample(tone(freq, 8_000, 1.0), 8_000)
    ideal = tone(freq, TARGET_RATE, 1.0)
    body = slice(800, -800)
    error = out[body] - ideal[body]
    assert float(np.max(np.abs(error))) < 2e-3  # linear interpolation would be ~0.05


def test_downsampling_removes_what_16k_cannot_hold() -> None:
    """A 12 kHz tone at 48 kHz is above the 8 kHz Nyquist limit: it must not alias in."""
    out = resample(tone(12_000, 48_000, 1.0), 48_000)
    body = out[2_000:-2_000].astype(np.float64)
    assert float(np.sqrt(np.mean(body**2))) < 0.5 / np.sqrt(2) * 1e-3  # < -60 dB


def test_pcm16_channels_are_split_scaled_and_resampled() -> None:
    agent, customer = tone(440, 8_000, 1.0, 0.8), tone(1_000, 8_000, 1.0, 0.3)
    channels = pcm16_to_channels(to_pcm(agent, customer), sample_rate=8_000, channels=2)
    assert len(channels) == 2
    for ch, freq, amp in zip(channels, (440, 1_000), (0.8, 0.3), strict=True):
        assert ch.dtype == np.float32 and ch.ndim == 1
        assert ch.size == 16_000
        assert abs(peak_hz(ch, TARGET_RATE) - freq) <= 2.0
        assert float(np.max(np.abs(ch[2000:-2000]))) == pytest.approx(amp, rel=0.01)


def test_pcm16_full_scale_and_sign() -> None:
    raw = np.array([-32768, 32767, 0, -1], dtype="<i2").tobytes()
    (mono,) = pcm16_to_channels(raw, sample_rate=16_000, channels=1)
    assert mono.tolist() == [-1.0, 32767 / 32768, 0.0, -1 / 32768]


def test_pcm16_silent_channel_stays_silent() -> None:
    speech = tone(700, 8_000, 0.5)
    agent, customer = pcm16_to_channels(
        to_pcm(speech, np.zeros_like(speech)), sample_rate=8_000, channels=2
    )
    assert float(np.max(np.abs(customer))) == 0.0
    assert float(np.max(np.abs(agent))) > 0.4


def test_pcm16_empty() -> None:
    assert [c.size for c in pcm16_to_channels(b"", sample_rate=8_000, channels=2)] == [0, 0]


@pytest.mark.parametrize(
    ("data", "rate", "channels"),
    [
        (b"\x00\x00\x00", 8_000, 1),  # half a sample
        (b"\x00\x00\x00\x00\x00\x00", 8_000, 2),  # one and a half stereo frames
        (b"", 8_000, 0),
        (b"", 0, 1),
        (b"", 999, 1),
        (b"", 8_000.0, 1),
        (b"", True, 1),
    ],
)
def test_pcm16_rejects_bad_input(data: bytes, rate: int, channels: int) -> None:
    with pytest.raises(BadAudio):
        pcm16_to_channels(data, sample_rate=rate, channels=channels)


def test_resample_rejects_bad_input() -> None:
    with pytest.raises(BadAudio):
        resample(np.zeros((10, 2)), 8_000)
    with pytest.raises(BadAudio):
        resample(np.zeros(10, dtype=np.int16), 8_000)


# --- merge_turns -------------------------------------------------------------------------


def seg(start: float, end: float, text: str) -> Segment:
    words = text.split()
    step = (end - start) / max(len(words), 1)
    return Segment(
        start=start,
        end=end,
        text=text,
        words=tuple(
            Word(text=w, start=start + i * step, end=start + (i + 1) * step, probability=0.9)
            for i, w in enumerate(words)
        ),
    )


def channel(*segments: Segment, duration: float = 30.0, language: str = "en") -> Transcript:
    return Transcript(language=language, duration=duration, segments=segments, model="tiny.en")


def test_merge_turns_orders_by_time_and_labels_speakers() -> None:
    agent = channel(seg(3.0, 7.3, "good morning"), seg(11.5, 15.6, "sorry about that"))
    customer = channel(seg(7.8, 11.1, "my card is blocked"), seg(16.3, 19.6, "nine one two"))
    merged = merge_turns({"agent": agent, "customer": customer})
    assert [(s.speaker, s.text) for s in merged.segments] == [
        ("agent", "good morning"),
        ("customer", "my card is blocked"),
        ("agent", "sorry about that"),
        ("customer", "nine one two"),
    ]
    assert merged.model == "tiny.en"
    assert merged.language == "en"
    assert [w.start for w in merged.words] == sorted(w.start for w in merged.words)


def test_merge_turns_joins_consecutive_segments_of_one_speaker() -> None:
    agent = channel(seg(0.0, 2.0, "hello"), seg(2.5, 4.0, "how can I help"), seg(9.0, 10.0, "ok"))
    customer = channel(seg(5.0, 8.0, "my card"))
    merged = merge_turns({"agent": agent, "customer": customer})
    assert [(s.speaker, s.text, s.start, s.end) for s in merged.segments] == [
        ("agent", "hello how can I help", 0.0, 4.0),
        ("customer", "my card", 5.0, 8.0),
        ("agent", "ok", 9.0, 10.0),
    ]
    assert [w.text for w in merged.segments[0].words] == ["hello", "how", "can", "I", "help"]


def test_merge_turns_ties_follow_the_mapping_order() -> None:
    a, b = channel(seg(1.0, 2.0, "first")), channel(seg(1.0, 1.5, "second"))
    assert [s.speaker for s in merge_turns({"x": a, "y": b}).segments] == ["x", "y"]
    assert [s.speaker for s in merge_turns({"y": b, "x": a}).segments] == ["y", "x"]


def test_merge_turns_relabels_and_takes_the_longest_duration() -> None:
    labelled = Segment(start=0.0, end=1.0, text="hi", speaker="someone")
    merged = merge_turns(
        {"agent": channel(labelled, duration=12.0), "customer": channel(duration=30.0)}
    )
    assert merged.segments[0].speaker == "agent"
    assert merged.duration == 30.0


def test_merge_turns_language_of_the_channel_with_most_speech() -> None:
    agent = channel(seg(0.0, 10.0, "hej och välkommen"), language="sv")
    customer = channel(seg(11.0, 12.0, "hi"), language="en")
    assert merge_turns({"agent": agent, "customer": customer}).language == "sv"


def test_merge_turns_single_channel_and_silence() -> None:
    only = merge_turns({"customer": channel()})
    assert only.segments == () and only.duration == 30.0


def test_merge_turns_rejects_nonsense() -> None:
    with pytest.raises(BadTranscript):
        merge_turns({})
    other = Transcript(language="en", duration=1.0, segments=(), model="small")
    with pytest.raises(BadTranscript):
        merge_turns({"agent": channel(), "customer": other})
    with pytest.raises(BadTranscript):
        merge_turns({"": channel()})


@st.composite
def channel_transcripts(draw: st.DrawFn) -> Transcript:
    starts = sorted(draw(st.lists(st.integers(0, 600), max_size=6)))
    return channel(*(seg(s / 10, s / 10 + draw(st.integers(1, 40)) / 10, "w x") for s in starts))


@given(st.dictionaries(st.sampled_from(["agent", "customer", "supervisor"]), channel_transcripts()))
def test_merge_turns_properties(per_channel: dict[str, Transcript]) -> None:
    if not per_channel:
        return
    merged = merge_turns(per_channel)
    starts = [s.start for s in merged.segments]
    assert starts == sorted(starts)
    speakers = [s.speaker for s in merged.segments]
    assert all(a != b for a, b in zip(speakers, speakers[1:], strict=False))
    by_speaker = Counter(s.speaker for s in merged.segments for _ in s.words)
    assert by_speaker == Counter(
        {label: len(t.words) for label, t in per_channel.items() if t.words}
    )
