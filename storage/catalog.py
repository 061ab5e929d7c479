"""The catalog: recordings, their encrypted artefacts and each artefact's wrapped data key.

One job: rows in SQLite, with the durability and erasure guarantees the rest of callrec
relies on (ARCHITECTURE.md §2, RELIABILITY.md D5/E2):

- ``journal_mode=WAL``, ``synchronous=FULL``, ``secure_delete=ON``, ``foreign_keys=ON``
  and a busy timeout are set on open and then *read back* (:func:`assert_pragmas`), so a
  build or a file that silently ignores one is refused with :class:`PragmaError`.
- Crypto-shredding is :meth:`Catalog.destroy_key` (``secure_delete`` zeroes the deleted
  cell) followed by :meth:`Catalog.checkpoint` (``wal_checkpoint(TRUNCATE)`` so no copy of
  the 60-byte wrapped key lingers in the WAL).
- The schema is versioned with ``PRAGMA user_version`` and forward-only migrations, each in
  its own transaction; a database newer than this code is refused (:class:`SchemaError`).
- There is no column that could hold a full phone number: only the masked display and the
  keyed lookup digest.

The connection runs with ``isolation_level=None``: a statement outside
:meth:`Catalog.transaction` commits on its own; inside, nothing commits until the block
ends. Every ``sqlite3`` and ``OSError`` is translated here into the storage error tree.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from storage import sealing
from storage.catalog_schema import (
    GUARD_VERSION,
    MIGRATIONS,
    RECORDING_COLUMNS,
    artefact_params,
    recording_params,
    to_artefact,
    to_recording,
)
from storage.errors import (
    CatalogError,
    DuplicateError,
    GoneError,
    NotFoundError,
    PragmaError,
    SchemaError,
    StorageError,
)
from storage.fsutil import prepare_private_db
from storage.guard import TABLES, Guard
from storage.models import Artefact, ArtefactKind, NewRecording, Recording, State, WrappedKey

BUSY_TIMEOUT_MS = 5000

#: A row as ``{column name: value}``.
Row = dict[str, Any]

#: A forward migration: receives the connection inside an open transaction.
Migration = Callable[[sqlite3.Connection], None]


def _script(statements: Sequence[str]) -> Migration:
    def run(conn: sqlite3.Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return run


def _guard_step(guard: Guard | None) -> Migration:
    """The guard migration: add the ``guard`` columns, then seal every row already there
    (with the keyring's key, in the migration's transaction). Without a key a catalog that
    holds rows cannot be upgraded: they would all read as tampered."""

    def run(conn: sqlite3.Connection) -> None:
        _script(MIGRATIONS[GUARD_VERSION - 1])(conn)
        for table in TABLES:
            cursor = conn.execute(sealing.select_sql(table))
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            if rows and guard is None:
                raise SchemaError("upgrading this catalog needs the keyring (open the vault)")
            for row in rows:
                assert guard is not None  # noqa: S101 - checked above
                conn.execute(
                    f"UPDATE {table} SET guard = ? WHERE "  # noqa: S608 - fixed table names
                    + " AND ".join(f"{c} = ?" for c in sealing.key_of_columns(table)),
                    (guard.seal(table, row), *sealing.key_of(table, row)),
                )

    return run


def default_migrations(guard: Guard | None = None) -> tuple[Migration, ...]:
    """Every migration; the guard migration also seals existing rows with ``guard``."""
    return (
        *(_script(m) for m in MIGRATIONS[: GUARD_VERSION - 1]),
        _guard_step(guard),
        *(_script(m) for m in MIGRATIONS[GUARD_VERSION:]),
    )


#: Migration ``i`` takes the schema from version ``i`` to ``i + 1``.
DEFAULT_MIGRATIONS: tuple[Migration, ...] = default_migrations()
SCHEMA_VERSION = len(DEFAULT_MIGRATIONS)

_STATE_RANK = {State.PENDING: 0, State.AVAILABLE: 1, State.DESTROYED: 2}
_DUPLICATE = "UNIQUE constraint failed: recordings.provider, recordings.provider_id"
_CORRUPT = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Map every ``sqlite3``/``OSError`` raised inside to the storage error tree.

    SQLite messages name tables and columns, never bound values, so they are safe to keep.
    """
    try:
        yield
    except StorageError:
        raise
    except sqlite3.IntegrityError as exc:
        if _DUPLICATE in str(exc):
            raise DuplicateError("recording (provider, provider id) already stored") from exc
        raise CatalogError(f"{what}: {exc}") from exc
    except sqlite3.Error as exc:
        name = getattr(exc, "sqlite_errorname", "")
        if name in _CORRUPT:
            raise SchemaError(f"{what}: database is corrupt or not a catalog ({exc})") from exc
        raise CatalogError(f"{what}: {exc}") from exc
    except sqlite3.Warning as exc:
        raise CatalogError(f"{what}: {exc}") from exc
    except OverflowError as exc:  # a Python int beyond SQLite's 64-bit INTEGER
        raise CatalogError(f"{what}: integer out of range") from exc
    except OSError as exc:
        raise CatalogError(f"{what}: {exc.strerror}") from exc


