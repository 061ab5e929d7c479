"""Key ring: file permissions, atomic persistence, rotation, and secrets kept out of reprs."""

from __future__ import annotations

import errno
import json
import os
import random
import stat
from pathlib import Path

import pytest

from storage import keyring as keyring_module
from storage.errors import (
    KeyringError,
    KeyringExists,
    KeyringMissing,
    KeyringPermissions,
    StorageError,
)
from storage.keyring import FileKeyRing, KeyRing, MemoryKeyRing, default_keyring_path
from storage.models import Rng


def seeded_rng(seed: int = 7) -> Rng:
    generator = random.Random(seed)
    return generator.randbytes


def all_secrets(ring: KeyRing) -> list[bytes]:
    secrets = [ring.kek(v) for v in ring.kek_versions()]
    secrets.append(ring.pepper(ring.active_pepper_version()))
    secrets.append(ring.audit_signing_seed())
    return secrets


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def ring_path(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "keyring.json"


# -- create / load ----------------------------------------------------------------------------


def test_create_then_load_round_trip(ring_path: Path) -> None:
    created = FileKeyRing.create(ring_path, seeded_rng())
    loaded = FileKeyRing.load(ring_path)
    assert loaded.kek_versions() == [1]
    assert loaded.active_kek_version() == 1
    assert loaded.active_pepper_version() == 1
    assert loaded.kek(1) == created.kek(1)
    assert loaded.pepper(1) == created.pepper(1)
    assert loaded.audit_signing_seed() == created.audit_signing_seed()
    assert all(len(s) == 32 for s in all_secrets(loaded))
    assert len(set(all_secrets(loaded))) == 3  # independent secrets


def test_created_file_format(ring_path: Path) -> None:
    FileKeyRing.create(ring_path, seeded_rng())
    document = json.loads(ring_path.read_text())
    assert document["format"] == "callrec-keyring"
    assert document["version"] == 1
    assert document["active_kek"] == 1
    assert set(document["keks"]) == {"1"}
    assert document["active_pepper"] == 1
    assert set(document["peppers"]) == {"1"}
    assert isinstance(document["audit_signing_seed"], str)


def test_created_file_and_dirs_are_private(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "keyring.json"
    old = os.umask(0o022)
    try:
        FileKeyRing.create(path, seeded_rng())
    finally:
        os.umask(old)
    assert mode_of(path) == 0o600
    assert mode_of(tmp_path / "a") == 0o700
    assert mode_of(tmp_path / "a" / "b") == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["keyring.json"]  # no temp left


def test_create_refuses_to_overwrite(ring_path: Path) -> None:
    FileKeyRing.create(ring_path, seeded_rng(1))
    before = ring_path.read_bytes()
    with pytest.raises(KeyringExists):
        FileKeyRing.create(ring_path, seeded_rng(2))
    assert ring_path.read_bytes() == before


def test_missing_keyring_hints_at_init(ring_path: Path) -> None:
    with pytest.raises(KeyringMissing, match="callrec init"):
        FileKeyRing.load(ring_path)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o610, 0o601, 0o666])
def test_loose_permissions_are_refused(ring_path: Path, mode: int) -> None:
    FileKeyRing.create(ring_path, seeded_rng())
    os.chmod(ring_path, mode)
    with pytest.raises(KeyringPermissions) as info:
        FileKeyRing.load(ring_path)
    message = str(info.value)
    assert f"chmod 600 {ring_path}" in message
    assert str(ring_path) in message


def test_owner_only_read_is_accepted(ring_path: Path) -> None:
    FileKeyRing.create(ring_path, seeded_rng())
    os.chmod(ring_path, 0o400)
    assert FileKeyRing.load(ring_path).kek_versions() == [1]


def test_other_owner_is_refused(ring_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    FileKeyRing.create(ring_path, seeded_rng())
    real = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: real + 1)
    with pytest.raises(KeyringPermissions, match="owned by"):
        FileKeyRing.load(ring_path)


def test_directory_is_not_a_keyring(ring_path: Path) -> None:
    ring_path.mkdir(parents=True)
    with pytest.raises(KeyringError):
        FileKeyRing.load(ring_path)


