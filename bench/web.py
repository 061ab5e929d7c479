"""Benchmark: the web app against the CLI path it is built on, in one run on one machine.

Usage: ``python bench/web.py [--hours 1] [--seeks 20] [--calls 500] [--json]``

1. **Seek, time to first audio byte.** One recording of ``--hours`` of 8 kHz mono (stored
   with ``bench/playback.py``'s own write path). The web app runs as ``callrec web`` in its
   own process on 127.0.0.1 (as in production: the client never shares its interpreter);
   the agent signs in, opens the call page (which issues the playback ticket),
   then for each of ``--seeks`` seeded offsets a fresh connection asks
   ``GET /calls/{id}/audio?t=…`` with ``Range: bytes=N-`` and the time to the first body
   byte is taken: session check, ticket verification, ``open_playback`` (decision, audit
   entry committed), the range read. The baseline is the CLI's path in the same process
   on the same store: ``open_playback(start_ms=…)`` and its first PCM chunk, interleaved
   seek by seek with the web ones so both see the same load (and the same other writer on
   the catalog); the CLI alone, back to back on a warm cache, is reported too. Goal: web
   p50 <= 2x CLI p50.
2. **Call page weight.** HTML + CSS + every script the page loads (our module and the
   vendored htmx, wavesurfer.js and its regions plugin), as served, uncompressed; the
   waveform peaks JSON beside it. Audio excluded. Goal: <= 300 KB.
3. **A 500-call list.** ``--calls`` metadata-only calls of the agent; ``GET /calls`` with
   ``[web] page_size`` = all of them, so every row is rendered; p50 of 10 requests, with
   the in-process split between ``list_calls`` (decisions + audit commit) and the template.
   Goal: <= 100 ms.

The ciphertext was just written, so reads come from the page cache. Always exits 0: this
reports, CI does not time anything.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recorder.access import principal_for  # noqa: E402
from recorder.config import Config, parse_config  # noqa: E402
from recorder.listing import CallFilter, list_calls  # noqa: E402
from recorder.playback import open_playback  # noqa: E402
from recorder.wavfmt import HEADER_SIZE  # noqa: E402
from recorder.web.ui.auth import set_password  # noqa: E402
from recorder.web.ui.render import ENV  # noqa: E402
from storage.models import NewRecording, State  # noqa: E402
from storage.vault import Vault, new_id  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_playback", ROOT / "bench" / "playback.py")
assert _spec is not None and _spec.loader is not None
playback_bench: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(playback_bench)

PASSWORD = "bench passphrase 2026"  # noqa: S105 - a throwaway store's password
AGENT = playback_bench.AGENT
GOAL_RATIO, GOAL_KB, GOAL_LIST_MS = 2.0, 300.0, 100.0
_AUDIO = re.compile(r'data-audio="([^"]+)"')
_PEAKS = re.compile(r'data-peaks="([^"]+)"')
_SCRIPTS = re.compile(r'<script[^>]+src="([^"]+)"')
_STYLES = re.compile(r'<link rel="stylesheet" href="([^"]+)"')
_IMPORTS = re.compile(r'import\s+\w+\s+from\s+"\./([^"]+)"')


class Http:
    """A tiny cookie-keeping client (one connection per request, as a seek opens one)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:  # fmt: skip
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            sent |= {"Content-Type": "application/x-www-form-urlencoded"}
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        data = response.read()
        for raw in response.headers.get_all("set-cookie") or []:
            name, _, rest = raw.partition("=")
            value = rest.split(";", 1)[0]
            if value and "Max-Age=0" not in raw:
                self.cookies[name] = value
        conn.close()
        return response.status, data

    def first_byte(self, path: str, offset: int) -> float:
        """Seconds from sending a Range request to its first body byte (then hang up)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        begin = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": cookie, "Range": f"bytes={offset}-"})
        response = conn.getresponse()
        first = response.read(1)
        took = time.perf_counter() - begin
        assert response.status == 206 and first, response.status
        conn.close()
        return took


def _chart(calls: int) -> str:
    return playback_bench.ORG_CHART + f"\n[web]\npage_size = {calls + 1}\nticket_minutes = 15\n"


def start_web(root: Path, calls: int) -> tuple[subprocess.Popen[bytes], int]:
    """``callrec web`` over the store in ``root``, in its own process; (process, port)."""
    (root / "callrec.toml").write_text(_chart(calls))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "CALLREC_HOME": str(root / "data"),
           "CALLREC_KEYRING": str(root / "keys" / "keyring.json"),
           "CALLREC_CONFIG": str(root / "callrec.toml")}  # fmt: skip
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "callrec"), "web", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("callrec web did not start")


def _add_calls(vault: Vault, count: int) -> None:
    now = datetime.now(UTC)
    with vault.catalog.transaction():
        for i in range(count):
            rid = new_id(os.urandom)
            started = now - timedelta(days=1, minutes=i)
            vault.catalog.insert_recording(NewRecording(
                id=rid, provider="bench", provider_id=f"list-{i}", started_at=started,
                answered_at=started, ended_at=started + timedelta(minutes=3),
                duration_ms=180_000, service_number=None, caller_display="+4791234***",
                caller_digest=None, agent_id=AGENT, team_id=None, channels=1,
                retention_class="standard", expires_at=None, created_at=now,
            ))  # fmt: skip
            vault.catalog.set_recording_state(rid, State.AVAILABLE)


def cli_first_byte(vault: Vault, config: Config, recording_id: str, start_ms: int) -> float:
    """The baseline: what ``callrec play --start`` does up to its first PCM byte."""
    begin = time.perf_counter()
    playback = open_playback(
        vault, config, principal_for(config, AGENT), recording_id, purpose="quality",
        now=datetime.now(UTC), start_ms=start_ms,
    )  # fmt: skip
    chunks = playback.wav_chunks()
    next(chunks)
    assert next(chunks)
    took = time.perf_counter() - begin
    chunks.close()
    return took


def page_weight(client: Http, html: bytes) -> dict[str, int]:
    """Bytes of the page and of everything it loads (scripts follow their imports)."""
    text = html.decode()
    sizes = {"html": len(html)}
    queue = _SCRIPTS.findall(text) + _STYLES.findall(text)
    seen: set[str] = set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        status, body = client.request("GET", path)
        assert status == 200, path
        sizes[path] = len(body)
        if path.endswith(".js"):
            base = path.rsplit("/", 1)[0]
            queue += [f"{base}/{name}" for name in _IMPORTS.findall(body.decode())]
    return sizes


def run(hours: float, seeks: int, calls: int, seed: int) -> dict[str, Any]:
    frames = int(hours * 3600 * playback_bench.RATE)
    config = parse_config(tomllib.loads(_chart(calls)))
    draw = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="callrec-bench-web-") as tmp:
        root = Path(tmp)
        vault = playback_bench.open_store(root)
        recording_id, _, store_s = playback_bench.store_recording(vault, frames, seed)
        _add_calls(vault, calls)
        set_password(vault, config, AGENT, PASSWORD, now=datetime.now(UTC))
        proc, port = start_web(root, calls)
        try:
            client = Http(port)
            client.request("GET", "/login")
            status, page = client.request("GET", "/login")
            token = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()  # type: ignore[union-attr]
            body = f"user={AGENT}&password={PASSWORD.replace(' ', '+')}&csrf={token}"
            assert client.request("POST", "/login", body)[0] == 303
            status, html = client.request("GET", f"/calls/{recording_id}")
            assert status == 200, status
            audio = _AUDIO.search(html.decode()).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
            peaks_path = _PEAKS.search(html.decode()).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
            size = HEADER_SIZE + frames * 2
            offsets = [draw.randrange(HEADER_SIZE, size - 1) & ~1 for _ in range(seeks)]
            web: list[float] = []
            cli: list[float] = []
            for at in offsets:  # interleaved, so both see the same machine load
                web.append(client.first_byte(audio, at))
                cli.append(cli_first_byte(vault, config, recording_id, (at - HEADER_SIZE) // 16))
            alone = [cli_first_byte(vault, config, recording_id, (at - HEADER_SIZE) // 16)
                     for at in offsets]  # fmt: skip
            weight = page_weight(client, html)
            peaks_bytes = len(client.request("GET", peaks_path)[1])
            listing = []
            for _ in range(10):
                begin = time.perf_counter()
                status, listed = client.request("GET", "/calls")
                listing.append(time.perf_counter() - begin)
                assert status == 200 and listed.count(b'<td class="masked">') == calls + 1
            principal = principal_for(config, AGENT)
            begin = time.perf_counter()
            rows = list_calls(vault, config, principal, CallFilter(), now=datetime.now(UTC))
            list_s = time.perf_counter() - begin
            begin = time.perf_counter()
            ENV.get_template("_calls_table.html").render(
                rows=rows, total=len(rows), page=1, pages=1, purpose="", searched=False,
                query={}, given={},
            )  # fmt: skip
            render_s = time.perf_counter() - begin
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            vault.close()
    web_p50, cli_p50 = statistics.median(web) * 1000, statistics.median(cli) * 1000
    total_kb = sum(weight.values()) / 1024
    list_p50 = statistics.median(listing) * 1000
    return {
        "hours": hours, "store_s": store_s, "seeks": seeks, "calls": calls,
        "web_ttfb_ms": {"p50": web_p50, "max": max(web) * 1000},
        "cli_ttfb_ms": {"p50": cli_p50, "max": max(cli) * 1000},
        "cli_alone_ttfb_ms": {"p50": statistics.median(alone) * 1000, "max": max(alone) * 1000},
        "ratio_web_vs_cli_alone": web_p50 / (statistics.median(alone) * 1000),
        "ratio_web_vs_cli": web_p50 / cli_p50,
        "page_bytes": weight, "page_kb": total_kb, "peaks_kb": peaks_bytes / 1024,
        "list_ms_p50": list_p50, "list_calls_ms": list_s * 1000, "render_ms": render_s * 1000,
        "goals": {
            "ttfb_ratio": web_p50 / cli_p50 <= GOAL_RATIO,
            "page_kb": total_kb <= GOAL_KB,
            "list_ms": list_p50 <= GOAL_LIST_MS,
        },
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0, help="length of the long call")
    parser.add_argument("--seeks", type=int, default=60, help="random seeks to time")
    parser.add_argument("--calls", type=int, default=500, help="calls in the list")
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args()
    if args.hours <= 0 or args.seeks < 1 or args.calls < 1:
        parser.error("--hours, --seeks and --calls must be positive")
    r = run(args.hours, args.seeks, args.calls, args.seed)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    w, c = r["web_ttfb_ms"], r["cli_ttfb_ms"]
    print(f"Seek into a {r['hours']:g} h call, time to first audio byte ({r['seeks']} seeks):")
    print(f"   web ticket + Range   p50 {w['p50']:7.2f} ms   max {w['max']:7.2f} ms")
    print(f"   CLI open_playback    p50 {c['p50']:7.2f} ms   max {c['max']:7.2f} ms")
    a = r["cli_alone_ttfb_ms"]
    print(f"   CLI alone, warm      p50 {a['p50']:7.2f} ms   max {a['max']:7.2f} ms")
    print(
        f"   ratio web / CLI      {r['ratio_web_vs_cli']:.2f}x interleaved (goal <= "
        f"{GOAL_RATIO:g}x); {r['ratio_web_vs_cli_alone']:.2f}x against the CLI alone"
    )
    print(f"Call page weight: {r['page_kb']:.1f} KB (goal <= {GOAL_KB:.0f} KB) "
          f"+ {r['peaks_kb']:.1f} KB waveform peaks, audio excluded:")  # fmt: skip
    for name, size in sorted(r["page_bytes"].items(), key=lambda kv: -kv[1]):
        print(f"   {size / 1024:7.1f} KB  {name}")
    print(f"{r['calls']}-call list, GET /calls p50 {r['list_ms_p50']:.1f} ms "
          f"(goal <= {GOAL_LIST_MS:.0f} ms): list_calls {r['list_calls_ms']:.1f} ms, "
          f"template {r['render_ms']:.1f} ms")  # fmt: skip
    met = [k for k, ok in r["goals"].items() if ok]
    print(f"Goals met: {len(met)}/{len(r['goals'])} ({', '.join(met) or 'none'})")


if __name__ == "__main__":
    main()
