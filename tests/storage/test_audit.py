"""The audit log in the small: chain construction, transactions, PII guard, checkpoints.

The large-scale tamper suite (A3) is ``test_audit_tamper.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.audit import GENESIS, AuditLog, VerifyReport, canonical_row
from storage.crypto import signing_public_key
from storage.errors import AuditChainBroken, AuditError
from storage.models import ArtefactKind, AuditEvent

SEED = bytes(range(32))
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
COLS = (
    "seq, ts, actor_id, actor_role, action, recording_id, artefact, purpose, outcome, "
    "reason, detail, prev_hash, hash"
)
KEYS = [c.strip() for c in COLS.split(",")]


def connect(path: Path) -> sqlite3.Connection:
    """A connection configured like the catalog's (autocommit, WAL, synchronous=FULL)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = connect(tmp_path / "catalog.db")
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def cp_path(tmp_path: Path) -> Path:
    return tmp_path / "outside" / "audit-checkpoints.jsonl"


@pytest.fixture
def log(conn: sqlite3.Connection, cp_path: Path) -> AuditLog:
    cp_path.parent.mkdir()
    return AuditLog(conn, signing_seed=SEED, checkpoint_path=cp_path)


def event(i: int = 0, **overrides: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "ts": T0 + timedelta(seconds=i),
        "actor_id": "agent-7",
        "actor_role": "agent",
        "action": "recording.play",
        "outcome": "allowed",
        "recording_id": "3f2a9c1e-0b7d-4e55-9a61-2c4f8d0e1b23",
        "artefact": "audio",
        "purpose": "quality review",
        "detail": {"n": i},
    }
    fields.update(overrides)
    return AuditEvent(**fields)


def reference_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    """The chain hash exactly as ARCHITECTURE.md defines it, via ``json.dumps``."""
    canon = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(bytes.fromhex(prev_hash) + canon.encode("utf-8")).hexdigest()


def rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    found = conn.execute(f"SELECT {COLS} FROM audit_log ORDER BY seq").fetchall()  # noqa: S608
    return [dict(zip(KEYS, row, strict=True)) for row in found]


def drop_triggers(conn: sqlite3.Connection) -> None:
    for name in ("audit_log", "audit_checkpoint"):
        conn.execute(f"DROP TRIGGER {name}_no_update")
        conn.execute(f"DROP TRIGGER {name}_no_delete")


# -- the chain ----------------------------------------------------------------------------


def test_genesis_entry(log: AuditLog, conn: sqlite3.Connection) -> None:
    entry = log.append(event())
    assert (entry.seq, entry.prev_hash) == (1, GENESIS)
    stored = rows(conn)[0]
    assert stored["ts"] == "2026-11-23T12:00:00.000000+00:00"
    body = {k: v for k, v in stored.items() if k != "hash"}
    body["detail"] = {"n": 0}
    assert entry.hash == stored["hash"] == reference_hash(GENESIS, body)
    assert log.head() == (1, entry.hash)


def test_linkage_and_reading_back(log: AuditLog) -> None:
    other = "9b1c7e2a-5d4f-4a3b-8c6d-0e1f2a3b4c5d"
    appended = [log.append(event(i, recording_id=other if i == 1 else None)) for i in range(3)]
    for before, after in zip(appended, appended[1:], strict=False):
        assert after.prev_hash == before.hash and after.seq == before.seq + 1
    read = list(log.entries())
    assert read == appended
    assert list(log.entries(start_seq=3)) == appended[2:]
    assert log.for_recording(other) == [appended[1]]
    assert log.head() == (3, appended[-1].hash)
    assert log.verify() == VerifyReport(size=3, head=appended[-1].hash, checkpoints_checked=0)


def test_read_back_normalises_time_and_enums(log: AuditLog) -> None:
    oslo = timezone(timedelta(hours=1))
    log.append(event(ts=datetime(2026, 1, 1, 13, 0, tzinfo=oslo), artefact=ArtefactKind.AUDIO))
    (entry,) = log.entries()
    assert entry.event.ts == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert entry.event.ts.utcoffset() == timedelta(0)
    assert type(entry.event.artefact) is str and entry.event.artefact == "audio"


def test_empty_log_verifies_without_checkpoints(tmp_path: Path, conn: sqlite3.Connection) -> None:
    log = AuditLog(conn)  # no seed, no checkpoint file
    assert log.head() == (0, GENESIS)
    assert log.verify() == VerifyReport(size=0, head=GENESIS, checkpoints_checked=0)
    assert list(log.entries()) == []
    assert log.checkpoints() == []


