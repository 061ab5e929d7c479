"""MP3 decompression bombs, made at test time with imageio-ffmpeg's libmp3lame (H2).

Each bomb is a concatenation of raw MP3 frame runs (no ID3, no Xing/Info frame), so the
first frame can say one thing and the rest another, as an attacker's file would:

- :func:`rate_switch`: the issue's bomb. A few 48 kHz stereo frames, then hours of 8 kHz
  mono frames at 8 kbit/s. A decoder told "48 kHz stereo" by the first frame resamples the
  rest six-fold and doubles it: 14.4 MB of MP3 would become ~2.8 GB of PCM.
- :func:`channel_switch`, :func:`version_switch`: the same trick with the channel count or
  the MPEG version (44.1 kHz MPEG-1 then 22.05 kHz MPEG-2).
- :func:`hidden_tail`: a short, honest 8 kHz mono stream, then junk, then a long run of
  frames a frame-header walk stops before but ffmpeg's resync finds: only the output cap
  can stop that one.

``python -m tests.recorder.mp3bombs DIR`` writes them all to DIR (for ``bench/hostile.py``
and by hand).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg  # type: ignore[import-untyped]

FFMPEG = str(imageio_ffmpeg.get_ffmpeg_exe())
#: The issue's bomb: about 14.4 MB, ~4 h of 8 kHz mono behind a 48 kHz stereo first frame.
BOMB_SECONDS = 14_390


def encode(tmp: Path, name: str, *, rate: int, channels: int, kbps: int, seconds: float) -> bytes:
    """Raw MP3 frames of a tone (no ID3 tag, no Xing/Info frame)."""
    out = tmp / f"{name}.mp3"
    subprocess.run(  # noqa: S603 - fixed argv, the test's own ffmpeg
        [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={rate}:duration={seconds}",
         "-ac", str(channels), "-c:a", "libmp3lame", "-b:a", f"{kbps}k",
         "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3", str(out)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return out.read_bytes()


def _repeat(unit: bytes, seconds_per_unit: float, seconds: float) -> bytes:
    return unit * max(1, round(seconds / seconds_per_unit))


def rate_switch(tmp: Path, seconds: float = BOMB_SECONDS) -> bytes:
    """48 kHz stereo first frames, then ``seconds`` of 8 kHz mono frames."""
    head = encode(tmp, "head48", rate=48000, channels=2, kbps=32, seconds=0.1)
    unit = encode(tmp, "unit8", rate=8000, channels=1, kbps=8, seconds=10.0)
    return head + _repeat(unit, 10.0, seconds)


def _switch(tmp: Path, head: tuple[int, int, int], unit: tuple[int, int, int], seconds: float
            ) -> bytes:  # fmt: skip
    """Half a second of MP3 as ``head`` (rate, channels, kbit/s), then ``unit`` frames."""
    first = encode(tmp, "head", rate=head[0], channels=head[1], kbps=head[2], seconds=0.5)
    rest = encode(tmp, "unit", rate=unit[0], channels=unit[1], kbps=unit[2], seconds=10.0)
    return first + _repeat(rest, 10.0, seconds)


def channel_switch(tmp: Path, seconds: float = 600) -> bytes:
    """8 kHz mono first frames, then 8 kHz stereo frames."""
    return _switch(tmp, (8000, 1, 8), (8000, 2, 16), seconds)


def version_switch(tmp: Path, seconds: float = 600) -> bytes:
    """44.1 kHz MPEG-1 first frames, then 22.05 kHz MPEG-2 frames."""
    return _switch(tmp, (44100, 1, 32), (22050, 1, 16), seconds)


def hidden_tail(tmp: Path, seconds: float = 3600) -> bytes:
    """One honest second, 70 KB of zeros, then ``seconds`` of frames the walk never sees."""
    unit = encode(tmp, "hidden8", rate=8000, channels=1, kbps=8, seconds=10.0)
    honest = encode(tmp, "honest8", rate=8000, channels=1, kbps=8, seconds=1.0)
    return honest + b"\0" * 70_000 + _repeat(unit, 10.0, seconds)


BOMBS = {
    "rate_switch": rate_switch,
    "channel_switch": channel_switch,
    "version_switch": version_switch,
    "hidden_tail": hidden_tail,
}


def main(argv: list[str]) -> int:
    target = Path(argv[1] if len(argv) > 1 else ".")
    target.mkdir(parents=True, exist_ok=True)
    for name, make in BOMBS.items():
        path = target / f"{name}.mp3"
        path.write_bytes(make(target))
        print(f"{path}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
