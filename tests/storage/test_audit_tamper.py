"""A3: a 100,000-entry audit log survives 2,000 random tamperings undetected 0 times.

Each tampering is what an attacker with write access to the database file (triggers dropped)
or to the checkpoint file can do, without the signing key. It is applied inside a
transaction that is rolled back afterwards, so every tampering starts from the same
pristine log. Detection runs through the public API:

- database tamperings: ``verify_range`` over the signed segment ``(cp_i, cp_{i+1}]`` that
  holds the first tampered entry (checkpoints every 1,000 entries); a random sample of them
  also runs the full ``verify()``, which must report the same seq and reason;
- checkpoint tamperings: ``verify_checkpoints()`` (and ``verify()`` for the sample).

Every tampering must be detected with ``seq`` equal to the first tampered position (for a
checkpoint: the tampered checkpoint's original size).

Renumbering (an insertion or a deletion followed by shifting every later seq) and tail
truncation touch up to 100,000 rows; doing that physically 2,000 times would take many
minutes. The template therefore also holds the whole log pre-shifted by +1 and -1
(``shift_up`` / ``shift_down``), and such a tampering renames ``audit_log`` and puts in
its place a view stitching the unchanged prefix, the forged row and the shifted suffix.
Every query the verifier issues sees exactly the rows a physical renumbering would leave.
``test_views_match_physical_tampering`` shows that for one insertion, one renumbered deletion
and one truncation done physically.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import crypto
from storage.audit import GENESIS, AuditLog
from storage.audit_checkpoints import checkpoint_message
from storage.errors import AuditChainBroken
from storage.models import AuditEvent

N = 100_000
EVERY = 1_000  # a signed checkpoint every EVERY entries
TAMPERINGS = 2_000
FULL_SAMPLE = 20
SEED = b"\x07" * 32
ATTACKER_SEED = b"\x66" * 32
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
COLS = (
    "seq",
    "ts",
    "actor_id",
    "actor_role",
    "action",
    "recording_id",
    "artefact",
    "purpose",
    "outcome",
    "reason",
    "detail",
    "prev_hash",
    "hash",
)
REASONS = {
    "hash mismatch",
    "prev_hash mismatch",
    "entry missing",
    "entry altered",
    "entry inserted",
    "log shorter than checkpoint",
    "checkpoint head mismatch",
    "checkpoint signature invalid",
    "checkpoint missing or altered",
    "checkpoint chain broken",
    "checkpoint order invalid",
}


def connect(path: Path) -> sqlite3.Connection:
    """A connection configured like the catalog's (autocommit, WAL, synchronous=FULL)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def reference_hash(row: tuple[object, ...]) -> str:
    """The chain hash by the definition, independent of ``storage.audit``'s fast path."""
    body = dict(zip(COLS[:-1], row[:-1], strict=True))
    body["detail"] = json.loads(str(body["detail"]))
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(bytes.fromhex(str(row[11])) + canon.encode()).hexdigest()


