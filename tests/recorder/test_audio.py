"""Audio probing and normalisation (recorder/audio.py): RELIABILITY.md T-INPUT F1 and F4.

- F1: every file of the committed hostile corpus (``hostile_audio/``, made by
  ``make_hostile_audio.py``) gets exactly the outcome its MANIFEST.json states, raises
  nothing but ``InvalidAudio``, in < 1 s and < 64 MiB of Python allocations.
- Round trips of WAVs written here from numpy sine waves (PCM 8/16/24, µ-law, A-law; mono
  and dual-channel) and of MP3s encoded at test time by imageio-ffmpeg's libmp3lame.
- The ffmpeg subprocess is bounded: output cap, timeout, failure and absence are all
  ``InvalidAudio``, and no child process survives.
- F4: hypothesis fuzzing of random bytes, mutated WAV headers, structured chunk soups and
  mutated MP3s: only ``InvalidAudio`` or a self-consistent ``Audio``.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import time
import tracemalloc
import warnings
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import imageio_ffmpeg  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
import psutil  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder import audio as audio_mod
from recorder.audio import Audio, AudioLimits, decode
from recorder.errors import InvalidAudio
from tests.recorder import make_hostile_audio as corpus

CORPUS = Path(__file__).resolve().parent / "hostile_audio"
ENTRIES: list[dict[str, Any]] = json.loads((CORPUS / corpus.MANIFEST).read_text("utf-8"))["files"]
MiB = 1024 * 1024
FFMPEG = str(imageio_ffmpeg.get_ffmpeg_exe())

Samples = npt.NDArray[np.int16]


# --- helpers -------------------------------------------------------------------------------


def sine(rate: int, seconds: float, channels: int = 1) -> Samples:
    """(frames, channels) int16; each channel its own frequency, so a swap shows."""
    t = np.arange(round(rate * seconds)) / rate
    cols = [np.round(20000 * np.sin(2 * np.pi * (300 + 250 * c) * t)) for c in range(channels)]
    return np.stack(cols, axis=1).astype(np.int16)


def write_wav(path: Path, samples: Samples, rate: int, encoding: str = "pcm_s16le") -> Path:
    """A WAV written by our own code: PCM 16 / 8 (unsigned) / 24 bit."""
    channels = samples.shape[1]
    if encoding == "pcm_s16le":
        bits, data = 16, samples.astype("<i2").tobytes()
    elif encoding == "pcm_u8":
        bits, data = 8, ((samples.astype(np.int32) >> 8) + 128).astype(np.uint8).tobytes()
    elif encoding == "pcm_s24le":  # original in the top 16 bits, noise in the low byte
        wide = (samples.astype("<i4") << 8) | 0x5A
        bits, data = 24, wide.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        raise AssertionError(encoding)
    align = channels * bits // 8
    head = struct.pack("<HHIIHH", 1, channels, rate, rate * align, align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + head + b"data"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body) + 4 + len(data)) + body
                     + struct.pack("<I", len(data)) + data)  # fmt: skip
    return path


def ffmpeg(*args: str) -> bytes:
    """Run the imageio-ffmpeg binary (the independent encoder/decoder of these tests)."""
    done = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def has_mp3_encoder() -> bool:
    return b"libmp3lame" in ffmpeg("-encoders")


def as_array(a: Audio) -> Samples:
    return np.frombuffer(a.pcm, dtype="<i2").reshape(-1, a.channels)


def _child_pids() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


@pytest.fixture(scope="module")
def new_children() -> Callable[[], set[int]]:
    """Pids of child processes started since this module began (a leaked ffmpeg shows)."""
    before = _child_pids()
    return lambda: _child_pids() - before


# --- F1: the hostile corpus ----------------------------------------------------------------


def test_manifest_lists_exactly_the_corpus_files() -> None:
    listed = [e["name"] for e in ENTRIES]
    on_disk = sorted(p.name for p in CORPUS.iterdir() if p.name != corpus.MANIFEST)
    assert sorted(listed) == on_disk
    assert len(set(listed)) == len(listed) >= 25
    assert all((CORPUS / n).stat().st_size <= 8 * 1024 for n in listed)  # tiny files
    assert {e["expect"] for e in ENTRIES} == {"accept", "reject"}
    for e in ENTRIES:
        assert e["tests"]
        assert ("reason" in e) == (e["expect"] == "reject"), e["name"]
        assert ("frames" in e) == (e["expect"] == "accept"), e["name"]


def test_corpus_is_what_the_generator_makes(tmp_path: Path) -> None:
    """Every byte-built file and its manifest entry is reproduced exactly by the script."""
    cases = corpus.build(tmp_path, tool_made=False)
    committed = {e["name"]: e for e in ENTRIES}
    fresh = json.loads((tmp_path / corpus.MANIFEST).read_text("utf-8"))["files"]
    assert [e for e in ENTRIES if not e.get("tool_made")] == fresh
    for case in cases:
        assert (tmp_path / case.name).read_bytes() == (CORPUS / case.name).read_bytes()
    tool_made = {e["name"] for e in ENTRIES if e.get("tool_made")}
    assert tool_made == set(committed) - {c.name for c in cases}


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_hostile_file(entry: dict[str, Any], new_children: Callable[[], set[int]]) -> None:
    path = CORPUS / entry["name"]
    tracemalloc.start()
    try:
        start = time.perf_counter()
        try:
            result: Audio | InvalidAudio = decode(path)
        except InvalidAudio as exc:
            result = exc
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0, f"{elapsed:.3f} s"
    assert peak < 64 * MiB, f"{peak / MiB:.1f} MiB"
    assert not new_children()
    if entry["expect"] == "reject":
        assert isinstance(result, InvalidAudio)
        assert str(result) == entry["reason"]
        assert entry["name"] not in str(result)
    else:
        assert isinstance(result, Audio), str(result)
        assert abs(result.frames - entry["frames"]) <= entry["frames_tolerance"]
        assert result.channels == entry["channels"]
        assert result.sample_rate == entry["sample_rate"]
        assert result.source_format == entry["source_format"]
        assert result.duration_ms == result.frames * 1000 // result.sample_rate


def test_header_claiming_74_hours_is_measured_from_real_bytes() -> None:
    """The case the stdlib ``wave`` module gets wrong (RELIABILITY F1)."""
    path = CORPUS / "data_ffffffff_60_bytes.wav"
    with wave.open(str(path)) as w:
        assert w.getnframes() / w.getframerate() > 70 * 3600  # what the header claims
    assert decode(path).duration_ms == 1  # 8 frames at 8 kHz


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("encoding", ["pcm_s16le", "pcm_u8", "pcm_s24le"])
def test_pcm_round_trip(tmp_path: Path, encoding: str, channels: int) -> None:
    src = sine(8000, 1.25, channels)
    a = decode(write_wav(tmp_path / "x.bin", src, 8000, encoding))
    assert (a.sample_rate, a.channels, a.frames) == (8000, channels, 10000)
    assert a.duration_ms == 1250
    assert a.source_format == f"wav/{encoding}"
    expected = src if encoding != "pcm_u8" else (src.astype(np.int32) >> 8 << 8)
    np.testing.assert_array_equal(as_array(a), expected)


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("codec", ["mulaw", "alaw"])
def test_g711_round_trip(tmp_path: Path, codec: str, channels: int) -> None:
    """µ-law/A-law WAVs encoded by ffmpeg decode within quantisation error of the source,
    and bit-identical to ffmpeg's own decoder."""
    src = sine(8000, 0.5, channels)
    pcm = write_wav(tmp_path / "src.wav", src, 8000)
    g711 = tmp_path / "g711.wav"
    ffmpeg("-i", str(pcm), "-c:a", f"pcm_{codec}", str(g711))
    a = decode(g711)
    assert (a.sample_rate, a.channels, a.frames, a.duration_ms) == (8000, channels, 4000, 500)
    assert a.source_format == f"wav/{codec}"
    got = as_array(a).astype(np.int32)
    error = np.abs(got - src.astype(np.int32))
    assert np.all(error <= np.abs(src.astype(np.int32)) // 16 + 16)
    reference = ffmpeg("-i", str(g711), "-f", "s16le", "-c:a", "pcm_s16le", "-")
    assert a.pcm == reference


def test_g711_tables_match_the_reference_implementation() -> None:
    """Our numpy tables equal CPython's audioop (G.711, Sun g711.c) for all 256 codes."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    codes = bytes(range(256))
    for codec, fn in (("mulaw", audioop.ulaw2lin), ("alaw", audioop.alaw2lin)):
        ours = audio_mod._to_s16le(codes, codec)
        assert ours == fn(codes, 2), codec


@pytest.mark.skipif(not has_mp3_encoder(), reason="this ffmpeg build has no libmp3lame")
@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (8000, 2), (16000, 1), (44100, 2)])
def test_mp3_round_trip(tmp_path: Path, rate: int, channels: int) -> None:
    src = write_wav(tmp_path / "src.wav", sine(rate, 3.0, channels), rate)
    mp3 = tmp_path / "call.wav"  # an MP3 named .wav: sniffed by content
    ffmpeg("-i", str(src), "-c:a", "libmp3lame", "-b:a", "32k", "-f", "mp3", str(mp3))
    a = decode(mp3)
    assert (a.sample_rate, a.channels, a.source_format) == (rate, channels, "mp3")
    assert abs(a.duration_ms - 3000) <= 50


def test_wav_named_mp3_is_decoded_as_wav(tmp_path: Path) -> None:
    a = decode(write_wav(tmp_path / "call.mp3", sine(8000, 0.1), 8000))
    assert a.source_format == "wav/pcm_s16le"


def test_dual_channel_stays_two_channels(tmp_path: Path) -> None:
    src = sine(16000, 0.5, 2)
    a = decode(write_wav(tmp_path / "dual.wav", src, 16000))
    assert a.channels == 2
    agent, customer = a.channel(0), a.channel(1)
    assert agent.channels == customer.channels == 1
    np.testing.assert_array_equal(as_array(agent)[:, 0], src[:, 0])
    np.testing.assert_array_equal(as_array(customer)[:, 0], src[:, 1])
    assert agent.channel(0) is agent
    with pytest.raises(IndexError):
        a.channel(2)


# --- the Audio value -----------------------------------------------------------------------


def make_audio(rate: int = 8000, seconds: float = 2.0, channels: int = 1) -> Audio:
    src = sine(rate, seconds, channels)
    return Audio(
        sample_rate=rate,
        channels=channels,
        frames=len(src),
        source_format="test",
        pcm=src.astype("<i2").tobytes(),
    )


@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (44100, 2), (11025, 2)])
def test_slice_ms_is_frame_accurate(rate: int, channels: int) -> None:
    a = make_audio(rate, 2.0, channels)
    whole = as_array(a)
    for start, end in [(0, 1), (250, 750), (333, 1001), (1999, 2000), (1, None)]:
        part = a.slice_ms(start, end)
        first = start * rate // 1000
        last = a.frames if end is None else end * rate // 1000
        assert part.frames == last - first
        np.testing.assert_array_equal(as_array(part), whole[first:last])
        assert (part.sample_rate, part.channels) == (rate, channels)
        assert a.byte_offset(start) == 44 + first * channels * 2


def test_slice_ms_clamps_and_refuses_nonsense() -> None:
    a = make_audio()
    assert a.slice_ms(1500, 99_000).frames == 4000  # hang-up after the audio ends
    assert a.slice_ms(5000).frames == 0  # answered after the audio ends
    assert a.byte_offset(99_000) == 44 + a.frames * 2
    for bad in [(-1, None), (500, 400)]:
        with pytest.raises(ValueError):
            a.slice_ms(*bad)
    with pytest.raises(ValueError):
        a.byte_offset(-5)


@pytest.mark.parametrize("channels", [1, 2])
def test_iter_wav_is_a_canonical_wav(channels: int) -> None:
    a = make_audio(16000, 1.0, channels)
    parts = list(a.iter_wav(chunk=1000))
    assert parts[0] == a.wav_header() and len(parts[0]) == 44
    assert all(len(p) == 1000 for p in parts[1:-1])
    blob = b"".join(parts)
    assert len(blob) == 44 + len(a.pcm) and blob[44:] == a.pcm
    with wave.open(io.BytesIO(blob)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (channels, 2, 16000)
        assert w.getnframes() == a.frames
        assert w.readframes(a.frames) == a.pcm
    with pytest.raises(ValueError):
        a.iter_wav(chunk=0)


def test_audio_value_invariants() -> None:
    a = make_audio()
    assert "pcm" not in repr(a)
    assert a.sample_width == 2 and a.duration_ms == 2000
    with pytest.raises(ValueError):
        Audio(sample_rate=8000, channels=2, frames=3, source_format="x", pcm=b"\0" * 6)
    with pytest.raises(ValueError):
        Audio(sample_rate=0, channels=1, frames=0, source_format="x", pcm=b"")
    with pytest.raises(ValueError):
        AudioLimits(max_seconds=0)
    with pytest.raises(ValueError):
        AudioLimits(min_sample_rate=16000, max_sample_rate=8000)


# --- limits and the ffmpeg subprocess --------------------------------------------------------


def test_file_over_max_bytes_is_rejected(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "a.wav", sine(8000, 1.0), 8000)
    with pytest.raises(InvalidAudio, match="^audio file too large$"):
        decode(path, limits=AudioLimits(max_bytes=1000))


def test_wav_over_max_seconds_is_rejected_before_reading(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "a.wav", sine(8000, 3.0), 8000)
    with pytest.raises(InvalidAudio, match="^audio too long$"):
        decode(path, limits=AudioLimits(max_seconds=2))
    assert decode(path, limits=AudioLimits(max_seconds=3)).frames == 24000


def test_channel_limit_applies_to_wav_and_mp3(tmp_path: Path) -> None:
    mono = AudioLimits(max_channels=1)
    with pytest.raises(InvalidAudio, match="^unsupported channel count$"):
        decode(write_wav(tmp_path / "a.wav", sine(8000, 0.2, 2), 8000), limits=mono)
    with pytest.raises(InvalidAudio, match="^unsupported channel count$"):
        decode(CORPUS / "mp3_stereo.mp3", limits=mono)


@pytest.fixture
def long_mp3(tmp_path: Path) -> Path:
    """A 3 s 8 kHz mono MP3 (encoded here if possible, else the committed 0.25 s one)."""
    if not has_mp3_encoder():
        pytest.skip("this ffmpeg build has no libmp3lame")
    src = write_wav(tmp_path / "src.wav", sine(8000, 3.0), 8000)
    out = tmp_path / "long.mp3"
    ffmpeg("-i", str(src), "-c:a", "libmp3lame", "-b:a", "16k", str(out))
    return out


def test_mp3_output_over_the_cap_is_rejected(
    long_mp3: Path, new_children: Callable[[], set[int]]
) -> None:
    with pytest.raises(InvalidAudio, match="^audio too long$"):
        decode(long_mp3, limits=AudioLimits(max_seconds=1))
    assert not new_children()


def fake_ffmpeg(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-ffmpeg"
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(0o755)
    return str(script)


@pytest.fixture
def exe(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Swap the ffmpeg binary: append a path (or an exception) to the yielded list."""
    chosen: list[str] = []

    def fake() -> str:
        if chosen[0] == "raise":
            raise RuntimeError("No ffmpeg exe could be found")
        return chosen[0]

    monkeypatch.setattr(audio_mod, "_ffmpeg_exe", fake)
    yield chosen


def test_endless_ffmpeg_output_is_capped(
    tmp_path: Path, exe: list[str], new_children: Callable[[], set[int]]
) -> None:
    exe.append(fake_ffmpeg(tmp_path, "exec cat /dev/zero"))
    limits = AudioLimits(max_seconds=2)  # cap: 2 s x 8000 Hz x 2 bytes = 32000 bytes
    tracemalloc.start()
    try:  # the file's frames declare far less than the cap: more output is malformed
        with pytest.raises(InvalidAudio, match="^malformed MP3 stream$"):
            decode(CORPUS / "mp3_named.wav", limits=limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32000 + 2 * MiB  # the cap plus one 1 MiB read, not the endless stream
    assert not new_children()


def test_hanging_ffmpeg_times_out_and_is_killed(
    tmp_path: Path, exe: list[str], new_children: Callable[[], set[int]]
) -> None:
    exe.append(fake_ffmpeg(tmp_path, "exec sleep 30"))
    start = time.perf_counter()
    with pytest.raises(InvalidAudio, match="^MP3 decoding timed out$"):
        decode(CORPUS / "mp3_named.wav", limits=AudioLimits(decode_timeout_seconds=0.3))
    assert time.perf_counter() - start < 5
    assert not new_children()


@pytest.mark.parametrize(
    ("body", "message"),
    [("exit 1", "MP3 decoding failed"), ("exit 0", "no audio samples")],
)
def test_ffmpeg_failure_is_invalid_audio(
    tmp_path: Path, exe: list[str], body: str, message: str
) -> None:
    exe.append(fake_ffmpeg(tmp_path, body))
    with pytest.raises(InvalidAudio, match=f"^{message}$"):
        decode(CORPUS / "mp3_named.wav")


@pytest.mark.parametrize("missing", ["raise", "/nonexistent/ffmpeg"])
def test_missing_ffmpeg_is_invalid_audio(exe: list[str], missing: str) -> None:
    exe.append(missing)
    with pytest.raises(InvalidAudio, match="^MP3 decoder unavailable$"):
        decode(CORPUS / "mp3_named.wav")


def test_the_real_ffmpeg_is_found_and_decodes() -> None:
    assert audio_mod._ffmpeg_exe() == FFMPEG
    assert decode(CORPUS / "mp3_named.wav").frames == 2000


# --- paths that are not audio files --------------------------------------------------------


def test_missing_file_message_carries_no_path(tmp_path: Path) -> None:
    secret = tmp_path / "+4791234567.wav"
    with pytest.raises(InvalidAudio) as info:
        decode(secret)
    assert str(info.value) == "audio file unreadable"
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_directory_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidAudio, match="^not a regular file$"):
        decode(tmp_path)


def test_fifo_is_rejected_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)
    start = time.perf_counter()
    with pytest.raises(InvalidAudio, match="^not a regular file$"):
        decode(fifo)
    assert time.perf_counter() - start < 1


