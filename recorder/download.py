"""Downloading a recording to a WAV file: a separately audited action from playing it.

One job: turn an allowed, audited :class:`~recorder.playback.Playback` into a file on disk,
atomically. The decision and the audit entry (``recording.download``, with the purpose and
range) are committed by :func:`recorder.playback.open_playback` *before* the first byte is
written; if the audit store fails, nothing is written (A1).

The file is written like every durable write in callrec (ARCHITECTURE.md §2): a temp file
in the target directory (``O_CREAT|O_EXCL``, 0600) → every authenticated chunk → ``fsync``
→ ``link`` (refuses to overwrite, atomically, even against a racing writer) or ``rename``
(``force``) → ``fsync(dir)``. A failure at any point removes the temp file: there is never
a partial WAV that looks like a complete, shorter call, and a refusal leaves no file at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from recorder.access import Action, Assignments, Principal
from recorder.config import Config
from recorder.errors import InvalidEvent, RecorderError
from recorder.playback import open_playback
from storage.fsutil import PRIVATE_FILE, create_temp, fsync_dir, remove_quietly, write_all
from storage.vault import Vault


@dataclass(frozen=True, slots=True, kw_only=True)
class Downloaded:
    """What was written: the file, the range and its length."""

    path: Path
    start_ms: int
    duration_ms: int
    bytes_written: int


def write_atomically(path: Path, chunks: Iterable[bytes], *, force: bool = False) -> int:
    """Write ``chunks`` to ``path`` (0600) all or nothing; returns the byte count.

    Without ``force`` an existing ``path`` is never replaced (:class:`FileExistsError`).
    """
    directory = path.parent
    fd, temp = create_temp(directory, f".tmp-{path.name}-", mode=PRIVATE_FILE)
    written = 0
    try:
        try:
            for chunk in chunks:
                write_all(fd, chunk)
                written += len(chunk)
            os.fsync(fd)
        finally:
            os.close(fd)
        if force:
            os.replace(temp, path)
        else:
            os.link(temp, path)
            remove_quietly(temp)
    except BaseException:
        remove_quietly(temp)
        raise
    fsync_dir(directory)
    return written


def download(
    vault: Vault,
    config: Config,
    principal: Principal,
    recording_id: str,
    out: Path,
    *,
    purpose: str,
    now: datetime,
    start_ms: int = 0,
    duration_ms: int | None = None,
    force: bool = False,
    assignments: Assignments | None = None,
) -> Downloaded:
    """Decide, audit (committed), then write the range as a WAV to ``out`` atomically.

    Refuses early, before any decision, when ``out`` exists and ``force`` is not given, or
    when its directory does not exist (:class:`InvalidEvent`); raises :class:`AccessDenied`
    when refused (audited, no file).
    """
    if out.is_dir():
        raise InvalidEvent("--out: is a directory; give a file name such as call.wav")
    if not force and (out.exists() or out.is_symlink()):
        raise InvalidEvent("--out: file exists; use --force to replace it")
    if not out.parent.is_dir():
        raise InvalidEvent("--out: the directory does not exist")
    playback = open_playback(
        vault,
        config,
        principal,
        recording_id,
        purpose=purpose,
        now=now,
        start_ms=start_ms,
        duration_ms=duration_ms,
        action=Action.DOWNLOAD,
        assignments=assignments,
    )
    try:
        size = write_atomically(out, playback.wav_chunks(), force=force)
    except FileExistsError:
        raise InvalidEvent("--out: file exists; use --force to replace it") from None
    except OSError as exc:
        raise RecorderError(f"cannot write --out: {exc.strerror or 'I/O error'}") from None
    return Downloaded(
        path=out, start_ms=start_ms, duration_ms=playback.duration_ms, bytes_written=size
    )
