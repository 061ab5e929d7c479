"""Blob store: all-or-nothing durable writes, strict names, fault injection (D4, I3, F6)."""

from __future__ import annotations

import errno
import os
import stat
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from storage.blobs import BlobStore, FileBlobStore, MemoryBlobStore
from storage.errors import BlobError, NotFoundError, StorageError
from storage.fsutil import REAL_OPS, FsOps


def new_name() -> str:
    return uuid.uuid4().hex


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "file":
        return FileBlobStore(tmp_path / "blobs")
    return MemoryBlobStore()


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# -- round trips ----------------------------------------------------------------------------


def test_write_open_size_delete_round_trip(store: BlobStore) -> None:
    name = new_name()
    payload = os.urandom(200_000)
    with store.write(name) as out:
        out.write(payload[:1000])
        out.write(payload[1000:])
    assert store.exists(name)
    assert store.size(name) == len(payload)
    with store.open(name) as reader:
        assert reader.read() == payload
        reader.seek(150_000)
        assert reader.read(10) == payload[150_000:150_010]
    assert list(store.names()) == [name]
    store.delete(name)
    assert not store.exists(name)
    store.delete(name)  # idempotent
    assert list(store.names()) == []


def test_empty_blob_is_a_blob(store: BlobStore) -> None:
    name = new_name()
    with store.write(name):
        pass
    assert store.size(name) == 0


def test_missing_blob_is_not_found(store: BlobStore) -> None:
    name = new_name()
    with pytest.raises(NotFoundError):
        store.open(name)
    with pytest.raises(NotFoundError):
        store.size(name)
    assert not store.exists(name)


def test_existing_blob_is_never_overwritten(store: BlobStore) -> None:
    name = new_name()
    with store.write(name) as out:
        out.write(b"first")
    with pytest.raises(BlobError), store.write(name) as out:
        out.write(b"second")
    with store.open(name) as reader:
        assert reader.read() == b"first"
    assert store.stray_temps() == []


def test_exception_inside_with_discards(store: BlobStore) -> None:
    name = new_name()
    with pytest.raises(RuntimeError, match="caller failed"), store.write(name) as out:
        out.write(b"half a recording")
        raise RuntimeError("caller failed")
    assert not store.exists(name)
    assert list(store.names()) == []
    assert store.stray_temps() == []


def test_not_visible_before_commit(store: BlobStore) -> None:
    name = new_name()
    with store.write(name) as out:
        out.write(b"x" * 100_000)
        assert not store.exists(name)
        assert list(store.names()) == []
    assert store.exists(name)


def test_stream_closed_by_caller_is_refused(store: BlobStore) -> None:
    name = new_name()
    with pytest.raises(BlobError), store.write(name) as out:
        out.write(b"data")
        out.close()
    assert not store.exists(name)
    assert store.stray_temps() == []


# -- hostile names --------------------------------------------------------------------------

HOSTILE = [
    "../x",
    "a/b",
    "..",
    ".",
    "",
    "/etc/passwd",
    "0" * 31,
    "0" * 33,
    "0" * 31 + "\x00",
    "a" * 16 + "\x00" + "a" * 15,
    "ABCDEF0123456789ABCDEF0123456789",
    "abcdef0123456789abcdef012345678g",
    "../" + "a" * 29,
    "a" * 30 + "/.",
    "a" * 32 + "\n",
    "\u202e" + "a" * 31,
    "ａ" * 32,  # fullwidth
    "a" * 1_000_000,
    "abcdef01-2345-4789-abcd-ef0123456789",
]


@pytest.mark.parametrize("name", HOSTILE, ids=lambda n: repr(n)[:24])
def test_hostile_names_are_refused_without_echo(store: BlobStore, name: str) -> None:
    calls: list[Callable[[], Any]] = [
        lambda: store.write(name).__enter__(),
        lambda: store.open(name),
        lambda: store.size(name),
        lambda: store.exists(name),
        lambda: store.delete(name),
    ]
    for call in calls:
        with pytest.raises(BlobError) as info:
            call()
        assert str(info.value) == "invalid blob name"
    assert list(store.names()) == []


