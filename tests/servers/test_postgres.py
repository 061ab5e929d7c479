"""The PostgreSQL harness really starts PostgreSQL 15, answers SQL, restarts and recovers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.servers._process import HarnessError
from tests.servers.plugin import Database
from tests.servers.postgres import PostgresServer


def test_sql_round_trip_through_sqlalchemy_and_psycopg(
    pg_db: Database, postgres: PostgresServer
) -> None:
    """A table written through the SQLAlchemy DSN reads back; the server is 15 and durable."""
    engine = sa.create_engine(pg_db.dsn)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE calls (id serial PRIMARY KEY, number text)"))
            conn.execute(sa.text("INSERT INTO calls (number) VALUES (:n)"), {"n": "+4791234567"})
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT number FROM calls")).scalar_one() == "+4791234567"
            version = conn.execute(sa.text("SHOW server_version_num")).scalar_one()
            settings = {
                name: conn.execute(sa.text(f"SHOW {name}")).scalar_one()
                for name in ("fsync", "synchronous_commit", "full_page_writes", "listen_addresses")
            }
    finally:
        engine.dispose()
    assert int(version) // 10000 == 15
    assert settings == {
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
        "listen_addresses": "127.0.0.1",
    }
    assert pg_db.name in {r[0] for r in postgres.execute("SELECT datname FROM pg_database")}


def test_fresh_databases_are_separate_copies_of_a_template(postgres: PostgresServer) -> None:
    """What setup put in the template is in every copy; a write to one copy is in no other."""

    def setup(dsn: str) -> None:
        engine = sa.create_engine(dsn)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE schema_version (n int)"))
            conn.execute(sa.text("INSERT INTO schema_version VALUES (7)"))
        engine.dispose()

    template = postgres.create_template(setup, name="smoke_template")
    first = postgres.fresh_database(template, name="smoke_first")
    second = postgres.fresh_database(template, name="smoke_second")
    try:
        postgres.execute("INSERT INTO schema_version VALUES (8)", dbname=first)
        assert postgres.execute("SELECT n FROM schema_version ORDER BY n", first) == [(7,), (8,)]
        assert postgres.execute("SELECT n FROM schema_version", second) == [(7,)]
    finally:
        for name in (first, second):
            postgres.drop_database(name)


def test_restart_and_crash_keep_every_committed_row(
    postgres_factory: Callable[..., PostgresServer],
) -> None:
    """Fast restart and SIGKILL: committed rows survive, the open transaction does not."""
    import psycopg

    server = postgres_factory(durable=True)
    server.execute("CREATE TABLE t (v int)")
    server.execute("INSERT INTO t VALUES (1)")
    old = server.connect()
    server.restart("fast")
    with pytest.raises(psycopg.OperationalError):
        old.execute("SELECT 1")
    old.close()
    assert server.execute("SELECT v FROM t") == [(1,)]

    server.execute("INSERT INTO t VALUES (2)")
    pending = server.connect()
    pending.execute("INSERT INTO t VALUES (3)")  # never committed
    server.kill()
    assert not server.running
    pending.close()
    server.start()  # crash recovery from the WAL
    assert server.execute("SELECT v FROM t ORDER BY v") == [(1,), (2,)]
    assert "database system was interrupted" in server.log_path.read_text("utf-8")


def test_fast_cluster_turns_durability_off(postgres_factory: Callable[..., PostgresServer]) -> None:
    """durable=False really changes the server's settings (so the parameter is not a no-op)."""
    server = postgres_factory(durable=False, settings={"work_mem": "8MB"})
    assert server.execute("SHOW fsync") == [("off",)]
    assert server.execute("SHOW synchronous_commit") == [("off",)]
    assert server.execute("SHOW work_mem") == [("8MB",)]


def test_missing_server_binaries_fail_naming_the_package(tmp_path: Path) -> None:
    """No initdb/postgres: a HarnessError that says which package to install, no skip."""
    server = PostgresServer(bindir=tmp_path / "nowhere")
    try:
        with pytest.raises(HarnessError, match=r"Debian package `postgresql`"):
            server.start()
    finally:
        server.cleanup()
