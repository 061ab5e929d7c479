"""P03 - "Recording starts when the call is answered and ends when it is hung up."
(postal register)

How these tests prove it
------------------------
Two sample calls (call-01 and call-06) start with the European ringback tone (425 Hz) on
the customer's line before the agent answers. The phone system's audio file covers the
whole call, ringing included, and its sidecar says when the call was answered and when it
was hung up. After ``callrec spool run``:

- the stored recording lasts exactly from the answer to the hang-up;
- decrypted, its sound is **byte for byte** the source file's sound from the moment of
  the answer to the moment of the hang-up: its very first sample is the source's sample
  at the answer, its last is the source's last before the hang-up;
- a tone detector that clearly finds the one-second ringback tone in the source before
  the answer (the control) finds no such tone anywhere in the stored recording;
- what an agent gets from ``callrec play`` is that same answered part.

Because the sample files end exactly at the hang-up, a generated call adds what the
samples cannot show: 2.25 s of ringback before the answer, the conversation, then 2 s of
a different tone *after* the hang-up (a phone system that keeps its recorder running a
little longer). Only the conversation is stored, to the exact sample.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recorder.capture import Capturer
from recorder.config import Config
from recorder.models import CallEvent
from storage.models import ArtefactKind
from storage.vault import Vault
from tests.promises.conftest import SAMPLE_CALLS, Pcm, SampleStore, read_wav
from tests.recorder.conftest import canary_pcm, write_wav

RINGBACK_HZ = 425.0
RATE = 8000
RINGING = ("call-01", "call-06")
CUSTOMER = 1  # channel 1 of a dual-channel sample is the customer's line


def tone_share(signal: np.ndarray[Any, np.dtype[np.float64]], hz: float, rate: int) -> float:
    """Share of a window's energy within 5 Hz of ``hz`` (1.0 for a pure tone)."""
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal)))) ** 2
    total = float(spectrum.sum())
    if total == 0.0:
        return 0.0
    freqs = np.fft.rfftfreq(len(signal), 1 / rate)
    return float(spectrum[np.abs(freqs - hz) <= 5].sum()) / total


def strongest_tone(pcm: Pcm, hz: float, *, step_s: float = 0.1) -> float:
    """The highest :func:`tone_share` of any one-second window on any channel."""
    samples = pcm.samples()
    window, step = pcm.rate, int(pcm.rate * step_s)
    best = 0.0
    for channel in range(pcm.channels):
        line = samples[:, channel]
        for start in range(0, len(line) - window + 1, step):
            best = max(best, tone_share(line[start : start + window], hz, pcm.rate))
    return best


#: A one-second window counts as "the ringback tone" above this share (ringback: ~1.0;
#: the loudest 425 Hz moment of speech in the samples: ~0.66).
TONE = 0.9


@pytest.mark.parametrize("name", RINGING)
def test_stored_audio_is_exactly_the_answered_part(store: SampleStore, name: str) -> None:
    call = SAMPLE_CALLS[name]
    assert call.answer_offset_ms >= 3000  # the answer comes seconds into the file
    source = read_wav(call.wav)
    stored = read_wav(store.stored_wav(name))
    assert (stored.rate, stored.channels, stored.width) == (source.rate, source.channels, 2)

    ended_offset_ms = call.answer_offset_ms + call.answered_ms
    assert stored.duration_ms == call.answered_ms == store.recording(name).duration_ms
    assert stored.data == source.slice_ms(call.answer_offset_ms, ended_offset_ms)
    # Its first sample is the source's sample at the answer, not the start of the ringing.
    size = source.frame_size
    at_answer = call.answer_offset_ms * source.rate // 1000 * size
    assert stored.data[:size] == source.data[at_answer : at_answer + size]
    assert stored.data[: source.rate * size] != source.data[: source.rate * size]


@pytest.mark.parametrize("name", RINGING)
def test_the_ringback_before_the_answer_is_not_recorded(store: SampleStore, name: str) -> None:
    call = SAMPLE_CALLS[name]
    source = read_wav(call.wav)
    pre_answer = source.samples()[: call.answer_offset_ms * source.rate // 1000, CUSTOMER]
    # Control: the detector finds the ringback in the source before the answer...
    assert tone_share(pre_answer[: source.rate], RINGBACK_HZ, source.rate) > TONE
    # ...and finds no second of it anywhere in what was stored.
    assert strongest_tone(read_wav(store.stored_wav(name)), RINGBACK_HZ) < TONE


def test_what_the_agent_plays_back_starts_at_the_answer(store: SampleStore, tmp_path: Path) -> None:
    call = SAMPLE_CALLS["call-01"]
    out = tmp_path / "played.wav"
    result = store.play("call-01", "anna", out)
    assert result.exit_code == 0, result.output
    played = read_wav(out)
    source = read_wav(call.wav)
    assert played.duration_ms == call.answered_ms
    end_ms = call.answer_offset_ms + call.answered_ms
    assert played.data == source.slice_ms(call.answer_offset_ms, end_ms)


def _tone(seconds: float, hz: float) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * hz * t) * 12000).astype("<i2").tobytes()


def test_audio_before_the_answer_and_after_the_hang_up_is_not_kept(
    vault: Vault,
    org: Config,
    tmp_path: Path,
    now: datetime,
    rng: Callable[[int], bytes],
) -> None:
    ringback, talk, after = _tone(2.25, RINGBACK_HZ), canary_pcm(3.5, seed=21), _tone(2.0, 480.0)
    wav = write_wav(tmp_path / "long.wav", ringback + talk + after)
    start = datetime.fromisoformat("2026-11-20T10:00:00+00:00")
    event = CallEvent(
        source="test",
        source_id="ring-talk-tail",
        audio_path=wav,
        caller="+47 912 34 567",
        service_number="+4722000000",
        agent_id="anna",
        started_at=start,
        answered_at=start + timedelta(milliseconds=2250),
        ended_at=start + timedelta(milliseconds=5750),
        channels=("mixed",),
    )
    result = Capturer(vault, org).capture(event, now=now, rng=rng)
    assert result.duration_ms == 3500
    artefact = vault.catalog.artefact_by_kind(result.recording_id, ArtefactKind.AUDIO)
    assert artefact is not None
    with vault.open_artefact(artefact.id) as reader:
        stored = read_wav(reader.read_all())
    assert stored.data == talk  # exactly the conversation: not one sample more or less
    source = read_wav(wav)
    assert strongest_tone(source, RINGBACK_HZ) > TONE and strongest_tone(source, 480.0) > TONE
    assert strongest_tone(stored, RINGBACK_HZ) < TONE and strongest_tone(stored, 480.0) < TONE