text = st.text(st.characters(codec="utf-8"), max_size=12)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), text
)


@settings(max_examples=200, deadline=None)
@given(
    fields=st.fixed_dictionaries(
        {k: text for k in ("ts", "actor_id", "actor_role", "action", "outcome", "prev_hash")}
        | {k: st.one_of(st.none(), text) for k in ("recording_id", "artefact", "purpose")}
        | {"reason": st.one_of(st.none(), text), "seq": st.integers(1, 2**62)}
    ),
    detail=st.dictionaries(text, scalars, max_size=4),
)
def test_fast_canonical_json_equals_the_definition(
    fields: dict[str, Any], detail: dict[str, Any]
) -> None:
    detail_text = json.dumps(
        detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    row = tuple({**fields, "detail": detail_text, "hash": ""}[k] for k in KEYS)
    reference = json.dumps(
        {**fields, "detail": detail}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert canonical_row(row) == reference.encode("utf-8")


@settings(max_examples=25, deadline=None)
@given(words=st.lists(st.text(st.characters(codec="utf-8"), max_size=20), min_size=1, max_size=5))
def test_any_text_round_trips_and_verifies(
    tmp_path_factory: pytest.TempPathFactory, words: list[str]
) -> None:
    conn = connect(tmp_path_factory.mktemp("rt") / "a.db")
    try:
        log = AuditLog(conn)
        safe = [w for w in words if not any(ch.isdigit() for ch in w)] or ["x"]
        for i, word in enumerate(safe):
            log.append(event(i, actor_id=word, reason=word, detail={word: word}))
        assert [e.event.reason for e in log.entries()] == safe
        assert log.verify().size == len(safe)
    finally:
        conn.close()


# -- transactions and concurrency --------------------------------------------------------


def test_concurrent_appenders_never_fork_the_chain(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    AuditLog(connect(db))  # create the schema once
    per_thread, errors = 150, []
    barrier = threading.Barrier(2)

    def worker(name: str) -> None:
        conn = connect(db)
        try:
            log = AuditLog(conn)
            barrier.wait()
            for i in range(per_thread):
                log.append(event(i, actor_id=name))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    conn = connect(db)
    try:
        stored = rows(conn)
        assert [r["seq"] for r in stored] == list(range(1, 2 * per_thread + 1))
        assert {r["actor_id"] for r in stored} == {"alice", "bob"}
        assert AuditLog(conn).verify().size == 2 * per_thread
    finally:
        conn.close()


def test_append_joins_the_callers_transaction(log: AuditLog, conn: sqlite3.Connection) -> None:
    log.append(event(0))
    conn.execute("BEGIN IMMEDIATE")
    log.append(event(1))
    assert conn.in_transaction  # not committed by append
    conn.execute("ROLLBACK")
    assert log.head()[0] == 1
    conn.execute("BEGIN IMMEDIATE")
    log.append(event(2))
    conn.execute("COMMIT")
    assert [e.event.detail for e in log.entries()] == [{"n": 0}, {"n": 2}]
    assert log.verify().size == 2


def test_own_transaction_is_committed_before_append_returns(log: AuditLog, tmp_path: Path) -> None:
    log.append(event())
    other = connect(tmp_path / "catalog.db")  # another process would see it
    try:
        assert other.execute("SELECT COUNT(*) FROM audit_log").fetchone() == (1,)
    finally:
        other.close()


def test_triggers_block_update_and_delete(log: AuditLog, conn: sqlite3.Connection) -> None:
    log.append(event())
    log.checkpoint(T0)
    for sql in (
        "UPDATE audit_log SET outcome = 'denied'",
        "DELETE FROM audit_log",
        "UPDATE audit_checkpoint SET size = 9",
        "DELETE FROM audit_checkpoint",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    assert log.verify().size == 1


def test_sqlite_errors_become_audit_errors(log: AuditLog, conn: sqlite3.Connection) -> None:
    log.append(event())
    conn.close()
    for call in (
        lambda: log.append(event(1)),
        log.head,
        log.verify,
        lambda: list(log.entries()),
        lambda: log.for_recording("x"),
        lambda: log.checkpoint(T0),
    ):
        with pytest.raises(AuditError) as caught:
            call()
        assert not isinstance(caught.value, sqlite3.Error)


# -- what may enter the log (A5) --------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"reason": "caller 4791234567 complained"},
        {"purpose": "call back +47 91234567"},
        {"reason": "card ４１１１１１１１"},  # fullwidth digits count too
        {"detail": {"note": "5550123456"}},
        {"detail": {"4791234567": True}},
    ],
)
def test_long_digit_runs_in_free_text_are_refused(log: AuditLog, overrides: dict[str, Any]) -> None:
    with pytest.raises(AuditError) as caught:
        log.append(event(**overrides))
    assert not any(ch.isdigit() for ch in str(caught.value))  # the number is not echoed
    assert log.head() == (0, GENESIS)


def test_ids_and_short_numbers_are_allowed(log: AuditLog) -> None:
    entry = log.append(
        event(
            recording_id="12345678-1234-4123-8123-123456789012",  # UUID hex: digit runs by chance
            reason="held for 180 days, ticket 123456",
            detail={"bytes": 123456789012, "ratio": 0.5, "ok": False, "none": None},
        )
    )
    assert entry.seq == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"detail": {"nested": {"a": 1}}},
        {"detail": {"list": [1, 2]}},
        {"detail": {"nan": float("nan")}},
        {"detail": {1: "int key"}},
        {"ts": datetime(2026, 1, 1)},  # naive
        {"actor_id": None},
        {"reason": b"bytes"},
    ],
)
def test_malformed_events_are_refused(log: AuditLog, overrides: dict[str, Any]) -> None:
    with pytest.raises(AuditError):
        log.append(event(**overrides))
    assert log.head() == (0, GENESIS)


