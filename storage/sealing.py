"""Keeping the catalog's integrity MACs right across every change (``storage.guard``).

One job: the read-check / change / re-seal cycle every store in ``storage/`` uses when it
changes a guarded row, and the full scan ``fsck`` runs (invariant I9).

- :func:`seal` MACs rows that callrec itself just inserted.
- :func:`guarded` wraps a change to existing rows: it notes which of them are intact
  *before* the change and re-seals exactly those after it, in the same transaction. A
  row someone edited behind callrec's back stays unsealed, whatever is changed later, so
  a legitimate update can never launder a forged value.
- :func:`tampered` lists every guarded row whose MAC does not match.

SQL goes through :meth:`Catalog.rows`/:meth:`Catalog.change` (no ``sqlite3`` here); rows
are selected exactly as the decision code reads them (recordings with their participants).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from storage import guard as guard_mod
from storage.catalog_schema import RECORDING_COLUMNS

if TYPE_CHECKING:
    from storage.catalog import Catalog, Row

Key = tuple[Any, ...]
_CHUNK = 200


def select_sql(table: str) -> str:
    """``SELECT`` of the rows of ``table`` as guards and decisions see them."""
    if table == "recordings":
        return "SELECT " + RECORDING_COLUMNS + " FROM recordings"  # noqa: S608
    return f"SELECT * FROM {table}"  # noqa: S608 - table names come from guard.TABLES


def _where(table: str) -> str:
    return " AND ".join(f"{column} = ?" for column in guard_mod.FIELDS[table][0])


def key_of_columns(table: str) -> tuple[str, ...]:
    """The primary key columns of ``table``."""
    return guard_mod.FIELDS[table][0]


def key_of(table: str, row: Row) -> Key:
    """The primary key of a row of ``table``."""
    return tuple(row[column] for column in guard_mod.FIELDS[table][0])


def _rows(catalog: Catalog, table: str, keys: Sequence[Key]) -> list[Row]:
    if not keys:
        return []
    columns = guard_mod.FIELDS[table][0]
    found: list[Row] = []
    for start in range(0, len(keys), _CHUNK):
        part = keys[start : start + _CHUNK]
        if len(columns) == 1:
            where = f"{table}.{columns[0]} IN ({','.join('?' * len(part))})"
            args: list[Any] = [k[0] for k in part]
        else:
            where = " OR ".join(["(" + _where(table) + ")"] * len(part))
            args = [value for k in part for value in k]
        found += catalog.rows(f"reading {table}", f"{select_sql(table)} WHERE {where}", args)
    return found


def seal(catalog: Catalog, table: str, keys: Iterable[Key]) -> None:
    """Write the MAC of each row (rows callrec wrote in this transaction)."""
    guard = catalog.guard
    if guard is None:
        return  # no key attached: the rows stay unsealed (and read as not intact)
    for row in _rows(catalog, table, list(keys)):
        catalog.change(
            f"sealing {table}",
            f"UPDATE {table} SET guard = ? WHERE {_where(table)}",  # noqa: S608
            (guard.seal(table, row), *key_of(table, row)),
        )


def intact_keys(catalog: Catalog, table: str, keys: Iterable[Key]) -> list[Key]:
    """Those of ``keys`` whose rows carry a correct MAC now."""
    guard = catalog.guard
    if guard is None:
        return []
    return [key_of(table, r) for r in _rows(catalog, table, list(keys)) if guard.intact(table, r)]


@contextmanager
def guarded(catalog: Catalog, table: str, keys: Iterable[Key]) -> Iterator[None]:
    """Change rows of ``table``: the ones intact before are re-sealed after (module doc)."""
    wanted = list(dict.fromkeys(keys))
    with catalog.atomic(f"changing guarded {table}"):
        before = intact_keys(catalog, table, wanted)
        yield
        seal(catalog, table, before)


def by_id(ids: Iterable[str]) -> list[Key]:
    """Keys of rows whose primary key is one ``id`` column (recordings, artefacts, holds)."""
    return [(i,) for i in ids]


def tampered(catalog: Catalog) -> list[tuple[str, str]]:
    """Every (table, key) whose row fails its MAC; all rows do without a key attached."""
    guard = catalog.guard
    found = []
    for table in guard_mod.TABLES:
        for row in catalog.rows(f"checking {table}", select_sql(table)):
            if guard is None or not guard.intact(table, row):
                found.append((table, "/".join(str(v) for v in key_of(table, row))))
    return found
