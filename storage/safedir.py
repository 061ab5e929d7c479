"""A directory opened once, whose entries are reached without ever following a symlink.

One job: the file-system calls for folders other people can write into - a PBX spool,
its ``rejected/`` folder, the data dir's ``blobs/`` tree - made so that a planted symlink,
FIFO or device can never make callrec read, write or delete a file elsewhere.

- :class:`SafeDir` holds an ``O_DIRECTORY`` descriptor; every entry is reached with the
  ``*at`` calls relative to it (``openat``, ``renameat``, ``unlinkat``, ``fstatat`` with
  ``AT_SYMLINK_NOFOLLOW``), so swapping a parent directory for a symlink after it was
  opened changes nothing. Only the top path the operator configured may itself be a
  symlink; a sub-directory (:meth:`SafeDir.subdir`) that is one is refused.
- Files are opened ``O_NOFOLLOW | O_NONBLOCK`` (a symlink fails with ``ELOOP``; opening a
  FIFO never waits for a writer) and ``fstat`` must say *regular file* before a byte is
  read; sizes are checked on that ``fstat`` before reading (:meth:`SafeDir.read_bounded`).
- Writing a name (:meth:`SafeDir.write_atomic`) is temp file ``O_CREAT|O_EXCL`` + fsync +
  ``renameat`` over the name: a symlink planted under that name is *replaced*, never
  written through. :meth:`SafeDir.move_to` and :meth:`SafeDir.unlink` act on the entry
  itself, never on what a symlink points to.

Functions raise plain ``OSError`` (``ELOOP`` for a symlink, :data:`NOT_REGULAR` for any
other non-regular file, ``EFBIG`` for an oversized file); the calling module translates
it into its own error tree, because only it knows what the folder is for.
"""

from __future__ import annotations

import errno
import itertools
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from storage.fsutil import PRIVATE_DIR, PRIVATE_FILE

#: The errno of "exists, but is not a regular file" (a FIFO, device, socket, directory).
NOT_REGULAR = errno.EINVAL
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_temps = itertools.count()


def kind_of(mode: int) -> str:
    """``regular``, ``symlink``, ``directory``, ``fifo``, ``socket`` or ``device``."""
    if stat.S_ISREG(mode):
        return "regular"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One directory entry as ``lstat`` saw it (never through a symlink)."""

    name: str
    kind: str
    size: int
    mtime_ns: int


def _not_regular(name: str) -> OSError:
    return OSError(NOT_REGULAR, "not a regular file", name)


def open_regular(
    path: str | os.PathLike[str], *, dir_fd: int | None = None, max_bytes: int | None = None
) -> int:
    """A read-only descriptor of the regular file at ``path`` (relative to ``dir_fd`` if
    given), never through a symlink; the caller closes it.

    ``ELOOP`` for a symlink, :data:`NOT_REGULAR` for anything else that is not a regular
    file (a FIFO is opened non-blocking, so this never waits for a writer), ``EFBIG`` when
    ``fstat`` says it is larger than ``max_bytes``.
    """
    fd = os.open(path, _READ_FLAGS, dir_fd=dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(os.fspath(path))
        if max_bytes is not None and info.st_size > max_bytes:
            raise OSError(errno.EFBIG, "file too large", os.fspath(path))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


class SafeDir:
    """An open directory; see the module docstring. Close it (or use ``with``)."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd = fd
        self.path = path

    @classmethod
    def open(cls, path: Path) -> SafeDir:
        """Open the operator-configured directory ``path`` (it may be a symlink itself)."""
        return cls(os.open(path, _DIR_FLAGS), path)

    def close(self) -> None:
        """Release the descriptor (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> SafeDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def subdir(self, name: str, *, create: bool = False) -> SafeDir:
        """The real sub-directory ``name`` (0700 when created); a symlink is ``ELOOP``."""
        if create:
            try:
                os.mkdir(name, PRIVATE_DIR, dir_fd=self._fd)
                os.fsync(self._fd)
            except FileExistsError:
                pass
        fd = os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=self._fd)
        return SafeDir(fd, self.path / name)

    def entries(self) -> list[Entry]:
        """Every entry, by name, as ``lstat`` sees it (an entry gone meanwhile is skipped)."""
        found = []
        for name in sorted(os.listdir(self._fd)):
            try:
                info = os.stat(name, dir_fd=self._fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            found.append(
                Entry(name=name, kind=kind_of(info.st_mode), size=info.st_size,
                      mtime_ns=info.st_mtime_ns)
            )  # fmt: skip
        return found

    def lstat(self, name: str) -> Entry | None:
        """The entry ``name`` (not followed), or None if there is none."""
        try:
            info = os.stat(name, dir_fd=self._fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        return Entry(name=name, kind=kind_of(info.st_mode), size=info.st_size,
                     mtime_ns=info.st_mtime_ns)  # fmt: skip

    def open_regular(self, name: str, *, max_bytes: int | None = None) -> int:
        """:func:`open_regular` of the entry ``name`` of this directory."""
        return open_regular(name, dir_fd=self._fd, max_bytes=max_bytes)

    def read_bounded(self, name: str, max_bytes: int, *, prefix: bool = False) -> bytes:
        """The bytes of the regular file ``name``; ``EFBIG`` if over ``max_bytes`` (or,
        with ``prefix``, only its first ``max_bytes``)."""
        fd = self.open_regular(name, max_bytes=None if prefix else max_bytes)
        try:
            chunks, left = [], max_bytes
            while left > 0 and (chunk := os.read(fd, min(left, 1 << 16))):
                chunks.append(chunk)
                left -= len(chunk)
            if not prefix and os.read(fd, 1):
                raise OSError(errno.EFBIG, "file grew while reading", name)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def write_atomic(self, name: str, data: bytes) -> None:
        """Make the entry ``name`` a new 0600 regular file holding ``data`` (see above)."""
        temp = f".tmp-{os.getpid()}-{next(_temps)}-{name}"[:255]
        flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(temp, flags, PRIVATE_FILE, dir_fd=self._fd)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(temp, name, src_dir_fd=self._fd, dst_dir_fd=self._fd)
        except BaseException:
            self.unlink(temp)
            raise
        os.fsync(self._fd)

    def move_to(self, name: str, other: SafeDir, new_name: str) -> None:
        """Rename the entry ``name`` (whatever it is) into ``other`` as ``new_name``."""
        os.rename(name, new_name, src_dir_fd=self._fd, dst_dir_fd=other._fd)
        os.fsync(other._fd)
        os.fsync(self._fd)

    def unlink(self, name: str) -> bool:
        """Remove the entry ``name`` itself (a symlink, never its target); False if absent."""
        try:
            os.unlink(name, dir_fd=self._fd)
        except FileNotFoundError:
            return False
        return True
