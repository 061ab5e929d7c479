"""Benchmark: webhook acks per second and ack latency, against a bare ASGI app.

Usage: ``python bench/webhook.py [--requests 2000] [--clients 16] [--duplicates 0.3] [--json]``

What is measured, in one run on one machine:

1. **callrec's server**: the real app (``recorder.web``) on uvicorn, on 127.0.0.1, over a
   fresh store in a temp dir. Each request is a Twilio ``RecordingStatusCallback`` signed by
   the real ``twilio`` package: read the body, verify ``X-Twilio-Signature`` (HMAC-SHA1 over
   URL + sorted params), validate the ids, insert the job with ``ON CONFLICT DO NOTHING``
   and commit with ``synchronous=FULL`` (fsync), then answer 200. ``--duplicates`` of the
   deliveries repeat an earlier recording (Twilio retries), as in production.
2. **The baseline**: a bare ASGI app that reads the body and answers 200, on the very same
   uvicorn settings (``recorder.web.server.asgi_config``), hit by the very same requests.

``--clients`` threads (in a child process, so they do not compete with the server for
the GIL) each keep one HTTP/1.1 connection open and send their share as fast as answers
come back. Reported: requests/s, ack p50/p99 (ms) for both, and the ratio of
callrec's throughput to the baseline's. Goals: ratio >= 0.5, callrec p99 <= 50 ms. The
client threads share the machine with the server, in both runs alike.
Always exits 0: this reports, CI does not time anything.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from recorder.config import parse_config  # noqa: E402
from recorder.web.config import load_web_settings  # noqa: E402
from recorder.web.server import (  # noqa: E402
    BackgroundServer,
    ServerPaths,
    asgi_config,
    make_deps,
    uvicorn_config,
)
from storage.keyring import FileKeyRing  # noqa: E402

TOKEN = "bench-twilio-auth-token"  # noqa: S105 - a benchmark secret
BASE = "https://hooks.example.com"
GOAL_RATIO = 0.5
GOAL_P99_MS = 50.0

Request = tuple[str, bytes, dict[str, str]]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class _Multi(dict[str, list[str]]):
    def getlist(self, key: str) -> list[str]:
        return self[key]


def hex32(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(32))


def deliveries(count: int, duplicates: float, seed: int = 5) -> list[Request]:
    """Signed Twilio callbacks; a share of them repeat an earlier recording."""
    rng = random.Random(seed)
    account = "AC" + hex32(rng)
    validator = RequestValidator(TOKEN)
    start = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    made: list[Request] = []
    for i in range(count):
        if made and rng.random() < duplicates:
            made.append(made[rng.randrange(len(made))])
            continue
        params = [
            ("AccountSid", account),
            ("CallSid", "CA" + hex32(rng)),
            ("RecordingSid", "RE" + hex32(rng)),
            ("RecordingStatus", "completed"),
            ("RecordingDuration", str(30 + i % 300)),
            ("RecordingChannels", "1"),
            ("RecordingSource", "DialVerb"),
            (
                "RecordingStartTime",
                (start + timedelta(seconds=i)).strftime("%a, %d %b %Y %H:%M:%S +0000"),
            ),
        ]
        multi = _Multi()
        for name, value in params:
            multi.setdefault(name, []).append(value)
        target = "/hooks/twilio?agent=anna"
        signature = validator.compute_signature(BASE + target, multi)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        made.append((target, urlencode(params).encode("ascii"), headers))
    return made


async def bare_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The baseline: read the whole body, answer 200 with a tiny JSON body."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = bool(message.get("more_body", False))
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"ok":true}'})


def load(port: int, requests: list[Request], clients: int) -> dict[str, float]:
    """Send ``requests`` from ``clients`` keep-alive connections; throughput and latency."""
    lanes = [requests[k::clients] for k in range(clients)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    bad: list[int] = []
    barrier = threading.Barrier(clients + 1)

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        for target, body, headers in lanes[k]:
            began = time.perf_counter()
            conn.request("POST", target, body, headers)
            response = conn.getresponse()
            response.read()
            latencies[k].append(time.perf_counter() - began)
            if response.status != 200:
                bad.append(response.status)
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    flat = sorted(x for lane in latencies for x in lane)
    return {
        "requests": len(flat),
        "non_200": len(bad),
        "seconds": elapsed,
        "rps": len(flat) / elapsed,
        "p50_ms": flat[len(flat) // 2] * 1000,
        "p99_ms": flat[min(len(flat) - 1, int(len(flat) * 0.99))] * 1000,
    }


def load_elsewhere(port: int, requests: list[Request], clients: int) -> dict[str, float]:
    """:func:`load` in a child process, so the clients do not share the server's GIL."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(load, (port, requests, clients))


def run_callrec(work: Path, requests: list[Request], clients: int) -> dict[str, float]:
    home, keyring = work / "data", work / "keys" / "keyring.json"
    FileKeyRing.create(keyring, os.urandom)
    config = parse_config(tomllib.loads(f'[webhooks]\npublic_base_url = "{BASE}"\n'))
    settings = load_web_settings(config, {"CALLREC_TWILIO_AUTH_TOKEN": TOKEN})
    deps = make_deps(
        ServerPaths(home=home, keyring=keyring),
        config,
        settings,
        clock=lambda: datetime.now(UTC),
        rng=os.urandom,
    )
    server = BackgroundServer(uvicorn_config(deps, "127.0.0.1", 0)).start()
    try:
        return load_elsewhere(server.port, requests, clients)
    finally:
        server.stop()
        deps.store.close()


def run_bare(requests: list[Request], clients: int) -> dict[str, float]:
    server = BackgroundServer(asgi_config(bare_app, "127.0.0.1", 0)).start()
    try:
        return load_elsewhere(server.port, requests, clients)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duplicates", type=float, default=0.3)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    requests = deliveries(args.requests, args.duplicates)
    with tempfile.TemporaryDirectory(prefix="callrec-bench-") as tmp:
        # warm both paths once (imports, first connections), then measure
        run_bare(requests[:64], min(args.clients, 4))
        bare = run_bare(requests, args.clients)
        ours = run_callrec(Path(tmp), requests, args.clients)
    ratio = ours["rps"] / bare["rps"]
    result = {
        "callrec": ours,
        "bare": bare,
        "ratio": ratio,
        "goal_ratio": GOAL_RATIO,
        "goal_p99_ms": GOAL_P99_MS,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"webhook acks: {args.requests} Twilio deliveries, {args.clients} clients, "
        f"{args.duplicates:.0%} duplicates"
    )
    print(f"{'':<10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-200':>10}")
    for name, row in (("bare ASGI", bare), ("callrec", ours)):
        print(
            f"{name:<10}{row['rps']:>10.0f}{row['p50_ms']:>10.1f}{row['p99_ms']:>10.1f}"
            f"{row['non_200']:>10.0f}"
        )
    verdict = "ok" if ratio >= GOAL_RATIO else "BELOW GOAL"
    p99 = "ok" if ours["p99_ms"] <= GOAL_P99_MS else "ABOVE GOAL"
    print(f"ratio callrec/bare throughput: {ratio:.2f} (goal >= {GOAL_RATIO}: {verdict})")
    print(f"callrec ack p99: {ours['p99_ms']:.1f} ms (goal <= {GOAL_P99_MS:.0f} ms: {p99})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
