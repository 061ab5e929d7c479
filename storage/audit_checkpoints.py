"""Signed audit checkpoints: the signed message, the JSON-lines file, and durable appends.

A checkpoint states "the audit chain had ``size`` entries and head ``head`` at ``ts``",
signed with Ed25519 over ``CHECKPOINT_CONTEXT || canonical_json({head, prev, size, ts})``.
``prev`` is the SHA-256 of the previous checkpoint's signature (64 zeros for the first), so
the checkpoints form their own chain and a deleted or reordered line is detected. The file
lives outside the database (one JSON object per line, created 0600, each append fsynced)
so that whoever rewrites the database cannot also produce a matching signed head.

The chain itself, the witness table and verification are in ``storage.audit``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path

from storage import safejson
from storage.crypto import sign, verify_signature
from storage.errors import AuditError, IntegrityError, MalformedJson, StorageError
from storage.models import Checkpoint
from storage.safedir import open_regular

NO_PREVIOUS = "0" * 64
#: Domain separation: a checkpoint signature can never be mistaken for another signed message.
CHECKPOINT_CONTEXT = b"callrec audit checkpoint v1\n"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FIELDS = {"head", "prev", "sig", "size", "ts"}
_LINE_JSON = safejson.JsonLimits(max_bytes=4096, max_depth=2)


def utc_text(ts: datetime) -> str:
    """ISO-8601 in UTC with microseconds, the one timestamp form the audit log hashes."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise AuditError("audit timestamps must be timezone-aware")
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


def checkpoint_message(size: int, head: str, prev: str, ts: datetime) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    body = {"head": head, "prev": prev, "size": size, "ts": utc_text(ts)}
    return CHECKPOINT_CONTEXT + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def next_prev(previous: Checkpoint | None) -> str:
    """The ``prev`` value of the checkpoint that follows ``previous``."""
    return NO_PREVIOUS if previous is None else hashlib.sha256(previous.signature).hexdigest()


def make_checkpoint(
    seed: bytes, *, size: int, head: str, previous: Checkpoint | None, now: datetime
) -> Checkpoint:
    """Sign a new checkpoint that follows ``previous``."""
    prev = next_prev(previous)
    try:
        signature = sign(seed, checkpoint_message(size, head, prev, now))
    except StorageError as exc:
        raise AuditError("audit signing seed is unusable") from exc
    return Checkpoint(size=size, head=head, prev=prev, ts=now, signature=signature)


def signature_valid(public_key: bytes, cp: Checkpoint) -> bool:
    """Whether ``cp`` carries a valid signature by ``public_key``."""
    try:
        message = checkpoint_message(cp.size, cp.head, cp.prev, cp.ts)
        verify_signature(public_key, message, cp.signature)
    except (IntegrityError, AuditError):
        return False
    return True


def encode_line(cp: Checkpoint) -> bytes:
    """One line of the checkpoint file (canonical JSON, newline-terminated)."""
    body = {
        "head": cp.head,
        "prev": cp.prev,
        "sig": cp.signature.hex(),
        "size": cp.size,
        "ts": utc_text(cp.ts),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def parse_line(raw: bytes, lineno: int) -> Checkpoint:
    """A checkpoint from one line; :class:`AuditError` naming ``lineno`` if malformed."""
    try:
        body = safejson.loads(raw, limits=_LINE_JSON)
        if not isinstance(body, dict) or set(body) != _FIELDS:
            raise ValueError("fields")
        size, head, prev, sig, ts = (body[k] for k in ("size", "head", "prev", "sig", "ts"))
        if type(size) is not int or size < 0 or not isinstance(sig, str) or len(sig) != 128:
            raise ValueError("size or sig")
        if not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in (head, prev)):
            raise ValueError("head or prev")
        when = datetime.fromisoformat(ts)
        if when.tzinfo is None:
            raise ValueError("ts")
        return Checkpoint(size=size, head=head, prev=prev, ts=when, signature=bytes.fromhex(sig))
    except (TypeError, ValueError, MalformedJson) as exc:
        raise AuditError(f"checkpoint file line {lineno} is corrupt") from exc


def read_checkpoints(path: Path) -> list[Checkpoint]:
    """Every checkpoint in the file (none if it does not exist).

    A final line without a newline is a write torn by a crash and is ignored: it was
    never committed to the witness table. Any other bad line raises :class:`AuditError`
    naming its line number.
    """
    try:
        fd = open_regular(path)
    except FileNotFoundError:
        return []
    except OSError as exc:  # ELOOP: a symlink planted in the data dir is never followed
        raise AuditError("cannot read the checkpoint file (not a regular file?)") from exc
    try:
        with os.fdopen(fd, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise AuditError("cannot read the checkpoint file") from exc
    lines = data.split(b"\n")[:-1]  # drops the "" after the last newline, or a torn line
    return [parse_line(raw, n) for n, raw in enumerate(lines, start=1)]


def append_checkpoint(path: Path, cp: Checkpoint) -> None:
    """Append one line durably (0600 on creation, fsync; the directory too when created).

    A torn tail left by a crash (bytes after the last newline) is cut off first, so it
    never turns into a corrupt line in the middle of the file.
    """
    try:
        created = not path.exists()
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK
        fd = os.open(path, flags | os.O_CLOEXEC, 0o600)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise AuditError("the checkpoint file is not a regular file")
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                os.ftruncate(fd, os.pread(fd, size, 0).rfind(b"\n") + 1)
            os.write(fd, encode_line(cp))
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
    except OSError as exc:
        raise AuditError("cannot write the checkpoint file") from exc
