"""Generate the hostile-audio corpus of RELIABILITY.md T-INPUT F1 and its MANIFEST.json.

Run from the repository root (rewrites ``tests/recorder/hostile_audio/``)::

    .venv/bin/python -m tests.recorder.make_hostile_audio

Every file is a few bytes to a few KB. All but the MP3s are built byte by byte here, from
integer arithmetic and a seeded PRNG, so they come out identical on every run (the test
suite regenerates them and compares). The MP3s are encoded by the ffmpeg binary of
imageio-ffmpeg (libmp3lame) and then cut or forged; they are marked ``"tool_made"``.

Each manifest entry says what the file tests and what :func:`recorder.audio.decode` must
do: ``"reject"`` with the fixed ``reason``, or ``"accept"`` with the expected parameters and
frame count (± ``frames_tolerance``, non-zero only for MP3, whose decoders trim encoder
delay differently).
"""

from __future__ import annotations

import io
import json
import random
import struct
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent / "hostile_audio"
MANIFEST = "MANIFEST.json"


@dataclass(frozen=True, kw_only=True)
class Case:
    name: str
    tests: str
    expect: str  # "accept" | "reject"
    reason: str | None = None
    frames: int | None = None
    frames_tolerance: int = 0
    channels: int | None = None
    sample_rate: int | None = None
    source_format: str | None = None
    tool_made: bool = False


# --- building blocks ----------------------------------------------------------------------


def chunk(cid: bytes, body: bytes, size: int | None = None) -> bytes:
    """A RIFF chunk; ``size`` overrides the true length (then no pad byte is added)."""
    if size is not None:
        return cid + struct.pack("<I", size) + body
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def fmt(
    *,
    tag: int = 1,
    channels: int = 1,
    rate: int = 8000,
    bits: int = 16,
    block_align: int | None = None,
    extra: bytes = b"",
) -> bytes:
    """A ``fmt `` chunk body."""
    align = channels * (bits // 8) if block_align is None else block_align
    body = struct.pack("<HHIIHH", tag, channels, rate, (rate * align) & 0xFFFFFFFF, align, bits)
    return body + extra


def riff(*chunks: bytes, size: int | None = None) -> bytes:
    """``RIFF`` + size + ``WAVE`` + chunks; ``size`` overrides the true RIFF size."""
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body) if size is None else size) + body


def pcm16(frames: int, channels: int = 1) -> bytes:
    """A deterministic 16-bit sawtooth (integer arithmetic only)."""
    out = bytearray()
    for i in range(frames):
        for c in range(channels):
            out += struct.pack("<h", ((i * 1031 + c * 7919) % 65536) - 32768)
    return bytes(out)


def wav16(
    frames: int = 400,
    *,
    tag: int = 1,
    channels: int = 1,
    rate: int = 8000,
    bits: int = 16,
    block_align: int | None = None,
) -> bytes:
    """A valid 8 kHz mono 16-bit WAV, or one with the given ``fmt`` fields changed."""
    body = fmt(tag=tag, channels=channels, rate=rate, bits=bits, block_align=block_align)
    return riff(chunk(b"fmt ", body), chunk(b"data", pcm16(frames)))


GUID_TAIL = bytes.fromhex("00001000800000aa00389b71")


def extensible(
    sub_tag: int, *, channels: int = 1, bits: int = 16, guid: bytes | None = None
) -> bytes:
    """A WAVE_FORMAT_EXTENSIBLE ``fmt `` body."""
    mask = 0x4 if channels == 1 else 0x3
    sub = guid if guid is not None else struct.pack("<I", sub_tag) + GUID_TAIL
    extra = struct.pack("<HHI", 22, bits, mask) + sub
    return fmt(tag=0xFFFE, channels=channels, bits=bits, extra=extra)


def mpeg_header(*, version: int = 0, bitrate_index: int = 2, rate_index: int = 2) -> bytes:
    """A layer III frame header (default MPEG-2.5, 16 kbit/s, 8 kHz, mono: 144-byte frames)."""
    b1 = 0xE0 | (version << 3) | (1 << 1) | 1
    return bytes([0xFF, b1, (bitrate_index << 4) | (rate_index << 2), 0xC0])


def id3(body_size: int, body: bytes = b"") -> bytes:
    """An ID3v2.4 tag header declaring ``body_size`` (syncsafe) followed by ``body``."""
    s = body_size
    size = bytes([(s >> 21) & 0x7F, (s >> 14) & 0x7F, (s >> 7) & 0x7F, s & 0x7F])
    return b"ID3\x04\x00\x00" + size + body


PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("call.wav", date_time=(1980, 1, 1, 0, 0, 0)), wav16(100))
    return buf.getvalue()


