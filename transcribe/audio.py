"""Audio in the shape the engine wants, and per-channel transcripts merged into turns.

Pure numpy, all in memory: nothing here touches disk.

- :func:`pcm16_to_channels`: interleaved little-endian int16 PCM at any rate and channel
  count -> one float32 mono array per channel at 16 kHz, in ``[-1, 1)``.
- :func:`resample`: band-limited polyphase resampling (windowed-sinc, Hann window,
  16 zero crossings each side, cut-off at 95 % of the lower Nyquist frequency), exact for
  rational ratios such as 8 kHz -> 16 kHz (2/1) or 44.1 kHz -> 16 kHz (160/441). Output
  length is ``ceil(len * to / from)``, so duration is kept to within one output sample.
- :func:`merge_turns`: per-channel transcripts (``{"agent": ..., "customer": ...}``) ->
  one transcript of speaker-labelled turns ordered by time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from transcribe.errors import BadAudio, BadTranscript
from transcribe.models import Segment, Transcript

#: The sample rate every speech engine here expects.
TARGET_RATE = 16_000

_ZERO_CROSSINGS = 16
_ROLLOFF = 0.95
_CHUNK = 1 << 14  # output samples computed per vectorised step (bounded memory)
_MAX_TABLE = 1 << 22  # largest phase table (phases x taps) kept instead of computed per chunk

Samples = NDArray[np.float32]


def pcm16_to_channels(
    data: bytes, *, sample_rate: int, channels: int, target_rate: int = TARGET_RATE
) -> tuple[Samples, ...]:
    """Split interleaved int16 PCM into float32 channels resampled to ``target_rate``.

    Channel ``i`` of the result is channel ``i`` of the input (for the dual-channel calls
    of this project: 0 = agent, 1 = customer).
    """
    if channels < 1:
        raise BadAudio("channels: must be at least 1")
    _check_rate(sample_rate)
    frame = 2 * channels
    if len(data) % frame:
        raise BadAudio(f"PCM length is not a whole number of {channels}-channel int16 frames")
    pcm = np.frombuffer(data, dtype="<i2").reshape(-1, channels)
    scaled = pcm.astype(np.float32) / np.float32(32768.0)
    return tuple(resample(scaled[:, c], sample_rate, target_rate) for c in range(channels))


def resample(samples: NDArray[np.floating], from_rate: int, to_rate: int = TARGET_RATE) -> Samples:
    """Resample a mono signal with a band-limited polyphase filter (float32 out)."""
    _check_rate(from_rate)
    _check_rate(to_rate)
    x = np.asarray(samples)
    if x.ndim != 1:
        raise BadAudio("samples: expected a 1-D (mono) array")
    if not np.issubdtype(x.dtype, np.floating):
        raise BadAudio("samples: expected floating-point samples")
    x = x.astype(np.float64, copy=False)
    if from_rate == to_rate or x.size == 0:
        return x.astype(np.float32)

    g = math.gcd(from_rate, to_rate)
    up, down = to_rate // g, from_rate // g  # output sample n sits at input time n*down/up
    fc = 0.5 * min(1.0, up / down) * _ROLLOFF  # cut-off, cycles per input sample
    half = math.ceil(_ZERO_CROSSINGS / (2.0 * fc))  # taps each side, in input samples
    offsets = np.arange(-half + 1, half + 1)  # input taps relative to floor(position)

    table: NDArray[np.float64] | None = None
    if up * offsets.size <= _MAX_TABLE:
        table = _kernel(offsets[None, :] - np.arange(up)[:, None] / up, fc, half)

    n_out = -(-x.size * up // down)
    padded = np.concatenate([np.zeros(half), x, np.zeros(half + 1)])
    out = np.empty(n_out, dtype=np.float32)
    for lo in range(0, n_out, _CHUNK):
        n = np.arange(lo, min(lo + _CHUNK, n_out), dtype=np.int64)
        base, phase = np.divmod(n * down, up)
        if table is not None:
            weights = table[phase]
        else:
            weights = _kernel(offsets[None, :] - (phase / up)[:, None], fc, half)
        taps = padded[(base + half)[:, None] + offsets[None, :]]
        out[lo : lo + n.size] = np.einsum("ij,ij->i", taps, weights)
    return out


def _kernel(tau: NDArray[np.float64], fc: float, half: int) -> NDArray[np.float64]:
    """Hann-windowed sinc low-pass at ``fc``, rows normalised to unity gain at DC."""
    window = 0.5 * (1.0 + np.cos(np.pi * np.clip(tau / half, -1.0, 1.0)))
    h: NDArray[np.float64] = 2.0 * fc * np.sinc(2.0 * fc * tau) * window
    normalised: NDArray[np.float64] = h / h.sum(axis=-1, keepdims=True)
    return normalised


def _check_rate(rate: int) -> None:
    if isinstance(rate, bool) or not isinstance(rate, int) or not 1_000 <= rate <= 384_000:
        raise BadAudio("sample rate: expected an integer between 1000 and 384000 Hz")


def merge_turns(per_channel: Mapping[str, Transcript]) -> Transcript:
    """Merge per-channel transcripts into one transcript of speaker-labelled turns.

    Every segment is labelled with its channel's key (``"agent"``, ``"customer"``), all
    segments are ordered by start time (ties: the mapping's order), and consecutive segments
    of the same speaker are joined into one turn (text joined with a space, words kept with
    their own times). The result's ``duration`` is the longest channel's, its ``language``
    that of the channel with the most speech (ties: the mapping's order). All channels must
    come from the same model.
    """
    if not per_channel:
        raise BadTranscript("merge_turns: no channels to merge")
    models = {t.model for t in per_channel.values()}
    if len(models) != 1:
        raise BadTranscript("merge_turns: channels were transcribed by different models")
    order = list(per_channel)
    for label in order:
        if not label:
            raise BadTranscript("merge_turns: empty speaker label")

    labelled = sorted(
        (
            (seg.start, order.index(label), label, seg)
            for label, t in per_channel.items()
            for seg in t.segments
        ),
        key=lambda item: (item[0], item[1]),
    )
    turns: list[Segment] = []
    for _, _, label, seg in labelled:
        if turns and turns[-1].speaker == label:
            prev = turns[-1]
            turns[-1] = Segment(
                start=prev.start,
                end=max(prev.end, seg.end),
                text=" ".join(t for t in (prev.text, seg.text) if t),
                words=tuple(sorted(prev.words + seg.words, key=lambda w: w.start)),
                speaker=label,
            )
        else:
            turns.append(
                Segment(start=seg.start, end=seg.end, text=seg.text, words=seg.words, speaker=label)
            )

    speech: dict[str, float] = {}
    for t in per_channel.values():
        speech[t.language] = speech.get(t.language, 0.0) + sum(s.end - s.start for s in t.segments)
    language = max(speech, key=lambda lang: speech[lang])  # max keeps the first of equals
    return Transcript(
        language=language,
        duration=max(t.duration for t in per_channel.values()),
        segments=tuple(turns),
        model=models.pop(),
    )
