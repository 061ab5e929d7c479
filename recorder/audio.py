"""Audio probing and normalisation: the one door through which a recording's sound enters.

:func:`decode` turns a provider's file into :class:`Audio`: signed 16-bit little-endian
interleaved PCM plus its parameters, with the duration counted from decoded frames, never
read from a header. This is the most hostile-input code we own (ARCHITECTURE.md §1,
RELIABILITY.md F1/F4): headers lie (the stdlib ``wave`` module believes a 60-byte file holds
74.6 h), so every failure is an :class:`~recorder.errors.InvalidAudio` with a short, fixed
message that never carries file content or a path.

The format is sniffed from content, never from the file name:

- ``RIFF....WAVE``: parsed here, chunk by chunk, every length clamped to the bytes really
  present; nothing is allocated from a header field.
- ``ID3`` or an MPEG-1/2/2.5 layer III frame sync followed by a consistent second frame: MP3,
  decoded by the ``imageio-ffmpeg`` ffmpeg binary in a subprocess (demuxer forced to
  ``mp3``, the input handed over as an open fd so no path or protocol is interpreted, list
  arguments, no shell), with a wall-clock timeout and an output cap of
  ``max_seconds × rate × channels × 2`` bytes. pydub is deliberately not used:
  ``AudioSegment.from_file(format="mp3")`` calls ffprobe (not shipped) and buffers ffmpeg's
  whole output with neither timeout nor cap.
- anything else (RF64, RIFX, AIFF, PDF, ZIP, empty, random bytes): "unsupported audio format".

WAV decisions:

- Encodings: integer PCM 8 (unsigned), 16, 24 and 32 bit; G.711 µ-law (tag 7) and A-law
  (tag 6), 8 bit. ``WAVE_FORMAT_EXTENSIBLE`` is accepted only when fully consistent
  (fmt ≥ 40 bytes, cbSize ≥ 22, valid bits within the container, no more speaker-mask bits
  than channels, the standard KSDATAFORMAT GUID with one of the tags above). Float, ADPCM,
  GSM and MP3-in-WAV are rejected. 24/32-bit PCM keeps its top 16 bits.
- The RIFF size is ignored, whether it lies up or down: streaming writers put 0 or
  0xFFFFFFFF there, and the chunks are walked over the real file instead.
- The ``data`` size is clamped to the bytes present (streaming writers, cut uploads); a
  partial trailing frame (an odd byte) is dropped. Zero frames are rejected.
- Exactly one ``fmt `` chunk, before exactly one ``data`` chunk; a well-formed second
  ``data`` chunk anywhere is rejected. Before ``data``, any malformed chunk (non-ASCII id,
  size past end of file) is rejected; after ``data``, such bytes are trailing garbage or
  cut metadata and end the walk (tolerated). At most 256 chunks (real files hold < 20).
- ``block_align`` must equal channels × width; the byte-rate field is informational and
  ignored (it is wrong in many real files, and the duration never comes from it).

MP3 decisions: every frame header is walked first (``recorder.mp3frames``): a stream whose
frames change sample rate or channels is refused, and what the headers declare must fit
the caps before ffmpeg starts. ffmpeg is told to output exactly the first frame's rate and
channels and may produce at most the declared PCM (plus two frames), read in chunks and
cut the moment it exceeds that, so no header, hidden frame or decoder quirk can make it
produce more. Frames are counted from ffmpeg's output; the LAME/Info gapless trim
applies, a lying Info frame count changes nothing. A missing or failing ffmpeg is
``InvalidAudio`` too ("MP3 decoder unavailable"/"... failed").

Decoded PCM is capped for every format alike: at most ``max_seconds`` of audio and at most
``max_bytes`` of 16-bit PCM (the same number as the file-size cap), decided from frame
counts before a sample is converted, so an 8-bit µ-law file cannot double into twice the
cap and an MP3 cannot inflate into gigabytes.
"""

from __future__ import annotations

import functools
import os
import selectors
import stat
import struct
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import imageio_ffmpeg  # type: ignore[import-untyped]  # no stubs; confined here
import numpy as np
import numpy.typing as npt

from recorder import mp3frames
from recorder.errors import InvalidAudio
from recorder.wavfmt import PcmFormat, wav_header

