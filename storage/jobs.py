"""The durable job queue: "fetch and capture this provider recording", at least once.

One job: rows in their own SQLite file (``<home>/jobs.sqlite3``), so a webhook ack never
waits on the catalog's write lock and a burst of deliveries never blocks a capture.

Why this shape (issue 5, RELIABILITY.md G1/G4/I5):

- A webhook handler calls :meth:`JobStore.enqueue` and acks 2xx only after it returns: the
  insert is ``ON CONFLICT(provider, recording_id) DO NOTHING`` in autocommit mode with
  ``synchronous=FULL``, so the row is on disk before the ack and a duplicate delivery or a
  replay has no new effect. :meth:`JobStore.enqueue_many` does the same for a batch of
  deliveries in one transaction, so one fsync acks them all (group commit).
- Workers :meth:`JobStore.lease` a job atomically (``BEGIN IMMEDIATE``), with a lease that
  expires: the job of a worker that crashed is claimed again once ``lease_until`` passes.
  ``attempts`` counts leases, so a job that kills its worker every time still ends up
  ``failed`` instead of looping forever.
- ``complete``/``retry``/``fail`` only succeed for the current lease owner
  (:class:`LeaseLost` otherwise), so a slow worker whose lease expired cannot overwrite the
  outcome of the worker that took over.
- No full phone number, transcript text or key material may enter this file: payloads are
  checked by :func:`check_payload`, and ``last_error`` is shortened and stripped of digit
  runs by :func:`clean_error`. Finished jobs are purged after a retention of their own
  (:meth:`JobStore.purge_finished`) and a data subject's jobs go with their calls
  (:meth:`JobStore.erase`).

Times are passed in (aware datetimes) and stored as integer microseconds since the epoch,
which sort and compare exactly in SQL.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from storage import safejson
from storage.catalog import BUSY_TIMEOUT_MS, assert_pragmas
from storage.errors import JobError, LeaseLost, MalformedJson, StorageError
from storage.fsutil import prepare_private_db
from storage.numbershape import number_shaped

JobState = Literal["queued", "leased", "done", "failed"]
STATES: tuple[JobState, ...] = ("queued", "leased", "done", "failed")

#: Upper bound of a job payload once encoded as JSON.
MAX_PAYLOAD_BYTES = 4096
#: Numbers in a payload stay below this (7 digits could already be a phone number).
MAX_PAYLOAD_NUMBER = 1_000_000
#: Upper bound of ``last_error`` as stored.
MAX_ERROR_CHARS = 200
MAX_ID_CHARS = 128

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        provider TEXT NOT NULL,
        recording_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'leased', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until INTEGER,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (provider, recording_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, next_attempt_at, id)",
    "CREATE INDEX IF NOT EXISTS jobs_lease ON jobs (state, lease_until)",
)
_SCHEMA_VERSION = 1

_SELECT = (
    "SELECT id, provider, recording_id, payload, state, attempts, lease_owner, lease_until, "
    "next_attempt_at, last_error, created_at, updated_at FROM jobs "
)
_BY_ID = _SELECT + "WHERE id = ?"
_BY_KEY = _SELECT + "WHERE provider = ? AND recording_id = ?"
_ALL = _SELECT + "ORDER BY id DESC LIMIT ?"
_IN_STATE = _SELECT + "WHERE state = ? ORDER BY id DESC LIMIT ?"
_OWNED = " WHERE id = ? AND state = 'leased' AND lease_owner = ?"

#: Payload keys whose value may be a full number: the operator's own service line that was
#: called (configuration, not personal data; the catalog keeps it in clear too).
NUMBER_KEYS = frozenset({"service_number"})
# A phone number in any common spelling: optional +, 7 or more digits, separators between
# (what clean_error blanks out of an error text).
_NUMBERISH = re.compile(r"\+?\d(?:[\s().\-/]*\d){6,}")
_DIGIT_RUN = re.compile(r"\d{4,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def jobs_path(home: Path) -> Path:
    """Where the job queue of the data directory ``home`` lives."""
    return home / "jobs.sqlite3"


def _micros(value: datetime) -> int:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise JobError("naive datetime refused: pass a timezone-aware UTC datetime")
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_micros(value: int | None) -> datetime | None:
    if value is None:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(value))


def clean_error(error: str) -> str:
    """Shorten ``error`` for the jobs table: no control characters, no number-like runs.

    Digit runs of 4+ and 7+ digits written with separators become ``#``. Status codes
    (``HTTP 503``) survive; anything that could be part of a phone number, an account id
    or a byte count does not. Never raises.
    """
    text = _CONTROL.sub(" ", str(error))
    text = _NUMBERISH.sub("#", text)  # a spaced-out number: 7+ digits with separators
    text = _DIGIT_RUN.sub("#", text)
    text = " ".join(text.split())
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 1] + "…"
    return text or "error"


#: Keys already checked (payloads reuse a handful of names): they passed, so none is a
#: number; bounded so odd payloads cannot grow it without limit.
_SAFE_KEYS: set[str] = set()
_MAX_SAFE_KEYS = 512


def _walk(value: Any) -> None:
    """Raise :class:`JobError` if ``value`` holds something :func:`check_payload` refuses."""
    if isinstance(value, str):
        if number_shaped(value):
            raise JobError("job payload refused: it looks like it holds a phone number")
    elif value is None or isinstance(value, bool):
        return
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key not in _SAFE_KEYS:
                if not isinstance(key, str):
                    raise JobError("job payload keys must be strings")
                _walk(key)
                if len(_SAFE_KEYS) < _MAX_SAFE_KEYS:
                    _SAFE_KEYS.add(key)
            if key in NUMBER_KEYS and (item is None or isinstance(item, str)):
                continue
            _walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _walk(item)
    elif isinstance(value, int | float):
        if abs(value) >= MAX_PAYLOAD_NUMBER:  # a phone number typed as a JSON number
            raise JobError("job payload refused: a number that large may be a phone number")
    else:
        raise JobError("job payload holds a value JSON cannot represent")


def check_payload(payload: Mapping[str, Any]) -> str:
    """Validate a job payload and return its canonical JSON.

    Refused with :class:`JobError`: a non-mapping, a value JSON cannot hold, more than
    :data:`MAX_PAYLOAD_BYTES`, or any key or string that is number-shaped
    (:func:`storage.numbershape.number_shaped`, the rule every id and free-text field
    shares), except under :data:`NUMBER_KEYS`, and any JSON number of
    :data:`MAX_PAYLOAD_NUMBER` or more. Provider ids such as ``RE`` + 32 hex digits,
    canonical UUIDs (8-4-4-4-12 hex, even all-decimal ones) and masked displays
    (``+4791234***``) pass: callers mask before they enqueue.
    """
    if not isinstance(payload, Mapping):
        raise JobError("job payload must be a mapping")
    _walk(payload)
    try:
        text = json.dumps(dict(payload), sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise JobError("job payload cannot be encoded as JSON") from exc
    if len(text.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise JobError(f"job payload larger than {MAX_PAYLOAD_BYTES} bytes")
    return text


def _check_name(field: str, value: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_ID_CHARS:
        raise JobError(f"{field}: expected 1-{MAX_ID_CHARS} characters")
    if _CONTROL.search(value) or number_shaped(value):
        raise JobError(f"{field}: refused characters")
    return value


_INSERT = (
    "INSERT INTO jobs (provider, recording_id, payload, state, attempts, "
    "next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 'queued', 0, ?, ?, ?) "
    "ON CONFLICT (provider, recording_id) DO NOTHING"
)


def _job_row(
    provider: str, recording_id: str, payload: Mapping[str, Any], now: datetime
) -> tuple[str, str, str, int, int, int]:
    """The checked parameters of :data:`_INSERT` (:class:`JobError` if anything is refused)."""
    _check_name("provider", provider)
    _check_name("recording id", recording_id)
    text = check_payload(payload)
    at = _micros(now)
    return (provider, recording_id, text, at, at, at)


@dataclass(frozen=True, slots=True)
class Job:
    """One row of the queue, as read at one instant."""

    id: int
    provider: str
    recording_id: str
    payload: dict[str, Any]
    state: JobState
    attempts: int
    lease_owner: str | None
    lease_until: datetime | None
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    #: Why the stored payload could not be read (a fixed phrase), else None. The job is
    #: still returned, so a worker can fail it instead of tripping over it for ever.
    payload_error: str | None = None


_PAYLOAD_JSON = safejson.JsonLimits(max_bytes=MAX_PAYLOAD_BYTES, max_depth=4)


def _to_job(row: tuple[Any, ...]) -> Job:
    payload: Any = {}
    error = None
    try:
        payload = safejson.loads(str(row[3]), limits=_PAYLOAD_JSON)
    except MalformedJson as exc:
        error = f"payload malformed ({exc})"
    if not isinstance(payload, dict):
        payload, error = {}, error or "payload malformed (not an object)"
    next_at = _from_micros(row[8])
    created = _from_micros(row[10])
    updated = _from_micros(row[11])
    if next_at is None or created is None or updated is None:
        raise ValueError("job row without timestamps")
    return Job(
        id=int(row[0]),
        provider=str(row[1]),
        recording_id=str(row[2]),
        payload=payload,
        state=row[4],
        attempts=int(row[5]),
        lease_owner=row[6],
        lease_until=_from_micros(row[7]),
        next_attempt_at=next_at,
        last_error=row[9],
        created_at=created,
        updated_at=updated,
        payload_error=error,
    )


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except StorageError:
        raise
    except (sqlite3.Error, sqlite3.Warning) as exc:
        raise JobError(f"{what}: {exc}") from exc
    except OverflowError as exc:
        raise JobError(f"{what}: integer out of range") from exc
    except OSError as exc:
        raise JobError(f"{what}: {exc.strerror}") from exc
    except (ValueError, TypeError) as exc:  # a corrupt payload column
        raise JobError(f"{what}: unreadable row") from exc


def _prepare_file(path: Path) -> None:
    prepare_private_db(path, lambda: JobError("jobs database path is not a regular file"))


class JobStore:
    """The queue. One connection, safe to share between threads (calls are serialised).

    Several processes may open the same file; SQLite's locking plus ``BEGIN IMMEDIATE``
    in :meth:`lease` make a claim atomic across them.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        """Wrap a configured connection; real code uses :meth:`open`."""
        assert_pragmas(conn)
        self._conn = conn
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path) -> JobStore:
        """Open (creating if needed) the queue at ``path``; pragmas are set and read back."""
        conn: sqlite3.Connection | None = None
        try:
            with _translated("opening the job queue"):
                _prepare_file(path)
                conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode = WAL").fetchall()
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA secure_delete = ON")
                conn.execute("PRAGMA foreign_keys = ON")
            assert_pragmas(conn)
            with _translated("creating the job queue schema"):
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                if version > _SCHEMA_VERSION:
                    raise JobError("job queue schema is newer than this code; upgrade callrec")
                if version < _SCHEMA_VERSION:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        for statement in _SCHEMA:
                            conn.execute(statement)
                        conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
                        conn.execute("COMMIT")
                    except BaseException:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                        raise
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        return cls(conn)

    # -- producer ---------------------------------------------------------------------

    def enqueue(
        self,
        *,
        provider: str,
        recording_id: str,
        payload: Mapping[str, Any],
        now: datetime,
    ) -> bool:
        """Insert a queued job unless (provider, recording_id) exists; True if inserted.

        Committed (``synchronous=FULL``) before returning, so the caller may ack at once.
        A duplicate returns False and changes nothing.
        """
        row = _job_row(provider, recording_id, payload, now)
        with self._lock, _translated("enqueueing a job"):
            return self._conn.execute(_INSERT, row).rowcount == 1

    def enqueue_many(
        self, items: Sequence[tuple[str, str, Mapping[str, Any], datetime]]
    ) -> list[bool]:
        """:meth:`enqueue` for ``(provider, recording_id, payload, now)`` items, one commit.

        Group commit for the webhook ack path: every item is validated first (a
        :class:`JobError` leaves the table untouched), then all rows go in ONE
        ``BEGIN IMMEDIATE ... COMMIT`` transaction, so one fsync (``synchronous=FULL``)
        makes the whole batch durable before this returns. Returns, per item, True if it
        was inserted; a key already present, or repeated earlier in the same batch, gives
        False. All or nothing: on any error the batch is rolled back.
        """
        rows = [_job_row(*item) for item in items]
        if not rows:
            return []
        with self._lock, _translated("enqueueing jobs"):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                inserted = [self._conn.execute(_INSERT, row).rowcount == 1 for row in rows]
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            return inserted

    # -- consumers --------------------------------------------------------------------

    def lease(self, *, worker: str, now: datetime, lease_for: timedelta) -> Job | None:
        """Atomically claim the oldest due job for ``worker`` until ``now + lease_for``.

        Due means ``queued`` with ``next_attempt_at <= now``, or ``leased`` with
        ``lease_until < now`` (its worker died or hung). ``attempts`` is incremented.
        """
        _check_name("worker", worker)
        if lease_for <= timedelta(0):
            raise ValueError("lease_for must be positive")
        at = _micros(now)
        until = _micros(now + lease_for)
        with self._lock, _translated("leasing a job"):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute(
                    "SELECT id FROM jobs WHERE (state = 'queued' AND next_attempt_at <= ?) "
                    "OR (state = 'leased' AND lease_until < ?) "
                    "ORDER BY next_attempt_at, id LIMIT 1",
                    (at, at),
                ).fetchone()
                if row is None:
                    self._conn.execute("COMMIT")
                    return None
                self._conn.execute(
                    "UPDATE jobs SET state = 'leased', lease_owner = ?, lease_until = ?, "
                    "attempts = attempts + 1, updated_at = ? WHERE id = ?",
                    (worker, until, at, row[0]),
                )
                job = self._conn.execute(_BY_ID, (row[0],)).fetchone()
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            return _to_job(job)

    def _finish(self, what: str, job_id: int, worker: str, sql: str, args: tuple[Any, ...]) -> None:
        with self._lock, _translated(what):
            cursor = self._conn.execute(
                sql + _OWNED,
                (*args, int(job_id), worker),
            )
            if cursor.rowcount != 1:
                raise LeaseLost(f"{what}: job is not leased by this worker")

    def complete(self, job_id: int, *, worker: str, now: datetime) -> None:
        """Mark the job ``done``; only its current lease owner may (:class:`LeaseLost`)."""
        at = _micros(now)
        self._finish(
            "completing a job",
            job_id,
            worker,
            "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until = NULL, "
            "last_error = NULL, "
            "updated_at = ?",
            (at,),
        )

    def retry(self, job_id: int, *, worker: str, now: datetime, error: str, at: datetime) -> None:
        """Put the job back in the queue, due at ``at``, remembering a cleaned ``error``."""
        self._finish(
            "rescheduling a job",
            job_id,
            worker,
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, "
            "next_attempt_at = ?, "
            "last_error = ?, updated_at = ?",
            (_micros(at), clean_error(error), _micros(now)),
        )

    def fail(self, job_id: int, *, worker: str, now: datetime, error: str) -> None:
        """Mark the job ``failed`` for good (visible in ``callrec jobs list``)."""
        self._finish(
            "failing a job",
            job_id,
            worker,
            "UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_until = NULL, "
            "last_error = ?, "
            "updated_at = ?",
            (clean_error(error), _micros(now)),
        )

    def extend(self, job_id: int, *, worker: str, now: datetime, lease_for: timedelta) -> None:
        """Push the lease of a long download forward (:class:`LeaseLost` if it is gone)."""
        self._finish(
            "extending a lease",
            job_id,
            worker,
            "UPDATE jobs SET lease_until = ?, updated_at = ?",
            (_micros(now + lease_for), _micros(now)),
        )

    # -- reading ----------------------------------------------------------------------

    def get(self, job_id: int) -> Job | None:
        """The job with this id, or None."""
        with self._lock, _translated("reading a job"):
            row = self._conn.execute(_BY_ID, (int(job_id),)).fetchone()
            return None if row is None else _to_job(row)

    def find(self, provider: str, recording_id: str) -> Job | None:
        """The job for (provider, recording_id), or None."""
        with self._lock, _translated("reading a job"):
            row = self._conn.execute(
                _BY_KEY,
                (provider, recording_id),
            ).fetchone()
            return None if row is None else _to_job(row)

    def list(self, *, state: str | None = None, limit: int = 100) -> list[Job]:
        """Jobs newest first, optionally only those in ``state``."""
        if state is not None and state not in STATES:
            raise JobError(f"unknown job state (expected one of {', '.join(STATES)})")
        if limit < 1:
            raise ValueError("limit must be at least 1")
        with self._lock, _translated("listing jobs"):
            if state is None:
                rows = self._conn.execute(_ALL, (limit,)).fetchall()
            else:
                rows = self._conn.execute(
                    _IN_STATE,
                    (state, limit),
                ).fetchall()
            return [_to_job(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """Number of jobs in each state (every state present, zero if none)."""
        result: dict[str, int] = dict.fromkeys(STATES, 0)
        with self._lock, _translated("counting jobs"):
            for state, count in self._conn.execute(
                "SELECT state, COUNT(*) FROM jobs GROUP BY state"
            ):
                result[str(state)] = int(count)
        return result

    # -- retention and erasure ---------------------------------------------------------

    def purge_finished(self, *, before: datetime) -> int:
        """Delete ``done`` and ``failed`` jobs last updated before ``before``; how many.

        A finished job's payload still holds the caller's masked display and lookup digest,
        so it has a retention of its own. ``secure_delete`` zeroes the rows and the WAL is
        truncated afterwards, so no copy lingers.
        """
        with self._lock, _translated("purging finished jobs"):
            count = self._conn.execute(
                "DELETE FROM jobs WHERE state IN ('done', 'failed') AND updated_at < ?",
                (_micros(before),),
            ).rowcount
        if count:
            self._truncate_wal()
        return int(count)

    def erase(self, *, keys: Sequence[tuple[str, str]], digests: Sequence[str]) -> int:
        """Delete the jobs of erased calls: by (provider, recording id), or by the caller's
        lookup digest in the payload. A job leased right now is left to finish (its
        recording is erased by the next pending-erasure pass). Returns how many went."""
        count = 0
        with self._lock, _translated("erasing jobs"):
            for provider, recording_id in keys:
                count += self._conn.execute(
                    "DELETE FROM jobs WHERE provider = ? AND recording_id = ? "
                    "AND state != 'leased'",
                    (provider, recording_id),
                ).rowcount
            for digest in digests:
                count += self._conn.execute(
                    "DELETE FROM jobs WHERE json_extract(payload, '$.masked_caller.digest') = ? "
                    "AND state != 'leased'",
                    (digest,),
                ).rowcount
        if count:
            self._truncate_wal()
        return count

    def _truncate_wal(self) -> None:
        with self._lock, _translated("truncating the job queue's WAL"):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    def ping(self) -> None:
        """Raise :class:`JobError`/``PragmaError`` unless the queue answers with its pragmas."""
        with self._lock:
            with _translated("pinging the job queue"):
                self._conn.execute("SELECT COUNT(*) FROM jobs LIMIT 1").fetchone()
            assert_pragmas(self._conn)

    def close(self) -> None:
        """Close the connection."""
        with self._lock, _translated("closing the job queue"):
            self._conn.close()
