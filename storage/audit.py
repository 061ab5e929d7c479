"""The tamper-evident audit log: a SHA-256 hash chain in SQLite plus signed checkpoints.

Why this shape (ARCHITECTURE.md §2 "Audit log", RELIABILITY.md T-AUD, invariant I6):

- The table ``audit_log`` lives in the catalog's database, so capture can append its event
  in the same transaction as its catalog rows. ``append`` joins the caller's transaction
  when one is open and otherwise commits its own ``BEGIN IMMEDIATE`` (playback commits its
  entry before any audio flows). The last ``(seq, hash)`` is read under the write lock, and
  ``seq`` is the primary key, so two appenders can never fork the chain.
- ``hash_i = SHA-256(bytes.fromhex(hash_{i-1}) || canonical_json(entry_i))`` with a genesis
  of 64 zeros. ``canonical_json`` is the entry without ``hash`` (``seq`` and ``prev_hash``
  included), keys sorted, no whitespace, UTF-8 without ``\\u`` escapes for non-ASCII, ``ts``
  as ISO-8601 UTC with microseconds, ``None`` as ``null``; ``detail`` is a flat object.
- Triggers abort UPDATE and DELETE (defence in depth; whoever can write the file can drop
  them, which is what the chain and the checkpoints are for).
- ``checkpoint(now)`` signs ``{head, prev, size, ts}`` with Ed25519 and appends it as one JSON
  line to a file outside the database; ``prev`` is the SHA-256 of the previous checkpoint's
  signature, so deleting or reordering lines breaks the checkpoint chain. A copy of every
  checkpoint also goes into the ``audit_checkpoint`` table as a witness, so deleting the
  newest line of the file alone is detected too. The signed message and the file format
  are in ``storage.audit_checkpoints``.

Threat model and limits (stated, not hidden): an attacker who can write the database can
recompute hashes; only signed checkpoints anchor the chain. Any change at or before the
latest checkpoint is detected. Entries appended after the latest checkpoint are protected
only by the chain, so checkpoints are automatic (``storage.audit_policy``: every N
entries here, every M minutes from the long-running processes) and, with a policy,
``verify`` fails when more entries lie beyond the newest checkpoint than the policy
allows, which is what deleting the checkpoint rows *and* the file looks like. Rolling
everything back to an older checkpoint (both copies) and truncating to within the policy's
tail stays undetectable without an off-host copy of the file.

``verify`` reports the first bad entry as :class:`AuditChainBroken` ``(seq, reason)``. For
any single edit, deletion, insertion, reorder or truncation in which the attacker recomputes
at most the touched entry's own hash, ``seq`` is the first tampered position (a diagnosis
step looks one entry around the first broken link). An attacker who rewrites a whole run of
hashes is still caught by the next checkpoint, but ``seq`` is then where the run stops
matching. Reasons are fixed phrases; no entry data appears in any message.

Verification is segmentable: ``verify_range(start, end)`` checks the entries between two
checkpoints (or from a checkpoint to the tail) against their signed heads, so production can
verify only what was appended since the last verified checkpoint, and ``verify`` is exactly
``verify_checkpoints`` plus every segment plus the tail.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, cast

from storage import safejson
from storage.audit_checkpoints import (
    append_checkpoint,
    make_checkpoint,
    next_prev,
    read_checkpoints,
    signature_valid,
    utc_text,
)
from storage.audit_policy import CheckpointPolicy, check_coverage, tail
from storage.crypto import signing_public_key
from storage.errors import AuditChainBroken, AuditError, MalformedJson, StorageError
from storage.models import AuditEntry, AuditEvent, Checkpoint
from storage.numbershape import number_shaped

GENESIS = "0" * 64
log = logging.getLogger(__name__)

_enc: Any = encode_basestring  # C-accelerated JSON string quoting (ensure_ascii=False)
_SELECT = (
    "SELECT seq, ts, actor_id, actor_role, action, recording_id, artefact, purpose, outcome,"
    " reason, detail, prev_hash, hash FROM audit_log"
)
_LAST = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
_INSERT = (
    "INSERT INTO audit_log (seq, ts, actor_id, actor_role, action, recording_id, artefact,"
    " purpose, outcome, reason, detail, prev_hash, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_CP_SELECT = "SELECT size, head, prev, ts, signature FROM audit_checkpoint ORDER BY n"
_CP_INSERT = "INSERT INTO audit_checkpoint (size, head, prev, ts, signature) VALUES (?, ?, ?, ?, ?)"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS audit_log ("
    " seq INTEGER PRIMARY KEY, ts TEXT NOT NULL, actor_id TEXT NOT NULL,"
    " actor_role TEXT NOT NULL, action TEXT NOT NULL, recording_id TEXT, artefact TEXT,"
    " purpose TEXT, outcome TEXT NOT NULL, reason TEXT, detail TEXT NOT NULL,"
    " prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS audit_log_recording ON audit_log (recording_id)",
    "CREATE TABLE IF NOT EXISTS audit_checkpoint ("
    " n INTEGER PRIMARY KEY, size INTEGER NOT NULL, head TEXT NOT NULL, prev TEXT NOT NULL,"
    " ts TEXT NOT NULL, signature BLOB NOT NULL)",
    *(
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table}"
        f" BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        for table in ("audit_log", "audit_checkpoint")
        for op in ("UPDATE", "DELETE")
    ),
)
# canonical_json with keys in sorted order; ``detail`` (already canonical JSON) goes between.
_HEAD = '{"action":%s,"actor_id":%s,"actor_role":%s,"artefact":%s,"detail":'
_TAIL = ',"outcome":%s,"prev_hash":%s,"purpose":%s,"reason":%s,"recording_id":%s,"seq":%d,"ts":%s}'

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyReport:
    """What a successful verification covered: entries ``size``, chain ``head``, checkpoints."""

    size: int
    head: str
    checkpoints_checked: int


def _q(value: Any) -> str:
    """JSON for a nullable string column; raises TypeError for anything but str/None."""
    return "null" if value is None else cast(str, _enc(value))


def canonical_row(row: Row) -> bytes:
    """``canonical_json`` of a stored row (the entry without its hash), as UTF-8 bytes.

    Equal to ``json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    (a property test proves it) but several times faster, which ``verify`` needs.
    Raises TypeError if a column holds a value of the wrong type (a tampered row).
    """
    seq, ts, actor_id, role, action, rid, art, purpose, outcome, reason, detail, prev, _h = row
    text: str = (
        _HEAD % (_enc(action), _enc(actor_id), _enc(role), _q(art))
        + detail
        + _TAIL % (_enc(outcome), _enc(prev), _q(purpose), _q(reason), _q(rid), seq, _enc(ts))
    )
    return text.encode("utf-8")


def _row_hash(row: Row) -> str | None:
    """The hash a row should carry given its own fields (``None`` if the row is malformed)."""
    try:
        return hashlib.sha256(bytes.fromhex(row[11]) + canonical_row(row)).hexdigest()
    except (TypeError, ValueError):
        return None


def _plain(value: Any, name: str, *, nullable: bool = False) -> str | None:
    """A field as a plain ``str`` (StrEnum members become their value)."""
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise AuditError(f"audit field {name} must be a string")
    return str.__str__(value)


def _free_text(value: str | None, name: str) -> None:
    """Refuse number-shaped free text: a possible phone or card number (A5).

    A cheap last line of defence (:func:`storage.numbershape.number_shaped`, the rule every
    field shares), applied to reason, purpose and detail only: ids are checked where they
    are made. Masking upstream is the real control.
    """
    if value is not None and number_shaped(value):
        raise AuditError(f"audit field {name} contains a long digit run (possible number)")


def _detail_json(detail: dict[str, Any]) -> str:
    """Canonical JSON of a flat ``detail`` dict of str/int/float/bool/None values."""
    if not isinstance(detail, dict):
        raise AuditError("audit detail must be a dict")
    for key, value in detail.items():
        if not isinstance(key, str):
            raise AuditError("audit detail keys must be strings")
        _free_text(key, "detail")
        if isinstance(value, str):
            _free_text(value, "detail")
        elif value is not None and not isinstance(value, int | float | bool):
            raise AuditError("audit detail values must be str, int, float, bool or None")
    try:
        return json.dumps(
            detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except ValueError as exc:
        raise AuditError("audit detail values must be finite numbers") from exc


def _entry(row: Row) -> AuditEntry:
    """An ``AuditEntry`` from a stored row."""
    try:
        seq, ts, actor_id, role, action, rid, art, purpose, outcome, reason, detail, prev, h = row
        event = AuditEvent(
            ts=datetime.fromisoformat(ts),
            actor_id=actor_id,
            actor_role=role,
            action=action,
            outcome=outcome,
            recording_id=rid,
            artefact=art,
            purpose=purpose,
            reason=reason,
            detail=safejson.loads(detail),
        )
    except (TypeError, ValueError, MalformedJson) as exc:
        raise AuditError("audit entry is malformed") from exc
    return AuditEntry(seq=seq, event=event, prev_hash=prev, hash=h)


class AuditLog:
    """The audit chain over one SQLite connection (the catalog's, ``isolation_level=None``)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        signing_seed: bytes | None = None,
        checkpoint_path: Path | None = None,
        policy: CheckpointPolicy | None = None,
    ) -> None:
        self._conn = conn
        self._seed = signing_seed
        self._path = checkpoint_path
        self.policy = policy
        self._appended = 0  # entries appended by this object since its last checkpoint
        self.ensure_schema(conn)

    # -- schema and transactions ----------------------------------------------------------

    @staticmethod
    def ensure_schema(conn: sqlite3.Connection) -> None:
        """Create the audit tables and their append-only triggers if absent (idempotent)."""
        own = not _in_transaction(conn)
        try:
            if own:
                conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                conn.execute(statement)
            if own:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if own:
                _rollback(conn)
            raise AuditError("cannot create the audit tables") from exc

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        try:
            return cast(Row | None, self._conn.execute(sql, params).fetchone())
        except sqlite3.Error as exc:
            raise AuditError("cannot read the audit log") from exc

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise AuditError("cannot read the audit log") from exc

    # -- writing --------------------------------------------------------------------------

    def append(self, event: AuditEvent) -> AuditEntry:
        """Append ``event`` as the next entry of the chain and return it.

        Joins the caller's open transaction (and does not commit it); otherwise runs and
        commits its own ``BEGIN IMMEDIATE`` so the entry is durable when this returns.
        Refuses events whose free text looks like it holds a number (A5).
        """
        ts = utc_text(event.ts)
        fields = (
            _plain(event.actor_id, "actor_id"),
            _plain(event.actor_role, "actor_role"),
            _plain(event.action, "action"),
            _plain(event.recording_id, "recording_id", nullable=True),
            _plain(event.artefact, "artefact", nullable=True),
            _plain(event.purpose, "purpose", nullable=True),
            _plain(event.outcome, "outcome"),
            _plain(event.reason, "reason", nullable=True),
        )
        _free_text(fields[5], "purpose")
        _free_text(fields[7], "reason")
        detail = _detail_json(event.detail)
        own = not _in_transaction(self._conn)
        try:
            if own:
                self._conn.execute("BEGIN IMMEDIATE")
            last = self._conn.execute(_LAST).fetchone()
            seq, prev = (1, GENESIS) if last is None else (last[0] + 1, last[1])
            row: Row = (seq, ts, *fields, detail, prev, "")
            digest = hashlib.sha256(bytes.fromhex(prev) + canonical_row(row)).hexdigest()
            self._conn.execute(_INSERT, (*row[:12], digest))
            if own:
                self._conn.execute("COMMIT")
        except (sqlite3.Error, ValueError) as exc:
            if own:
                _rollback(self._conn)
            raise AuditError("cannot append to the audit log") from exc
        self._appended += 1
        if own:
            self.committed()
        return AuditEntry(seq=seq, event=event, prev_hash=prev, hash=digest)

    def committed(self) -> None:
        """After a commit: sign a checkpoint if the policy's N entries are reached.

        Called by :meth:`append` and by the catalog after each transaction it commits.
        Never raises: the entries are committed whatever happens here, and a chain that
        cannot be checkpointed (broken, unsigned store) is what ``verify`` reports.
        """
        policy = self.policy
        if policy is None or self._appended < policy.every_entries or not self.can_checkpoint:
            return
        if _in_transaction(self._conn):
            return
        self._appended = 0
        try:
            size, beyond, _ = tail(self)
            row = self._one(_SELECT + " WHERE seq = ?", (size,))
            if beyond >= policy.every_entries and row is not None:
                self.checkpoint(_entry(row).event.ts)  # the newest entry's time: no clock
        except StorageError as exc:
            log.warning("automatic audit checkpoint failed: %s", type(exc).__name__)

    # -- reading --------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """``(size, head hash)``: the last entry's seq and hash, ``(0, GENESIS)`` if empty."""
        last = self._one(_LAST)
        return (0, GENESIS) if last is None else (int(last[0]), str(last[1]))

    def entries(self, start_seq: int = 1) -> Iterator[AuditEntry]:
        """Entries from ``start_seq`` on, in order, streamed from one query."""
        try:
            cursor = self._conn.execute(_SELECT + " WHERE seq >= ? ORDER BY seq", (start_seq,))
            for row in cursor:
                yield _entry(row)
        except sqlite3.Error as exc:
            raise AuditError("cannot read the audit log") from exc

    def for_recording(self, recording_id: str) -> list[AuditEntry]:
        """Every entry about one recording, in order (uses an index)."""
        rows = self._all(_SELECT + " WHERE recording_id = ? ORDER BY seq", (recording_id,))
        return [_entry(row) for row in rows]

    # -- checkpoints ----------------------------------------------------------------------

    def checkpoints(self) -> list[Checkpoint]:
        """The checkpoints in the file (or, without a file path, the witness table).

        A final line without a newline is a write torn by a crash and is ignored (it was
        never committed to the witness table); any other bad line raises
        :class:`AuditError` naming its line number.
        """
        if self._path is None:
            return self._witness()
        return read_checkpoints(self._path)

    def _witness(self) -> list[Checkpoint]:
        rows = self._all(_CP_SELECT)
        try:
            return [
                Checkpoint(
                    size=size, head=head, prev=prev, ts=datetime.fromisoformat(ts), signature=sig
                )
                for size, head, prev, ts, sig in rows
            ]
        except (TypeError, ValueError) as exc:
            raise AuditError("audit checkpoint table is malformed") from exc

    def _public_key(self, public_key: bytes | None) -> bytes:
        if public_key is not None:
            return public_key
        if self._seed is None:
            raise AuditError("no public key to verify audit checkpoints")
        try:
            return signing_public_key(self._seed)
        except StorageError as exc:
            raise AuditError("audit signing seed is unusable") from exc

    @property
    def can_checkpoint(self) -> bool:
        """True if this log has a signing seed and a checkpoint file to write to."""
        return self._seed is not None and self._path is not None

    def checkpoint(self, now: datetime) -> Checkpoint:
        """Sign the current head and append it to the checkpoint file (0600, fsynced).

        Runs in its own transaction (refused inside a caller's) so the head cannot move
        while it is signed. Before signing it verifies the entries appended since the
        previous checkpoint, so a broken chain is never signed. If nothing was appended
        since the previous checkpoint, that checkpoint is returned and nothing is written.
        """
        if self._seed is None or self._path is None:
            raise AuditError("checkpoints need a signing seed and a checkpoint path")
        if _in_transaction(self._conn):
            raise AuditError("checkpoint() must not run inside an open transaction")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise AuditError("cannot lock the audit log") from exc
        try:
            cps = self._verified_checkpoints(None, repair=True)
            last = cps[-1] if cps else None
            if last is not None and self.head()[0] < last.size:
                raise AuditChainBroken(self.head()[0] + 1, "log shorter than checkpoint")
            size, head = self._walk(0 if last is None else last.size, None, cps)
            if last is not None and last.size == size:
                self._conn.execute("COMMIT")
                return last
            cp = make_checkpoint(self._seed, size=size, head=head, previous=last, now=now)
            self._insert_witness(cp)
            append_checkpoint(self._path, cp)
            self._conn.execute("COMMIT")
            return cp
        except sqlite3.Error as exc:
            _rollback(self._conn)
            raise AuditError("cannot write an audit checkpoint") from exc
        except BaseException:
            _rollback(self._conn)
            raise

    def _insert_witness(self, cp: Checkpoint) -> None:
        self._conn.execute(
            _CP_INSERT,
            (cp.size, cp.head, cp.prev, utc_text(cp.ts), cp.signature),
        )

    # -- verification ---------------------------------------------------------------------

    def verify_checkpoints(self, *, public_key: bytes | None = None) -> list[Checkpoint]:
        """Check every checkpoint: signature, ``prev`` chain, order, and file vs witness.

        Returns the checkpoints; raises :class:`AuditChainBroken` whose ``seq`` is the size
        of the first bad checkpoint (a deleted line: the deleted checkpoint's size).
        """
        return self._verified_checkpoints(public_key, repair=False)

    def _verified_checkpoints(self, public_key: bytes | None, *, repair: bool) -> list[Checkpoint]:
        file_cps = self.checkpoints()
        table = self._witness() if self._path is not None else file_cps
        if not file_cps and not table:
            return []
        key = self._public_key(public_key)

        def valid(cp: Checkpoint) -> bool:
            return signature_valid(key, cp)

        previous: Checkpoint | None = None
        for i, cp in enumerate(file_cps):
            witness = table[i] if i < len(table) else None
            if witness is not None and witness != cp:
                if not valid(cp):
                    raise AuditChainBroken(witness.size, "checkpoint signature invalid")
                seq = min(cp.size, witness.size) if valid(witness) else cp.size
                raise AuditChainBroken(seq, "checkpoint missing or altered")
            if not valid(cp):
                raise AuditChainBroken(cp.size, "checkpoint signature invalid")
            if cp.prev != next_prev(previous):
                raise AuditChainBroken(cp.size, "checkpoint chain broken")
            if previous is not None and cp.size < previous.size:
                raise AuditChainBroken(cp.size, "checkpoint order invalid")
            previous = cp
        if len(table) > len(file_cps):
            raise AuditChainBroken(table[len(file_cps)].size, "checkpoint missing or altered")
        if len(file_cps) > len(table) + 1:
            raise AuditChainBroken(file_cps[len(table)].size, "checkpoint missing or altered")
        if len(file_cps) == len(table) + 1 and repair:
            # A crash between the file's fsync and the commit: restore the witness row.
            self._insert_witness(file_cps[-1])
        return file_cps

    def verify(self, *, public_key: bytes | None = None) -> VerifyReport:
        """Verify everything: checkpoints, then the whole chain from genesis (I6), then,
        with a policy, that no more entries lie beyond the newest checkpoint than it allows."""
        cps = self.verify_checkpoints(public_key=public_key)
        size, head = self._walk(0, None, cps)
        if self.policy is not None:
            check_coverage(size, cps, self.policy)
        return VerifyReport(size=size, head=head, checkpoints_checked=len(cps))

    def verify_range(
        self, start: int = 0, end: int | None = None, *, public_key: bytes | None = None
    ) -> VerifyReport:
        """Verify entries ``start+1 .. end`` (``end=None``: to the tail) against checkpoints.

        ``start`` must be 0 or the size of a checkpoint, whose signed head seeds the walk;
        every checkpoint in ``[start, end]`` has its signature checked and its head compared.
        Checkpoint order and deletions are ``verify_checkpoints``' job. Use it to verify
        only what was appended since the last verified checkpoint, or one segment.
        """
        if start < 0 or (end is not None and end < start):
            raise AuditError("verify_range needs 0 <= start <= end")
        cps = self.checkpoints()
        used = [cp for cp in cps if cp.size >= start and (end is None or cp.size <= end)]
        if start and not any(cp.size == start for cp in used):
            raise AuditError("verify_range start must be 0 or a checkpoint size")
        if used:
            key = self._public_key(public_key)
            for cp in used:
                if not signature_valid(key, cp):
                    raise AuditChainBroken(cp.size, "checkpoint signature invalid")
        size, head = self._walk(start, end, used)
        return VerifyReport(size=size, head=head, checkpoints_checked=len(used))

    def _walk(self, start: int, end: int | None, cps: Sequence[Checkpoint]) -> tuple[int, str]:
        """Recompute the chain over ``(start, end]``; return ``(last seq, head)``.

        ``cps`` must already be signature-checked; the head at ``start`` comes from them
        (genesis for 0). The loop is the hot path of verify: one streamed SELECT, tuple
        rows, C-level JSON quoting, and no objects per row.
        """
        heads = sorted({(cp.size, cp.head) for cp in cps if cp.size >= start})
        start_head = GENESIS
        if start:
            start_head = next(h for s, h in heads if s == start)
        for s, h in heads:
            if s == 0 and h != GENESIS:
                raise AuditChainBroken(0, "checkpoint head mismatch")
        targets = [(s, h) for s, h in heads if s > start and (end is None or s <= end)]
        must_reach = max([s for s, _ in targets], default=start)
        if end is not None:
            must_reach = end
        sql = _SELECT + " WHERE seq > ?" + ("" if end is None else " AND seq <= ?")
        params: tuple[int, ...] = (start,) if end is None else (start, end)
        prev_hex, prev2_hex = start_head, None
        prev_bytes = bytes.fromhex(start_head)
        expected = start + 1
        t_iter = iter(targets)
        next_cp, next_head = next(t_iter, (-1, ""))
        sha256, canonical = hashlib.sha256, canonical_row
        bad: Row | None = None
        try:
            cursor = self._conn.execute(sql + " ORDER BY seq", params)
            for row in cursor:
                seq = row[0]
                if seq != expected or row[11] != prev_hex:
                    bad = row
                    break
                try:
                    digest = sha256(prev_bytes + canonical(row)).digest()
                except TypeError:
                    bad = row
                    break
                hex_digest = digest.hex()
                if hex_digest != row[12]:
                    bad = row
                    break
                while seq == next_cp:
                    if hex_digest != next_head:
                        raise AuditChainBroken(seq, "checkpoint head mismatch")
                    next_cp, next_head = next(t_iter, (-1, ""))
                prev2_hex, prev_hex, prev_bytes = prev_hex, hex_digest, digest
                expected += 1
            if bad is not None:
                raise self._diagnose(bad, expected, prev_hex, prev2_hex, start, heads)
            last = expected - 1
            if last < must_reach:
                beyond = self._conn.execute(
                    "SELECT 1 FROM audit_log WHERE seq > ? LIMIT 1", (last,)
                ).fetchone()
                reason = "entry missing" if beyond else "log shorter than checkpoint"
                raise AuditChainBroken(expected, reason)
            return last, prev_hex
        except sqlite3.Error as exc:
            raise AuditError("cannot read the audit log") from exc

    def _diagnose(
        self,
        row: Row,
        expected: int,
        prev_hex: str,
        prev2_hex: str | None,
        start: int,
        heads: Sequence[tuple[int, str]],
    ) -> AuditChainBroken:
        """Name the first tampered entry around the first row that failed (slow path).

        Entries before ``row`` chain correctly. A self-consistent row that does not link
        but whose successor (or checkpoint) vouches for it means its predecessor was
        forged; a row that links two back and hashes correctly one seq lower means an
        entry was inserted before it. Otherwise the row itself is the first bad one.
        """
        seq = row[0]
        if seq != expected:
            return AuditChainBroken(expected, "entry missing")
        if row[11] == prev_hex:
            return AuditChainBroken(seq, "hash mismatch")
        if _row_hash(row) == row[12]:
            after = self._one("SELECT prev_hash FROM audit_log WHERE seq = ?", (seq + 1,))
            vouched = (after is not None and after[0] == row[12]) or (seq, row[12]) in heads
            if vouched and seq - 1 > start:
                return AuditChainBroken(seq - 1, "entry altered")
            return AuditChainBroken(seq, "prev_hash mismatch")
        if prev2_hex is not None and row[11] == prev2_hex:
            shifted = (seq - 1, *row[1:])
            if _row_hash(shifted) == row[12]:
                return AuditChainBroken(seq - 1, "entry inserted")
        return AuditChainBroken(seq, "prev_hash mismatch")


def _in_transaction(conn: sqlite3.Connection) -> bool:
    """``conn.in_transaction``, with a closed connection reported as :class:`AuditError`."""
    try:
        return conn.in_transaction
    except sqlite3.Error as exc:
        raise AuditError("the audit database connection is unusable") from exc


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is open; never masks the original error."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass
