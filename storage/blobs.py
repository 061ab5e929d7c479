"""Durable storage of opaque ciphertext blobs, named by our own 128-bit random ids.

One job: put bytes on disk so that a blob is either fully written and durable under its
name, or not visible at all (RELIABILITY.md D1/D4, invariant I3). The blob store never sees
plaintext; it stores what ``crypto`` produced.

Names are validated strictly as ``uuid4().hex`` (32 lowercase hex characters): a name is
never provider input, so anything else is a bug or an attack and is refused with a
:class:`BlobError` that does not echo the name.

Durable write (``FileBlobStore``)::

    root/ab/.tmp-<name>-<pid>-<n>   O_CREAT|O_EXCL|O_WRONLY, 0600
      ─► caller writes ─► flush ─► fsync(file) ─► rename to root/ab/<name>.crx ─► fsync(dir)

Any ``OSError`` on the way (``ENOSPC``, ``EIO``) becomes :class:`BlobError`, the temp is
removed and no final file is left. Nothing in the tree is reached through a symlink: the
root and every shard must be real directories (checked with ``lstat`` before each use), a
blob is opened ``O_NOFOLLOW`` and must be a regular file (``fstat``), and a symlink or
FIFO planted where a blob should be is "not found" / :class:`BlobError`, never followed.
A failed ``fsync`` is never retried: after a failed fsync the kernel may have dropped the
dirty pages, so the only safe answer is to discard and let the caller rewrite from its
source.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from storage.errors import BlobError, NotFoundError
from storage.fsutil import REAL_OPS, FsOps, create_temp, fsync_dir, make_private_dir
from storage.safedir import NOT_REGULAR, open_regular

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

_NAME = re.compile(r"[0-9a-f]{32}")
_SHARD = re.compile(r"[0-9a-f]{2}")
SUFFIX = ".crx"
TEMP_PREFIX = ".tmp-"
WRITE_BUFFER = 1 << 16


def check_name(name: object) -> str:
    """Return ``name`` if it is one of our blob ids, else raise :class:`BlobError`."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise BlobError("invalid blob name")
    return name


class BlobStore(Protocol):
    """Where sealed artefacts live. ``FileBlobStore`` on disk, ``MemoryBlobStore`` in tests."""

    def write(self, name: str) -> AbstractContextManager[BinaryIO]:
        """A writable stream; on clean exit the blob is durable and visible under ``name``.

        On an exception nothing is visible and the temp is gone. An existing blob of the
        same name is never overwritten (:class:`BlobError`).
        """
        ...

    def open(self, name: str) -> BinaryIO:
        """A seekable reader over the blob (:class:`NotFoundError` if absent)."""
        ...

    def size(self, name: str) -> int:
        """The blob's size in bytes (:class:`NotFoundError` if absent)."""
        ...

    def exists(self, name: str) -> bool:
        """Whether a committed blob of this name exists."""
        ...

    def delete(self, name: str) -> None:
        """Remove the blob durably; deleting an absent blob is not an error."""
        ...

    def names(self) -> Iterator[str]:
        """Every committed blob name (order unspecified)."""
        ...

    def stray_temps(self) -> list[str]:
        """Temp files left by interrupted writes (fsck, invariant I3)."""
        ...

    def remove_stray_temps(self, *, older_than: datetime | None = None) -> int:
        """Remove stray temps last modified before ``older_than`` (all if None).

        A temp younger than that may belong to a write in progress in another process;
        callers pass ``now - grace`` so a repair never races a live capture.
        """
        ...

    def modified_at(self, name: str) -> datetime:
        """When the committed blob was last written (UTC): fsck's grace period uses it."""
        ...


class _OpsRawFile(io.RawIOBase):
    """A raw writable file over an fd whose writes go through :class:`FsOps`."""

    def __init__(self, fd: int, ops: FsOps) -> None:
        super().__init__()
        self._fd = fd
        self._ops = ops

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def write(self, b: ReadableBuffer, /) -> int:
        return self._ops.write(self._fd, bytes(b))

    def close(self) -> None:
        if not self.closed:
            try:
                self._ops.close(self._fd)
            finally:
                super().close()


class FileBlobStore:
    """Blobs as files under ``root``, sharded by the first two hex characters of the name."""

    def __init__(self, root: Path, *, ops: FsOps = REAL_OPS) -> None:
        self._root = root
        self._ops = ops
        try:
            make_private_dir(root, ops)
        except OSError as exc:
            raise BlobError("cannot create the blob directory") from exc
        if root.is_symlink():
            raise BlobError("the blob directory is a symlink: refused")

    @property
    def root(self) -> Path:
        """The directory holding the shards."""
        return self._root

    def __repr__(self) -> str:
        return f"FileBlobStore(root={str(self._root)!r})"

    def path(self, name: str) -> Path:
        """Where the committed blob ``name`` lives (validated; used by scans and tests)."""
        check_name(name)
        return self._root / name[:2] / (name + SUFFIX)

    def _checked(self, name: str) -> Path:
        """:meth:`path`, after checking its shard is a real directory if it exists."""
        path = self.path(name)
        try:
            info = path.parent.lstat()
        except FileNotFoundError:
            return path
        except OSError as exc:
            raise BlobError("cannot read the blob directory") from exc
        if not stat.S_ISDIR(info.st_mode):
            raise BlobError("a blob shard is not a plain directory (symlink?): refused")
        return path

    @contextmanager
    def write(self, name: str) -> Iterator[BinaryIO]:
        final = self._checked(name)
        shard = final.parent
        try:
            if not shard.is_dir():
                make_private_dir(shard, self._ops)
            if final.exists():
                raise BlobError("blob already exists")
            fd, temp = create_temp(shard, f"{TEMP_PREFIX}{name}-", self._ops)
        except OSError as exc:
            raise BlobError("cannot create blob") from exc
        raw = _OpsRawFile(fd, self._ops)
        stream = io.BufferedWriter(raw, buffer_size=WRITE_BUFFER)
        try:
            yield stream
            if stream.closed:
                raise BlobError("blob stream closed before commit")
            stream.flush()
            self._ops.fsync(fd)
            stream.close()
            if final.exists():
                raise BlobError("blob already exists")
            self._ops.rename(str(temp), str(final))
        except BaseException as exc:
            _close_quietly(stream, raw)
            _unlink_quietly(temp, self._ops)
            if isinstance(exc, OSError):
                raise BlobError("blob write failed") from exc
            raise
        try:
            fsync_dir(shard, self._ops)
        except OSError as exc:
            # Visible but maybe not durable: take it back so the caller never records it.
            _unlink_quietly(final, self._ops)
            raise BlobError("blob write failed") from exc

    def open(self, name: str) -> BinaryIO:
        path = self._checked(name)
        try:
            fd = open_regular(path)
        except FileNotFoundError as exc:
            raise NotFoundError("blob not found") from exc
        except OSError as exc:
            if exc.errno == NOT_REGULAR:
                raise BlobError("blob is not a regular file") from exc
            raise BlobError("cannot open blob") from exc
        return os.fdopen(fd, "rb")

    def size(self, name: str) -> int:
        path = self._checked(name)
        try:
            return path.lstat().st_size
        except FileNotFoundError as exc:
            raise NotFoundError("blob not found") from exc
        except OSError as exc:
            raise BlobError("cannot stat blob") from exc

    def exists(self, name: str) -> bool:
        check_name(name)  # an invalid name is a BlobError, as everywhere
        try:
            return stat.S_ISREG(self._checked(name).lstat().st_mode)
        except (OSError, BlobError):
            return False

    def delete(self, name: str) -> None:
        path = self._checked(name)
        try:
            self._ops.unlink(str(path))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise BlobError("cannot delete blob") from exc
        try:
            fsync_dir(path.parent, self._ops)
        except OSError as exc:
            raise BlobError("cannot make blob deletion durable") from exc

    def _shards(self) -> Iterator[Path]:
        try:
            entries = sorted(self._root.iterdir())
        except OSError as exc:
            raise BlobError("cannot list blobs") from exc
        for entry in entries:
            if _SHARD.fullmatch(entry.name) and entry.is_dir() and not entry.is_symlink():
                yield entry

    def _entries(self, shard: Path) -> list[Path]:
        try:
            return sorted(shard.iterdir())
        except OSError as exc:
            raise BlobError("cannot list blobs") from exc

    def names(self) -> Iterator[str]:
        for shard in self._shards():
            for entry in self._entries(shard):
                stem = entry.name.removesuffix(SUFFIX)
                if (
                    entry.name.endswith(SUFFIX)
                    and _NAME.fullmatch(stem)
                    and stem.startswith(shard.name)
                ):
                    yield stem

    def _temps(self) -> list[Path]:
        return [
            entry
            for shard in self._shards()
            for entry in self._entries(shard)
            if entry.name.startswith(TEMP_PREFIX)
        ]

    def stray_temps(self) -> list[str]:
        """Temps as ``<shard>/<file>`` paths relative to the root."""
        return [f"{temp.parent.name}/{temp.name}" for temp in self._temps()]

    def modified_at(self, name: str) -> datetime:
        try:
            return datetime.fromtimestamp(self._checked(name).lstat().st_mtime, UTC)
        except FileNotFoundError:
            raise NotFoundError("blob not found") from None
        except OSError as exc:
            raise BlobError("cannot stat blob") from exc

    def remove_stray_temps(self, *, older_than: datetime | None = None) -> int:
        removed = 0
        shards: set[Path] = set()
        for temp in self._temps():
            if older_than is not None and _mtime(temp) >= older_than:
                continue
            try:
                self._ops.unlink(str(temp))
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise BlobError("cannot remove temp file") from exc
            removed += 1
            shards.add(temp.parent)
        for shard in shards:
            try:
                fsync_dir(shard, self._ops)
            except OSError as exc:
                raise BlobError("cannot make temp removal durable") from exc
        return removed


def _mtime(path: Path) -> datetime:
    try:
        return datetime.fromtimestamp(path.lstat().st_mtime, UTC)
    except OSError:
        return datetime.max.replace(tzinfo=UTC)  # gone or unreadable: never "old"


def _close_quietly(stream: BinaryIO, raw: io.RawIOBase) -> None:
    # Closing flushes; on a full disk that raises again. The first error is the one to report,
    # and the raw fd must still be released.
    with contextlib.suppress(OSError, ValueError):
        stream.close()
    with contextlib.suppress(OSError, ValueError):
        raw.close()


def _unlink_quietly(path: Path, ops: FsOps) -> None:
    with contextlib.suppress(OSError):
        ops.unlink(str(path))


class MemoryBlobStore:
    """The in-memory twin of :class:`FileBlobStore`: same names, same all-or-nothing rule."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._writing: dict[str, str] = {}
        self._lock = threading.Lock()
        self._counter = 0

    def __repr__(self) -> str:
        return f"MemoryBlobStore(blobs={len(self._blobs)})"

    @contextmanager
    def write(self, name: str) -> Iterator[BinaryIO]:
        check_name(name)
        with self._lock:
            if name in self._blobs:
                raise BlobError("blob already exists")
            self._counter += 1
            temp = f"{name[:2]}/{TEMP_PREFIX}{name}-{self._counter}"
            self._writing[temp] = name
        buffer = io.BytesIO()
        try:
            yield buffer
            if buffer.closed:
                raise BlobError("blob stream closed before commit")
            data = buffer.getvalue()
            with self._lock:
                if name in self._blobs:
                    raise BlobError("blob already exists")
                self._blobs[name] = data
        finally:
            with self._lock:
                self._writing.pop(temp, None)

    def open(self, name: str) -> BinaryIO:
        check_name(name)
        with self._lock:
            data = self._blobs.get(name)
        if data is None:
            raise NotFoundError("blob not found")
        return io.BytesIO(data)

    def size(self, name: str) -> int:
        check_name(name)
        with self._lock:
            data = self._blobs.get(name)
        if data is None:
            raise NotFoundError("blob not found")
        return len(data)

    def exists(self, name: str) -> bool:
        check_name(name)
        with self._lock:
            return name in self._blobs

    def delete(self, name: str) -> None:
        check_name(name)
        with self._lock:
            self._blobs.pop(name, None)

    def names(self) -> Iterator[str]:
        with self._lock:
            current = sorted(self._blobs)
        return iter(current)

    def stray_temps(self) -> list[str]:
        """Writes begun and not finished (a writer abandoned without closing its context)."""
        with self._lock:
            return sorted(self._writing)

    def remove_stray_temps(self, *, older_than: datetime | None = None) -> int:
        """The memory twin has no clock: every abandoned write counts as old."""
        with self._lock:
            count = len(self._writing)
            self._writing.clear()
        return count

    def modified_at(self, name: str) -> datetime:
        """The memory twin has no clock: every blob reports the epoch (always old)."""
        if not self.exists(name):
            raise NotFoundError("blob not found")
        return datetime.fromtimestamp(0, UTC)

    def raw(self, name: str) -> bytes:
        """The stored bytes (tests use it to tamper with or inspect a blob)."""
        check_name(name)
        with self._lock:
            data = self._blobs.get(name)
        if data is None:
            raise NotFoundError("blob not found")
        return data

    def replace_raw(self, name: str, data: bytes) -> None:
        """Overwrite a blob's bytes in place (tests only: simulates on-disk tampering)."""
        check_name(name)
        with self._lock:
            if name not in self._blobs:
                raise NotFoundError("blob not found")
            self._blobs[name] = data
