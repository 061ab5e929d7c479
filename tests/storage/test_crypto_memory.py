"""T-CRYPT C8: one hour of 8 kHz 16-bit mono (57.6 MB) sealed and opened streaming.

Runs in a fresh child process so the measurement sees only this work. On Linux the
kernel's peak-RSS mark is reset through ``/proc/self/clear_refs`` before each operation
and read back as ``VmHWM`` afterwards: a true high-water mark, no sampling gaps.
No timing is asserted here (``bench/crypto.py`` reports throughput).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT_MIB = 32

CHILD = r"""
import hashlib, json, random, sys
from pathlib import Path
from storage import crypto

def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(field)

def measure(fn):
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = status("VmRSS")
    value = fn()
    return value, status("VmHWM") - before

tmp, size = Path(sys.argv[1]), int(sys.argv[2])
plain, sealed = tmp / "plain.pcm", tmp / "sealed"
block = random.Random(0).randbytes(1 << 20)
digest = hashlib.sha256()
with plain.open("wb") as out:
    left = size
    while left:
        chunk = block[: min(left, len(block))]
        out.write(chunk)
        digest.update(chunk)
        left -= len(chunk)
        block = block[1:] + block[:1]
dek = crypto.new_data_key(random.Random(1).randbytes)

def seal():
    with plain.open("rb") as src, sealed.open("wb") as dst:
        return crypto.seal_stream(
            src, dst, dek, key_id="6c1d7f2a-3b4e-4d5f-8a9b-0c1d2e3f4a5b",
            recording_id="rec-mem", artefact="audio", rng=random.Random(2).randbytes,
        ).plaintext_sha256

def open_():
    out = hashlib.sha256()
    with sealed.open("rb") as src:
        reader = crypto.SealedReader(src, dek, recording_id="rec-mem", artefact="audio")
        for chunk in reader.read_range(0):
            out.update(chunk)
    return out.hexdigest()

sealed_digest, seal_growth = measure(seal)
opened_digest, open_growth = measure(open_)
print(json.dumps({
    "expected": digest.hexdigest(), "sealed": sealed_digest, "opened": opened_digest,
    "seal_growth": seal_growth, "open_growth": open_growth,
    "ciphertext_size": sealed.stat().st_size,
}))
"""


@pytest.mark.skipif(
    not os.access("/proc/self/clear_refs", os.W_OK), reason="needs Linux /proc/self/clear_refs"
)
def test_c8_one_hour_of_audio_streams_in_bounded_memory(tmp_path: Path) -> None:
    size = 57_600_000
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), str(size)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    result = json.loads(done.stdout)
    assert result["sealed"] == result["expected"]
    assert result["opened"] == result["expected"]
    assert result["ciphertext_size"] == 26 + 40 + size + 16 * 880
    assert result["seal_growth"] <= LIMIT_MIB * 1024 * 1024, result
    assert result["open_growth"] <= LIMIT_MIB * 1024 * 1024, result