@pytest.mark.parametrize(
    "error",
    [
        struct.error("x"),
        ValueError("x"),
        EOFError(),
        OverflowError(),
        IndexError(),
        OSError(5, "Input/output error", "/secret/+4791234567.wav"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_library_errors_are_translated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    """The mapping is complete: whatever breaks inside, only InvalidAudio leaves."""

    def boom(*args: object) -> Audio:
        raise error

    monkeypatch.setattr(audio_mod, "_decode_open", boom)
    with pytest.raises(InvalidAudio) as info:
        decode(write_wav(tmp_path / "a.wav", sine(8000, 0.1), 8000))
    assert "4791234567" not in str(info.value)
    if isinstance(error, OSError):
        assert info.value.__cause__ is None  # the path stays out of tracebacks too


# --- performance ---------------------------------------------------------------------------


@pytest.mark.parametrize(("minutes", "bound"), [(5, 0.5), (60, 5.0)])
def test_long_pcm_wav_decodes_quickly(tmp_path: Path, minutes: int, bound: float) -> None:
    """A 5-minute 8 kHz mono WAV is ~a memcpy; an hour is fine (generous bounds)."""
    frames = minutes * 60 * 8000
    samples = np.tile(sine(8000, 1.0), (minutes * 60, 1))
    path = write_wav(tmp_path / "long.wav", samples, 8000)
    start = time.perf_counter()
    a = decode(path)
    assert time.perf_counter() - start < bound
    assert a.frames == frames and a.duration_ms == minutes * 60_000


# --- F4: fuzzing ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "input"


def probe(path: Path, data: bytes) -> None:
    """Decode ``data``: InvalidAudio, or an Audio consistent with the bytes given."""
    path.write_bytes(data)
    try:
        a = decode(path)
    except InvalidAudio as exc:
        assert len(str(exc)) < 60
        return
    assert len(a.pcm) == a.frames * a.channels * 2 > 0
    assert 1 <= a.channels <= 2 and 8000 <= a.sample_rate <= 48000
    if a.source_format.startswith("wav/"):
        assert a.frames * a.channels <= len(data)  # never more samples than bytes


VALID = [
    corpus.wav16(64),
    corpus.riff(corpus.chunk(b"fmt ", corpus.fmt(tag=7, bits=8, channels=2)),
                corpus.chunk(b"data", bytes(range(128)))),
    corpus.riff(corpus.chunk(b"fmt ", corpus.extensible(1)), corpus.chunk(b"data", bytes(64))),
]  # fmt: skip
FUZZ = settings(max_examples=150, deadline=1000)  # the F1 bound, not a benchmark


@FUZZ
@given(data=st.binary(max_size=2048))
def test_fuzz_random_bytes(scratch: Path, data: bytes) -> None:
    probe(scratch, data)


@FUZZ
@given(
    base=st.sampled_from(VALID),
    edits=st.lists(st.tuples(st.integers(0, 79), st.integers(0, 255)), max_size=8),
    cut=st.none() | st.integers(0, 200),
    tail=st.binary(max_size=64),
)
def test_fuzz_mutated_wav_headers(
    scratch: Path, base: bytes, edits: list[tuple[int, int]], cut: int | None, tail: bytes
) -> None:
    data = bytearray(base)
    for pos, value in edits:
        if pos < len(data):
            data[pos] = value
    probe(scratch, bytes(data[:cut]) + tail)


U32 = st.sampled_from([0, 1, 2, 15, 16, 17, 40, 0x7FFFFFFF, 0xFFFFFFFF]) | st.integers(0, 2**32 - 1)
FMT_BODY = st.builds(
    lambda tag, ch, rate, align, bits, extra: (
        struct.pack("<HHIIHH", tag, ch, rate, rate, align, bits) + extra
    ),
    st.sampled_from([0, 1, 2, 3, 6, 7, 0xFFFE]) | st.integers(0, 0xFFFF),
    st.sampled_from([0, 1, 2, 3, 0xFFFF]),
    st.sampled_from([0, 7999, 8000, 44100, 48000, 48001, 2**32 - 1]),
    st.integers(0, 8),
    st.sampled_from([0, 4, 8, 16, 24, 32, 40]),
    st.binary(max_size=32),
)
CHUNK = st.tuples(
    st.sampled_from([b"fmt ", b"data", b"LIST", b"JUNK", b"\x00\x01\x02\x03"]),
    FMT_BODY | st.binary(max_size=96),
    st.none() | U32,
)


@FUZZ
@given(chunks=st.lists(CHUNK, max_size=6), riff_size=st.none() | U32)
def test_fuzz_chunk_soup(
    scratch: Path, chunks: list[tuple[bytes, bytes, int | None]], riff_size: int | None
) -> None:
    probe(scratch, corpus.riff(*(corpus.chunk(*c) for c in chunks), size=riff_size))


MP3 = (CORPUS / "mp3_named.wav").read_bytes()


@settings(max_examples=25, deadline=None)  # each example spawns ffmpeg
@given(
    edits=st.lists(st.tuples(st.integers(0, len(MP3) - 1), st.integers(0, 255)), max_size=16),
    cut=st.integers(0, len(MP3)),
)
def test_fuzz_mutated_mp3(
    scratch: Path, new_children: Callable[[], set[int]], edits: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(MP3)
    for pos, value in edits:
        data[pos] = value
    probe(scratch, bytes(data[:cut]))
    assert not new_children()