def _pragma(conn: sqlite3.Connection, name: str) -> Any:
    row = conn.execute(f"PRAGMA {name}").fetchone()
    return None if row is None else row[0]


def assert_pragmas(conn: sqlite3.Connection) -> None:
    """Raise :class:`PragmaError` naming the first required pragma that is not in force (D5)."""
    with _translated("reading pragmas"):
        checks: list[tuple[str, bool]] = [
            ("journal_mode", str(_pragma(conn, "journal_mode")).lower() == "wal"),
            ("synchronous", _pragma(conn, "synchronous") in (2, 3)),  # FULL or EXTRA
            ("secure_delete", _pragma(conn, "secure_delete") == 1),
            ("foreign_keys", _pragma(conn, "foreign_keys") == 1),
            ("busy_timeout", (_pragma(conn, "busy_timeout") or 0) > 0),
        ]
    for name, ok in checks:
        if not ok:
            raise PragmaError(f"required SQLite pragma {name} is not in force")


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = DEFAULT_MIGRATIONS) -> int:
    """Bring the schema to ``len(migrations)``, one transaction per step; returns the version.

    A database whose ``user_version`` is beyond the known migrations was written by newer
    code and is refused rather than guessed at.
    """
    with _translated("reading the schema version"):
        version = int(_pragma(conn, "user_version"))
    if version > len(migrations) or version < 0:
        raise SchemaError(
            f"catalog schema version {version} is newer than this code "
            f"(knows up to {len(migrations)}); upgrade callrec"
        )
    for target in range(version + 1, len(migrations) + 1):
        with _translated(f"migrating the catalog to version {target}"):
            conn.execute("BEGIN IMMEDIATE")
            try:
                if int(_pragma(conn, "user_version")) >= target:  # another process won
                    conn.execute("ROLLBACK")
                    continue
                migrations[target - 1](conn)
                conn.execute(f"PRAGMA user_version = {int(target)}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
    return len(migrations)


def _prepare_file(path: Path) -> None:
    prepare_private_db(path, lambda: CatalogError("catalog path is not a regular file"))


class Catalog:
    """Recordings, artefacts and wrapped keys in one SQLite database."""

    def __init__(self, conn: sqlite3.Connection, *, guard: Guard | None = None) -> None:
        """Wrap a connection already configured and migrated; real code uses :meth:`open`.

        The pragmas are checked here too, so no ``Catalog`` exists without them (D5).
        """
        assert_pragmas(conn)
        self._conn = conn
        self._guard = guard
        self._after_commit: list[Callable[[], None]] = []

    def on_commit(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` after every transaction of :meth:`transaction` commits (the audit
        log's automatic checkpoints, ``storage.audit_policy``). Hooks must not raise."""
        self._after_commit.append(hook)

    @property
    def guard(self) -> Guard | None:
        """The integrity key of this catalog's rows (``storage.guard``), if attached."""
        return self._guard

    def attach_guard(self, guard: Guard) -> None:
        """Attach the integrity key (the vault does, from its keyring)."""
        self._guard = guard

    def recording_from_row(self, row: Mapping[str, Any]) -> Recording:
        """A recording row (:data:`RECORDING_COLUMNS`) with its integrity verdict."""
        guard = self._guard
        return to_recording(row, intact=guard is not None and guard.intact("recordings", row))

    def artefact_from_row(self, row: Mapping[str, Any]) -> Artefact:
        """An artefact row with its integrity verdict."""
        guard = self._guard
        return to_artefact(row, intact=guard is not None and guard.intact("artefacts", row))

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        migrations: Sequence[Migration] | None = None,
        guard: Guard | None = None,
    ) -> Catalog:
        """Open (creating if needed) the catalog at ``path``, check pragmas, migrate.

        ``guard`` (from the keyring) seals existing rows when the guard migration runs.
        """
        conn: sqlite3.Connection | None = None
        try:
            with _translated("opening the catalog"):
                _prepare_file(path)
                conn = sqlite3.connect(path, isolation_level=None)
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode = WAL").fetchall()
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA secure_delete = ON")
                conn.execute("PRAGMA foreign_keys = ON")
            assert_pragmas(conn)
            migrate(conn, default_migrations(guard) if migrations is None else migrations)
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        return cls(conn, guard=guard)

    @property
    def connection(self) -> sqlite3.Connection:
        """The underlying connection (the audit log shares it, and so its transactions)."""
        return self._conn

    def assert_pragmas(self) -> None:
        """Re-check the required pragmas on this connection (:class:`PragmaError`)."""
        assert_pragmas(self._conn)

    @property
    def schema_version(self) -> int:
        """The ``user_version`` of the open database."""
        with _translated("reading the schema version"):
            return int(_pragma(self._conn, "user_version"))

    def close(self) -> None:
        """Close the connection; an open transaction is rolled back by SQLite."""
        with _translated("closing the catalog"):
            self._conn.close()

    # -- transactions ---------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` if the block raises.

        Nesting is refused (:class:`CatalogError`): a silent inner "transaction" that does
        not commit is how half-done captures get acknowledged.
        """
        if self._in_transaction():
            raise CatalogError("a catalog transaction is already open")
        with _translated("beginning a transaction"):
            self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._rollback()
            raise
        try:
            with _translated("committing"):
                self._conn.execute("COMMIT")
        except CatalogError:
            self._rollback()
            raise
        for hook in self._after_commit:
            hook()

    def _in_transaction(self) -> bool:
        with _translated("checking the transaction state"):
            return self._conn.in_transaction

    def _rollback(self) -> None:
        if self._in_transaction():
            with _translated("rolling back"):
                self._conn.execute("ROLLBACK")

    @contextmanager
    def atomic(self, what: str) -> Iterator[None]:
        """Make several statements one unit: a savepoint inside the caller's transaction,
        else a transaction of their own."""
        if not self._in_transaction():
            with self.transaction(), _translated(what):
                yield
            return
        with _translated(what):
            self._conn.execute("SAVEPOINT catalog_atomic")
        try:
            with _translated(what):
                yield
        except BaseException:
            with _translated(what):
                self._conn.execute("ROLLBACK TO catalog_atomic")
                self._conn.execute("RELEASE catalog_atomic")
            raise
        with _translated(what):
            self._conn.execute("RELEASE catalog_atomic")

    def checkpoint(self) -> None:
        """``wal_checkpoint(TRUNCATE)``: copy the WAL into the database and empty it.

        Called after destroying keys so that no page still holding a wrapped key survives in
        the WAL. Refused inside a transaction; :class:`CatalogError` if a reader blocked it.
        """
        if self._in_transaction():
            raise CatalogError("cannot checkpoint inside a transaction")
        with _translated("checkpointing"):
            busy, log, _ = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy or log == -1:
            raise CatalogError("WAL checkpoint did not complete (busy or not in WAL mode)")

    # -- SQL for storage-layer stores ----------------------------------------------------
    #
    # ``rows``/``one``/``change`` are how the other stores inside ``storage/`` (QA
    # assignments, holds, reviews, ...) run their SQL on this connection without importing
    # ``sqlite3``: same translation into the storage error tree, same transaction.

    def rows(self, what: str, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> list[Row]:
        """Run a query; rows come back as ``{column: value}`` so mapping is by name."""
        with _translated(what):
            cursor = self._conn.execute(sql, args)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def one(self, what: str, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        rows = self.rows(what, sql, args)
        return rows[0] if rows else None

    def change(self, what: str, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """Run one data-changing statement; the number of rows it changed."""
        with _translated(what):
            return self._conn.execute(sql, args).rowcount

    # -- recordings -----------------------------------------------------------------------

    def insert_recording(self, rec: NewRecording) -> None:
        """Insert a ``pending`` recording; :class:`DuplicateError` on (provider, provider id)."""
        with self.atomic("inserting a recording"):
            self.change("inserting a recording", _INSERT_RECORDING, recording_params(rec))
            sealing.seal(self, "recordings", [(rec.id,)])

    def get_recording(self, recording_id: str) -> Recording:
        """The recording row; :class:`NotFoundError` if there is none."""
        row = self.one("reading a recording", _SELECT_RECORDINGS + " WHERE id = ?", (recording_id,))
        if row is None:
            raise NotFoundError("recording not found")
        return self.recording_from_row(row)

    def find_recording(self, provider: str, provider_id: str) -> Recording | None:
        """The recording a provider knows as ``provider_id``, if stored (idempotent ingest)."""
        row = self.one(
            "finding a recording",
            _SELECT_RECORDINGS + " WHERE provider = ? AND provider_id = ?",
            (provider, provider_id),
        )
        return None if row is None else self.recording_from_row(row)

    def set_recording_state(self, recording_id: str, state: State) -> None:
        """Move a recording forward (pending → available → destroyed; same state: no-op).

        Going back is refused: a destroyed recording never becomes readable again.
        """
        with sealing.guarded(self, "recordings", [(recording_id,)]):
            _check_transition(self.get_recording(recording_id).state, state)
            self.change(
                "setting a recording state",
                "UPDATE recordings SET state = ? WHERE id = ?",
                (State(state).value, recording_id),
            )

    def set_recording_flags(
        self,
        recording_id: str,
        *,
        legal_hold: bool | None = None,
        restricted: bool | None = None,
        ai_opted_out: bool | None = None,
    ) -> None:
        """Set any of a recording's flags; ``None`` leaves that flag as it is."""
        with sealing.guarded(self, "recordings", [(recording_id,)]):
            count = self.change(
                "setting recording flags",
                "UPDATE recordings SET legal_hold = coalesce(?, legal_hold), "
                "restricted = coalesce(?, restricted), ai_opted_out = coalesce(?, ai_opted_out) "
                "WHERE id = ?",
                (_flag(legal_hold), _flag(restricted), _flag(ai_opted_out), recording_id),
            )
        if count == 0:
            raise NotFoundError("recording not found")

    def list_recordings(self, *, state: State | None = None) -> list[Recording]:
        """Every recording (optionally only those in ``state``), oldest call first."""
        rows = self.rows(
            "listing recordings",
            _SELECT_RECORDINGS + " WHERE ?1 IS NULL OR state = ?1 ORDER BY started_at, id",
            (None if state is None else State(state).value,),
        )
        return [self.recording_from_row(row) for row in rows]

    def recordings_by_digest(self, digest: str) -> list[Recording]:
        """Every recording whose caller lookup digest is ``digest`` (subject access, M4)."""
        rows = self.rows(
            "finding recordings by caller",
            _SELECT_RECORDINGS + " WHERE caller_digest = ? ORDER BY started_at, id",
            (digest,),
        )
        return [self.recording_from_row(row) for row in rows]

    # -- artefacts ------------------------------------------------------------------------

    def insert_artefact(self, artefact: Artefact, key: WrappedKey) -> None:
        """Insert an artefact row and its wrapped data key as one unit."""
        if key.artefact_id != artefact.id:
            raise CatalogError("wrapped key does not belong to this artefact")
        params = artefact_params(artefact)
        with self.atomic("inserting an artefact"):
            self._conn.execute(_INSERT_ARTEFACT, params)
            self._conn.execute(
                "INSERT INTO keys (artefact_id, kek_version, wrapped, created_at) "
                "VALUES (?, ?, ?, ?)",
                (key.artefact_id, key.kek_version, key.wrapped, params["created_at"]),
            )
            sealing.seal(self, "artefacts", [(artefact.id,)])

    def get_artefact(self, artefact_id: str) -> Artefact:
        """The artefact row; :class:`NotFoundError` if there is none."""
        row = self.one(
            "reading an artefact", "SELECT * FROM artefacts WHERE id = ?", (artefact_id,)
        )
        if row is None:
            raise NotFoundError("artefact not found")
        return self.artefact_from_row(row)

    def artefacts_for(self, recording_id: str) -> list[Artefact]:
        """All artefacts of a recording (destroyed ones included), in creation order."""
        rows = self.rows(
            "listing artefacts",
            "SELECT * FROM artefacts WHERE recording_id = ? ORDER BY created_at, id",
            (recording_id,),
        )
        return [self.artefact_from_row(row) for row in rows]

    def artefact_by_kind(self, recording_id: str, kind: ArtefactKind) -> Artefact | None:
        """The live artefact of ``kind``; if only destroyed ones exist, the newest of those."""
        row = self.one(
            "finding an artefact",
            "SELECT * FROM artefacts WHERE recording_id = ? AND kind = ? "
            "ORDER BY state = 'destroyed', created_at DESC, id LIMIT 1",
            (recording_id, ArtefactKind(kind).value),
        )
        return None if row is None else self.artefact_from_row(row)

    def set_artefact_state(self, artefact_id: str, state: State) -> None:
        """Move an artefact forward (pending → available → destroyed; same state: no-op)."""
        with sealing.guarded(self, "artefacts", [(artefact_id,)]):
            _check_transition(self.get_artefact(artefact_id).state, state)
            self.change(
                "setting an artefact state",
                "UPDATE artefacts SET state = ? WHERE id = ?",
                (State(state).value, artefact_id),
            )

    def all_artefacts(self, *, state: State | None = None) -> list[Artefact]:
        """Every artefact (optionally only those in ``state``), by id."""
        rows = self.rows(
            "listing artefacts",
            "SELECT * FROM artefacts WHERE ?1 IS NULL OR state = ?1 ORDER BY id",
            (None if state is None else State(state).value,),
        )
        return [self.artefact_from_row(row) for row in rows]

    # -- wrapped keys ---------------------------------------------------------------------

    def get_wrapped_key(self, artefact_id: str) -> WrappedKey:
        """The artefact's wrapped DEK; :class:`GoneError` if shredded, NotFoundError if unknown."""
        row = self.one(
            "reading a wrapped key",
            "SELECT kek_version, wrapped FROM keys WHERE artefact_id = ?",
            (artefact_id,),
        )
        if row is None:
            self.get_artefact(artefact_id)  # NotFoundError when there is no such artefact
            raise GoneError("artefact was destroyed")
        return WrappedKey(
            artefact_id=artefact_id, kek_version=row["kek_version"], wrapped=bytes(row["wrapped"])
        )

    def keys_not_on_version(self, version: int, limit: int) -> list[tuple[Artefact, WrappedKey]]:
        """Up to ``limit`` keys wrapped under another KEK version (resumable rotation batches)."""
        rows = self.rows(
            "listing keys to rewrap",
            "SELECT a.*, k.kek_version AS key_kek_version, k.wrapped AS key_wrapped "
            "FROM keys k JOIN artefacts a ON a.id = k.artefact_id "
            "WHERE k.kek_version != ? ORDER BY k.artefact_id LIMIT ?",
            (version, limit),
        )
        return [
            (
                self.artefact_from_row(row),
                WrappedKey(
                    artefact_id=row["id"],
                    kek_version=row["key_kek_version"],
                    wrapped=bytes(row["key_wrapped"]),
                ),
            )
            for row in rows
        ]

    def update_wrapped_key(self, artefact_id: str, kek_version: int, wrapped: bytes) -> None:
        """Replace a wrapped key after rewrapping it under ``kek_version``."""
        count = self.change(
            "rewrapping a key",
            "UPDATE keys SET kek_version = ?, wrapped = ? WHERE artefact_id = ?",
            (kek_version, wrapped, artefact_id),
        )
        if count == 0:
            self.get_artefact(artefact_id)
            raise GoneError("artefact was destroyed")

    def destroy_key(self, artefact_id: str) -> bool:
        """Delete the wrapped key (crypto-shredding); True if a key row was deleted.

        ``secure_delete`` zeroes the cell; call :meth:`checkpoint` once the surrounding
        transaction has committed so the WAL is emptied too. Idempotent.
        """
        count = self.change(
            "destroying a key", "DELETE FROM keys WHERE artefact_id = ?", (artefact_id,)
        )
        return count > 0

    def orphan_keys(self) -> list[str]:
        """Ids of key rows without an artefact row (the foreign key should keep this empty)."""
        rows = self.rows(
            "listing orphan keys",
            "SELECT k.artefact_id AS id FROM keys k LEFT JOIN artefacts a "
            "ON a.id = k.artefact_id WHERE a.id IS NULL ORDER BY k.artefact_id",
        )
        return [row["id"] for row in rows]

    def count_keys_by_version(self) -> dict[int, int]:
        """How many wrapped keys sit under each KEK version."""
        rows = self.rows(
            "counting keys",
            "SELECT kek_version AS v, count(*) AS n FROM keys GROUP BY kek_version",
        )
        return {int(row["v"]): int(row["n"]) for row in rows}

    # -- participants (issue 6, access) ---------------------------------------------------
    #
    # Every agent who took part in a conference or transferred call, besides the answering
    # agent (``agent_id``). They appear on :attr:`Recording.participants`, which is what the
    # access check reads. User ids only.

    def add_participants(self, recording_id: str, agent_ids: Sequence[str]) -> None:
        """Record ``agent_ids`` as participants of the recording (idempotent)."""
        with sealing.guarded(self, "recordings", [(recording_id,)]):
            for agent_id in agent_ids:
                self.change(
                    "recording participants",
                    "INSERT OR IGNORE INTO recording_participants (recording_id, agent_id) "
                    "VALUES (?, ?)",
                    (recording_id, agent_id),
                )

    def participants_of(self, recording_id: str) -> tuple[str, ...]:
        """The participants of a recording, sorted (empty when none were recorded)."""
        rows = self.rows(
            "reading participants",
            "SELECT agent_id FROM recording_participants WHERE recording_id = ? ORDER BY agent_id",
            (recording_id,),
        )
        return tuple(str(row["agent_id"]) for row in rows)

    # -- end of participants ----------------------------------------------------------------


#: Recording rows with their participants (issue 6), for :func:`to_recording`.
_SELECT_RECORDINGS = "SELECT " + RECORDING_COLUMNS + " FROM recordings"  # noqa: S608
_INSERT_RECORDING = (
    "INSERT INTO recordings (id, provider, provider_id, started_at, answered_at, ended_at, "
    "duration_ms, service_number, caller_display, caller_digest, caller_digest_version, "
    "agent_id, team_id, channels, retention_class, expires_at, ai_opted_out, created_at) "
    "VALUES (:id, :provider, :provider_id, :started_at, :answered_at, :ended_at, "
    ":duration_ms, :service_number, :caller_display, :caller_digest, :caller_digest_version, "
    ":agent_id, :team_id, :channels, :retention_class, :expires_at, :ai_opted_out, :created_at)"
)
_INSERT_ARTEFACT = (
    "INSERT INTO artefacts (id, recording_id, kind, state, plaintext_size, plaintext_sha256, "
    "ciphertext_size, created_at, expires_at) VALUES (:id, :recording_id, :kind, :state, "
    ":plaintext_size, :plaintext_sha256, :ciphertext_size, :created_at, :expires_at)"
)


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _check_transition(current: State, new: State) -> None:
    if _STATE_RANK[State(new)] < _STATE_RANK[current]:
        raise CatalogError(f"state cannot go back from {current} to {State(new)}")
