"""Redacted audio: the call's PCM with every redacted span silenced or beeped over.

One job, pure numpy, in memory: take the 16-bit PCM of the stored WAV and the time spans
(seconds from the start of the audio) that redaction found, widen each by a margin, and
replace those samples on every channel with digital silence or a 1 kHz tone. The output
has exactly the input's format and length, so it plays and seeks like the original.

The tone is phase-continuous in absolute time (sample ``n`` is ``sin(2 pi f n / rate)``),
so overlapping or adjacent spans join into one clean beep, never a click a listener could
read a digit boundary from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from recorder.wavfmt import PcmFormat
from transcribe.models import Word
from transcribe.redact import digit_runs

TONE_HZ: Final = 1000.0
#: Peak level of the tone: -12 dBFS, clearly audible, never clipping.
TONE_LEVEL: Final = 0.25


def sample_ranges(
    spans: Iterable[tuple[float, float]], *, rate: int, frames: int, margin_s: float
) -> list[tuple[int, int]]:
    """Spans in seconds, widened by ``margin_s`` and merged, as ``[first, last)`` frames."""
    ranges = []
    for start, end in spans:
        a = max(0, math.floor((start - margin_s) * rate))
        b = min(frames, math.ceil((end + margin_s) * rate))
        if b > a:
            ranges.append((a, b))
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for a, b in ranges:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def fill_spans(
    pcm: bytes,
    fmt: PcmFormat,
    spans: Iterable[tuple[float, float]],
    *,
    fill: str,
    margin_s: float,
) -> bytes:
    """``pcm`` (interleaved int16 little-endian) with ``spans`` replaced by ``fill``.

    ``fill`` is ``"silence"`` or ``"tone"``; anything else is a ``ValueError``.
    """
    if fill not in ("silence", "tone"):
        raise ValueError("fill must be 'silence' or 'tone'")
    if len(pcm) % fmt.frame_size:
        raise ValueError("PCM is not a whole number of frames")
    samples = np.frombuffer(pcm, dtype="<i2").reshape(-1, fmt.channels).copy()
    frames = samples.shape[0]
    for a, b in sample_ranges(spans, rate=fmt.sample_rate, frames=frames, margin_s=margin_s):
        if fill == "silence":
            samples[a:b, :] = 0
        else:
            n = np.arange(a, b, dtype=np.float64)
            wave = np.round(TONE_LEVEL * 32767 * np.sin(2 * np.pi * TONE_HZ * n / fmt.sample_rate))
            samples[a:b, :] = wave.astype("<i2")[:, None]
    return samples.tobytes()


# -- what to fill besides the redacted numbers ----------------------------------------------
#
# Redaction can only remove numbers the recogniser wrote down. On the espeak-ng sample calls
# tiny.en drops a read-out card number entirely (ai-01), writes it as "time, time, ..."
# (ai-04) or as fragments "3, 4, 5, 6, 7" (ai-02): the text is then clean, but the audio
# under it still speaks the number. So the redacted audio is filled, conservatively, over
# three more kinds of stretch (over-redaction is safe, under-redaction is a breach; the
# original audio stays available, under its own access rules, for playback):
#
# - number fragments: runs of 3 or more digits / number words (too short to be redacted
#   from the text, but a phone number heard in pieces);
# - repetition loops: 4 or more identical words in a row (the recogniser's loop on a digit
#   string it cannot read);
# - unrecognised speech: voiced stretches of a channel that no recognised word covers.

#: A run of this many digits is filled in the audio (the text keeps runs under 7).
FRAGMENT_DIGITS: Final = 3
#: This many identical consecutive words is a recogniser loop.
LOOP_WORDS: Final = 4
#: Speech detection: 20 ms frames louder than this (dBFS) are voiced ...
VOICE_DBFS: Final = -45.0
#: ... and voiced stretches at least this long, uncovered by words, are filled.
UNHEARD_MIN_S: Final = 0.4
#: Words cover the audio this far around their own times.
WORD_SLACK_S: Final = 0.3

Span = tuple[float, float]


def number_fragments(words: Sequence[Word], *, languages: Sequence[str]) -> list[Span]:
    """Time spans of runs of ``FRAGMENT_DIGITS``+ digits in a time-ordered word list."""
    pieces: list[str] = []
    owner: list[int] = []
    for i, word in enumerate(words):
        for piece in word.text.split():
            pieces.append(piece)
            owner.append(i)
    spans = []
    for run in digit_runs(" ".join(pieces), languages=languages):
        if len(run.digits) >= FRAGMENT_DIGITS:
            first, last = words[owner[run.first]], words[owner[run.last]]
            spans.append((first.start, last.end))
    return spans


def repetition_loops(words: Sequence[Word]) -> list[Span]:
    """Time spans of ``LOOP_WORDS``+ identical consecutive words (case and punctuation aside)."""
    spans = []
    i = 0
    keys = ["".join(ch for ch in w.text.lower() if ch.isalnum()) for w in words]
    while i < len(words):
        j = i
        while j + 1 < len(words) and keys[j + 1] == keys[i] and keys[i]:
            j += 1
        if j - i + 1 >= LOOP_WORDS:
            spans.append((words[i].start, words[j].end))
        i = j + 1
    return spans


def voiced(channel: NDArray[np.int16], rate: int) -> list[Span]:
    """Stretches (seconds) of ``channel`` whose 20 ms frames are louder than ``VOICE_DBFS``."""
    frame = max(1, rate // 50)
    n = channel.size // frame
    if n == 0:
        return []
    blocks = channel[: n * frame].astype(np.float64).reshape(n, frame) / 32768.0
    rms = np.sqrt(np.mean(blocks**2, axis=1))
    loud = rms > 10 ** (VOICE_DBFS / 20)
    spans: list[Span] = []
    start: int | None = None
    for k, flag in enumerate(loud):
        if flag and start is None:
            start = k
        elif not flag and start is not None:
            spans.append((start * frame / rate, k * frame / rate))
            start = None
    if start is not None:
        spans.append((start * frame / rate, n * frame / rate))
    return spans


def unheard(channel: NDArray[np.int16], rate: int, words: Sequence[Word]) -> list[Span]:
    """Voiced stretches of ``channel`` not covered by any of its recognised ``words``."""
    covered = sorted((w.start - WORD_SLACK_S, w.end + WORD_SLACK_S) for w in words)
    out: list[Span] = []
    for start, end in voiced(channel, rate):
        cursor = start
        for a, b in covered:
            if b <= cursor or a >= end:
                continue
            if a > cursor:
                out.append((cursor, a))
            cursor = max(cursor, b)
        if cursor < end:
            out.append((cursor, end))
    merged = sample_ranges(out, rate=1000, frames=1 << 62, margin_s=0.0)
    return [(a / 1000, b / 1000) for a, b in merged if (b - a) / 1000 >= UNHEARD_MIN_S]


def suspect_spans(
    pcm: bytes,
    fmt: PcmFormat,
    words_by_channel: Sequence[Sequence[Word]],
    *,
    languages: Sequence[str],
) -> list[Span]:
    """Every stretch to fill besides the redacted numbers (see the comment above).

    ``words_by_channel[i]`` are the (unredacted) recognised words of channel ``i`` in time
    order; for a mixed call, one list for the single channel.
    """
    samples = np.frombuffer(pcm, dtype="<i2").reshape(-1, fmt.channels)
    spans: list[Span] = []
    for index, words in enumerate(words_by_channel):
        spans += number_fragments(words, languages=languages)
        spans += repetition_loops(words)
        if index < fmt.channels:
            spans += unheard(samples[:, index], fmt.sample_rate, words)
    return spans