# --- the cases -----------------------------------------------------------------------------


def reject(name: str, tests: str, reason: str, data: bytes) -> tuple[Case, bytes]:
    return Case(name=name, tests=tests, expect="reject", reason=reason), data


def accept(
    name: str,
    tests: str,
    data: bytes,
    *,
    frames: int,
    channels: int = 1,
    rate: int = 8000,
    source_format: str = "wav/pcm_s16le",
    tolerance: int = 0,
    tool_made: bool = False,
) -> tuple[Case, bytes]:
    case = Case(
        name=name,
        tests=tests,
        expect="accept",
        frames=frames,
        frames_tolerance=tolerance,
        channels=channels,
        sample_rate=rate,
        source_format=source_format,
        tool_made=tool_made,
    )
    return case, data


def byte_cases() -> list[tuple[Case, bytes]]:
    """Every case built from bytes alone (deterministic)."""
    rng = random.Random(20261123)
    good_fmt = chunk(b"fmt ", fmt())
    data400 = chunk(b"data", pcm16(400))
    header44 = riff(good_fmt, chunk(b"data", b""))
    wav60 = bytearray(riff(good_fmt, chunk(b"data", pcm16(8))))
    wav60[40:44] = b"\xff\xff\xff\xff"
    ascii_garbage = b"".join(bytes([0x41 + (i % 26)]) for i in range(8))
    junk_flood = b"".join(chunk(b"JUNK", b"") for _ in range(300))
    mp3_frames = b"".join(mpeg_header() + rng.randbytes(140) for _ in range(12))
    # fmt: off
    return [
        reject("empty.wav", "empty file", "empty audio file", b""),
        reject("header_only.wav", "44-byte header, data size 0", "no audio samples", header44),
        accept("data_ffffffff_60_bytes.wav", "data size 0xFFFFFFFF in a 60-byte file: "
               "duration from the 16 real bytes", bytes(wav60), frames=8),
        accept("riff_size_bigger.wav", "RIFF size claims 2 GB: ignored",
               riff(good_fmt, data400, size=0x7FFFFFF0), frames=400),
        accept("riff_size_smaller.wav", "RIFF size 4 (smaller than the file): ignored",
               riff(good_fmt, data400, size=4), frames=400),
        accept("riff_size_ffffffff.wav", "RIFF size 0xFFFFFFFF as streaming writers leave it",
               riff(good_fmt, data400, size=0xFFFFFFFF), frames=400),
        reject("riff_wave_only.wav", "RIFF/WAVE and nothing else", "no fmt chunk", riff()),
        reject("fmt_truncated.wav", "file ends inside the fmt chunk", "truncated fmt chunk",
               riff(good_fmt)[:26]),
        reject("fmt_size_too_small.wav", "fmt chunk declares 8 bytes", "truncated fmt chunk",
               riff(chunk(b"fmt ", fmt(), size=8), data400)),
        reject("fmt_size_huge.wav", "fmt chunk size 0x7FFFFFFF", "truncated fmt chunk",
               riff(chunk(b"fmt ", fmt(), size=0x7FFFFFFF), data400)),
        reject("fmt_size_lies.wav", "fmt size 100: the walk lands inside silence",
               "malformed WAV chunk",
               riff(chunk(b"fmt ", fmt(), size=100), chunk(b"data", bytes(800)))),
        accept("extensible_pcm16.wav", "WAVE_FORMAT_EXTENSIBLE, PCM subformat, fully valid",
               riff(chunk(b"fmt ", extensible(1)), data400), frames=400),
        accept("extensible_mulaw.wav", "WAVE_FORMAT_EXTENSIBLE, mu-law subformat",
               riff(chunk(b"fmt ", extensible(7, bits=8)), chunk(b"data", bytes(range(256)))),
               frames=256, source_format="wav/mulaw"),
        reject("extensible_garbage_guid.wav", "WAVE_FORMAT_EXTENSIBLE, random subformat GUID",
               "malformed WAVE_FORMAT_EXTENSIBLE",
               riff(chunk(b"fmt ", extensible(1, guid=rng.randbytes(16))), data400)),
        reject("extensible_short.wav", "WAVE_FORMAT_EXTENSIBLE in a 16-byte fmt chunk",
               "malformed WAVE_FORMAT_EXTENSIBLE",
               riff(chunk(b"fmt ", fmt(tag=0xFFFE)), data400)),
        reject("channels_0.wav", "0 channels", "unsupported channel count",
               wav16(channels=0, block_align=2)),
        reject("channels_65535.wav", "65535 channels", "unsupported channel count",
               wav16(channels=65535, block_align=2)),
        reject("channels_3.wav", "3 channels (over max_channels)", "unsupported channel count",
               wav16(channels=3)),
        reject("bits_0.wav", "sample width 0", "unsupported sample width",
               wav16(bits=0, block_align=2)),
        reject("bits_40.wav", "sample width 5 bytes (40-bit)", "unsupported sample width",
               wav16(bits=40)),
        reject("rate_0.wav", "sample rate 0", "unsupported sample rate", wav16(rate=0)),
        reject("rate_4ghz.wav", "sample rate 4 GHz", "unsupported sample rate",
               wav16(rate=4_000_000_000)),
        reject("rate_7999.wav", "sample rate just under the minimum", "unsupported sample rate",
               wav16(rate=7999)),
        reject("block_align_inconsistent.wav", "block_align 3 for 16-bit mono",
               "inconsistent block alignment", wav16(block_align=3)),
        reject("float32.wav", "IEEE float (tag 3): not accepted", "unsupported WAV encoding",
               wav16(tag=3, bits=32)),
        reject("adpcm.wav", "MS ADPCM (tag 2)", "unsupported WAV encoding", wav16(tag=2, bits=4,
               block_align=256)),
        reject("mulaw_16bit.wav", "mu-law claiming 16 bits per sample",
               "unsupported sample width", wav16(tag=7)),
        reject("two_data_chunks.wav", "two data chunks", "more than one data chunk",
               riff(good_fmt, data400, data400)),
        reject("two_fmt_chunks.wav", "two fmt chunks", "more than one fmt chunk",
               riff(good_fmt, good_fmt, data400)),
        reject("no_data_chunk.wav", "fmt and LIST but no data", "no data chunk",
               riff(good_fmt, chunk(b"LIST", b"INFOISFT\x04\x00\x00\x00test"))),
        reject("data_before_fmt.wav", "data chunk before the fmt chunk",
               "data chunk before fmt chunk", riff(data400, good_fmt)),
        accept("trailing_garbage.wav", "512 random bytes (non-ASCII first) after the data chunk",
               riff(good_fmt, data400) + b"\xff\xfe" + rng.randbytes(510), frames=400),
        accept("trailing_ascii_garbage.wav", "ASCII garbage after data: a chunk past EOF",
               riff(good_fmt, data400) + ascii_garbage, frames=400),
        accept("odd_length_data.wav", "801-byte data chunk of 16-bit mono: odd byte dropped",
               riff(good_fmt, chunk(b"data", pcm16(400) + b"\x7f")), frames=400),
        accept("data_size_short.wav", "data size 200 but 800 bytes follow: size honoured",
               riff(good_fmt, chunk(b"data", pcm16(100)), size=None) + pcm16(300),
               frames=100),
        reject("list_past_eof_before_data.wav", "LIST chunk size past EOF, before data",
               "chunk exceeds file",
               riff(good_fmt, chunk(b"LIST", b"INFO", size=5000), data400)),
        accept("list_huge_after_data.wav", "LIST size 0xFFFFFFF0 after data: cut metadata",
               riff(good_fmt, data400, chunk(b"LIST", b"INFO", size=0xFFFFFFF0)),
               frames=400),
        reject("binary_chunk_id.wav", "chunk with a binary id before data",
               "malformed WAV chunk", riff(good_fmt, b"\x00\x01\x02\x03\x04\x00\x00\x00", data400)),
        reject("junk_chunk_flood.wav", "300 empty JUNK chunks (walk is bounded)",
               "too many WAV chunks", riff(junk_flood, good_fmt, data400)),
        reject("rifx.wav", "big-endian RIFX", "unsupported audio format",
               b"RIFX" + riff(good_fmt, data400)[4:]),
        reject("rf64.wav", "RF64 (64-bit sizes)", "unsupported audio format",
               b"RF64" + riff(good_fmt, data400)[4:]),
        reject("riff_avi.wav", "RIFF/AVI named .wav", "unsupported audio format",
               b"RIFF\x10\x00\x00\x00AVI LIST\x04\x00\x00\x00hdrl"),
        reject("pdf_named.wav", "PDF bytes named .wav", "unsupported audio format", PDF),
        reject("zip_named.wav", "ZIP (holding a WAV) named .wav", "unsupported audio format",
               zip_bytes()),
        reject("random_bytes.wav", "1 KB of random bytes", "unsupported audio format",
               b"\x00" + rng.randbytes(1023)),
        reject("mpeg_sync_garbage.mp3", "one MPEG sync word then random bytes",
               "unsupported audio format", b"\xff\xfb\x90\x64" + rng.randbytes(1000)),
        accept("mpeg_frames_random_payload.mp3", "12 consistent layer III headers, random "
               "payloads: noise, at most 12 x 576 frames", mp3_frames, frames=3456,
               tolerance=3456, source_format="mp3"),
        reject("id3_past_eof.mp3", "ID3 tag size 256 MB in a tiny file", "malformed MP3 stream",
               id3(0x0FFFFFFF, bytes(64))),
        reject("id3_only.mp3", "an ID3 tag and no audio", "malformed MP3 stream",
               id3(32, bytes(32))),
        reject("id3_then_pdf.mp3", "an ID3 tag then PDF bytes", "malformed MP3 stream",
               id3(16, bytes(16)) + PDF),
        accept("mulaw_8k.wav", "valid 8 kHz mu-law, every code", riff(
               chunk(b"fmt ", fmt(tag=7, bits=8)), chunk(b"data", bytes(range(256)) * 3)),
               frames=768, source_format="wav/mulaw"),
        accept("alaw_8k.wav", "valid 8 kHz A-law, every code", riff(
               chunk(b"fmt ", fmt(tag=6, bits=8)), chunk(b"data", bytes(range(256)) * 3)),
               frames=768, source_format="wav/alaw"),
        accept("pcm_u8_stereo.wav", "valid 8-bit unsigned dual-channel (stays two channels)",
               riff(chunk(b"fmt ", fmt(channels=2, bits=8)),
                    chunk(b"data", bytes(i % 256 for i in range(600)))),
               frames=300, channels=2, source_format="wav/pcm_u8"),
        accept("pcm_s24le.wav", "valid 24-bit PCM (top 16 bits kept)",
               riff(chunk(b"fmt ", fmt(bits=24)), chunk(b"data", bytes(range(240)) * 5)),
               frames=400, source_format="wav/pcm_s24le"),
    ]
    # fmt: on


