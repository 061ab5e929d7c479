"""Benchmark T-CRYPT C8: seal and open one hour of 8 kHz 16-bit mono PCM, file to file.

Usage: ``python bench/crypto.py [--mb 57.6] [--repeat 3] [--json]``

What is measured, in one run on one machine:

* the physical ceiling: bare ``AESGCM.encrypt`` (and ``decrypt``) over the same bytes cut
  into the same segments as the format (first ``S-56``, then ``S-16`` plaintext bytes),
  in memory, no I/O; and bare SHA-256 over the same bytes, because sealing must also
  hash the plaintext (``SealInfo.plaintext_sha256``);
* seal: ``seal_stream`` from a plaintext file to a ciphertext file (page-cached, no
  fsync); open: ``SealedReader.read_range`` streamed to a plaintext file.
  Throughput is the best of ``--repeat`` runs, in MB/s (10**6 bytes);
* memory: each operation runs once more in a fresh child process; growth is the peak
  RSS after the operation (``ru_maxrss``, a kernel high-water mark, so no sampling gaps)
  minus the current RSS just before it (``psutil``). That is an upper bound on the
  operation's own growth (it also counts any import-time peak above the steady state).

Goals (RELIABILITY.md C8): throughput ratio vs bare AES-GCM >= 0.7, RSS growth <= 32 MiB.
Always exits 0: this reports, CI does not time anything.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import random
import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, BinaryIO, cast

import psutil
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage import crypto  # noqa: E402
from storage.models import Rng, SealInfo  # noqa: E402

SEGMENT = crypto.SEGMENT_SIZE
KEY_ID = "3a0f5e2d-8c41-4b7a-9e36-0d2c1b4a5f68"
RATE = 8000
MIB = 1024 * 1024


def write_pcm(path: Path, size: int) -> None:
    """Synthetic speech-band PCM: a few tones with a slow envelope, 1 s blocks, cycled."""
    blocks = []
    for b in range(10):
        f1, f2 = 180 + 37 * b, 900 + 113 * b
        samples = (
            int(
                9000 * math.sin(2 * math.pi * f1 * t / RATE) * (0.5 + 0.5 * math.sin(t / 900))
                + 3000 * math.sin(2 * math.pi * f2 * t / RATE)
            )
            for t in range(RATE)
        )
        blocks.append(struct.pack(f"<{RATE}h", *samples))
    with path.open("wb") as out:
        written, i = 0, 0
        while written < size:
            block = blocks[i % len(blocks)][: size - written]
            out.write(block)
            written += len(block)
            i += 1


def rng(seed: int) -> Rng:
    return random.Random(seed).randbytes


def seal_file(src: Path, dst: Path, dek: bytes) -> SealInfo:
    with src.open("rb") as fin, dst.open("wb") as fout:
        return crypto.seal_stream(
            fin, fout, dek, key_id=KEY_ID, recording_id="bench", artefact="audio", rng=rng(1)
        )


def open_file(src: Path, dst: Path, dek: bytes) -> str:
    digest = hashlib.sha256() if os.environ.get("BENCH_VERIFY") else None
    with src.open("rb") as fin, dst.open("wb") as fout:
        reader = crypto.SealedReader(fin, dek, recording_id="bench", artefact="audio")
        for chunk in reader.read_range(0):
            fout.write(chunk)
            if digest is not None:
                digest.update(chunk)
    return digest.hexdigest() if digest is not None else ""


def segments(data: memoryview) -> list[memoryview]:
    first = SEGMENT - 56
    parts = [data[:first]]
    parts += [data[i : i + SEGMENT - 16] for i in range(first, len(data), SEGMENT - 16)]
    return parts


def best(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


class NullSink(io.RawIOBase):
    """A writable file that drops everything: measures our code without disk I/O."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(memoryview(data))


