"""Decompression bombs (H2): decoded PCM is capped on every path, whatever the headers say.

The MP3 bombs are made at test time by ``tests/recorder/mp3bombs.py`` (real libmp3lame
frames); each decode runs in a fresh interpreter so its peak RSS can be measured alone.
Timing is not asserted here: ``bench/hostile.py`` reports it against a same-run baseline.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from recorder import mp3frames
from recorder.audio import AudioLimits, decode
from recorder.capture import Capturer
from recorder.errors import InvalidAudio
from recorder.ingest.spool import run_spool
from storage.vault import Vault
from tests.recorder import mp3bombs
from tests.recorder.conftest import run

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    found = {}
    for name, make in mp3bombs.BOMBS.items():
        found[name] = folder / f"{name}.mp3"
        found[name].write_bytes(make(folder))
    return found


def measured_decode(path: Path) -> dict[str, Any]:
    """Decode ``path`` in a fresh interpreter: the outcome and its peak RSS (MiB).

    The peak is ``VmHWM`` of the interpreter's own address space: ``ru_maxrss`` of a
    process started from a large one (pytest) starts at the parent's peak on Linux.
    """
    code = (
        "import json, resource, sys\n"
        "from pathlib import Path\n"
        "from recorder.audio import decode\n"
        "from recorder.errors import InvalidAudio\n"
        "try:\n"
        "    audio = decode(Path(sys.argv[1])); outcome = f'accepted {audio.duration_ms}'\n"
        "except InvalidAudio as exc:\n"
        "    outcome = f'refused: {exc}'\n"
        "status = Path('/proc/self/status').read_text().split('VmHWM:')[1].split()[0]\n"
        "children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'outcome': outcome, 'rss': int(status) / 1024,\n"
        "    'ffmpeg_rss': children / 1024}))\n"
    )
    done = subprocess.run(  # noqa: S603 - our interpreter, a fixed script
        [sys.executable, "-c", code, str(path)],
        capture_output=True, check=True, timeout=120, cwd=ROOT, text=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_issue_bomb_declares_hours_behind_a_48_khz_stereo_first_frame(
    bombs: dict[str, Path],
) -> None:
    path = bombs["rate_switch"]
    with path.open("rb") as f:
        first, _ = mp3frames.first_frame(f, path.stat().st_size)
    assert (first.rate, first.channels) == (48000, 2)
    assert path.stat().st_size > 14_000_000  # 14 MB of MP3 ...
    later = 8000 * 1 * 2  # ... whose later frames are 8 kHz mono: resampled to 48 kHz
    inflated = mp3bombs.BOMB_SECONDS * later * 6 * 2  # stereo = 12x the bytes
    assert inflated > 2_700_000_000  # the 2.76 GB blob of the issue


@pytest.mark.parametrize("name", sorted(mp3bombs.BOMBS))
def test_every_mp3_bomb_is_refused_in_bounded_memory(bombs: dict[str, Path], name: str) -> None:
    result = measured_decode(bombs[name])
    assert result["outcome"].startswith("refused:"), result
    assert result["rss"] < 256, result
    assert result["ffmpeg_rss"] < 256, result


def test_an_honest_long_mp3_of_one_format_is_kept(tmp_path: Path) -> None:
    unit = mp3bombs.encode(tmp_path, "u", rate=8000, channels=1, kbps=8, seconds=10.0)
    path = tmp_path / "long.mp3"
    path.write_bytes(unit * 60)  # ten minutes of 8 kHz mono, frame after frame
    audio = decode(path)
    assert (audio.sample_rate, audio.channels) == (8000, 1)
    assert 600_000 <= audio.duration_ms <= 610_000


def test_declared_duration_over_the_cap_is_refused_before_ffmpeg_runs(tmp_path: Path) -> None:
    unit = mp3bombs.encode(tmp_path, "u", rate=8000, channels=1, kbps=8, seconds=10.0)
    path = tmp_path / "long.mp3"
    path.write_bytes(unit * 60)
    with path.open("rb") as f, pytest.raises(InvalidAudio, match="^audio too long$"):
        mp3frames.scan(f, path.stat().st_size, max_samples=8000 * 300)
    with pytest.raises(InvalidAudio, match="^audio too long$"):
        decode(path, limits=AudioLimits(max_seconds=300))


def _sparse_wav(path: Path, *, tag: int, bits: int, rate: int, channels: int, size: int) -> Path:
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    head = b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + b"fmt " + struct.pack("<I", 16)
    with path.open("wb") as out:
        out.write(head + fmt + b"data" + struct.pack("<I", 0xFFFFFFFF))
        out.truncate(size)  # sparse: the bytes are present (zeros) but use no disk
    return path


@pytest.mark.parametrize(
    ("tag", "bits", "rate", "channels"),
    [(7, 8, 48000, 2), (6, 8, 44100, 2), (1, 8, 48000, 2)],  # µ-law, A-law, 8-bit PCM
)
def test_wav_whose_decoded_pcm_exceeds_the_cap_is_refused_unread(
    tmp_path: Path, tag: int, bits: int, rate: int, channels: int
) -> None:
    path = _sparse_wav(tmp_path / "big.wav", tag=tag, bits=bits, rate=rate, channels=channels,
                       size=200 * MiB)  # fmt: skip
    # 200 MB of 8-bit samples is within the file cap and under 4 h, but decodes to 400 MB.
    assert (200 * MiB // (channels * bits // 8)) < 4 * 3600 * rate
    result = measured_decode(path)
    assert result["outcome"] == "refused: decoded audio larger than the cap", result
    assert result["rss"] < 256, result


# -- every path refuses it ------------------------------------------------------------------


def test_spool_rejects_a_bomb(bombs: dict[str, Path], tmp_path: Path, capturer: Capturer,
                              vault: Vault, rng: Callable[[int], bytes]) -> None:  # fmt: skip
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "b.mp3").write_bytes(bombs["channel_switch"].read_bytes())
    (spool / "b.json").write_text(json.dumps({
        "v": 1, "source_id": "pbx-bomb", "agent": "anna", "started_at": "2026-11-20T09:00:00Z",
    }))  # fmt: skip
    report = run_spool(spool, capturer, now=lambda: NOW, rng=rng)
    assert report.rejected == ["b"] and report.failed == []
    assert "changes sample rate or channels" in (spool / "rejected" / "b.reason.txt").read_text()
    assert vault.catalog.list_recordings() == []


def test_cli_ingest_refuses_a_bomb(bombs: dict[str, Path], env: dict[str, str]) -> None:
    assert run(env, "init").exit_code == 0
    result = run(env, "ingest", str(bombs["rate_switch"]), "--agent", "anna")
    assert result.exit_code == 1
    assert "changes sample rate or channels" in result.output
