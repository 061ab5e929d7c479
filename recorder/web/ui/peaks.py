"""Waveform peaks, computed on the server from the PCM the playback decision released.

One job: turn a stream of 16-bit little-endian PCM chunks into, per channel, the largest
absolute sample of each of about :data:`BUCKETS` equal stretches, scaled to ``[0, 1]``.
The browser draws these (wavesurfer.js ``peaks``) instead of downloading and decoding the
whole recording: an hour-long call becomes a few kilobytes of JSON, and the audio itself
streams only as it is played. Memory stays flat: chunks are reduced as they arrive.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

BUCKETS = 2000


def peaks(
    chunks: Iterable[bytes], *, channels: int, frames: int, buckets: int = BUCKETS
) -> list[list[float]]:
    """Per-channel peak lists (``channels`` lists of up to ``buckets`` values in [0, 1])."""
    if frames <= 0 or channels <= 0:
        return [[] for _ in range(max(channels, 0))]
    per = -(-frames // max(1, buckets))
    count = -(-frames // per)
    out = np.zeros((count, channels), dtype=np.int32)
    frame_size = 2 * channels
    carry = b""
    pos = 0
    for chunk in chunks:
        data = carry + chunk
        usable = len(data) - len(data) % frame_size
        carry = data[usable:]
        if not usable:
            continue
        block = np.abs(
            np.frombuffer(data[:usable], dtype="<i2").reshape(-1, channels).astype(np.int32)
        )
        index = (pos + np.arange(len(block))) // per
        starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
        reduced = np.maximum.reduceat(block, starts, axis=0)
        rows = index[starts]
        out[rows] = np.maximum(out[rows], reduced)
        pos += len(block)
    scaled = np.minimum(out / 32768.0, 1.0).round(3)
    return [scaled[:, c].tolist() for c in range(channels)]