def ceilings(data: bytes, dek: bytes, repeat: int, tmp: Path) -> dict[str, float]:
    """Seconds for the bare primitives over the same bytes and segmentation."""
    aead = AESGCM(dek)
    prefix = bytes(7)
    parts = segments(memoryview(data))
    nonces = [prefix + i.to_bytes(4, "big") + b"\x00" for i in range(len(parts))]
    sealed = [aead.encrypt(n, p, None) for n, p in zip(nonces, parts, strict=True)]

    def enc() -> None:
        for nonce, part in zip(nonces, parts, strict=True):
            aead.encrypt(nonce, part, None)

    def dec() -> None:
        for nonce, part in zip(nonces, sealed, strict=True):
            aead.decrypt(nonce, part, None)

    def sha() -> None:
        hashlib.sha256(data).digest()

    src, dst = tmp / "copy-src", tmp / "copy-dst"
    src.write_bytes(data)

    def copy() -> None:
        with src.open("rb") as fin, dst.open("wb") as fout:
            while chunk := fin.read(1 << 20):
                fout.write(chunk)

    result = {
        "aesgcm_encrypt": best(enc, repeat),
        "aesgcm_decrypt": best(dec, repeat),
        "sha256": best(sha, repeat),
        "file_copy": best(copy, repeat),
    }
    src.unlink()
    dst.unlink()
    return result


def in_memory(data: bytes, dek: bytes, repeat: int) -> dict[str, float]:
    """Seconds for seal and open from memory into a null sink (our code, no disk I/O)."""

    def seal(dst: BinaryIO) -> None:
        crypto.seal_stream(
            io.BytesIO(data),
            dst,
            dek,
            key_id=KEY_ID,
            recording_id="bench",
            artefact="audio",
            rng=rng(2),
        )

    out = io.BytesIO()
    seal(out)
    ciphertext = out.getvalue()
    del out

    def open_() -> None:
        reader = crypto.SealedReader(
            io.BytesIO(ciphertext), dek, recording_id="bench", artefact="audio"
        )
        for _ in reader.read_range(0):
            pass

    return {
        "seal_memory": best(lambda: seal(cast(BinaryIO, NullSink())), repeat),
        "open_memory": best(open_, repeat),
    }