def _corrupt_variants(good: dict[str, object]) -> list[bytes]:
    def edited(**changes: object) -> bytes:
        return json.dumps({**good, **changes}).encode()

    return [
        b"",
        b"\xff\xfe not utf-8",
        b"{not json",
        b"[]",
        edited(format="something-else"),
        edited(version=2),
        edited(keks={}),
        edited(keks={"1": "!!!not base64!!!"}),
        edited(keks={"1": "AAAA"}),  # 3 bytes
        edited(keks={"one": good["keks"]["1"]}),  # type: ignore[index]
        edited(keks={"0": good["keks"]["1"]}),  # type: ignore[index]
        edited(active_kek=2),
        edited(active_kek=True),
        edited(active_kek="1"),
        edited(peppers=None),
        edited(active_pepper=9),
        edited(audit_signing_seed=None),
        edited(audit_signing_seed="AAAA"),
    ]


def test_corrupt_files_are_keyring_errors_without_secrets(ring_path: Path) -> None:
    ring = FileKeyRing.create(ring_path, seeded_rng())
    good = json.loads(ring_path.read_text())
    secrets = all_secrets(ring)
    for raw in _corrupt_variants(good):
        ring_path.write_bytes(raw)
        os.chmod(ring_path, 0o600)
        with pytest.raises(KeyringError) as info:
            FileKeyRing.load(ring_path)
        message = str(info.value)
        for secret in secrets:
            assert secret.hex() not in message
            assert good["keks"]["1"] not in message
        # No library exception carrying the document is chained on.
        assert info.value.__cause__ is None or not hasattr(info.value.__cause__, "doc")


def test_oversized_file_is_refused(ring_path: Path) -> None:
    FileKeyRing.create(ring_path, seeded_rng())
    ring_path.write_bytes(b" " * (2 << 20))
    with pytest.raises(KeyringError, match="too large"):
        FileKeyRing.load(ring_path)


# -- rotation -----------------------------------------------------------------------------------


def test_add_kek_keeps_old_versions_and_persists(ring_path: Path) -> None:
    ring = FileKeyRing.create(ring_path, seeded_rng(1))
    old = ring.kek(1)
    assert ring.add_kek(seeded_rng(2)) == 2
    assert ring.active_kek_version() == 2
    assert ring.kek_versions() == [1, 2]
    assert ring.kek(1) == old
    assert ring.kek(2) != old
    reloaded = FileKeyRing.load(ring_path)
    assert reloaded.active_kek_version() == 2
    assert reloaded.kek(1) == old
    assert reloaded.kek(2) == ring.kek(2)
    assert reloaded.pepper(1) == ring.pepper(1)
    assert reloaded.audit_signing_seed() == ring.audit_signing_seed()
    assert mode_of(ring_path) == 0o600
    assert [p.name for p in ring_path.parent.iterdir()] == ["keyring.json"]


def test_add_kek_preserves_a_stricter_mode(ring_path: Path) -> None:
    ring = FileKeyRing.create(ring_path, seeded_rng())
    os.chmod(ring_path, 0o400)
    ring.add_kek(seeded_rng(3))
    assert mode_of(ring_path) == 0o400


def test_add_kek_merges_a_rotation_done_elsewhere(ring_path: Path) -> None:
    first = FileKeyRing.create(ring_path, seeded_rng(1))
    second = FileKeyRing.load(ring_path)
    assert second.add_kek(seeded_rng(2)) == 2
    # ``first`` is stale; it re-reads under the lock instead of dropping version 2.
    assert first.add_kek(seeded_rng(3)) == 3
    assert FileKeyRing.load(ring_path).kek_versions() == [1, 2, 3]


def test_unknown_version_rereads_the_file(ring_path: Path) -> None:
    server = FileKeyRing.create(ring_path, seeded_rng(1))
    cli = FileKeyRing.load(ring_path)
    cli.add_kek(seeded_rng(2))
    assert server.kek(2) == cli.kek(2)  # a rotation by another process is picked up
    with pytest.raises(KeyringError):
        server.kek(99)


