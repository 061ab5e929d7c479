"""The data-subject export bundle: a zip, encrypted to a passphrase or a recipient key.

One job: write and open the container a DPO hands to a data subject (or legal hands to an
authority). What goes *into* the zip is decided by :mod:`recorder.subject`; this module
knows the file format, the keys and the atomic write.

File layout::

    b"CRXB" | u8 version = 1 | u32 BE header length | header (UTF-8 JSON)
    | a CRX1 streaming ciphertext of the zip (storage.crypto, 64 KiB segments)

The header says who can open it (``lock``: ``scrypt`` with salt and cost, or ``x25519``
with the sender's ephemeral public key and the recipient's public key), the bundle id,
when it was made and when it **expires**. It is not secret, but it is authenticated: its
SHA-256 is bound into the ciphertext's associated data, so moving the expiry date (or any
other byte) makes the whole bundle fail to open. An expired bundle is refused by
``callrec subject open-bundle`` before any decryption. (Expiry is a promise kept by our
tool; whoever holds the passphrase and the format can of course ignore it, which is why
the bundle is also encrypted.)

Why this shape: the zip is streamed straight into the sealer, so the plaintext audio
never touches the disk, memory stays bounded by one segment per file, and the reader
inherits the stream format's guarantees (no byte of an unauthenticated segment is
released; truncation is an error, never an EOF). The bundle is written to ``NAME.part``
(0600, ``O_EXCL``), fsynced and renamed only when complete: any failure (a member that
fails authentication half-way included) leaves no bundle at all.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import struct
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from recorder.errors import BundleError, BundleExpired
from storage import crypto, safejson
from storage.errors import FormatError, IntegrityError, MalformedJson
from storage.models import Rng

MAGIC = b"CRXB"
VERSION = 1
FORMAT = "callrec-bundle"
MAX_HEADER = 4096
MIN_PASSPHRASE = 10
_PREFIX = struct.Struct(">4sBI")
_X25519_INFO = b"callrec-bundle-v1 x25519"
_PUBLIC_TAG = "callrec-bundle-recipient-v1"
_PRIVATE_TAG = "callrec-bundle-identity-v1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Passphrase:
    """Lock (or unlock) with a passphrase; scrypt cost ``log2_n`` (tests may lower it)."""

    secret: bytes = field(repr=False)
    log2_n: int = crypto.SCRYPT_LOG2_N


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """Lock to an X25519 public key (the recipient's ``.pub`` file)."""

    public_key: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """Unlock with an X25519 private key (the recipient's ``.key`` file)."""

    private_key: bytes = field(repr=False)


Lock = Passphrase | Recipient
Unlock = Passphrase | Identity


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    """One file of the zip: its name and a callable producing its bytes when written."""

    name: str
    chunks: Callable[[], Iterable[bytes]]
    compress: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleInfo:
    """What was written (or opened): id, dates, lock kind, members, size."""

    bundle_id: str
    created_at: datetime
    expires_at: datetime
    lock: str  # "scrypt" | "x25519"
    members: tuple[str, ...]
    size: int


# -- passphrase and key files ------------------------------------------------------------


def read_passphrase(path: Path) -> Passphrase:
    """A passphrase from a file (one trailing newline dropped); BundleError if too short."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read the passphrase file ({exc.strerror})") from None
    secret = data.removesuffix(b"\n").removesuffix(b"\r")
    if len(secret) < MIN_PASSPHRASE:
        raise BundleError(f"passphrase must be at least {MIN_PASSPHRASE} bytes")
    return Passphrase(secret=secret)


def _key_line(tag: str, key: bytes) -> bytes:
    return f"{tag} {base64.b64encode(key).decode('ascii')}\n".encode("ascii")


def _read_key(path: Path, tag: str) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        raise BundleError(f"cannot read the key file (expected a {tag} line)") from None
    kind, _, b64 = text.partition(" ")
    try:
        key = base64.b64decode(b64, validate=True)
    except ValueError:
        key = b""
    if kind != tag or len(key) != crypto.KEY_SIZE:
        raise BundleError(f"not a key file: expected one '{tag} <base64>' line")
    return key


def write_keypair(private_path: Path, public_path: Path, *, rng: Rng) -> None:
    """Create a recipient key pair: ``private_path`` (0600, kept by the recipient) and the
    public key file a DPO exports to. Refuses to overwrite either file."""
    for path in (private_path, public_path):
        if path.exists():
            raise BundleError(f"{path.name} already exists; not overwritten")
    private, public = crypto.x25519_keypair(rng)
    for path, data, mode in (
        (private_path, _key_line(_PRIVATE_TAG, private), 0o600),
        (public_path, _key_line(_PUBLIC_TAG, public), 0o644),
    ):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
        except FileExistsError:
            raise BundleError(f"{path.name} already exists; not overwritten") from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)


def read_recipient(path: Path) -> Recipient:
    """The public key file written by :func:`write_keypair`."""
    return Recipient(public_key=_read_key(path, _PUBLIC_TAG))


def read_identity(path: Path) -> Identity:
    """The private key file written by :func:`write_keypair`."""
    return Identity(private_key=_read_key(path, _PRIVATE_TAG))


# -- writing -------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _lock_header(lock: Lock, rng: Rng) -> tuple[dict[str, object], bytes]:
    if isinstance(lock, Passphrase):
        salt = rng(16)
        key = crypto.passphrase_key(lock.secret, salt, log2_n=lock.log2_n)
        return {"type": "scrypt", "salt": _b64(salt), "log2_n": lock.log2_n}, key
    ephemeral, key = crypto.x25519_sender_key(lock.public_key, rng=rng, info=_X25519_INFO)
    return {
        "type": "x25519",
        "ephemeral": _b64(ephemeral),
        "recipient": _b64(lock.public_key),
    }, key


def _associated(header: bytes) -> str:
    return "bundle-header:" + hashlib.sha256(header).hexdigest()


class _SealerSink(io.RawIOBase):
    """A write-only, unseekable file over a :class:`crypto.Sealer` (zipfile streams to it)."""

    def __init__(self, sealer: crypto.Sealer) -> None:
        super().__init__()
        self._sealer = sealer

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(data)
        self._sealer.write(view)
        return len(view)


def _utc_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def write_bundle(
    path: Path,
    members: Iterable[Member],
    *,
    lock: Lock,
    created_at: datetime,
    expires_at: datetime,
    rng: Rng,
) -> BundleInfo:
    """Write the encrypted bundle atomically; nothing at ``path`` unless every member was
    written in full (an exception from a member's chunks aborts the whole bundle)."""
    if expires_at <= created_at:
        raise BundleError("the bundle must expire after it is created")
    bundle_id = rng(16)
    lock_fields, key = _lock_header(lock, rng)
    header = json.dumps(
        {
            "format": FORMAT,
            "v": VERSION,
            "bundle_id": bundle_id.hex(),
            "created_at": _utc_text(created_at),
            "expires_at": _utc_text(expires_at),
            "lock": lock_fields,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode("utf-8")
    part = path.with_name(path.name + ".part")
    names: list[str] = []
    try:
        fd = os.open(part, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        raise BundleError(f"{part.name} exists (another export running?); not touched") from None
    except OSError as exc:
        raise BundleError(f"cannot create the bundle file ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(_PREFIX.pack(MAGIC, VERSION, len(header)) + header)
            sealer = crypto.Sealer(
                out,
                key,
                key_id=bundle_id.hex(),
                recording_id="bundle",
                artefact=_associated(header),
                rng=rng,
            )
            sink = _SealerSink(sealer)
            with zipfile.ZipFile(sink, "w", allowZip64=True) as zf:
                for member in members:
                    method = zipfile.ZIP_DEFLATED if member.compress else zipfile.ZIP_STORED
                    info = zipfile.ZipInfo(member.name, date_time=created_at.timetuple()[:6])
                    info.compress_type = method
                    with zf.open(info, "w", force_zip64=True) as target:
                        for chunk in member.chunks():
                            target.write(chunk)
                    names.append(member.name)
            sealer.finish()
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return BundleInfo(
        bundle_id=bundle_id.hex(),
        created_at=created_at,
        expires_at=expires_at,
        lock=str(lock_fields["type"]),
        members=tuple(names),
        size=path.stat().st_size,
    )


# -- opening -------------------------------------------------------------------------------


class _Window(io.RawIOBase):
    """A read-only view of ``src`` from ``base`` on, so the ciphertext starts at offset 0."""

    def __init__(self, src: BinaryIO, base: int) -> None:
        super().__init__()
        self._src = src
        self._base = base

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            return self._src.seek(self._base + offset) - self._base
        return self._src.seek(offset, whence) - self._base

    def tell(self) -> int:
        return self._src.tell() - self._base

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._src.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _header(src: BinaryIO) -> tuple[dict[str, object], bytes, int]:
    prefix = src.read(_PREFIX.size)
    if len(prefix) != _PREFIX.size:
        raise BundleError("not a callrec bundle")
    magic, version, size = _PREFIX.unpack(prefix)
    if magic != MAGIC or version != VERSION or not 0 < size <= MAX_HEADER:
        raise BundleError("not a callrec bundle (or a newer version)")
    raw = src.read(size)
    try:
        header = safejson.loads(raw, limits=safejson.JsonLimits(max_bytes=MAX_HEADER))
    except MalformedJson:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BundleError("bundle header is damaged")
    return header, raw, _PREFIX.size + size


def _expiry(header: dict[str, object]) -> tuple[datetime, datetime]:
    try:
        created = datetime.fromisoformat(str(header["created_at"]))
        expires = datetime.fromisoformat(str(header["expires_at"]))
    except (KeyError, ValueError):
        raise BundleError("bundle header is damaged") from None
    return created.astimezone(UTC), expires.astimezone(UTC)


def _unlock_key(lock: object, unlock: Unlock) -> bytes:
    if not isinstance(lock, dict):
        raise BundleError("bundle header is damaged")
    try:
        if lock.get("type") == "scrypt":
            if not isinstance(unlock, Passphrase):
                raise BundleError("this bundle is locked with a passphrase")
            salt = base64.b64decode(str(lock["salt"]), validate=True)
            return crypto.passphrase_key(unlock.secret, salt, log2_n=int(lock["log2_n"]))
        if lock.get("type") == "x25519":
            if not isinstance(unlock, Identity):
                raise BundleError("this bundle is locked to a recipient key")
            ephemeral = base64.b64decode(str(lock["ephemeral"]), validate=True)
            return crypto.x25519_recipient_key(unlock.private_key, ephemeral, info=_X25519_INFO)
    except (KeyError, ValueError, TypeError, FormatError, IntegrityError):
        raise BundleError("bundle header is damaged, or the key does not fit") from None
    raise BundleError("bundle lock type unknown")


def _lock_type(header: dict[str, object]) -> str:
    lock = header.get("lock")
    return str(lock.get("type")) if isinstance(lock, dict) else "?"


def read_header(path: Path) -> BundleInfo:
    """The bundle's public header (no key needed; not yet authenticated)."""
    with path.open("rb") as src:
        header, _, _ = _header(src)
    created, expires = _expiry(header)
    return BundleInfo(
        bundle_id=str(header.get("bundle_id")),
        created_at=created,
        expires_at=expires,
        lock=_lock_type(header),
        members=(),
        size=path.stat().st_size,
    )


def open_bundle(path: Path, out: Path, *, unlock: Unlock, now: datetime) -> BundleInfo:
    """Decrypt the bundle at ``path`` into the zip ``out`` (atomic: nothing on failure).

    :class:`BundleExpired` past the expiry date; :class:`BundleError` for a wrong
    passphrase or key, a damaged or truncated bundle, or something that is not a bundle.
    """
    try:
        src = path.open("rb")
    except OSError as exc:
        raise BundleError(f"cannot read the bundle ({exc.strerror})") from None
    with src:
        header, raw, base = _header(src)
        created, expires = _expiry(header)
        if now >= expires:
            raise BundleExpired(f"bundle expired on {expires.isoformat()}; ask for a new one")
        key = _unlock_key(header.get("lock"), unlock)
        part = out.with_name(out.name + ".part")
        try:
            reader = crypto.SealedReader(
                _Window(src, base),  # type: ignore[arg-type]
                key,
                recording_id="bundle",
                artefact=_associated(raw),
            )
            with part.open("xb") as target:
                for chunk in reader.read_range(0):
                    target.write(chunk)
            os.replace(part, out)
        except FileExistsError:
            raise BundleError(f"{part.name} exists; not touched") from None
        except (IntegrityError, FormatError):
            part.unlink(missing_ok=True)
            raise BundleError(
                "wrong passphrase or key, or the bundle is damaged or truncated"
            ) from None
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    with zipfile.ZipFile(out) as zf:
        names = tuple(zf.namelist())
    return BundleInfo(
        bundle_id=str(header.get("bundle_id")),
        created_at=created,
        expires_at=expires,
        lock=_lock_type(header),
        members=names,
        size=path.stat().st_size,
    )


def iter_file(path: Path) -> Iterator[bytes]:
    """A file's bytes in 64 KiB chunks (for members built from files)."""
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 16):
            yield chunk
