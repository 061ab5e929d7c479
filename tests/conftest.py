"""Shared fixtures: controlled time and randomness, and a real store in a temp dir."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.keyring import FileKeyRing
from storage.vault import Vault

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    """A fixed, timezone-aware instant: tests never read the wall clock."""
    return NOW


@pytest.fixture
def rng() -> Callable[[int], bytes]:
    """Deterministic randomness (seeded per test)."""
    return random.Random(1234).randbytes


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A data dir path (not yet created)."""
    return tmp_path / "data"


@pytest.fixture
def keyring_path(tmp_path: Path) -> Path:
    """A keyring path outside the data dir, as in production."""
    return tmp_path / "keys" / "keyring.json"


@pytest.fixture
def vault(home: Path, keyring_path: Path, rng: Callable[[int], bytes]) -> Iterator[Vault]:
    """A real store: SQLite catalog, file blobs, file keyring, audit chain."""
    keyring = FileKeyRing.create(keyring_path, rng)
    v = Vault.open(home, keyring)
    try:
        yield v
    finally:
        v.close()