def test_hostile_names_create_nothing_outside_root(tmp_path: Path) -> None:
    root = tmp_path / "data" / "blobs"
    store = FileBlobStore(root)
    before = sorted(tmp_path.rglob("*"))
    for name in HOSTILE:
        with pytest.raises(BlobError):
            store.write(name).__enter__()
    assert sorted(tmp_path.rglob("*")) == before


def test_non_string_name_is_refused(store: BlobStore) -> None:
    with pytest.raises(BlobError):
        store.exists(b"0" * 32)  # type: ignore[arg-type]


# -- file layout and modes -------------------------------------------------------------------


def test_layout_is_sharded_and_private(tmp_path: Path) -> None:
    root = tmp_path / "a" / "blobs"
    store = FileBlobStore(root)
    name = new_name()
    with store.write(name) as out:
        out.write(b"ciphertext")
    final = root / name[:2] / f"{name}.crx"
    assert store.path(name) == final
    assert final.read_bytes() == b"ciphertext"
    assert stat.S_IMODE(final.stat().st_mode) == 0o600
    for directory in (tmp_path / "a", root, root / name[:2]):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_names_ignores_foreign_files(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    name = new_name()
    with store.write(name) as out:
        out.write(b"x")
    (tmp_path / "README").write_text("not a blob")
    (tmp_path / name[:2] / "notes.txt").write_text("not a blob")
    other = new_name()
    while other[:2] == name[:2]:
        other = new_name()
    (tmp_path / name[:2] / f"{other}.crx").write_bytes(b"misplaced")  # wrong shard
    assert list(store.names()) == [name]


# -- crash leftovers (I3) ---------------------------------------------------------------------


def test_stray_temps_are_found_and_removed(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    name = new_name()
    with store.write(name) as out:
        out.write(b"kept")
    shard = tmp_path / name[:2]
    (shard / f".tmp-{name}-123-0").write_bytes(b"left by a crash")
    (shard / f".tmp-{new_name()}-9-9").write_bytes(b"another")
    assert len(store.stray_temps()) == 2
    assert all(t.startswith(f"{name[:2]}/.tmp-") for t in store.stray_temps())
    assert store.remove_stray_temps() == 2
    assert store.stray_temps() == []
    assert list(store.names()) == [name]


def test_abandoned_writer_leaves_a_temp_that_fsck_sees(store: BlobStore) -> None:
    name = new_name()
    context = store.write(name)
    out = context.__enter__()
    out.write(b"partial")
    out.flush()
    assert len(store.stray_temps()) == 1
    assert not store.exists(name)
    assert store.remove_stray_temps() == 1
    assert store.stray_temps() == []


# -- injected I/O faults (D4) ------------------------------------------------------------------


class Faults:
    """An :class:`FsOps` whose chosen operation fails on its ``nth`` call with ``err``."""

    def __init__(self, op: str, err: int, nth: int = 1) -> None:
        self.op, self.err, self.nth, self.calls = op, err, nth, 0
        self.fired = False

    def ops(self) -> FsOps:
        real = getattr(REAL_OPS, self.op)

        def failing(*args: Any) -> Any:
            self.calls += 1
            if self.calls == self.nth:
                self.fired = True
                raise OSError(self.err, os.strerror(self.err))
            return real(*args)

        return replace(REAL_OPS, **{self.op: failing})


def assert_clean(root: Path, name: str, store: FileBlobStore) -> None:
    assert not store.exists(name)
    assert store.stray_temps() == []
    assert files_under(root) == []


# (op, nth call inside one write): open 1 = the temp file, fsync 1 = the file,
# fsync 2 = the directory after rename, close 1 = the temp fd.
FAULT_POINTS = [
    ("open", 1),
    ("write", 1),
    ("write", 3),
    ("fsync", 1),
    ("fsync", 2),
    ("close", 1),
    ("rename", 1),
]


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EIO], ids=["ENOSPC", "EIO"])
@pytest.mark.parametrize(("op", "nth"), FAULT_POINTS, ids=[f"{o}{n}" for o, n in FAULT_POINTS])
def test_injected_fault_leaves_nothing(tmp_path: Path, op: str, nth: int, err: int) -> None:
    root = tmp_path / "blobs"
    FileBlobStore(root)  # create root and nothing else with real ops
    name = new_name()
    (root / name[:2]).mkdir(mode=0o700)  # the shard exists: count only the write's own calls
    faults = Faults(op, err, nth)
    store = FileBlobStore(root, ops=faults.ops())
    payload = os.urandom(300_000)  # several buffer flushes: several os.write calls
    with pytest.raises(BlobError) as info, store.write(name) as out:
        for i in range(0, len(payload), 50_000):
            out.write(payload[i : i + 50_000])
    assert faults.fired
    assert isinstance(info.value.__cause__, OSError)
    assert info.value.__cause__.errno == err
    assert_clean(root, name, store)
    # The store is still usable afterwards, with healthy ops.
    healthy = FileBlobStore(root)
    with healthy.write(name) as out:
        out.write(payload)
    with healthy.open(name) as reader:
        assert reader.read() == payload


