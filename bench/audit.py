"""Benchmark the audit log: append rate and verify time for a 100,000-entry chain.

Usage: ``python bench/audit.py [--entries 100000] [--every 1000] [--json]``

What is measured, in one run on one machine, on a temp SQLite database configured like the
catalog (WAL, synchronous=FULL, autocommit with explicit transactions):

* append, batched: ``AuditLog.append`` inside the caller's transaction, ``--every`` entries
  per ``BEGIN IMMEDIATE … COMMIT`` (how capture appends with its catalog rows), with a
  signed checkpoint after each batch. Baseline: a bare ``INSERT`` of equally sized rows in
  the same batches (no validation, no hashing);
* append, own transaction: each ``append`` commits (and fsyncs) on its own, the playback
  path where the entry must be durable before audio flows. Baseline: a bare ``INSERT``
  committed alone. Measured over 1,000 entries (fsync-bound);
* verify: full ``verify()`` of all entries and checkpoints, best of 3. Baseline: the same
  ``SELECT`` streamed without hashing; plus ``verify_range`` of one segment.

Goal: verify of 100,000 entries in about 1 s or less in CPython. Always exits 0: this
reports, CI does not time anything.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.audit import AuditLog  # noqa: E402
from storage.models import AuditEvent  # noqa: E402

SEED = b"\x42" * 32
T0 = datetime(2026, 1, 1, tzinfo=UTC)
OWN_TXN = 1_000


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def events(n: int, rng: random.Random) -> list[AuditEvent]:
    """Plausible events, built before timing so only the log is measured."""
    actions = ["recording.play", "recording.download", "transcript.view", "summary.view"]
    return [
        AuditEvent(
            ts=T0 + timedelta(seconds=i, microseconds=rng.randrange(10**6)),
            actor_id=f"agent-{rng.randrange(500)}",
            actor_role=rng.choice(["agent", "manager", "admin"]),
            action=rng.choice(actions),
            outcome=rng.choice(["allowed", "denied"]),
            recording_id=f"{rng.getrandbits(128):032x}",
            artefact="audio",
            purpose=rng.choice([None, "quality review", "complaint"]),
            reason=rng.choice([None, "not in team at call time"]),
            detail={"bytes": rng.randrange(10**6)},
        )
        for i in range(n)
    ]


def baseline_insert(conn: sqlite3.Connection, n: int, every: int) -> float:
    """Seconds to INSERT ``n`` rows of the same shape without validation or hashing."""
    conn.execute("CREATE TABLE plain (seq INTEGER PRIMARY KEY, a, b, c, d, e, f, g, h, i, j, k, l)")
    conn.execute("CREATE INDEX plain_e ON plain (e)")
    row = ("2026-01-01T00:00:00.000000+00:00", "agent-1", "agent", "recording.play")
    rest = ("audio", "quality review", "allowed", None, '{"bytes":1}', "0" * 64, "f" * 64)
    start = time.perf_counter()
    for b in range(0, n, every):
        conn.execute("BEGIN IMMEDIATE")
        for i in range(b, min(n, b + every)):
            conn.execute(
                "INSERT INTO plain VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (i + 1, *row, f"{i:032x}", *rest),
            )
        conn.execute("COMMIT")
    return time.perf_counter() - start


def best(repeat: int, fn: Any) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run(entries: int, every: int) -> dict[str, Any]:
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        conn = connect(root / "catalog.db")
        log = AuditLog(conn, signing_seed=SEED, checkpoint_path=root / "checkpoints.jsonl")
        batch = events(entries, rng)
        start = time.perf_counter()
        for b in range(0, entries, every):
            conn.execute("BEGIN IMMEDIATE")
            for ev in batch[b : b + every]:
                log.append(ev)
            conn.execute("COMMIT")
            log.checkpoint(T0 + timedelta(seconds=b + every))
        append_batched = time.perf_counter() - start
        base_batched = baseline_insert(connect(root / "plain.db"), entries, every)

        verify = best(3, log.verify)
        scan_sql = "SELECT * FROM audit_log WHERE seq > 0 ORDER BY seq"
        scan = best(3, lambda: sum(1 for _ in conn.execute(scan_sql)))
        mid = (entries // 2) // every * every
        segment = best(3, lambda: log.verify_range(mid, min(entries, mid + every)))

        own_db = connect(root / "own.db")
        own_log = AuditLog(own_db)
        start = time.perf_counter()
        for ev in batch[:OWN_TXN]:
            own_log.append(ev)
        append_own = time.perf_counter() - start
        base_own = baseline_insert(connect(root / "plain_own.db"), OWN_TXN, 1)
        report = log.verify()
        return {
            "entries": report.size,
            "checkpoints": report.checkpoints_checked,
            "append_batched_per_s": round(entries / append_batched),
            "append_batched_ratio_vs_bare_insert": round(base_batched / append_batched, 3),
            "append_own_txn_per_s": round(OWN_TXN / append_own),
            "append_own_txn_ratio_vs_bare_insert": round(base_own / append_own, 3),
            "verify_s": round(verify, 3),
            "verify_scan_only_s": round(scan, 3),
            "verify_ratio_scan_over_verify": round(scan / verify, 3),
            "verify_range_one_segment_s": round(segment, 4),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=1_000, help="entries per checkpoint")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args()
    result = run(args.entries, args.every)
    if args.json:
        print(json.dumps(result))
        return
    print(f"audit log, {result['entries']:,} entries, {result['checkpoints']} checkpoints")
    print(
        f"  append, {args.every} per transaction: {result['append_batched_per_s']:,}/s"
        f"  (ratio vs bare INSERT {result['append_batched_ratio_vs_bare_insert']})"
    )
    print(
        f"  append, own fsynced transaction: {result['append_own_txn_per_s']:,}/s"
        f"  (ratio vs bare INSERT {result['append_own_txn_ratio_vs_bare_insert']})"
    )
    print(
        f"  verify (full): {result['verify_s']} s"
        f"  (bare SELECT scan {result['verify_scan_only_s']} s,"
        f" ratio {result['verify_ratio_scan_over_verify']})"
    )
    print(f"  verify_range (one segment): {result['verify_range_one_segment_s']} s")


if __name__ == "__main__":
    main()
