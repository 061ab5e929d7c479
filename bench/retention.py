"""Benchmark the retention sweep: 1,000,000 recordings, 10,000 of them due.

Usage: ``python bench/retention.py [--recordings 1000000] [--due 10000] [--json]``

What is measured, in one run on one machine, on a temp catalog created and migrated by
``Catalog.open`` (WAL, synchronous=FULL, secure_delete=ON; the ``(state, expires_at)``
indexes of migration ``V_RETENTION``):

* set-up (not timed against the goal): recordings with random UUID ids, one audio
  artefact each and one wrapped-key row each, inserted with ``executemany`` (not via
  capture) in call order; the ``--due`` oldest expired (``--scattered``: every n-th row
  instead, the worst case), a few of those held (they must survive);
* baseline: a bare ``SELECT id`` of the due recordings (what any sweep must at least do);
* dry run: ``sweep(..., dry_run=True)`` (paging + decisions, no writes);
* sweep: the real pass: crypto-shred every due, unheld artefact (key row deleted under
  secure_delete, state, blob queue, one audit receipt per artefact and per recording,
  one transaction and one WAL checkpoint per page of 500), then the same pass again
  (idempotent: nothing left to do).

Blobs live in an empty file store (deleting a missing file is a no-op), so the figure is
the catalog's cost. Goal: the sweep in about 10 s or less. Always exits 0: this reports,
CI does not time anything.
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

from recorder.retention import default_classes  # noqa: E402
from recorder.sweep import sweep  # noqa: E402
from storage import retention_store  # noqa: E402
from storage.audit import AuditLog  # noqa: E402
from storage.blobs import FileBlobStore  # noqa: E402
from storage.catalog import Catalog  # noqa: E402
from storage.catalog_schema import encode_ts  # noqa: E402
from storage.guard import Guard  # noqa: E402
from storage.keyring import MemoryKeyRing  # noqa: E402
from storage.vault import Vault  # noqa: E402

NOW = datetime(2027, 6, 1, tzinfo=UTC)
HELD = 50


def populate(
    path: Path, total: int, due: int, rng: random.Random, *, scattered: bool, guard: Guard
) -> list[str]:
    """Insert ``total`` recordings (``due`` expired at ``NOW``); returns the due ids.

    Realistic layout (default): rows are inserted in call order, as capture does, so the
    calls expiring today were captured together six months ago (the oldest ``due``
    rows). ``scattered``: every ``total // due``-th row is due instead, so each due row
    sits on its own database pages (the worst case for the sweep's writes).
    """
    Catalog.open(path).close()  # create + migrate
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")  # set-up only; the sweep runs with FULL
    due_ids: list[str] = []
    step = timedelta(days=180) / total
    first = NOW - timedelta(days=183) - step * due  # the oldest ``due`` calls expired
    batch = 50_000
    for start in range(0, total, batch):
        recs, arts, keys = [], [], []
        for i in range(start, min(total, start + batch)):
            rid = rng.randbytes(16).hex()
            aid = rng.randbytes(16).hex()
            started = first + step * i
            expires = started + timedelta(days=183)
            if scattered:
                is_due = i % (total // due) == 0 and len(due_ids) < due
                if is_due:
                    expires = NOW - timedelta(seconds=1 + i % 86400)
                elif expires <= NOW:
                    expires = NOW + timedelta(days=1)
            else:
                is_due = expires <= NOW
            if is_due:
                due_ids.append(rid)
            held = int(is_due and len(due_ids) <= HELD)
            ts = encode_ts(expires)
            st = encode_ts(started)
            row = {"id": rid, "agent_id": f"agent-{i % 500}", "team_id": None, "restricted": 0,
                   "legal_hold": held, "started_at": st, "answered_at": st, "expires_at": ts,
                   "retention_class": "standard_6m", "state": "available", "caller_digest": None,
                   "caller_digest_version": None, "ai_notice": 0, "ai_opted_out": 0,
                   "ai_optout_at_ms": None}  # fmt: skip
            art = {"id": aid, "recording_id": rid, "kind": "audio", "state": "available",
                   "expires_at": ts}  # fmt: skip
            recs.append((rid, "bench", rid, st, st, st, 60_000, "withheld",
                         f"agent-{i % 500}", 1, "standard_6m", ts, "available", st, held,
                         guard.seal("recordings", row)))  # fmt: skip
            arts.append((aid, rid, "audio", "available", 1000, "0" * 64, 1100, st, ts,
                         guard.seal("artefacts", art)))  # fmt: skip
            keys.append((aid, 1, rng.randbytes(60), st))
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO recordings (id, provider, provider_id, started_at, answered_at, "
            "ended_at, duration_ms, caller_display, agent_id, channels, retention_class, "
            "expires_at, state, created_at, legal_hold, guard) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            recs,
        )
        conn.executemany(
            "INSERT INTO artefacts (id, recording_id, kind, state, plaintext_size, "
            "plaintext_sha256, ciphertext_size, created_at, expires_at, guard) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            arts,
        )
        conn.executemany(
            "INSERT INTO keys (artefact_id, kek_version, wrapped, created_at) VALUES (?,?,?,?)",
            keys,
        )
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return due_ids


def timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--scattered", action="store_true", help="due rows spread out")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(8)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        keyring = MemoryKeyRing.generate(rng.randbytes)
        guard = Guard.from_seed(keyring.audit_signing_seed())  # rows sealed as capture would
        setup, due_ids = timed(
            lambda: populate(
                root / "catalog.db",
                args.recordings,
                args.due,
                rng,
                scattered=args.scattered,
                guard=guard,
            )
        )
        catalog = Catalog.open(root / "catalog.db", guard=guard)
        vault = Vault(
            catalog=catalog,
            blobs=FileBlobStore(root / "blobs"),
            keyring=keyring,
            audit=AuditLog(catalog.connection),
        )
        classes = default_classes()
        baseline, ids = timed(lambda: retention_store.due_ids(catalog, NOW))
        assert len(ids) == len(due_ids)
        dry, dry_report = timed(lambda: sweep(vault, classes=classes, now=NOW, dry_run=True))
        real, report = timed(lambda: sweep(vault, classes=classes, now=NOW))
        again, again_report = timed(lambda: sweep(vault, classes=classes, now=NOW))
        assert report.recordings_destroyed == len(due_ids) - HELD, report
        assert report.blocked == {"legal hold": HELD}
        assert again_report.recordings_destroyed == 0
        vault.close()
    result = {
        "recordings": args.recordings,
        "layout": "scattered" if args.scattered else "call order",
        "due": len(due_ids),
        "held": HELD,
        "setup_s": round(setup, 2),
        "baseline_select_s": round(baseline, 4),
        "dry_run_s": round(dry, 3),
        "sweep_s": round(real, 3),
        "second_sweep_s": round(again, 4),
        "sweep_vs_select": round(real / baseline, 1) if baseline else None,
        "per_recording_ms": round(real * 1000 / max(1, report.recordings_destroyed), 3),
        "goal_sweep_s": 10.0,
        "dry_run_destroyed": dry_report.recordings_destroyed,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")


if __name__ == "__main__":
    main()
