"""MP3 framing: find the first layer III frame and walk every frame header after it.

One job: say, from the frame headers alone and before any decoder runs, what an MP3 file
*declares*: its sample rate, channel count and number of PCM frames. ``recorder.audio``
then lets ffmpeg produce at most that much (a decompression bomb cannot hide behind a
modest first frame), refuses a stream whose frames change rate or channels (a 48 kHz
stereo first frame followed by hours of 8 kHz mono frames would be resampled six-fold and
doubled), and refuses what declares more than the duration cap before decoding starts.

Rules:

- ID3v2 tags are skipped (at most four, syncsafe sizes checked); then a frame counts as
  the first only if a consistent second frame follows it (or the file ends).
- The walk reads the file in 1 MiB chunks (bounded memory whatever the size) and steps
  from header to header by the frame length. Every frame must have the first frame's
  MPEG version, sample rate and channel mode class (mono / two channels).
- Bytes that are not a frame header: within the last 256 bytes they are a trailing tag
  (ID3v1 ``TAG``, APE) and end the walk; elsewhere the walk resyncs on the next pair of
  consistent headers within 64 KiB, at most :data:`MAX_RESYNCS` times, and otherwise ends.
  Anything a decoder might still find past that point is caught by the output cap.
- Free-format (bitrate index 0) frames are not counted; a decoder that plays them runs
  into the same cap.

Errors are :class:`~recorder.errors.InvalidAudio` with fixed messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from recorder.errors import InvalidAudio

MAX_ID3_TAGS = 4
SCAN = 4096  # bytes searched for the first frame after ID3 tags (zero padding)
MAX_FRAME = 1441  # layer III: 144 * 320 kbit/s / 32 kHz + 1 (and 72 * 160k / 8k + 1)
MAX_RESYNCS = 16
RESYNC_WINDOW = 64 * 1024
TRAILER = 256
_CHUNK = 1 << 20
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_KBPS_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_KBPS_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)


@dataclass(frozen=True, slots=True)
class Frame:
    """One layer III frame header."""

    version: int
    rate: int
    channels: int
    length: int

    @property
    def samples(self) -> int:
        """PCM frames this MP3 frame decodes to (1152 for MPEG-1, 576 for MPEG-2/2.5)."""
        return 1152 if self.version == 3 else 576


@dataclass(frozen=True, slots=True, kw_only=True)
class Stream:
    """What an MP3 file declares: the first frame's format and the PCM frames of all."""

    rate: int
    channels: int
    samples: int
    start: int


def frame_at(buf: bytes | memoryview, i: int) -> Frame | None:
    """The MPEG audio layer III frame header at ``buf[i:]``, if it is a valid one."""
    if len(buf) < i + 4 or buf[i] != 0xFF or buf[i + 1] & 0xE0 != 0xE0:
        return None
    b1, b2, b3 = buf[i + 1], buf[i + 2], buf[i + 3]
    version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
    bitrate_index, rate_index = b2 >> 4, (b2 >> 2) & 3
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None  # reserved version, not layer III, free/bad bitrate, reserved rate
    if b3 & 3 == 2:
        return None  # reserved emphasis
    rate = _RATES[version][rate_index]
    kbps = (_KBPS_V1 if version == 3 else _KBPS_V2)[bitrate_index]
    per_frame = 144 if version == 3 else 72
    length = per_frame * kbps * 1000 // rate + ((b2 >> 1) & 1)
    return Frame(version, rate, 1 if b3 >> 6 == 3 else 2, length)


def _read_at(f: BinaryIO, offset: int, n: int) -> bytes:
    f.seek(offset)
    return f.read(n)


def _same(a: Frame, b: Frame) -> bool:
    return (a.version, a.rate, a.channels) == (b.version, b.rate, b.channels)


def first_frame(f: BinaryIO, size: int) -> tuple[Frame, int]:
    """Skip ID3v2 tags, then find a frame followed by a consistent one (or by the end)."""
    offset = 0
    for _ in range(MAX_ID3_TAGS):
        tag = _read_at(f, offset, 10)
        if len(tag) < 10 or tag[:3] != b"ID3":
            break
        if 0xFF in tag[3:5] or any(b & 0x80 for b in tag[6:10]):
            raise InvalidAudio("malformed MP3 stream")
        body = (tag[6] << 21) | (tag[7] << 14) | (tag[8] << 7) | tag[9]  # syncsafe integer
        offset += 10 + body + (10 if tag[5] & 0x10 else 0)
    if offset >= size:
        raise InvalidAudio("malformed MP3 stream")
    window = _read_at(f, offset, SCAN + 2 * MAX_FRAME + 8)
    at_eof = offset + len(window) >= size
    for i in range(SCAN if offset else 1):
        frame = frame_at(window, i)
        if frame is None:
            continue
        nxt = i + frame.length
        if at_eof and nxt == len(window):
            return frame, offset + i
        second = frame_at(window, nxt)
        if second is not None and (second.version, second.rate) == (frame.version, frame.rate):
            return frame, offset + i
    raise InvalidAudio("unsupported audio format" if offset == 0 else "malformed MP3 stream")


class _Reader:
    """The file as a sliding 1 MiB window: ``view(pos, n)`` without reading it whole."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self._f, self.size = f, size
        self._base, self._buf = 0, b""

    def view(self, pos: int, n: int) -> tuple[bytes, int]:
        """A buffer holding ``[pos, pos + n)`` (or up to the end) and ``pos``'s index in it."""
        if pos < self._base or pos + n > self._base + len(self._buf):
            self._base = pos
            self._buf = _read_at(self._f, pos, max(n, _CHUNK))
        return self._buf, pos - self._base


def _resync(reader: _Reader, pos: int, first: Frame) -> int | None:
    """The next position within :data:`RESYNC_WINDOW` holding two consistent frames."""
    buf, i = reader.view(pos, RESYNC_WINDOW + 2 * MAX_FRAME)
    end = min(len(buf), i + RESYNC_WINDOW)
    while (j := buf.find(b"\xff", i, end)) >= 0:
        frame = frame_at(buf, j)
        if frame is not None and _same(frame, first):
            second = frame_at(buf, j + frame.length)
            if second is not None and _same(second, first):
                return pos + (j - i)
        i = j + 1
    return None


def scan(f: BinaryIO, size: int, *, max_samples: int) -> Stream:
    """Walk every frame (module docstring); :class:`InvalidAudio` for a stream that changes
    format or declares more than ``max_samples`` PCM frames."""
    first, start = first_frame(f, size)
    reader = _Reader(f, size)
    pos, samples, resyncs = start, 0, 0
    while pos + 4 <= size:
        buf, i = reader.view(pos, 4)
        frame = frame_at(buf, i)
        if frame is None:
            if size - pos <= TRAILER:
                break
            found = _resync(reader, pos, first)
            resyncs += 1
            if found is None or resyncs > MAX_RESYNCS:
                break
            pos = found
            continue
        if not _same(frame, first):
            raise InvalidAudio("MP3 stream changes sample rate or channels mid-way")
        samples += frame.samples
        if samples > max_samples:
            raise InvalidAudio("audio too long")
        pos += frame.length
    return Stream(rate=first.rate, channels=first.channels, samples=samples, start=start)
