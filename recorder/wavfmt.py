"""The canonical 44-byte WAV header callrec stores and plays (16-bit PCM, little-endian).

Stored audio is always this layout, so a time range maps to a byte range by arithmetic
and playback can seek without decoding anything but the segments it needs.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEADER_SIZE = 44
SAMPLE_WIDTH = 2
_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")


@dataclass(frozen=True, slots=True, kw_only=True)
class PcmFormat:
    """Sample rate and channel count of 16-bit PCM."""

    sample_rate: int
    channels: int

    @property
    def frame_size(self) -> int:
        """Bytes per frame (one sample per channel)."""
        return self.channels * SAMPLE_WIDTH

    def frame_at(self, ms: int) -> int:
        """The frame index at ``ms`` milliseconds."""
        return ms * self.sample_rate // 1000


def wav_header(fmt: PcmFormat, frames: int) -> bytes:
    """A canonical RIFF/WAVE header for ``frames`` frames of 16-bit PCM."""
    data = frames * fmt.frame_size
    return _HEADER.pack(
        b"RIFF",
        36 + data,
        b"WAVE",
        b"fmt ",
        16,
        1,
        fmt.channels,
        fmt.sample_rate,
        fmt.sample_rate * fmt.frame_size,
        fmt.frame_size,
        SAMPLE_WIDTH * 8,
        b"data",
        data,
    )


def parse_header(header: bytes) -> tuple[PcmFormat, int]:
    """Read back a header written by :func:`wav_header`: (format, frames)."""
    if len(header) != HEADER_SIZE:
        raise ValueError("not a canonical header")
    fields = _HEADER.unpack(header)
    if fields[0] != b"RIFF" or fields[2] != b"WAVE" or fields[5] != 1 or fields[10] != 16:
        raise ValueError("not a canonical header")
    fmt = PcmFormat(sample_rate=fields[7], channels=fields[6])
    return fmt, fields[12] // fmt.frame_size
