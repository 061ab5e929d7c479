"""The integrity-guard columns (issue 13), as one forward migration appended to ``MIGRATIONS``.

SQL strings only (run by :mod:`storage.catalog`, which then seals the rows that already
exist, in the same transaction, with the keyring's guard key: see :mod:`storage.guard`).
Every table whose rows an access or retention decision reads gains ``guard``: the hex
HMAC-SHA256 of the row's decision fields and id. ``NULL`` after this migration means a
row that callrec did not write.
"""

from __future__ import annotations

from storage.guard import TABLES

V_GUARD: tuple[str, ...] = tuple(f"ALTER TABLE {table} ADD COLUMN guard TEXT" for table in TABLES)
