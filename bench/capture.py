"""Benchmark: capture cost against a plain durable copy, and spool throughput.

Usage: ``python bench/capture.py [--repeat 5] [--spool-repeat 3] [--json]``

What is measured, in one run on one machine:

1. **One 5-minute call, end to end.** ``Capturer.capture`` (the product's own capturer) on
   a fresh store in a temp dir: decode the WAV, mask the caller, seal the audio under a
   fresh data key into a durable blob (write, fsync, rename, fsync dir), then one
   transaction with the catalog row, the artefact and key rows and the audit entry
   (SQLite ``synchronous=FULL``). The baseline, in the same process and on the same file
   system: ``shutil.copyfile`` of the same WAV, then ``fsync`` of the copy and of its
   directory - the least any durable recorder must do. Both are the best of ``--repeat``
   runs, interleaved; the store set-up (key ring, empty catalog) is outside the timing.
   The capture time is also split at the capturer's named steps. Goal: ratio <= 2x.
   The ratio of the medians is printed too, as a check on the best-of figure.
2. **The sample spool.** ``run_spool`` over a copy of ``samples/spool`` (8 short calls,
   30 s each on average) on a fresh store, ``--spool-repeat`` times: calls per second and
   the mean time per call.

The WAV is 5 minutes of 8 kHz 16-bit mono noise shaped like speech (numpy, fixed seed).
Always exits 0: this reports, CI does not time anything.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recorder.capture import Capturer  # noqa: E402
from recorder.config import Config, load_config  # noqa: E402
from recorder.ingest.spool import run_spool  # noqa: E402
from recorder.models import CallEvent  # noqa: E402
from recorder.wavfmt import PcmFormat, wav_header  # noqa: E402
from storage.keyring import FileKeyRing  # noqa: E402
from storage.vault import Vault  # noqa: E402

RATE = 8000
SECONDS = 300
SAMPLES = ROOT / "samples"
GOAL_RATIO = 2.0


def write_call_wav(path: Path, seconds: int = SECONDS) -> int:
    """5 minutes of speech-band noise with a syllable-rate envelope; returns bytes written."""
    gen = np.random.default_rng(20261123)
    n = seconds * RATE
    noise = gen.normal(0.0, 1.0, n)
    # A crude low-pass (moving average) and a 4 Hz envelope: sounds like murmur, not hiss.
    shaped = np.convolve(noise, np.ones(4) / 4, mode="same")
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * np.arange(n) / RATE)
    pcm = np.clip(shaped * envelope * 9000, -32768, 32767).astype("<i2").tobytes()
    data = wav_header(PcmFormat(sample_rate=RATE, channels=1), n) + pcm
    path.write_bytes(data)
    return len(data)


def fsync_copy(src: Path, dst: Path) -> None:
    """The baseline: copy, then make the copy and its directory entry durable."""
    shutil.copyfile(src, dst)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(dst.parent)


def fresh_store(root: Path) -> Vault:
    """A new store: key ring (outside the data dir) and an empty data dir."""
    keyring = FileKeyRing.create(root / "keys" / "keyring.json", os.urandom)
    return Vault.open(root / "data", keyring)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def call_event(wav: Path, source_id: str) -> CallEvent:
    start = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    return CallEvent(
        source="bench",
        source_id=source_id,
        audio_path=wav,
        caller="+47 912 34 567",
        service_number="+47 22 00 00 00",
        agent_id="anna",
        started_at=start,
        answered_at=start,
        ended_at=start + timedelta(seconds=SECONDS),
        channels=("mixed",),
    )


def time_capture(wav: Path, work: Path, config: Config, run: int) -> tuple[float, dict[str, float]]:
    """One capture on a fresh store: total seconds and seconds per step."""
    vault = fresh_store(work / f"store-{run}")
    marks: list[tuple[str, float]] = []
    try:
        capturer = Capturer(vault, config)
        event = call_event(wav, f"bench-{run}")
        start = time.perf_counter()
        result = capturer.capture(
            event,
            now=datetime.now(UTC),
            rng=os.urandom,
            step=lambda name: marks.append((name, time.perf_counter())),
        )
        total = time.perf_counter() - start
    finally:
        vault.close()
    assert result.duration_ms == SECONDS * 1000 and not result.duplicate
    steps: dict[str, float] = {}
    previous = start
    for name, at in marks:
        steps[name] = at - previous
        previous = at
    return total, steps


def bench_single(repeat: int, config: Config) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="callrec-bench-") as tmp:
        work = Path(tmp)
        wav = work / "call.wav"
        size = write_call_wav(wav)
        copies: list[float] = []
        captures: list[float] = []
        best_steps: dict[str, float] = {}
        for run in range(repeat):
            start = time.perf_counter()
            fsync_copy(wav, work / f"copy-{run}.wav")
            copies.append(time.perf_counter() - start)
            total, steps = time_capture(wav, work, config, run)
            if not captures or total < min(captures):
                best_steps = steps
            captures.append(total)
    best_copy, best_capture = min(copies), min(captures)
    return {
        "audio_seconds": SECONDS,
        "wav_bytes": size,
        "repeat": repeat,
        "copy_fsync_s": best_copy,
        "capture_s": best_capture,
        "ratio": best_capture / best_copy,
        "goal_ratio": GOAL_RATIO,
        "goal_met": best_capture / best_copy <= GOAL_RATIO,
        "capture_steps_s": best_steps,
        "median_ratio": statistics.median(captures) / statistics.median(copies),
        "all_copy_fsync_s": copies,
        "all_capture_s": captures,
    }


def copy_samples(target: Path) -> int:
    target.mkdir(parents=True)
    count = 0
    for item in sorted((SAMPLES / "spool").iterdir()):
        shutil.copyfile(item, target / item.name)
        count += item.suffix == ".json"
    return count


def wall_clock() -> datetime:
    return datetime.now(UTC)


def bench_spool(repeat: int, config: Config) -> dict[str, Any]:
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="callrec-bench-spool-") as tmp:
            work = Path(tmp)
            calls = copy_samples(work / "spool")
            vault = fresh_store(work)
            try:
                start = time.perf_counter()
                report = run_spool(
                    work / "spool", Capturer(vault, config), now=wall_clock, rng=os.urandom
                )
                elapsed = time.perf_counter() - start
            finally:
                vault.close()
            assert len(report.captured) == calls, (report.rejected, report.failed)
            runs.append({"calls": calls, "seconds": elapsed, "calls_per_s": calls / elapsed})
    per_call = [r["seconds"] / r["calls"] for r in runs]
    return {
        "repeat": repeat,
        "runs": runs,
        "calls_per_s_mean": statistics.mean(r["calls_per_s"] for r in runs),
        "per_call_s_mean": statistics.mean(per_call),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of the 5-minute capture")
    parser.add_argument("--spool-repeat", type=int, default=3, help="runs of the sample spool")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args()
    config = load_config(SAMPLES / "callrec.toml")
    single = bench_single(args.repeat, config)
    spool = bench_spool(args.spool_repeat, config)
    if args.json:
        print(json.dumps({"single_call": single, "sample_spool": spool}, indent=2))
        return
    print(f"1. One {SECONDS // 60}-minute 8 kHz mono call ({single['wav_bytes'] / 1e6:.1f} MB), "
          f"best of {single['repeat']}:")  # fmt: skip
    print(f"   cp + fsync (file and dir)   {single['copy_fsync_s'] * 1000:8.1f} ms")
    print(f"   Capturer.capture            {single['capture_s'] * 1000:8.1f} ms")
    for name, seconds in single["capture_steps_s"].items():
        print(f"     .. {name:<22}   {seconds * 1000:8.1f} ms")
    verdict = "met" if single["goal_met"] else "NOT met"
    print(f"   ratio capture / cp+fsync    {single['ratio']:8.2f}x  (goal <= {GOAL_RATIO:.0f}x: "
          f"{verdict})")  # fmt: skip
    print(f"   ratio of the medians        {single['median_ratio']:8.2f}x")
    print(f"2. Sample spool ({spool['runs'][0]['calls']} calls), {spool['repeat']} fresh stores:")
    for i, run in enumerate(spool["runs"], start=1):
        print(f"   run {i}: {run['seconds'] * 1000:7.1f} ms  {run['calls_per_s']:6.1f} calls/s")
    print(f"   mean: {spool['calls_per_s_mean']:.1f} calls/s, "
          f"{spool['per_call_s_mean'] * 1000:.1f} ms per call")  # fmt: skip


if __name__ == "__main__":
    main()