def random_event(rng: random.Random, i: int) -> AuditEvent:
    """A plausible event: varied actors, actions, nulls, unicode and small details."""
    action = rng.choice(["recording.play", "recording.download", "transcript.view", "erase"])
    return AuditEvent(
        ts=T0 + timedelta(seconds=i, microseconds=rng.randrange(1_000_000)),
        actor_id=f"user-{rng.randrange(300)}",
        actor_role=rng.choice(["agent", "manager", "admin", "dpo", "system"]),
        action=action,
        outcome=rng.choice(["allowed", "denied", "ok", "error"]),
        recording_id=None if action == "erase" else f"{rng.getrandbits(128):032x}",
        artefact=rng.choice([None, "audio", "transcript", "summary"]),
        purpose=rng.choice([None, "quality review", "subject access", "complaint – Åsa"]),
        reason=rng.choice([None, None, "not in team at call time", "legal hold"]),
        detail=rng.choice([{}, {"bytes": rng.randrange(10**6)}, {"kek": 2, "ok": True}]),
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the 100,000-entry log once (plus the attacker's pre-shifted copies)."""
    root = tmp_path_factory.mktemp("a3")
    conn = connect(root / "audit.db")
    log = AuditLog(conn, signing_seed=SEED, checkpoint_path=root / "checkpoints.jsonl")
    rng = random.Random(2026)
    for start in range(0, N, EVERY):
        conn.execute("BEGIN IMMEDIATE")
        for i in range(start, start + EVERY):
            log.append(random_event(rng, i))
        conn.execute("COMMIT")
        log.checkpoint(T0 + timedelta(seconds=start + EVERY))
    columns = ", ".join(COLS)
    rest = ", ".join(COLS[1:])
    for name, delta in (("shift_up", "+ 1"), ("shift_down", "- 1")):
        conn.execute(
            f"CREATE TABLE {name} (seq INTEGER PRIMARY KEY, "
            + ", ".join(f"{c} TEXT" for c in COLS[1:])
            + ")"
        )
        conn.execute(
            f"INSERT INTO {name} ({columns}) SELECT seq {delta}, {rest} FROM audit_log"  # noqa: S608
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return root


@dataclass
class World:
    """A private copy of the template: connection, logs, pristine rows and checkpoint lines."""

    conn: sqlite3.Connection
    log: AuditLog
    scratch_log: AuditLog  # reads the tampered copy of the checkpoint file
    scratch: Path
    lines: list[bytes]

    def row(self, seq: int) -> tuple[object, ...]:
        found = self.conn.execute(
            "SELECT " + ", ".join(COLS) + " FROM audit_log WHERE seq = ?",  # noqa: S608
            (seq,),
        ).fetchone()
        assert found is not None
        return tuple(found)


@pytest.fixture
def world(template: Path, tmp_path: Path) -> Iterator[World]:
    for name in ("audit.db", "checkpoints.jsonl"):
        shutil.copyfile(template / name, tmp_path / name)
    conn = connect(tmp_path / "audit.db")
    conn.execute("PRAGMA cache_size=-65536")
    log = AuditLog(conn, signing_seed=SEED, checkpoint_path=tmp_path / "checkpoints.jsonl")
    scratch = tmp_path / "scratch.jsonl"
    scratch_log = AuditLog(conn, signing_seed=SEED, checkpoint_path=scratch)
    lines = (tmp_path / "checkpoints.jsonl").read_bytes().splitlines(keepends=True)
    try:
        yield World(conn, log, scratch_log, scratch, lines)
    finally:
        conn.close()


# -- the attacker's moves ------------------------------------------------------------------
# Each returns (expected first bad seq, how to detect) after changing the database or the
# scratch checkpoint file. "segment" means verify_range over the segment holding that seq.

Outcome = tuple[int, str]


def _mutate_text(rng: random.Random, value: str, alphabet: str) -> str:
    pos = rng.randrange(len(value))
    choices = [c for c in alphabet if c != value[pos]]
    return value[:pos] + rng.choice(choices) + value[pos + 1 :]


def _edited(rng: random.Random, row: tuple[object, ...], column: str) -> object:
    value = row[COLS.index(column)]
    if column in ("hash", "prev_hash"):
        return _mutate_text(rng, str(value), "0123456789abcdef")
    if column == "ts":
        ts = datetime.fromisoformat(str(value)) + timedelta(microseconds=rng.choice([-1, 1]))
        return ts.isoformat(timespec="microseconds")
    if column == "detail":
        return json.dumps({"tampered": rng.randrange(100)}, separators=(",", ":"))
    if value is None:
        return "x"
    return _mutate_text(rng, str(value), "abcdefxyzÅ-")


def _drop_triggers(conn: sqlite3.Connection) -> None:
    for name in ("audit_log", "audit_checkpoint"):
        conn.execute(f"DROP TRIGGER {name}_no_update")
        conn.execute(f"DROP TRIGGER {name}_no_delete")


def _set_row(conn: sqlite3.Connection, row: tuple[object, ...]) -> None:
    sets = ", ".join(f"{c} = ?" for c in COLS[1:])
    conn.execute(f"UPDATE audit_log SET {sets} WHERE seq = ?", (*row[1:], row[0]))  # noqa: S608


def _replace_with_view(conn: sqlite3.Connection, *parts: str) -> None:
    """Swap ``audit_log`` for a view stitching the given SELECTs (see module docstring)."""
    conn.execute("ALTER TABLE audit_log RENAME TO audit_orig")
    conn.execute("CREATE VIEW audit_log AS " + " UNION ALL ".join(parts))


def t_edit(w: World, rng: random.Random) -> Outcome:
    """Change one field of one entry (any column, hashes included), nothing recomputed."""
    k = rng.randint(1, N)
    row = list(w.row(k))
    column = rng.choice(COLS[1:])
    row[COLS.index(column)] = _edited(rng, tuple(row), column)
    _set_row(w.conn, tuple(row))
    return k, "segment"


def t_forge(w: World, rng: random.Random) -> Outcome:
    """Change one field and recompute that entry's own hash (a self-consistent forgery)."""
    k = rng.randint(1, N)
    row = list(w.row(k))
    column = rng.choice(COLS[1:11])
    row[COLS.index(column)] = _edited(rng, tuple(row), column)
    row[12] = reference_hash(tuple(row))
    _set_row(w.conn, tuple(row))
    return k, "segment"


def t_delete(w: World, rng: random.Random) -> Outcome:
    """Delete one entry and leave the gap."""
    k = rng.randint(1, N)
    w.conn.execute("DELETE FROM audit_log WHERE seq = ?", (k,))
    return k, "segment"


def t_delete_renumber(w: World, rng: random.Random) -> Outcome:
    """Delete one entry and shift every later entry down to close the gap."""
    k = rng.randint(1, N)
    _replace_with_view(
        w.conn,
        f"SELECT * FROM audit_orig WHERE seq < {k}",  # noqa: S608
        f"SELECT * FROM shift_down WHERE seq >= {k}",  # noqa: S608
    )
    return k, "segment"


def t_insert(w: World, rng: random.Random) -> Outcome:
    """Insert a forged, self-consistent entry and shift every later entry up."""
    k = rng.randint(1, N)
    prev = GENESIS if k == 1 else str(w.row(k - 1)[12])
    template = w.row(rng.randint(1, N))
    forged = (k, *template[1:11], prev, "")
    forged = (*forged[:12], reference_hash(forged))
    w.conn.execute("CREATE TABLE audit_forged AS SELECT * FROM audit_log WHERE 0")
    w.conn.execute(
        "INSERT INTO audit_forged VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", forged
    )
    _replace_with_view(
        w.conn,
        f"SELECT * FROM audit_orig WHERE seq < {k}",  # noqa: S608
        "SELECT * FROM audit_forged",
        f"SELECT * FROM shift_up WHERE seq > {k}",  # noqa: S608
    )
    return k, "segment"


def t_swap(w: World, rng: random.Random) -> Outcome:
    """Swap the seqs of two entries (a reorder), adjacent half of the time."""
    i = rng.randint(1, N - 1)
    j = i + 1 if rng.random() < 0.5 else rng.randint(i + 1, N)
    w.conn.execute("UPDATE audit_log SET seq = -1 WHERE seq = ?", (i,))
    w.conn.execute("UPDATE audit_log SET seq = ? WHERE seq = ?", (i, j))
    w.conn.execute("UPDATE audit_log SET seq = ? WHERE seq = -1", (j,))
    return i, "segment"


def t_move(w: World, rng: random.Random) -> Outcome:
    """Move one entry to the end (give it a seq past the tail)."""
    k = rng.randint(1, N)
    w.conn.execute("UPDATE audit_log SET seq = ? WHERE seq = ?", (N + rng.randint(1, 50), k))
    return k, "segment"


def t_truncate(w: World, rng: random.Random) -> Outcome:
    """Cut the tail: keep entries 1 .. k-1."""
    k = rng.randint(1, N)
    _replace_with_view(w.conn, f"SELECT * FROM audit_orig WHERE seq < {k}")  # noqa: S608
    return k, "segment"


def _line(lines: list[bytes], i: int) -> dict[str, object]:
    body = json.loads(lines[i])
    assert isinstance(body, dict)
    return body


def _dump(body: dict[str, object]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def _attacker_sign(body: dict[str, object]) -> dict[str, object]:
    ts = datetime.fromisoformat(str(body["ts"]))
    size = body["size"]
    assert isinstance(size, int)
    message = checkpoint_message(size, str(body["head"]), str(body["prev"]), ts)
    return {**body, "sig": crypto.sign(ATTACKER_SEED, message).hex()}


def _write_scratch(w: World, lines: list[bytes]) -> None:
    w.scratch.write_bytes(b"".join(lines))


def t_cp_edit(w: World, rng: random.Random) -> Outcome:
    """Edit one field of one checkpoint line (keeping it valid JSON)."""
    i = rng.randrange(len(w.lines))
    body = _line(w.lines, i)
    original = body["size"]
    assert isinstance(original, int)
    field = rng.choice(["size", "head", "prev", "ts", "sig"])
    if field == "size":
        body["size"] = original + rng.choice([-1, 1])
    elif field == "ts":
        body["ts"] = (datetime.fromisoformat(str(body["ts"])) + timedelta(seconds=1)).isoformat(
            timespec="microseconds"
        )
    else:
        body[field] = _mutate_text(rng, str(body[field]), "0123456789abcdef")
    lines = list(w.lines)
    lines[i] = _dump(body)
    _write_scratch(w, lines)
    return original, "checkpoints"


def t_cp_delete(w: World, rng: random.Random) -> Outcome:
    """Delete one checkpoint line (the newest included)."""
    i = rng.randrange(len(w.lines))
    size = _line(w.lines, i)["size"]
    assert isinstance(size, int)
    _write_scratch(w, w.lines[:i] + w.lines[i + 1 :])
    return size, "checkpoints"


def t_cp_forge(w: World, rng: random.Random) -> Outcome:
    """Replace a checkpoint with one claiming another head, signed with the attacker's key."""
    i = rng.randrange(len(w.lines))
    body = _line(w.lines, i)
    size = body["size"]
    assert isinstance(size, int)
    body["head"] = hashlib.sha256(rng.randbytes(16)).hexdigest()
    lines = list(w.lines)
    lines[i] = _dump(_attacker_sign(body))
    _write_scratch(w, lines)
    return size, "checkpoints"


def t_cp_append(w: World, rng: random.Random) -> Outcome:
    """Append a forged newest checkpoint (attacker-signed), e.g. to bless a changed tail."""
    last = _line(w.lines, -1)
    size = N + rng.randint(0, 20)
    body = {
        "head": hashlib.sha256(rng.randbytes(16)).hexdigest(),
        "prev": hashlib.sha256(bytes.fromhex(str(last["sig"]))).hexdigest(),
        "size": size,
        "ts": str(last["ts"]),
        "sig": "",
    }
    _write_scratch(w, [*w.lines, _dump(_attacker_sign(body))])
    return size, "checkpoints"


def t_cp_replay(w: World, rng: random.Random) -> Outcome:
    """Append a copy of a genuine earlier checkpoint line."""
    i = rng.randrange(len(w.lines))
    size = _line(w.lines, i)["size"]
    assert isinstance(size, int)
    _write_scratch(w, [*w.lines, w.lines[i]])
    return size, "checkpoints"


def t_cp_swap(w: World, rng: random.Random) -> Outcome:
    """Swap two checkpoint lines."""
    i, j = sorted(rng.sample(range(len(w.lines)), 2))
    size = _line(w.lines, i)["size"]
    assert isinstance(size, int)
    lines = list(w.lines)
    lines[i], lines[j] = lines[j], lines[i]
    _write_scratch(w, lines)
    return size, "checkpoints"


def t_witness(w: World, rng: random.Random) -> Outcome:
    """Delete (never the newest: see below) or edit a row of the witness table.

    Deleting only the newest witness row is indistinguishable from a crash between the
    file's fsync and the commit, and loses nothing: the file line still anchors the chain.
    """
    i = rng.randrange(len(w.lines) - 1)
    size = _line(w.lines, i)["size"]
    assert isinstance(size, int)
    if rng.random() < 0.5:
        w.conn.execute("DELETE FROM audit_checkpoint WHERE n = ?", (i + 1,))
    else:
        head = hashlib.sha256(rng.randbytes(8)).hexdigest()
        w.conn.execute("UPDATE audit_checkpoint SET head = ? WHERE n = ?", (head, i + 1))
    return size, "witness"


MOVES: dict[str, Callable[[World, random.Random], Outcome]] = {
    "edit": t_edit,
    "forge": t_forge,
    "delete": t_delete,
    "delete_renumber": t_delete_renumber,
    "insert": t_insert,
    "swap": t_swap,
    "move": t_move,
    "truncate": t_truncate,
    "cp_edit": t_cp_edit,
    "cp_delete": t_cp_delete,
    "cp_forge": t_cp_forge,
    "cp_append": t_cp_append,
    "cp_replay": t_cp_replay,
    "cp_swap": t_cp_swap,
    "witness": t_witness,
}
# Database tamperings are what A3 is mostly about: weight them 3:1.
WEIGHTS = [3 if not name.startswith(("cp_", "witness")) else 1 for name in MOVES]


def detect(w: World, how: str, expected: int, *, full: bool) -> AuditChainBroken:
    """Run the cheap check (and the full ``verify()`` if asked); both must agree."""
    if how == "segment":
        start = (expected - 1) // EVERY * EVERY
        with pytest.raises(AuditChainBroken) as caught:
            w.log.verify_range(start, start + EVERY)
        full_log = w.log
    else:
        full_log = w.scratch_log if how == "checkpoints" else w.log
        with pytest.raises(AuditChainBroken) as caught:
            full_log.verify_checkpoints()
    if full:
        with pytest.raises(AuditChainBroken) as again:
            full_log.verify()
        assert (again.value.seq, again.value.reason) == (caught.value.seq, caught.value.reason)
    return caught.value


def test_a3_every_tampering_detected_at_first_bad_position(world: World) -> None:
    rng = random.Random(31337)
    names = list(MOVES)
    sample = set(rng.sample(range(TAMPERINGS), FULL_SAMPLE))
    seen: Counter[str] = Counter()
    for n in range(TAMPERINGS):
        name = rng.choices(names, WEIGHTS)[0]
        world.conn.execute("BEGIN IMMEDIATE")
        try:
            _drop_triggers(world.conn)
            expected, how = MOVES[name](world, rng)
            broken = detect(world, how, expected, full=n in sample)
        finally:
            world.conn.execute("ROLLBACK")
        assert broken.seq == expected, (n, name, broken.reason)
        assert broken.reason in REASONS
        seen[name] += 1
    assert sum(seen.values()) == TAMPERINGS
    assert set(seen) == set(MOVES), seen  # every kind of tampering was exercised


def test_untampered_log_verifies_fully_and_by_segments(world: World) -> None:
    report = world.log.verify()
    size, head = world.log.head()
    assert (report.size, report.head, report.checkpoints_checked) == (N, head, N // EVERY)
    assert size == N
    assert world.log.checkpoints()[-1].head == head
    for start in range(0, N, EVERY):
        part = world.log.verify_range(start, start + EVERY)
        assert part.size == start + EVERY
    assert world.log.verify_range(N - EVERY).head == head  # incremental: to the tail


def test_views_match_physical_tampering(world: World) -> None:
    """The view trick gives the verifier exactly what physical renumbering gives."""
    rng = random.Random(7)
    for name in ("insert", "delete_renumber", "truncate"):
        k = rng.randint(N - 3 * EVERY, N)
        results = []
        for physical in (False, True):
            world.conn.execute("BEGIN IMMEDIATE")
            try:
                _drop_triggers(world.conn)
                if physical:
                    _physical(world, name, k)
                else:
                    MOVES[name](world, _Fixed(k))
                with pytest.raises(AuditChainBroken) as caught:
                    world.log.verify()
                results.append((caught.value.seq, caught.value.reason))
            finally:
                world.conn.execute("ROLLBACK")
        assert results[0] == results[1] and results[0][0] == k, (name, results)


class _Fixed(random.Random):
    """An rng whose randint always returns ``k`` (and otherwise behaves normally)."""

    def __init__(self, k: int) -> None:
        super().__init__(0)
        self.k = k

    def randint(self, a: int, b: int) -> int:
        return self.k


def _physical(w: World, name: str, k: int) -> None:
    conn = w.conn
    if name == "truncate":
        conn.execute("DELETE FROM audit_log WHERE seq >= ?", (k,))
        return
    if name == "delete_renumber":
        conn.execute("DELETE FROM audit_log WHERE seq = ?", (k,))
        conn.execute("UPDATE audit_log SET seq = -seq WHERE seq > ?", (k,))
        conn.execute("UPDATE audit_log SET seq = -seq - 1 WHERE seq < 0")
        return
    prev = GENESIS if k == 1 else str(w.row(k - 1)[12])
    template = w.row(k)  # as t_insert with randint fixed to k
    conn.execute("UPDATE audit_log SET seq = -seq WHERE seq >= ?", (k,))
    conn.execute("UPDATE audit_log SET seq = 1 - seq WHERE seq < 0")
    forged = (k, *template[1:11], prev, "")
    forged = (*forged[:12], reference_hash(forged))
    conn.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", forged)
