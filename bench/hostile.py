"""Benchmark hostile surroundings (RELIABILITY H2, H3): bombs and slow clients, timed.

Usage: ``python bench/hostile.py [--drippers 100] [--json]``

What is measured, in one run on one machine (the tests assert the outcomes; this reports
the times, each against a baseline of the same run):

1. **MP3 bomb** (``tests/recorder/mp3bombs.py``: 14.4 MB, a 48 kHz stereo first frame,
   ~4 h of 8 kHz mono frames after it): wall time and peak RSS (``VmHWM``) of ``decode``
   in a fresh interpreter, against decoding an honest MP3 of the same size (~4 h of 8 kHz
   mono throughout, which is accepted: 230 MB of PCM) (goal: bomb < 5 s and < 256 MiB;
   it is refused before ffmpeg runs).
2. **Slow clients** against the real server on 127.0.0.1 with a 2 s header deadline and
   a 3 s upload body deadline: how long a dripped header block and a dripped upload body
   (one byte every 100 ms, never idle long enough for a per-chunk timeout) are held
   before the cut (ratio to the configured deadline: ~1.0 means cut on time).
3. **Signed requests under attack**: Twilio callback latency (p50/p99 over 50 requests)
   while ``--drippers`` connections drip headers, against the same requests with no
   attackers (goal: every answer within 1 s).

Always exits 0: this reports, CI does not time anything.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recorder.config import parse_config  # noqa: E402
from recorder.web.server import BackgroundServer, ServerPaths, make_deps, uvicorn_config  # noqa: E402
from storage.keyring import FileKeyRing  # noqa: E402
from tests.recorder import mp3bombs  # noqa: E402
from tests.recorder.web import harness  # noqa: E402

DECODE = (
    "import json, sys, time\nfrom pathlib import Path\nfrom recorder.audio import decode\n"
    "from recorder.errors import InvalidAudio\nt = time.perf_counter()\n"
    "try:\n    decode(Path(sys.argv[1])); outcome = 'accepted'\n"
    "except InvalidAudio as exc:\n    outcome = f'refused: {exc}'\n"
    "seconds = time.perf_counter() - t\n"
    "hwm = int(Path('/proc/self/status').read_text().split('VmHWM:')[1].split()[0])\n"
    "print(json.dumps({'outcome': outcome, 's': seconds, 'rss_mib': hwm / 1024}))\n"
)


def measured(path: Path) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our interpreter, a fixed script
        [sys.executable, "-c", DECODE, str(path)],
        capture_output=True, check=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def bombs(work: Path) -> dict[str, Any]:
    bomb = work / "bomb.mp3"
    bomb.write_bytes(mp3bombs.rate_switch(work))
    unit = mp3bombs.encode(work, "honest", rate=8000, channels=1, kbps=8, seconds=60.0)
    honest = work / "honest.mp3"
    honest.write_bytes(unit * min(bomb.stat().st_size // len(unit), 235))  # just under 4 h
    return {"bomb": measured(bomb), "honest_same_size": measured(honest),
            "bytes": bomb.stat().st_size}  # fmt: skip


def start(work: Path) -> tuple[BackgroundServer, Any]:
    home, keyring = work / "data", work / "keys" / "keyring.json"
    FileKeyRing.create(keyring, os.urandom)
    toml = (
        f'{harness.ORG_CHART}\n[webhooks]\npublic_base_url = "{harness.BASE_URL}"\n'
        "header_timeout_seconds = 2\nbody_timeout_seconds = 2\n"
        "[webhooks.upload]\nbody_deadline_seconds = 3\n"
    )
    config = parse_config(tomllib.loads(toml))
    settings = harness.settings_for(config)
    deps = make_deps(ServerPaths(home=home, keyring=keyring), config, settings,
                     clock=lambda: datetime.now(UTC), rng=os.urandom)  # fmt: skip
    return BackgroundServer(uvicorn_config(deps, "127.0.0.1", 0)).start(), deps


def held_for(port: int, head: bytes, drip: bytes) -> float:
    """Seconds a connection is held while ``drip`` goes out a byte per 100 ms."""
    t = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        for i in range(len(drip)):
            if select.select([sock], [], [], 0.1)[0]:
                break
            sock.sendall(drip[i : i + 1])
        sock.recv(64)
    return time.perf_counter() - t


def latencies(web: harness.Web, count: int, offset: int) -> list[float]:
    rng = random.Random(offset)
    out = []
    for _ in range(count):
        params = harness.twilio_params("RE" + harness.hex32(rng), "CA" + harness.hex32(rng),
                                       "AC" + harness.hex32(rng))  # fmt: skip
        t = time.perf_counter()
        assert web.twilio(params).status == 200
        out.append(time.perf_counter() - t)
    return out


def slow_clients(work: Path, drippers: int) -> dict[str, Any]:
    server, deps = start(work)
    try:
        web = harness.Web(home=work / "data", keyring=work / "keys" / "keyring.json",
                          config=deps.settings, clock=harness.Clock(), server=server)  # type: ignore[arg-type]  # fmt: skip
        header = held_for(server.port, b"POST /hooks/twilio HTTP/1.1\r\n", b"X-A: " + b"a" * 999)
        body = harness.multipart({"v": 1, "source_id": "bench-drip"}, b"\0" * 2000, "b0")
        head = harness.upload_request(body, "b0", at=datetime.now(UTC))
        lines = [f"{n}: {v}" for n, v in head] + [f"Content-Length: {len(body)}"]
        request = "POST /hooks/upload HTTP/1.1\r\nHost: x\r\n" + "\r\n".join(lines) + "\r\n\r\n"
        upload = held_for(server.port, request.encode(), body)
        quiet = latencies(web, 50, 1)
        socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(drippers)]
        for sock in socks:
            sock.sendall(b"POST /hooks/twilio HTTP/1.1\r\n")
        attacked = latencies(web, 50, 2)
        for sock in socks:
            sock.close()
    finally:
        server.stop()
        deps.store.close()

    def stats(xs: list[float]) -> dict[str, float]:
        xs = sorted(xs)
        p99 = xs[int(len(xs) * 0.99) - 1]
        return {"p50_ms": statistics.median(xs) * 1000, "p99_ms": p99 * 1000,
                "max_ms": xs[-1] * 1000}  # fmt: skip

    return {
        "header_drip_held_s": header, "header_deadline_s": 2.0,
        "upload_drip_held_s": upload, "upload_deadline_s": 3.0,
        "signed_quiet": stats(quiet), "signed_under_attack": stats(attacked),
        "drippers": drippers,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drippers", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="callrec-bench-") as tmp:
        work = Path(tmp)
        result = {"mp3": bombs(work), "http": slow_clients(work / "srv", args.drippers)}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    mp3, http = result["mp3"], result["http"]
    print(
        f"MP3 bomb ({mp3['bytes']} bytes): {mp3['bomb']['outcome']}, "
        f"{mp3['bomb']['s'] * 1000:.0f} ms, peak RSS {mp3['bomb']['rss_mib']:.0f} MiB"
    )
    print(
        f"  honest ~4 h MP3 of about that size ({mp3['honest_same_size']['outcome']}): "
        f"{mp3['honest_same_size']['s'] * 1000:.0f} ms, "
        f"{mp3['honest_same_size']['rss_mib']:.0f} MiB (time ratio bomb/honest "
        f"{mp3['bomb']['s'] / mp3['honest_same_size']['s']:.4f})"
    )
    print(
        f"dripped headers held {http['header_drip_held_s']:.2f} s "
        f"(deadline {http['header_deadline_s']:.0f} s)"
    )
    print(
        f"dripped upload body held {http['upload_drip_held_s']:.2f} s "
        f"(deadline {http['upload_deadline_s']:.0f} s)"
    )
    quiet, hit = http["signed_quiet"], http["signed_under_attack"]
    print(f"signed Twilio callbacks, p50/p99/max ms: quiet {quiet['p50_ms']:.1f}/"
          f"{quiet['p99_ms']:.1f}/{quiet['max_ms']:.1f}; with {http['drippers']} drippers "
          f"{hit['p50_ms']:.1f}/{hit['p99_ms']:.1f}/{hit['max_ms']:.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
