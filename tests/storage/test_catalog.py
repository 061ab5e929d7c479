"""Catalog: pragmas (D5), migrations, CRUD, key lifecycle and on-disk key residue (E2)."""

from __future__ import annotations

import os
import sqlite3
import stat
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from storage.catalog import DEFAULT_MIGRATIONS, SCHEMA_VERSION, Catalog, assert_pragmas, migrate
from storage.errors import (
    CatalogError,
    DuplicateError,
    GoneError,
    NotFoundError,
    PragmaError,
    SchemaError,
    StorageError,
)
from storage.guard import Guard
from storage.models import (
    Artefact,
    ArtefactKind,
    LookupDigest,
    NewRecording,
    State,
    WrappedKey,
)

T0 = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)


def new_id() -> str:
    return uuid.uuid4().hex


def recording(**changes: object) -> NewRecording:
    base = NewRecording(
        id=new_id(),
        provider="twilio",
        provider_id="RE" + new_id(),
        started_at=T0,
        answered_at=T0 + timedelta(seconds=3),
        ended_at=T0 + timedelta(minutes=2),
        duration_ms=117_000,
        service_number="+4722000000",
        caller_display="+47912345***",
        caller_digest=LookupDigest(pepper_version=1, digest="ab" * 32),
        agent_id="agent-1",
        team_id="team-a",
        channels=2,
        retention_class="30d",
        expires_at=T0 + timedelta(days=30),
        ai_opted_out=False,
        created_at=T0 + timedelta(minutes=3),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def artefact_for(
    recording_id: str, kind: ArtefactKind = ArtefactKind.AUDIO, **changes: object
) -> Artefact:
    base = Artefact(
        id=new_id(),
        recording_id=recording_id,
        kind=kind,
        state=State.AVAILABLE,
        plaintext_size=1000,
        plaintext_sha256="cd" * 32,
        ciphertext_size=1100,
        created_at=T0,
        expires_at=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def key_for(artefact: Artefact, version: int = 1, wrapped: bytes | None = None) -> WrappedKey:
    return WrappedKey(
        artefact_id=artefact.id,
        kek_version=version,
        wrapped=os.urandom(60) if wrapped is None else wrapped,
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "catalog.db"


#: The integrity key the vault would derive from its keyring (``storage.guard``).
GUARD = Guard(b"\x07" * 32)


@pytest.fixture
def catalog(db_path: Path) -> Iterator[Catalog]:
    cat = Catalog.open(db_path, guard=GUARD)
    yield cat
    cat.close()


def stored(catalog: Catalog, **changes: object) -> NewRecording:
    rec = recording(**changes)
    catalog.insert_recording(rec)
    return rec


# -- D5 pragmas -------------------------------------------------------------------------------


def test_pragmas_are_in_force_after_open(catalog: Catalog) -> None:
    conn = catalog.connection
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert conn.isolation_level is None
    catalog.assert_pragmas()


REQUIRED = {
    "journal_mode": "WAL",
    "synchronous": "FULL",
    "secure_delete": "ON",
    "foreign_keys": "ON",
    "busy_timeout": "5000",
}
WEAK = {
    "journal_mode": "DELETE",
    "synchronous": "NORMAL",
    "secure_delete": "OFF",
    "foreign_keys": "OFF",
    "busy_timeout": "0",
}


def test_assert_pragmas_refuses_a_bare_connection(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "bare.db", isolation_level=None)
    try:
        conn.execute("PRAGMA secure_delete = OFF")  # this build defaults it ON
        with pytest.raises(PragmaError):
            assert_pragmas(conn)
    finally:
        conn.close()


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_assert_pragmas_names_each_missing_pragma(tmp_path: Path, missing: str) -> None:
    conn = sqlite3.connect(tmp_path / "one.db", isolation_level=None)
    try:
        for name, value in REQUIRED.items():
            chosen = WEAK[name] if name == missing else value
            conn.execute(f"PRAGMA {name} = {chosen}").fetchall()
        with pytest.raises(PragmaError, match=missing):
            assert_pragmas(conn)
    finally:
        conn.close()


def test_in_memory_database_cannot_pass(tmp_path: Path) -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for name, value in REQUIRED.items():
            conn.execute(f"PRAGMA {name} = {value}").fetchall()
        with pytest.raises(PragmaError, match="journal_mode"):
            assert_pragmas(conn)  # an in-memory db cannot be WAL
    finally:
        conn.close()


# -- files, modes, bad paths --------------------------------------------------------------------


def test_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "catalog.db"
    old = os.umask(0o022)
    try:
        cat = Catalog.open(path)
        stored(cat)
    finally:
        os.umask(old)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        for side in ("-wal", "-shm"):
            sidecar = Path(f"{path}{side}")
            assert sidecar.exists()
            assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    finally:
        cat.close()


def test_loose_existing_file_is_tightened(db_path: Path) -> None:
    Catalog.open(db_path).close()
    os.chmod(db_path, 0o644)
    Catalog.open(db_path).close()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_directory_path_is_a_catalog_error(tmp_path: Path) -> None:
    (tmp_path / "catalog.db").mkdir()
    with pytest.raises(CatalogError):
        Catalog.open(tmp_path / "catalog.db")


def test_corrupt_file_is_a_schema_error(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    path.write_bytes(b"this is not a database, just some text " * 200)
    os.chmod(path, 0o600)
    with pytest.raises(SchemaError):
        Catalog.open(path)


def test_parent_that_is_a_file_is_a_catalog_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(CatalogError):
        Catalog.open(tmp_path / "file" / "catalog.db")


# -- migrations -----------------------------------------------------------------------------------


def test_fresh_database_is_at_the_current_version(catalog: Catalog) -> None:
    assert catalog.schema_version == SCHEMA_VERSION == len(DEFAULT_MIGRATIONS) >= 1
    tables = {
        row[0]
        for row in catalog.connection.execute("SELECT name FROM sqlite_schema WHERE type='table'")
    }
    assert {"recordings", "artefacts", "keys"} <= tables


def test_version_zero_file_migrates(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    sqlite3.connect(db_path).close()  # an empty database at user_version 0
    cat = Catalog.open(db_path)
    try:
        assert cat.schema_version == SCHEMA_VERSION
    finally:
        cat.close()


def _add_notes_column(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE recordings ADD COLUMN notes TEXT")


def test_version_one_migrates_forward_keeping_rows(db_path: Path) -> None:
    cat = Catalog.open(db_path)
    rec = stored(cat)
    cat.close()
    newer = (*DEFAULT_MIGRATIONS, _add_notes_column)
    cat = Catalog.open(db_path, migrations=newer)
    try:
        assert cat.schema_version == len(newer)
        columns = {row[1] for row in cat.connection.execute("PRAGMA table_info(recordings)")}
        assert "notes" in columns
        assert cat.get_recording(rec.id).provider_id == rec.provider_id  # by-name mapping
    finally:
        cat.close()
    # Opening again with the newer list is a no-op.
    Catalog.open(db_path, migrations=newer).close()


def test_failing_migration_rolls_back(db_path: Path) -> None:
    Catalog.open(db_path).close()

    def half_done(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half (x INTEGER)")
        conn.execute("THIS IS NOT SQL")

    with pytest.raises(CatalogError):
        Catalog.open(db_path, migrations=(*DEFAULT_MIGRATIONS, half_done))
    cat = Catalog.open(db_path)
    try:
        assert cat.schema_version == SCHEMA_VERSION
        names = {r[0] for r in cat.connection.execute("SELECT name FROM sqlite_schema")}
        assert "half" not in names
    finally:
        cat.close()


def test_newer_database_is_refused(db_path: Path) -> None:
    Catalog.open(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(SchemaError, match="999"):
        Catalog.open(db_path)


def test_migrate_function_reports_version(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    try:
        assert migrate(conn) == SCHEMA_VERSION
        assert migrate(conn) == SCHEMA_VERSION
    finally:
        conn.close()


# -- recordings --------------------------------------------------------------------------------


def test_recording_round_trip(catalog: Catalog) -> None:
    rec = stored(catalog)
    got = catalog.get_recording(rec.id)
    for name in NewRecording.__dataclass_fields__:
        assert getattr(got, name) == getattr(rec, name), name
    assert got.state is State.PENDING
    assert not got.legal_hold and not got.restricted
    assert got.started_at.tzinfo == UTC
    assert catalog.find_recording(rec.provider, rec.provider_id) == got
    assert catalog.find_recording(rec.provider, "nope") is None


def test_optional_fields_round_trip_as_none(catalog: Catalog) -> None:
    rec = stored(
        catalog,
        answered_at=None,
        ended_at=None,
        duration_ms=None,
        service_number=None,
        caller_display="withheld",
        caller_digest=None,
        agent_id=None,
        team_id=None,
        expires_at=None,
        ai_opted_out=True,
    )
    got = catalog.get_recording(rec.id)
    assert got.caller_digest is None and got.answered_at is None and got.ai_opted_out


def test_non_utc_input_is_stored_as_utc(catalog: Catalog) -> None:
    oslo = timezone(timedelta(hours=1))
    rec = stored(catalog, started_at=datetime(2024, 3, 1, 1, 0, tzinfo=oslo))
    got = catalog.get_recording(rec.id)
    assert got.started_at == datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
    assert got.started_at.utcoffset() == timedelta(0)
    raw = catalog.connection.execute(
        "SELECT started_at FROM recordings WHERE id = ?", (rec.id,)
    ).fetchone()[0]
    assert raw == "2024-03-01T00:00:00.000000Z"


def test_naive_datetime_is_refused(catalog: Catalog) -> None:
    with pytest.raises(CatalogError, match="naive"):
        catalog.insert_recording(recording(started_at=datetime(2024, 1, 1)))  # noqa: DTZ001
    assert catalog.list_recordings() == []


@pytest.mark.parametrize(
    "hostile",
    [
        "'; DROP TABLE recordings; --",
        "a\x00b",
        "\u202eevil",
        "%s %d ? :id",
        "x" * 1_000_000,
    ],
    ids=["sql", "nul", "rtl", "placeholders", "1mb"],
)
def test_hostile_metadata_round_trips_byte_identical(catalog: Catalog, hostile: str) -> None:
    rec = stored(catalog, provider_id=hostile, agent_id=hostile, caller_display=hostile)
    got = catalog.get_recording(rec.id)
    assert got.provider_id == got.agent_id == got.caller_display == hostile
    assert catalog.find_recording("twilio", hostile) == got


def test_out_of_range_integer_is_a_catalog_error(catalog: Catalog) -> None:
    with pytest.raises(CatalogError):
        catalog.insert_recording(recording(duration_ms=2**70))


def test_catalog_refuses_an_unconfigured_connection(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "raw.db", isolation_level=None)
    try:
        with pytest.raises(PragmaError):
            Catalog(conn)
    finally:
        conn.close()


def test_duplicate_provider_id_is_a_duplicate_error(catalog: Catalog) -> None:
    rec = stored(catalog)
    with pytest.raises(DuplicateError):
        catalog.insert_recording(recording(provider_id=rec.provider_id))
    # Same provider id at another provider is a different call.
    stored(catalog, provider="telnyx", provider_id=rec.provider_id)
    # A clashing primary key is a catalog error, not a "duplicate call".
    with pytest.raises(CatalogError) as info:
        catalog.insert_recording(recording(id=rec.id))
    assert not isinstance(info.value, DuplicateError)


def test_missing_recording(catalog: Catalog) -> None:
    with pytest.raises(NotFoundError):
        catalog.get_recording(new_id())
    with pytest.raises(NotFoundError):
        catalog.set_recording_state(new_id(), State.AVAILABLE)
    with pytest.raises(NotFoundError):
        catalog.set_recording_flags(new_id(), legal_hold=True)


def test_states_move_forward_only(catalog: Catalog) -> None:
    rec = stored(catalog)
    catalog.set_recording_state(rec.id, State.AVAILABLE)
    catalog.set_recording_state(rec.id, State.AVAILABLE)  # same state: fine
    assert catalog.get_recording(rec.id).state is State.AVAILABLE
    catalog.set_recording_state(rec.id, State.DESTROYED)
    catalog.set_recording_state(rec.id, State.DESTROYED)  # erase twice: fine (E6)
    for back in (State.PENDING, State.AVAILABLE):
        with pytest.raises(CatalogError):
            catalog.set_recording_state(rec.id, back)
    assert catalog.get_recording(rec.id).state is State.DESTROYED


def test_list_by_state_and_order(catalog: Catalog) -> None:
    late = stored(catalog, started_at=T0 + timedelta(hours=1))
    early = stored(catalog, started_at=T0 - timedelta(hours=1))
    catalog.set_recording_state(late.id, State.AVAILABLE)
    assert [r.id for r in catalog.list_recordings()] == [early.id, late.id]
    assert [r.id for r in catalog.list_recordings(state=State.AVAILABLE)] == [late.id]
    assert [r.id for r in catalog.list_recordings(state=State.PENDING)] == [early.id]
    assert catalog.list_recordings(state=State.DESTROYED) == []


def test_flags(catalog: Catalog) -> None:
    rec = stored(catalog)
    catalog.set_recording_flags(rec.id, legal_hold=True)
    got = catalog.get_recording(rec.id)
    assert got.legal_hold and not got.restricted and not got.ai_opted_out
    catalog.set_recording_flags(rec.id, restricted=True, legal_hold=False)
    got = catalog.get_recording(rec.id)
    assert not got.legal_hold and got.restricted


def test_lookup_by_digest(catalog: Catalog) -> None:
    mine = LookupDigest(pepper_version=1, digest="11" * 32)
    other = LookupDigest(pepper_version=1, digest="22" * 32)
    a = stored(catalog, caller_digest=mine, started_at=T0)
    b = stored(catalog, caller_digest=mine, started_at=T0 + timedelta(days=1))
    stored(catalog, caller_digest=other)
    stored(catalog, caller_digest=None)
    assert [r.id for r in catalog.recordings_by_digest(mine.digest)] == [a.id, b.id]
    assert catalog.recordings_by_digest("33" * 32) == []


def test_no_column_can_hold_a_full_number(catalog: Catalog) -> None:
    columns = {row[1] for row in catalog.connection.execute("PRAGMA table_info(recordings)")}
    assert not {"caller", "caller_number", "from_number", "e164", "ani"} & columns
    assert {"caller_display", "caller_digest", "caller_digest_version"} <= columns


# -- artefacts and keys ---------------------------------------------------------------------------


def test_artefact_and_key_round_trip(catalog: Catalog) -> None:
    rec = stored(catalog)
    art = artefact_for(rec.id, expires_at=T0 + timedelta(days=1))
    key = key_for(art)
    catalog.insert_artefact(art, key)
    assert catalog.get_artefact(art.id) == art
    assert catalog.artefacts_for(rec.id) == [art]
    assert catalog.artefact_by_kind(rec.id, ArtefactKind.AUDIO) == art
    assert catalog.artefact_by_kind(rec.id, ArtefactKind.TRANSCRIPT) is None
    assert catalog.all_artefacts() == [art]
    assert catalog.all_artefacts(state=State.DESTROYED) == []
    assert catalog.get_wrapped_key(art.id) == key


def test_artefact_needs_its_recording(catalog: Catalog) -> None:
    art = artefact_for(new_id())
    with pytest.raises(CatalogError):
        catalog.insert_artefact(art, key_for(art))
    assert catalog.all_artefacts() == []
    assert catalog.count_keys_by_version() == {}


def test_key_must_match_artefact(catalog: Catalog) -> None:
    rec = stored(catalog)
    art = artefact_for(rec.id)
    with pytest.raises(CatalogError):
        catalog.insert_artefact(art, key_for(artefact_for(rec.id)))


def test_one_live_artefact_per_kind(catalog: Catalog) -> None:
    rec = stored(catalog)
    first = artefact_for(rec.id, ArtefactKind.TRANSCRIPT)
    catalog.insert_artefact(first, key_for(first))
    second = artefact_for(rec.id, ArtefactKind.TRANSCRIPT, created_at=T0 + timedelta(hours=1))
    with pytest.raises(CatalogError):
        catalog.insert_artefact(second, key_for(second))
    # Once the first is shredded, the kind can be regenerated.
    catalog.destroy_key(first.id)
    catalog.set_artefact_state(first.id, State.DESTROYED)
    catalog.insert_artefact(second, key_for(second))
    assert catalog.artefact_by_kind(rec.id, ArtefactKind.TRANSCRIPT) == second
    assert [a.id for a in catalog.artefacts_for(rec.id)] == [first.id, second.id]


def test_artefact_by_kind_reports_a_destroyed_one(catalog: Catalog) -> None:
    rec = stored(catalog)
    art = artefact_for(rec.id)
    catalog.insert_artefact(art, key_for(art))
    catalog.destroy_key(art.id)
    catalog.set_artefact_state(art.id, State.DESTROYED)
    found = catalog.artefact_by_kind(rec.id, ArtefactKind.AUDIO)
    assert found is not None and found.state is State.DESTROYED


def test_gone_versus_not_found(catalog: Catalog) -> None:
    rec = stored(catalog)
    art = artefact_for(rec.id)
    catalog.insert_artefact(art, key_for(art))
    assert catalog.destroy_key(art.id) is True
    assert catalog.destroy_key(art.id) is False  # idempotent
    with pytest.raises(GoneError):
        catalog.get_wrapped_key(art.id)
    with pytest.raises(GoneError):
        catalog.update_wrapped_key(art.id, 2, os.urandom(60))
    missing = new_id()
    with pytest.raises(NotFoundError):
        catalog.get_wrapped_key(missing)
    with pytest.raises(NotFoundError):
        catalog.get_artefact(missing)
    with pytest.raises(NotFoundError):
        catalog.update_wrapped_key(missing, 2, os.urandom(60))
    with pytest.raises(NotFoundError):
        catalog.set_artefact_state(missing, State.DESTROYED)


def test_artefact_states_move_forward_only(catalog: Catalog) -> None:
    rec = stored(catalog)
    art = artefact_for(rec.id, state=State.PENDING)
    catalog.insert_artefact(art, key_for(art))
    catalog.set_artefact_state(art.id, State.AVAILABLE)
    catalog.set_artefact_state(art.id, State.DESTROYED)
    with pytest.raises(CatalogError):
        catalog.set_artefact_state(art.id, State.AVAILABLE)
    assert [a.id for a in catalog.all_artefacts(state=State.DESTROYED)] == [art.id]


def test_rotation_batches(catalog: Catalog) -> None:
    rec_ids = [stored(catalog).id for _ in range(5)]
    arts = []
    for rec_id in rec_ids:
        art = artefact_for(rec_id)
        catalog.insert_artefact(art, key_for(art, version=1))
        arts.append(art)
    assert catalog.count_keys_by_version() == {1: 5}
    done = 0
    while batch := catalog.keys_not_on_version(2, limit=2):
        assert len(batch) <= 2
        for art, key in batch:
            assert key.kek_version == 1 and key.artefact_id == art.id
            assert art in arts
            catalog.update_wrapped_key(art.id, 2, b"\x02" * 60)
            done += 1
    assert done == 5
    assert catalog.count_keys_by_version() == {2: 5}
    assert catalog.get_wrapped_key(arts[0].id).wrapped == b"\x02" * 60


def test_orphan_keys_are_reported(catalog: Catalog, db_path: Path) -> None:
    assert catalog.orphan_keys() == []
    raw = sqlite3.connect(db_path, isolation_level=None)
    try:
        raw.execute("PRAGMA foreign_keys = OFF")
        raw.execute(
            "INSERT INTO keys (artefact_id, kek_version, wrapped, created_at) VALUES (?,?,?,?)",
            ("f" * 32, 1, b"\x01" * 60, "2024-01-01T00:00:00.000000Z"),
        )
    finally:
        raw.close()
    assert catalog.orphan_keys() == ["f" * 32]


def test_foreign_keys_protect_rows(catalog: Catalog) -> None:
    rec = stored(catalog)
    art = artefact_for(rec.id)
    catalog.insert_artefact(art, key_for(art))
    with pytest.raises(sqlite3.IntegrityError):
        catalog.connection.execute("DELETE FROM recordings WHERE id = ?", (rec.id,))
    with pytest.raises(sqlite3.IntegrityError):
        catalog.connection.execute("DELETE FROM artefacts WHERE id = ?", (art.id,))


# -- transactions ---------------------------------------------------------------------------------


def test_transaction_commits_and_rolls_back(catalog: Catalog) -> None:
    kept = recording()
    with catalog.transaction():
        catalog.insert_recording(kept)
    lost = recording()
    with pytest.raises(RuntimeError), catalog.transaction():
        catalog.insert_recording(lost)
        art = artefact_for(lost.id)
        catalog.insert_artefact(art, key_for(art))
        raise RuntimeError("crash before commit")
    assert not catalog.connection.in_transaction
    assert catalog.find_recording(kept.provider, kept.provider_id) is not None
    assert catalog.find_recording(lost.provider, lost.provider_id) is None
    assert catalog.all_artefacts() == []


def test_nested_transaction_is_refused(catalog: Catalog) -> None:
    with catalog.transaction():
        with pytest.raises(CatalogError, match="already open"), catalog.transaction():
            pass  # pragma: no cover
        with pytest.raises(CatalogError):
            catalog.checkpoint()


def test_failed_insert_inside_a_transaction_is_all_or_nothing(catalog: Catalog) -> None:
    rec = stored(catalog)
    first = artefact_for(rec.id)
    catalog.insert_artefact(first, key_for(first))
    clash = artefact_for(rec.id)
    bad_key = WrappedKey(artefact_id=clash.id, kek_version=0, wrapped=b"x")  # fails CHECK
    with catalog.transaction():
        with pytest.raises(CatalogError):
            catalog.insert_artefact(clash, bad_key)
        # The artefact row of the failed pair was undone by its savepoint.
        assert [a.id for a in catalog.artefacts_for(rec.id)] == [first.id]
    assert [a.id for a in catalog.artefacts_for(rec.id)] == [first.id]


def test_writes_are_visible_to_another_connection_only_after_commit(
    catalog: Catalog, db_path: Path
) -> None:
    other = sqlite3.connect(db_path, isolation_level=None)
    try:
        rec = recording()
        with catalog.transaction():
            catalog.insert_recording(rec)
            assert other.execute("SELECT count(*) FROM recordings").fetchone()[0] == 0
        assert other.execute("SELECT count(*) FROM recordings").fetchone()[0] == 1
    finally:
        other.close()


def test_busy_checkpoint_is_reported(catalog: Catalog, db_path: Path) -> None:
    stored(catalog)
    reader = sqlite3.connect(db_path, isolation_level=None, timeout=0)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM recordings").fetchone()
        stored(catalog)  # a frame the reader's snapshot does not see
        catalog.connection.execute("PRAGMA busy_timeout = 50")
        with pytest.raises(CatalogError, match="checkpoint"):
            catalog.checkpoint()
    finally:
        reader.close()
        catalog.connection.execute("PRAGMA busy_timeout = 5000")
    catalog.checkpoint()


def test_closed_catalog_raises_storage_errors(db_path: Path) -> None:
    cat = Catalog.open(db_path)
    cat.close()
    with pytest.raises(CatalogError):
        cat.get_recording(new_id())
    with pytest.raises(CatalogError):
        cat.assert_pragmas()
    with pytest.raises(StorageError):
        cat.checkpoint()


# -- E2: no residue of a shredded key on disk ------------------------------------------------------


def residue(db_path: Path, needle: bytes) -> dict[str, int]:
    """Occurrences of ``needle`` in the database and every SQLite side file."""
    found: dict[str, int] = {}
    for path in db_path.parent.iterdir():
        if path.name.startswith(db_path.name):
            count = path.read_bytes().count(needle)
            if count:
                found[path.name] = count
    return found


def _fill(catalog: Catalog, n: int) -> list[tuple[Artefact, WrappedKey]]:
    pairs = []
    for _ in range(n):
        rec = stored(catalog)
        art = artefact_for(rec.id)
        key = key_for(art)
        catalog.insert_artefact(art, key)
        pairs.append((art, key))
    return pairs


def test_e2_shredded_keys_leave_no_residue(catalog: Catalog, db_path: Path) -> None:
    pairs = _fill(catalog, 40)  # several pages of keys, so deletes hit shared pages
    catalog.checkpoint()  # keys now in the main file (the worst case for residue)
    for _, key in pairs:
        assert residue(db_path, key.wrapped), "scan must see live keys"
    shredded, kept = pairs[::3], [p for i, p in enumerate(pairs) if i % 3]
    with catalog.transaction():
        for art, _ in shredded:
            assert catalog.destroy_key(art.id)
            catalog.set_artefact_state(art.id, State.DESTROYED)
    catalog.checkpoint()
    for _, key in shredded:
        assert residue(db_path, key.wrapped) == {}
    for _, key in kept:
        assert residue(db_path, key.wrapped)  # the scan still finds what is there
    assert Path(f"{db_path}-wal").stat().st_size == 0  # TRUNCATE emptied the WAL


def test_e2_key_never_checkpointed_leaves_no_residue(catalog: Catalog, db_path: Path) -> None:
    ((art, key),) = _fill(catalog, 1)  # the key lives only in the WAL
    assert residue(db_path, key.wrapped)
    catalog.destroy_key(art.id)
    catalog.checkpoint()
    assert residue(db_path, key.wrapped) == {}


def _control(tmp_path: Path, *, secure_delete: bool, checkpoint: bool) -> dict[str, int]:
    """The same shred on a plain connection, to prove the residue scan can fail."""
    path = tmp_path / f"control-{secure_delete}-{checkpoint}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL").fetchall()
        conn.execute(f"PRAGMA secure_delete = {'ON' if secure_delete else 'OFF'}")
        conn.execute("CREATE TABLE keys (id TEXT PRIMARY KEY, wrapped BLOB)")
        wrapped = os.urandom(60)
        for i in range(20):
            conn.execute("INSERT INTO keys VALUES (?, ?)", (str(i), os.urandom(60)))
        conn.execute("INSERT INTO keys VALUES ('target', ?)", (wrapped,))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        conn.execute("DELETE FROM keys WHERE id = 'target'")
        if checkpoint:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        return residue(path, wrapped)
    finally:
        conn.close()


def test_e2_control_without_secure_delete_the_key_survives(tmp_path: Path) -> None:
    assert _control(tmp_path, secure_delete=False, checkpoint=True)


def test_e2_control_without_checkpoint_the_key_survives(tmp_path: Path) -> None:
    found = _control(tmp_path, secure_delete=True, checkpoint=False)
    assert found  # the old page is still in the main file until the WAL is checkpointed


def test_e2_control_with_both_the_key_is_gone(tmp_path: Path) -> None:
    assert _control(tmp_path, secure_delete=True, checkpoint=True) == {}