__all__ = ["Audio", "AudioLimits", "decode"]

_CHUNK = struct.Struct("<4sI")
_FMT = struct.Struct("<HHIIHH")
_MAX_CHUNKS = 256
#: Decoded MP3 may exceed what its frame headers declare by this many frames at most.
_MP3_SLACK_FRAMES = 2
_GUID_TAIL = bytes.fromhex("00001000800000aa00389b71")  # KSDATAFORMAT_SUBTYPE_* after tag
#: (format tag, bits per sample) -> source format name
_ENCODINGS = {
    (1, 8): "pcm_u8",
    (1, 16): "pcm_s16le",
    (1, 24): "pcm_s24le",
    (1, 32): "pcm_s32le",
    (6, 8): "alaw",
    (7, 8): "mulaw",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioLimits:
    """What :func:`decode` accepts at most.

    256 MiB holds a 4 h 8 kHz stereo 16-bit WAV (~230 MB); four hours is longer than any
    contact-centre call we keep; two channels are mixed or agent/customer recordings.
    ``max_bytes`` caps the file *and* the decoded 16-bit PCM (:meth:`check_pcm`).
    """

    max_bytes: int = 256 * 1024 * 1024
    max_seconds: int = 4 * 3600
    max_channels: int = 2
    min_sample_rate: int = 8000
    max_sample_rate: int = 48000
    decode_timeout_seconds: float = 120.0  # ffmpeg wall clock; a 4 h MP3 decodes in ~30 s

    def __post_init__(self) -> None:
        if min(self.max_bytes, self.max_seconds, self.max_channels, self.min_sample_rate) < 1:
            raise ValueError("audio limits must be positive")
        if self.max_sample_rate < self.min_sample_rate or self.decode_timeout_seconds <= 0:
            raise ValueError("audio limits are inconsistent")

    def pcm_cap(self, rate: int, channels: int) -> int:
        """The most 16-bit PCM frames a file of this rate and channel count may decode to."""
        return min(self.max_seconds * rate, self.max_bytes // (2 * channels))

    def check_pcm(self, frames: int, rate: int, channels: int) -> None:
        """:class:`InvalidAudio` unless ``frames`` fit :meth:`pcm_cap` (duration and bytes)."""
        if frames > self.max_seconds * rate:
            raise InvalidAudio("audio too long")
        if frames > self.pcm_cap(rate, channels):
            raise InvalidAudio("decoded audio larger than the cap")


@dataclass(frozen=True, slots=True, kw_only=True)
class Audio:
    """Decoded audio: signed 16-bit little-endian interleaved PCM and its parameters.

    ``source_format`` names what was decoded (``"wav/pcm_s16le"``, ``"wav/mulaw"``,
    ``"mp3"``, ...). ``pcm`` is excluded from ``repr`` (it is the call itself); it may be
    the decoder's own ``bytearray`` (never copied, never changed after decoding).
    """

    sample_rate: int
    channels: int
    frames: int
    source_format: str
    pcm: bytes | bytearray = field(repr=False)

    def __post_init__(self) -> None:
        if self.sample_rate < 1 or self.channels < 1 or self.frames < 0:
            raise ValueError("audio parameters out of range")
        if len(self.pcm) != self.frames * self.channels * 2:
            raise ValueError("pcm length does not match frames and channels")

    @property
    def sample_width(self) -> int:
        """Bytes per sample: always 2 (16-bit)."""
        return 2

    @property
    def duration_ms(self) -> int:
        """Duration in whole milliseconds, from the decoded frame count (floor)."""
        return self.frames * 1000 // self.sample_rate

    def _frame_at(self, ms: int) -> int:
        """The first frame at or after ``ms``, clamped to the end of the audio."""
        if ms < 0:
            raise ValueError("negative time offset")
        return min(ms * self.sample_rate // 1000, self.frames)

    def wav_header(self) -> bytes:
        """The canonical 44-byte RIFF/WAVE PCM header for exactly this audio."""
        size = len(self.pcm)
        if size > 0xFFFFFFFF - 36:
            raise ValueError("audio too large for a RIFF/WAVE header")
        return wav_header(
            PcmFormat(sample_rate=self.sample_rate, channels=self.channels), self.frames
        )

    def iter_wav(self, chunk: int = 65536) -> Iterator[bytes]:
        """The canonical WAV file: the header, then ``pcm`` in slices of ``chunk`` bytes."""
        if chunk < 1:
            raise ValueError("chunk must be positive")
        return self._iter_wav(chunk)

    def _iter_wav(self, chunk: int) -> Iterator[bytes]:
        yield self.wav_header()
        view = memoryview(self.pcm)
        for start in range(0, len(view), chunk):
            yield bytes(view[start : start + chunk])

    def byte_offset(self, ms: int) -> int:
        """Offset of the frame at ``ms`` in the canonical WAV (clamped to its end)."""
        return 44 + self._frame_at(ms) * self.channels * 2

    def slice_ms(self, start_ms: int, end_ms: int | None = None) -> Audio:
        """Frames ``[start_ms, end_ms)`` (frame-accurate, floor), clamped to the audio.

        Used to drop what was recorded before the call was answered; ``None`` = to the end.
        """
        if end_ms is not None and end_ms < start_ms:
            raise ValueError("slice ends before it starts")
        first = self._frame_at(start_ms)
        last = self.frames if end_ms is None else self._frame_at(end_ms)
        width = self.channels * 2
        return Audio(
            sample_rate=self.sample_rate,
            channels=self.channels,
            frames=last - first,
            source_format=self.source_format,
            pcm=self.pcm[first * width : last * width],
        )

    def channel(self, i: int) -> Audio:
        """Channel ``i`` alone, as mono (e.g. agent or customer of a dual-channel call)."""
        if not 0 <= i < self.channels:
            raise IndexError("channel index out of range")
        if self.channels == 1:
            return self
        samples = np.frombuffer(self.pcm, dtype="<i2").reshape(-1, self.channels)
        return Audio(
            sample_rate=self.sample_rate,
            channels=1,
            frames=self.frames,
            source_format=self.source_format,
            pcm=np.ascontiguousarray(samples[:, i]).tobytes(),
        )


def decode(path: Path, *, limits: AudioLimits = AudioLimits()) -> Audio:
    """Probe and decode the audio file at ``path`` (see the module docstring for the rules).

    Raises :class:`InvalidAudio` for anything that cannot be decoded safely, and nothing else.
    """
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is rejected below).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        raise InvalidAudio("audio file unreadable") from None  # no path in the chain
    try:
        with _regular_file(fd) as f:
            return _decode_open(f, limits)
    except InvalidAudio:
        raise
    except OSError:
        raise InvalidAudio("audio file unreadable") from None
    except (ValueError, struct.error, EOFError, OverflowError, IndexError) as exc:
        raise InvalidAudio("malformed audio") from exc


def _regular_file(fd: int) -> BinaryIO:
    """Own ``fd`` as a buffered file if it is a regular file (not a FIFO, device, dir)."""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InvalidAudio("not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _decode_open(f: BinaryIO, limits: AudioLimits) -> Audio:
    size = os.fstat(f.fileno()).st_size
    if size == 0:
        raise InvalidAudio("empty audio file")
    if size > limits.max_bytes:
        raise InvalidAudio("audio file too large")
    head = _read_at(f, 0, 12)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _decode_wav(f, size, limits)
    if head[:3] == b"ID3" or mp3frames.frame_at(head, 0) is not None:
        return _decode_mp3(f, size, limits)
    raise InvalidAudio("unsupported audio format")


def _read_at(f: BinaryIO, offset: int, n: int) -> bytes:
    f.seek(offset)
    return f.read(n)


# --- WAV ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Fmt:
    kind: str
    channels: int
    rate: int
    block_align: int


def _decode_wav(f: BinaryIO, size: int, limits: AudioLimits) -> Audio:
    fmt: _Fmt | None = None
    data: tuple[int, int] | None = None  # (offset, bytes present)
    pos = 12
    for _ in range(_MAX_CHUNKS):
        if size - pos < 8:
            break  # end of file (or a few stray bytes)
        cid, csize = _CHUNK.unpack(_read_at(f, pos, 8))
        body = pos + 8
        if not all(0x20 <= b <= 0x7E for b in cid):
            if data is not None:
                break  # trailing garbage after the audio
            raise InvalidAudio("malformed WAV chunk")
        if cid == b"data":
            if fmt is None:
                raise InvalidAudio("data chunk before fmt chunk")
            if data is not None:
                raise InvalidAudio("more than one data chunk")
            data = (body, min(csize, size - body))
            if csize > size - body:
                break  # streamed or cut: the rest of the file is audio
        elif cid == b"fmt ":
            if fmt is not None:
                raise InvalidAudio("more than one fmt chunk")
            if csize < 16 or csize > size - body:
                raise InvalidAudio("truncated fmt chunk")
            fmt = _parse_fmt(_read_at(f, body, min(csize, 40)), limits)
        elif csize > size - body:
            if data is not None:
                break  # cut metadata after the audio
            raise InvalidAudio("chunk exceeds file")
        pos = body + csize + (csize & 1)
    else:
        raise InvalidAudio("too many WAV chunks")
    if fmt is None:
        raise InvalidAudio("no fmt chunk")
    if data is None:
        raise InvalidAudio("no data chunk")
    frames = data[1] // fmt.block_align
    if frames == 0:
        raise InvalidAudio("no audio samples")
    limits.check_pcm(frames, fmt.rate, fmt.channels)
    raw = _read_at(f, data[0], frames * fmt.block_align)
    if len(raw) != frames * fmt.block_align:
        raise InvalidAudio("audio file changed while reading")
    return Audio(
        sample_rate=fmt.rate,
        channels=fmt.channels,
        frames=frames,
        source_format=f"wav/{fmt.kind}",
        pcm=_to_s16le(raw, fmt.kind),
    )


def _parse_fmt(raw: bytes, limits: AudioLimits) -> _Fmt:
    """Validate a ``fmt `` chunk body (16..40 bytes of it)."""
    tag, channels, rate, _byte_rate, block_align, bits = _FMT.unpack_from(raw)
    if tag == 0xFFFE:
        if len(raw) < 40:
            raise InvalidAudio("malformed WAVE_FORMAT_EXTENSIBLE")
        cb_size, valid_bits, mask = struct.unpack_from("<HHI", raw, 16)
        if (
            cb_size < 22
            or not 0 < valid_bits <= bits
            or mask.bit_count() > channels
            or raw[28:40] != _GUID_TAIL
        ):
            raise InvalidAudio("malformed WAVE_FORMAT_EXTENSIBLE")
        tag = int.from_bytes(raw[24:28], "little")
    if not 1 <= channels <= limits.max_channels:
        raise InvalidAudio("unsupported channel count")
    if not limits.min_sample_rate <= rate <= limits.max_sample_rate:
        raise InvalidAudio("unsupported sample rate")
    kind = _ENCODINGS.get((tag, bits))
    if kind is None:
        known = any(t == tag for t, _ in _ENCODINGS)
        raise InvalidAudio("unsupported sample width" if known else "unsupported WAV encoding")
    if block_align != channels * (bits // 8):
        raise InvalidAudio("inconsistent block alignment")
    return _Fmt(kind, channels, rate, block_align)


def _ulaw(code: int) -> int:
    """G.711 µ-law code -> linear 16-bit (ITU-T G.711 / Sun g711.c ``ulaw2linear``)."""
    u = ~code & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return 0x84 - t if u & 0x80 else t - 0x84


def _alaw(code: int) -> int:
    """G.711 A-law code -> linear 16-bit (ITU-T G.711 / Sun g711.c ``alaw2linear``)."""
    a = code ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = t + 8 if seg == 0 else (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


_ULAW_TABLE: npt.NDArray[np.int16] = np.array([_ulaw(c) for c in range(256)], dtype="<i2")
_ALAW_TABLE: npt.NDArray[np.int16] = np.array([_alaw(c) for c in range(256)], dtype="<i2")


def _to_s16le(raw: bytes, kind: str) -> bytes:
    """Convert one encoding's sample bytes to signed 16-bit little-endian."""
    if kind == "pcm_s16le":
        return raw  # the common case: no conversion, no copy
    codes = np.frombuffer(raw, dtype=np.uint8)
    if kind == "mulaw":
        return _ULAW_TABLE[codes].tobytes()
    if kind == "alaw":
        return _ALAW_TABLE[codes].tobytes()
    if kind == "pcm_u8":
        return ((codes.astype("<i2") - 128) << 8).astype("<i2").tobytes()
    width = 3 if kind == "pcm_s24le" else 4  # keep the two most significant bytes
    return np.ascontiguousarray(codes.reshape(-1, width)[:, width - 2 :]).tobytes()


# --- MP3 ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _ffmpeg_exe() -> str:
    """Path of the ffmpeg binary shipped by imageio-ffmpeg (or ``IMAGEIO_FFMPEG_EXE``)."""
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _decode_mp3(f: BinaryIO, size: int, limits: AudioLimits) -> Audio:
    first, _ = mp3frames.first_frame(f, size)
    if first.channels > limits.max_channels:
        raise InvalidAudio("unsupported channel count")
    if not limits.min_sample_rate <= first.rate <= limits.max_sample_rate:
        raise InvalidAudio("unsupported sample rate")
    cap = limits.pcm_cap(first.rate, first.channels)
    stream = mp3frames.scan(f, size, max_samples=cap)
    frame = first
    width = frame.channels * 2
    declared = min(cap, stream.samples + _MP3_SLACK_FRAMES * first.samples)
    f.seek(0)  # ffmpeg starts at the shared file description's current offset
    pcm = _run_ffmpeg(
        f,
        rate=frame.rate,
        channels=frame.channels,
        cap=declared * width,
        timeout=limits.decode_timeout_seconds,
        too_much="audio too long" if declared == cap else "malformed MP3 stream",
    )
    frames = len(pcm) // width
    if frames == 0:
        raise InvalidAudio("no audio samples")
    del pcm[frames * width :]  # a partial trailing frame, cut in place (no copy)
    return Audio(
        sample_rate=frame.rate,
        channels=frame.channels,
        frames=frames,
        source_format="mp3",
        pcm=pcm,
    )


def _run_ffmpeg(
    stdin: BinaryIO, *, rate: int, channels: int, cap: int, timeout: float, too_much: str
) -> bytearray:
    """Decode the MP3 on ``stdin`` to s16le at ``rate``/``channels``; at most ``cap`` bytes
    (more is :class:`InvalidAudio` ``too_much``, and ffmpeg is killed at once).

    The demuxer is forced (a hostile file cannot pick HLS, concat or image demuxers); the
    input is the already-open file, handed over as fd 0 and read with the ``fd:`` protocol
    (no path or ``proto:`` string is interpreted, no re-open race; unlike ``pipe:`` it is
    seekable, so the LAME/Info gapless trim applies; needs ffmpeg >= 6.1, 9.0 is bundled);
    stderr is discarded (it can quote metadata); the process is killed on timeout, cap or
    any error.
    """
    try:
        exe = _ffmpeg_exe()
    except RuntimeError:
        raise InvalidAudio("MP3 decoder unavailable") from None
    args = [
        exe, "-hide_banner", "-nostdin", "-loglevel", "quiet",
        "-protocol_whitelist", "fd", "-f", "mp3", "-fd", "0", "-i", "fd:",
        "-map", "0:a:0", "-map_metadata", "-1", "-ac", str(channels), "-ar", str(rate),
        "-c:a", "pcm_s16le", "-f", "s16le", "pipe:1",
    ]  # fmt: skip
    deadline = time.monotonic() + timeout
    try:
        proc = subprocess.Popen(  # noqa: S603 - fixed list argv, our binary, no shell
            args, stdin=stdin.fileno(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
    except OSError:
        raise InvalidAudio("MP3 decoder unavailable") from None
    out = bytearray()
    try:
        assert proc.stdout is not None  # noqa: S101 - guaranteed by stdout=PIPE
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise InvalidAudio("MP3 decoding timed out")
                if not selector.select(left):
                    continue
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                out += chunk
                if len(out) > cap:
                    raise InvalidAudio(too_much)
        try:
            returncode = proc.wait(timeout=max(deadline - time.monotonic(), 0.001))
        except subprocess.TimeoutExpired:
            raise InvalidAudio("MP3 decoding timed out") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    if returncode != 0:
        raise InvalidAudio("MP3 decoding failed")
    return out  # no copy: a 4 h call is ~230 MB of PCM