def _status_bytes(field: str) -> int | None:
    """A ``/proc/self/status`` memory field (VmRSS, VmHWM) in bytes, None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def child(op: str, src: Path, dst: Path, dek_hex: str) -> None:
    """Run one operation in this fresh process and print its peak RSS growth as JSON.

    Linux: reset the kernel's peak-RSS mark (``/proc/self/clear_refs``), run, read
    ``VmHWM``; growth = peak - RSS just before. Elsewhere: ``ru_maxrss`` - RSS before
    (an upper bound: it includes the interpreter's own earlier peak).
    """
    dek = bytes.fromhex(dek_hex)
    method = "VmHWM after clear_refs reset"
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        method = "ru_maxrss (no reset: upper bound)"
    before = _status_bytes("VmRSS") or psutil.Process().memory_info().rss
    if op == "seal":
        seal_file(src, dst, dek)
    else:
        open_file(src, dst, dek)
    peak = _status_bytes("VmHWM") if method.startswith("VmHWM") else None
    if peak is None:
        method = "ru_maxrss (no reset: upper bound)"
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(
        json.dumps(
            {"rss_before": before, "rss_peak": peak, "growth": peak - before, "method": method}
        )
    )


def rss_growth(op: str, src: Path, dst: Path, dek: bytes) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", op, str(src), str(dst), dek.hex()],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=57.6, help="plaintext size in MB (10**6)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        op, src, dst, dek_hex = args.child
        child(op, Path(src), Path(dst), dek_hex)
        return 0

    size = int(args.mb * 1_000_000)
    dek = crypto.new_data_key(rng(0))
    with tempfile.TemporaryDirectory(prefix="callrec-bench-") as tmp:
        plain, sealed, opened = Path(tmp, "plain.pcm"), Path(tmp, "sealed"), Path(tmp, "opened")
        write_pcm(plain, size)
        data = plain.read_bytes()
        seconds = ceilings(data, dek, args.repeat, Path(tmp))
        seconds.update(in_memory(data, dek, args.repeat))
        expected = hashlib.sha256(data).hexdigest()
        del data

        info = seal_file(plain, sealed, dek)
        assert info.plaintext_sha256 == expected and info.plaintext_size == size
        os.environ["BENCH_VERIFY"] = "1"
        assert open_file(sealed, opened, dek) == expected
        del os.environ["BENCH_VERIFY"]

        seconds["seal_file"] = best(lambda: seal_file(plain, sealed, dek), args.repeat)
        seconds["open_file"] = best(lambda: open_file(sealed, opened, dek), args.repeat)
        rss = {
            op: rss_growth(op, src, dst, dek)
            for op, src, dst in (("seal", plain, sealed), ("open", sealed, opened))
        }

    mbps = {k: size / 1e6 / v for k, v in seconds.items()}
    mbps["aesgcm_encrypt+sha256"] = size / 1e6 / (seconds["aesgcm_encrypt"] + seconds["sha256"])
    enc = mbps["aesgcm_encrypt"]
    result = {
        "plaintext_bytes": size,
        "segment_size": SEGMENT,
        "segments": info.segments,
        "ciphertext_bytes": info.ciphertext_size,
        "repeat": args.repeat,
        "mb_per_s": {k: round(v, 1) for k, v in mbps.items()},
        "ratio_vs_aesgcm_encrypt": {
            k: round(mbps[k] / enc, 3)
            for k in ("seal_file", "open_file", "seal_memory", "open_memory")
        },
        "ratio_seal_memory_vs_aesgcm+sha256": round(
            mbps["seal_memory"] / mbps["aesgcm_encrypt+sha256"], 3
        ),
        "ratio_open_memory_vs_aesgcm_decrypt": round(
            mbps["open_memory"] / mbps["aesgcm_decrypt"], 3
        ),
        "rss_growth_mib": {op: round(r["growth"] / MIB, 2) for op, r in rss.items()},
        "rss_method": rss["seal"]["method"],
        "goals": {"ratio_min": 0.7, "rss_growth_max_mib": 32},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    ratios = result["ratio_vs_aesgcm_encrypt"]
    assert isinstance(ratios, dict)
    rows = [
        ("ceiling  AESGCM encrypt, in memory", "aesgcm_encrypt", "1.00"),
        ("ceiling  AESGCM decrypt, in memory", "aesgcm_decrypt", ""),
        ("ceiling  SHA-256, in memory", "sha256", ""),
        ("ceiling  AESGCM encrypt + SHA-256", "aesgcm_encrypt+sha256", ""),
        ("ceiling  plain file copy (1 MiB reads)", "file_copy", ""),
        ("seal     memory -> null sink", "seal_memory", f"{ratios['seal_memory']:.2f}"),
        ("open     memory -> null sink", "open_memory", f"{ratios['open_memory']:.2f}"),
        ("seal     file -> file", "seal_file", f"{ratios['seal_file']:.2f}"),
        ("open     file -> file", "open_file", f"{ratios['open_file']:.2f}"),
    ]
    print(f"callrec crypto bench: {size / 1e6:.1f} MB, {SEGMENT} B segments, best of {args.repeat}")
    print(f"{'':40}{'MB/s':>8}  {'vs AESGCM enc':>13}")
    for label, key, ratio in rows:
        print(f"{label:40}{mbps[key]:8.0f}  {ratio:>13}")
    print(
        "seal in memory vs (AESGCM encrypt + SHA-256): "
        f"{result['ratio_seal_memory_vs_aesgcm+sha256']:.2f}; "
        f"open in memory vs AESGCM decrypt: {result['ratio_open_memory_vs_aesgcm_decrypt']:.2f}"
    )
    growth = result["rss_growth_mib"]
    assert isinstance(growth, dict)
    print(
        f"peak RSS growth, fresh process ({result['rss_method']}): "
        f"seal {growth['seal']:.1f} MiB, open {growth['open']:.1f} MiB (goal <= 32 MiB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
