"""Who said which word of a dual-channel call that was transcribed as ONE mixed stream.

Why: decoding the two channels separately costs two passes of the model (two sets of 30 s
windows, two VAD passes, two beam searches); on the espeak-ng sample calls ``tiny.en``
took 2-3x longer per channel than on the mixed call with the VAD filter (measured by
``bench/transcribe.py``). On a PBX dual-channel recording each party is on their own
channel, so the channel that is louder while a word is spoken says who spoke it. This
module labels every recognised word that way and regroups the words into per-speaker
transcripts for :func:`transcribe.audio.merge_turns`. Pure numpy, in memory.

Off by default (``[ai] channels = "separate"``): on the espeak-ng AI samples the mixed pass
dropped the agent's greeting on four of five calls, misattributed words at turn changes and
lost one call's topic ("address" heard as "unrest"). Overlapping speech is its other weak
spot. ``channels = "mixed"`` is for operators who need the speed and accept that.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from transcribe.audio import merge_turns
from transcribe.engine import SAMPLE_RATE, Samples
from transcribe.models import Segment, Transcript, Word


def mix(channels: Sequence[Samples]) -> Samples:
    """The mean of the channels (float32 16 kHz, same length)."""
    total = np.zeros_like(channels[0])
    for channel in channels:
        total += channel
    mixed: Samples = (total / len(channels)).astype(np.float32)
    return mixed


def _loudest(channels: Sequence[Samples], start: float, end: float) -> int:
    a = max(0, int(start * SAMPLE_RATE))
    b = max(a + 1, int(end * SAMPLE_RATE))
    energy = [float(np.mean(np.square(c[a:b], dtype=np.float64))) if c[a:b].size else 0.0
              for c in channels]  # fmt: skip
    return int(np.argmax(energy))


def attribute(mixed: Transcript, channels: Sequence[Samples], roles: Sequence[str]) -> Transcript:
    """Split a transcript of the mixed call into per-channel turns labelled with ``roles``."""
    per: dict[str, list[Segment]] = {role: [] for role in roles}
    for seg in mixed.segments:
        if not seg.words:
            role = roles[_loudest(channels, seg.start, seg.end)]
            per[role].append(Segment(start=seg.start, end=seg.end, text=seg.text, speaker=role))
            continue
        run: list[Word] = []
        run_role: str | None = None
        for word in seg.words:
            role = roles[_loudest(channels, word.start, word.end)]
            if run and role != run_role:
                per[str(run_role)].append(_segment(run, str(run_role)))
                run = []
            run.append(word)
            run_role = role
        if run:
            per[str(run_role)].append(_segment(run, str(run_role)))
    return merge_turns(
        {
            role: Transcript(
                language=mixed.language,
                duration=mixed.duration,
                segments=tuple(sorted(per[role], key=lambda s: s.start)),
                model=mixed.model,
            )
            for role in roles
        }
    )


def _segment(words: list[Word], role: str) -> Segment:
    return Segment(
        start=words[0].start,
        end=max(w.end for w in words),
        text=" ".join(w.text for w in words if w.text),
        words=tuple(words),
        speaker=role,
    )