def _ffmpeg(args: list[str]) -> None:
    import imageio_ffmpeg  # type: ignore[import-untyped]

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run([exe, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _lame(out: Path, *, seconds: float, channels: int, kbps: int) -> bytes:
    src = f"sine=frequency=440:sample_rate=8000:duration={seconds}"
    _ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            src,
            "-ac",
            str(channels),
            "-c:a",
            "libmp3lame",
            "-b:a",
            f"{kbps}k",
            "-map_metadata",
            "-1",
            "-bitexact",
            str(out),
        ]
    )
    return out.read_bytes()


def tool_cases() -> list[tuple[Case, bytes]]:
    """MP3 cases encoded with imageio-ffmpeg's libmp3lame (not byte-reproducible)."""
    with tempfile.TemporaryDirectory() as tmp:
        mono = _lame(Path(tmp) / "mono.mp3", seconds=0.25, channels=1, kbps=16)
        stereo = _lame(Path(tmp) / "stereo.mp3", seconds=0.25, channels=2, kbps=32)
        longer = _lame(Path(tmp) / "long.mp3", seconds=1.0, channels=1, kbps=16)
    forged = bytearray(mono)
    info = forged.find(b"Info")
    if info < 0 or not forged[info + 7] & 1:
        raise SystemExit("expected a LAME Info frame with a frame count")
    forged[info + 8 : info + 12] = struct.pack(">I", 0x00FFFFFF)  # claims ~37 h
    ms50 = 400
    # fmt: off
    return [
        accept("mp3_named.wav", "MP3 bytes named .wav: sniffed by content, decoded", mono,
               frames=2000, source_format="mp3", tolerance=ms50, tool_made=True),
        accept("mp3_stereo.mp3", "stereo MP3 stays two channels", stereo, frames=2000,
               channels=2, source_format="mp3", tolerance=ms50, tool_made=True),
        accept("mp3_truncated.mp3", "1 s MP3 cut mid-frame at half its bytes",
               longer[: len(longer) // 2], frames=4000, source_format="mp3",
               tolerance=1200, tool_made=True),
        accept("mp3_info_lies.mp3", "LAME Info frame claims 16.7 M frames (~37 h)",
               bytes(forged), frames=2000, source_format="mp3", tolerance=1200,
               tool_made=True),
    ]
    # fmt: on


def build(out: Path, *, tool_made: bool = True) -> list[Case]:
    """Write the corpus and MANIFEST.json into ``out``; return the cases."""
    out.mkdir(parents=True, exist_ok=True)
    cases = byte_cases() + (tool_cases() if tool_made else [])
    names = [c.name for c, _ in cases]
    if len(set(names)) != len(names):
        raise SystemExit("duplicate case names")
    for case, data in cases:
        (out / case.name).write_bytes(data)
    manifest = {
        "about": "F1 hostile audio corpus; made by tests/recorder/make_hostile_audio.py",
        "files": [{k: v for k, v in asdict(c).items() if v is not None} for c, _ in cases],
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return [c for c, _ in cases]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else HERE
    cases = build(out)
    print(f"{len(cases)} files written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
