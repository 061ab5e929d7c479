"""Durable, private file-system primitives shared by the keyring, blob store and catalog.

One job: the few OS calls that make a write durable (temp file with ``O_CREAT|O_EXCL``
0600 in the target directory, ``fsync(file)``, ``rename``/``link``, ``fsync(dir)``) and
directories that only their owner can enter (0700).

Every OS call goes through an :class:`FsOps` object so fault tests can inject ``ENOSPC``
or ``EIO`` at any single step (RELIABILITY.md D4). Functions here raise plain
``OSError``; the calling module translates it into its own branch of the storage error
tree, because only it knows what failed (a blob, the keyring, the catalog).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700

_temp_counter = itertools.count()


@dataclass(frozen=True, slots=True)
class FsOps:
    """The OS calls a durable write makes, replaceable one by one for fault injection."""

    open: Callable[[str, int, int], int] = os.open
    write: Callable[[int, bytes], int] = os.write
    fsync: Callable[[int], None] = os.fsync
    close: Callable[[int], None] = os.close
    rename: Callable[[str, str], None] = os.rename
    link: Callable[[str, str], None] = os.link
    unlink: Callable[[str], None] = os.unlink


REAL_OPS = FsOps()


def make_private_dir(path: Path, ops: FsOps = REAL_OPS) -> None:
    """Create ``path`` and any missing parents as 0700, making each new entry durable.

    Directories that already exist are left as they are (the parent may be ``/tmp`` or a
    home directory we do not own); only the ones created here are forced to 0700, whatever
    the umask.
    """
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue  # created concurrently by someone else
        os.chmod(directory, PRIVATE_DIR)
        fsync_dir(directory.parent, ops)
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(path))


def fsync_dir(path: Path, ops: FsOps = REAL_OPS) -> None:
    """``fsync`` a directory so a create, rename or unlink inside it survives a crash."""
    fd = ops.open(str(path), os.O_RDONLY | os.O_DIRECTORY, 0)
    try:
        ops.fsync(fd)
    finally:
        ops.close(fd)


def create_temp(
    directory: Path, prefix: str, ops: FsOps = REAL_OPS, mode: int = PRIVATE_FILE
) -> tuple[int, Path]:
    """Open a new, exclusive temp file in ``directory``; returns ``(fd, path)``.

    The name is ``<prefix><pid>-<counter>``: unique without reading randomness, and
    ``O_EXCL`` makes a clash with a leftover from a crashed process a retry, never an
    overwrite. The mode is set with ``fchmod`` too, so the umask cannot loosen or tighten it.
    """
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    for _ in range(1000):
        candidate = directory / f"{prefix}{os.getpid()}-{next(_temp_counter)}"
        try:
            fd = ops.open(str(candidate), flags, mode)
        except FileExistsError:
            continue
        try:
            os.fchmod(fd, mode)
        except OSError:
            ops.close(fd)
            remove_quietly(candidate, ops)
            raise
        return fd, candidate
    raise FileExistsError(errno.EEXIST, "no free temp name", str(directory))


def remove_quietly(path: Path, ops: FsOps = REAL_OPS) -> None:
    """Best-effort unlink used on failure paths, where the first error is the one to report."""
    with contextlib.suppress(OSError):
        ops.unlink(str(path))


def write_all(fd: int, data: bytes, ops: FsOps = REAL_OPS) -> None:
    """Write every byte of ``data`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        written = ops.write(fd, view.tobytes())
        if written <= 0:
            raise OSError(errno.EIO, "short write")
        view = view[written:]


def write_file_atomic(
    path: Path, data: bytes, *, replace: bool, mode: int = PRIVATE_FILE, ops: FsOps = REAL_OPS
) -> None:
    """Make ``path`` hold exactly ``data``, durably, or leave it as it was.

    temp in the same directory → write → ``fsync(file)`` → ``rename`` (``replace=True``) or
    ``link`` + unlink temp (``replace=False``: fails with ``FileExistsError`` atomically if
    ``path`` exists, so two racing creators cannot clobber each other) → ``fsync(dir)``.
    On any error before the commit the temp is removed and nothing changed.
    """
    directory = path.parent
    fd, temp = create_temp(directory, f".tmp-{path.name}-", ops, mode)
    try:
        try:
            write_all(fd, data, ops)
            ops.fsync(fd)
        finally:
            ops.close(fd)
        if replace:
            ops.rename(str(temp), str(path))
        else:
            ops.link(str(temp), str(path))
            remove_quietly(temp, ops)
    except BaseException:
        remove_quietly(temp, ops)
        raise
    fsync_dir(directory, ops)


def prepare_private_db(path: Path, not_regular: Callable[[], Exception]) -> None:
    """Create a SQLite database file 0600 in a 0700 directory before SQLite opens it.

    SQLite creates ``-wal``/``-shm`` with the database file's mode, so this also keeps them
    private. An existing file with looser bits is tightened (it is ours); a path that is
    not a regular file (a symlink, a directory, a FIFO) raises ``not_regular()``.
    """
    make_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            info = candidate.lstat()
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(info.st_mode):
            raise not_regular()
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(candidate, PRIVATE_FILE)