def test_fault_creating_the_shard_is_a_blob_error(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    FileBlobStore(root)
    faults = Faults("open", errno.EIO)  # the fsync_dir of the root after mkdir
    store = FileBlobStore(root, ops=faults.ops())
    with pytest.raises(BlobError), store.write(new_name()):
        pass
    assert store.stray_temps() == []


def test_delete_fault_is_a_blob_error(tmp_path: Path) -> None:
    name = new_name()
    with FileBlobStore(tmp_path).write(name) as out:
        out.write(b"x")
    store = FileBlobStore(tmp_path, ops=Faults("unlink", errno.EIO).ops())
    with pytest.raises(BlobError):
        store.delete(name)
    assert store.exists(name)


def test_delete_fsync_fault_is_a_blob_error(tmp_path: Path) -> None:
    name = new_name()
    with FileBlobStore(tmp_path).write(name) as out:
        out.write(b"x")
    store = FileBlobStore(tmp_path, ops=Faults("fsync", errno.EIO).ops())
    with pytest.raises(BlobError):
        store.delete(name)


def test_root_that_is_a_file_is_a_blob_error(tmp_path: Path) -> None:
    (tmp_path / "blobs").write_text("oops")
    with pytest.raises(BlobError):
        FileBlobStore(tmp_path / "blobs")


def test_read_error_is_a_blob_error(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    name = new_name()
    with store.write(name):
        pass
    final = store.path(name)
    final.unlink()
    final.mkdir()  # a directory where the blob should be: open() fails with EISDIR
    with pytest.raises(BlobError) as info:
        store.open(name)
    assert not isinstance(info.value, NotFoundError)


def test_only_storage_errors_escape(tmp_path: Path) -> None:
    """Every failure mode above surfaced as a StorageError; spot-check the root type."""
    store = FileBlobStore(tmp_path, ops=Faults("fsync", errno.EIO).ops())
    with pytest.raises(StorageError), store.write(new_name()) as out:
        out.write(b"x")


@pytest.fixture
def memory() -> Iterator[MemoryBlobStore]:
    yield MemoryBlobStore()


def test_memory_store_tamper_helpers(memory: MemoryBlobStore) -> None:
    name = new_name()
    with memory.write(name) as out:
        out.write(b"abc")
    assert memory.raw(name) == b"abc"
    memory.replace_raw(name, b"abd")
    with memory.open(name) as reader:
        assert reader.read() == b"abd"
    assert "abd" not in repr(memory)