# -- checkpoints ------------------------------------------------------------------------------


def test_checkpoint_signs_head_into_a_private_file(log: AuditLog, cp_path: Path) -> None:
    for i in range(5):
        log.append(event(i))
    cp = log.checkpoint(T0)
    assert (cp.size, cp.head, cp.prev) == (5, log.head()[1], GENESIS)
    assert stat.S_IMODE(os.stat(cp_path).st_mode) == 0o600
    assert log.checkpoints() == [cp]
    assert log.checkpoint(T0 + timedelta(hours=1)) == cp  # nothing new: nothing written
    log.append(event(5))
    second = log.checkpoint(T0 + timedelta(hours=2))
    assert second.prev == hashlib.sha256(cp.signature).hexdigest()
    assert log.verify() == VerifyReport(size=6, head=second.head, checkpoints_checked=2)
    assert log.verify(public_key=signing_public_key(SEED)).checkpoints_checked == 2
    line = json.loads(cp_path.read_bytes().splitlines()[0])
    assert set(line) == {"head", "prev", "sig", "size", "ts"}


def test_checkpoint_needs_key_and_path_and_no_open_transaction(
    log: AuditLog, conn: sqlite3.Connection
) -> None:
    with pytest.raises(AuditError):
        AuditLog(conn).checkpoint(T0)
    conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(AuditError):
        log.checkpoint(T0)
    conn.execute("ROLLBACK")


def test_checkpoint_refuses_to_sign_a_broken_chain(log: AuditLog, conn: sqlite3.Connection) -> None:
    for i in range(3):
        log.append(event(i))
    log.checkpoint(T0)
    log.append(event(3))
    drop_triggers(conn)
    conn.execute("UPDATE audit_log SET outcome = 'denied' WHERE seq = 4")
    with pytest.raises(AuditChainBroken) as caught:
        log.checkpoint(T0 + timedelta(minutes=1))
    assert caught.value.seq == 4
    assert len(log.checkpoints()) == 1


def test_wrong_public_key_fails_at_the_checkpoint(log: AuditLog) -> None:
    log.append(event())
    log.checkpoint(T0)
    with pytest.raises(AuditChainBroken) as caught:
        log.verify(public_key=signing_public_key(b"\x01" * 32))
    assert (caught.value.seq, caught.value.reason) == (1, "checkpoint signature invalid")


def test_corrupt_checkpoint_line_is_named(log: AuditLog, cp_path: Path) -> None:
    log.append(event())
    log.checkpoint(T0)
    log.append(event(1))
    log.checkpoint(T0)
    lines = cp_path.read_bytes().splitlines(keepends=True)
    cp_path.write_bytes(lines[0] + b'{"size": "two"}\n')
    with pytest.raises(AuditError, match="line 2"):
        log.checkpoints()
    with pytest.raises(AuditError, match="line 2"):
        log.verify()