def test_retire_kek(ring_path: Path) -> None:
    ring = FileKeyRing.create(ring_path, seeded_rng(1))
    ring.add_kek(seeded_rng(2))
    with pytest.raises(KeyringError):
        ring.retire_kek(2)  # active
    with pytest.raises(KeyringError):
        ring.retire_kek(7)  # unknown
    ring.retire_kek(1)
    assert ring.kek_versions() == [2]
    assert FileKeyRing.load(ring_path).kek_versions() == [2]
    with pytest.raises(KeyringError):
        ring.kek(1)
    assert ring.add_kek(seeded_rng(3)) == 3  # versions are never reused


def test_write_failure_keeps_the_old_file(ring_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ring = FileKeyRing.create(ring_path, seeded_rng(1))
    before = ring_path.read_bytes()

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(keyring_module, "write_file_atomic", disk_full)
    with pytest.raises(KeyringError) as info:
        ring.add_kek(seeded_rng(2))
    assert isinstance(info.value.__cause__, OSError)
    assert ring_path.read_bytes() == before
    assert ring.active_kek_version() == 1  # memory unchanged when the disk write failed
    assert ring.kek_versions() == [1]


def test_add_kek_really_is_atomic_at_the_os_level(ring_path: Path) -> None:
    """A failed fsync inside the real helper leaves the old file and no temp."""
    from storage import fsutil

    FileKeyRing.create(ring_path, seeded_rng(1))
    before = ring_path.read_bytes()
    calls = 0

    def failing_fsync(fd: int) -> None:
        nonlocal calls
        calls += 1
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    ops = fsutil.FsOps(fsync=failing_fsync)
    with pytest.raises(OSError):
        fsutil.write_file_atomic(ring_path, b"new", replace=True, ops=ops)
    assert calls == 1
    assert ring_path.read_bytes() == before
    assert [p.name for p in ring_path.parent.iterdir()] == ["keyring.json"]


# -- memory ring, reprs, unknown versions --------------------------------------------------------


def test_memory_ring_behaves_like_the_file_ring() -> None:
    ring = MemoryKeyRing.generate(seeded_rng())
    assert ring.kek_versions() == [1]
    assert ring.add_kek(seeded_rng(2)) == 2
    assert ring.active_kek_version() == 2
    ring.retire_kek(1)
    assert ring.kek_versions() == [2]
    with pytest.raises(KeyringError):
        ring.kek(1)
    with pytest.raises(KeyringError):
        ring.pepper(5)


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_repr_and_str_show_versions_only(ring_path: Path, kind: str) -> None:
    ring: MemoryKeyRing | FileKeyRing
    if kind == "memory":
        ring = MemoryKeyRing.generate(seeded_rng())
    else:
        ring = FileKeyRing.create(ring_path, seeded_rng())
    ring.add_kek(seeded_rng(9))
    for text in (repr(ring), str(ring)):
        assert "kek_versions=[1, 2]" in text
        for secret in all_secrets(ring):
            assert secret.hex() not in text
            assert repr(secret) not in text
            assert secret.hex()[:16] not in text


def test_short_rng_output_is_refused() -> None:
    with pytest.raises(KeyringError):
        MemoryKeyRing.generate(lambda n: b"\x00" * (n - 1))


def test_errors_are_storage_errors(ring_path: Path) -> None:
    with pytest.raises(StorageError):
        FileKeyRing.load(ring_path)


# -- default path ----------------------------------------------------------------------------------


def test_default_keyring_path_is_outside_the_data_dir() -> None:
    data = Path("/var/lib/callrec")
    path = default_keyring_path(data)
    assert path == Path("/var/lib/callrec-keys/keyring.json")
    assert data not in path.parents
    assert default_keyring_path(Path("callrec-data")) == Path("callrec-data-keys/keyring.json")


@pytest.mark.parametrize("bad", [Path("/"), Path("."), Path("")])
def test_default_keyring_path_needs_a_named_dir(bad: Path) -> None:
    with pytest.raises(KeyringError):
        default_keyring_path(bad)