def test_torn_last_line_is_ignored_and_cut_by_the_next_checkpoint(
    log: AuditLog, cp_path: Path
) -> None:
    log.append(event())
    first = log.checkpoint(T0)
    with cp_path.open("ab") as f:
        f.write(b'{"head":"ab')  # a crash in the middle of writing the next line
    assert log.checkpoints() == [first]
    assert log.verify().checkpoints_checked == 1
    log.append(event(1))
    second = log.checkpoint(T0)
    assert log.checkpoints() == [first, second]
    assert log.verify().checkpoints_checked == 2


def test_crash_between_file_and_commit_is_repaired(log: AuditLog, conn: sqlite3.Connection) -> None:
    """The file line was fsynced but the witness row was not committed."""
    log.append(event())
    log.checkpoint(T0)
    log.append(event(1))
    log.checkpoint(T0)
    drop_triggers(conn)
    conn.execute("DELETE FROM audit_checkpoint WHERE n = 2")
    assert log.verify().checkpoints_checked == 2  # one trailing unwitnessed line is allowed
    log.append(event(2))
    log.checkpoint(T0)
    assert conn.execute("SELECT COUNT(*) FROM audit_checkpoint").fetchone() == (3,)


def test_deleting_the_newest_checkpoint_line_is_detected(log: AuditLog, cp_path: Path) -> None:
    for i in range(2):
        log.append(event(i))
        log.checkpoint(T0)
    lines = cp_path.read_bytes().splitlines(keepends=True)
    cp_path.write_bytes(lines[0])
    with pytest.raises(AuditChainBroken) as caught:
        log.verify()
    assert caught.value.seq == 2


def test_truncation_below_a_checkpoint_is_detected(log: AuditLog, conn: sqlite3.Connection) -> None:
    for i in range(10):
        log.append(event(i))
    log.checkpoint(T0)
    drop_triggers(conn)
    conn.execute("DELETE FROM audit_log WHERE seq > 7")
    with pytest.raises(AuditChainBroken) as caught:
        log.verify()
    assert (caught.value.seq, caught.value.reason) == (8, "log shorter than checkpoint")
    assert "entry" not in caught.value.reason or "agent" not in str(caught.value)


def test_the_tail_after_the_latest_checkpoint_is_only_chain_protected(
    log: AuditLog, conn: sqlite3.Connection
) -> None:
    """The documented limit: without a newer checkpoint, a cut tail looks like a short log."""
    for i in range(10):
        log.append(event(i))
    log.checkpoint(T0)
    log.append(event(10))
    drop_triggers(conn)
    conn.execute("DELETE FROM audit_log WHERE seq = 11")
    assert log.verify().size == 10


def test_edited_entry_is_pinpointed_without_data_in_the_message(
    log: AuditLog, conn: sqlite3.Connection
) -> None:
    for i in range(6):
        log.append(event(i))
    drop_triggers(conn)
    conn.execute("UPDATE audit_log SET actor_id = 'mallory' WHERE seq = 4")
    with pytest.raises(AuditChainBroken) as caught:
        log.verify()
    assert (caught.value.seq, caught.value.reason) == (4, "hash mismatch")
    assert "mallory" not in str(caught.value)


def test_verify_range_is_incremental(log: AuditLog) -> None:
    for i in range(4):
        log.append(event(i))
    first = log.checkpoint(T0)
    for i in range(4, 9):
        log.append(event(i))
    report = log.verify_range(first.size)
    assert (report.size, report.head) == log.head()
    assert log.verify_range(0, first.size).head == first.head
    with pytest.raises(AuditError, match="checkpoint size"):
        log.verify_range(2)


def test_checkpoint_refuses_to_sign_a_truncated_log(
    log: AuditLog, conn: sqlite3.Connection
) -> None:
    for i in range(5):
        log.append(event(i))
    log.checkpoint(T0)
    drop_triggers(conn)
    conn.execute("DELETE FROM audit_log WHERE seq > 3")
    with pytest.raises(AuditChainBroken) as caught:
        log.checkpoint(T0 + timedelta(minutes=1))
    assert (caught.value.seq, caught.value.reason) == (4, "log shorter than checkpoint")
    assert len(log.checkpoints()) == 1
