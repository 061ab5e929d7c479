"""The master key ring: versioned KEKs, versioned lookup peppers and the audit signing seed.

One job: hold the few long-lived secrets at the top of the key hierarchy (ARCHITECTURE.md
§2) and hand them out by version. It never encrypts anything itself (that is
``storage.crypto``); it stores random bytes from an injected ``rng``.

The source is a :class:`KeyRing` protocol so a PKCS#11 token, Vault transit or a cloud KMS
can replace the local file later without touching callers. Two implementations:

- :class:`MemoryKeyRing`: for tests and demos.
- :class:`FileKeyRing`: the embedded default, a 0600 JSON file outside the data directory
  (:func:`default_keyring_path`), written atomically, refused when group/other can touch it
  or when another user owns it.

File format (version 1)::

    {"format": "callrec-keyring", "version": 1,
     "active_kek": 2, "keks": {"1": "<b64 32 bytes>", "2": "..."},
     "active_pepper": 1, "peppers": {"1": "<b64 32 bytes>"},
     "audit_signing_seed": "<b64 32 bytes>"}

Secrets never appear in ``repr``/``str`` or in error messages; parse errors are raised
without their cause attached, because ``json`` and ``codecs`` exceptions carry the
document they failed on.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from storage import safejson
from storage.errors import (
    KeyringError,
    KeyringExists,
    KeyringMissing,
    KeyringPermissions,
    MalformedJson,
)
from storage.fsutil import PRIVATE_FILE, make_private_dir, write_file_atomic
from storage.models import Rng

FORMAT = "callrec-keyring"
FORMAT_VERSION = 1
SECRET_SIZE = 32
MAX_FILE_SIZE = 1 << 20


class KeyRing(Protocol):
    """Versioned master secrets; a getter raises :class:`KeyringError` for an unknown version."""

    def active_kek_version(self) -> int:
        """The KEK version new data keys are wrapped under."""
        ...

    def kek(self, version: int) -> bytes:
        """The 32-byte KEK of ``version``."""
        ...

    def kek_versions(self) -> list[int]:
        """Every KEK version still held, ascending."""
        ...

    def active_pepper_version(self) -> int:
        """The pepper version new caller lookup digests are computed under."""
        ...

    def pepper(self, version: int) -> bytes:
        """The 32-byte lookup pepper of ``version``."""
        ...

    def audit_signing_seed(self) -> bytes:
        """The 32-byte Ed25519 seed that signs audit checkpoints."""
        ...

    def add_kek(self, rng: Rng) -> int:
        """Rotation: create, persist and activate a new KEK version; old ones are kept."""
        ...

    def retire_kek(self, version: int) -> None:
        """Forget an old, non-active KEK. The caller first proves no wrapped key uses it."""
        ...


@dataclass(frozen=True, slots=True)
class _Material:
    """An immutable snapshot of the secrets; changes build a new one (all or nothing)."""

    keks: Mapping[int, bytes]
    active_kek: int
    peppers: Mapping[int, bytes]
    active_pepper: int
    signing_seed: bytes

    def __repr__(self) -> str:
        return (
            f"kek_versions={sorted(self.keks)}, active_kek={self.active_kek}, "
            f"pepper_versions={sorted(self.peppers)}, active_pepper={self.active_pepper}"
        )

    @classmethod
    def generate(cls, rng: Rng) -> _Material:
        return cls(
            keks={1: _secret(rng)},
            active_kek=1,
            peppers={1: _secret(rng)},
            active_pepper=1,
            signing_seed=_secret(rng),
        )

    def with_new_kek(self, rng: Rng) -> tuple[_Material, int]:
        version = max(self.keks) + 1
        keks = {**self.keks, version: _secret(rng)}
        return replace(self, keks=keks, active_kek=version), version

    def without_kek(self, version: int) -> _Material:
        if version not in self.keks:
            raise KeyringError(f"no KEK version {version}")
        if version == self.active_kek:
            raise KeyringError("the active KEK cannot be retired")
        return replace(self, keks={v: k for v, k in self.keks.items() if v != version})

    def to_json(self) -> bytes:
        document = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "active_kek": self.active_kek,
            "keks": {str(v): _b64(k) for v, k in sorted(self.keks.items())},
            "active_pepper": self.active_pepper,
            "peppers": {str(v): _b64(p) for v, p in sorted(self.peppers.items())},
            "audit_signing_seed": _b64(self.signing_seed),
        }
        return json.dumps(document, indent=2).encode("ascii") + b"\n"

    @classmethod
    def from_json(cls, raw: bytes) -> _Material:
        try:
            document = safejson.loads(raw, limits=safejson.JsonLimits(max_bytes=MAX_FILE_SIZE))
        except MalformedJson:
            raise KeyringError("keyring file is corrupt: not JSON") from None
        if not isinstance(document, dict):
            raise KeyringError("keyring file is corrupt: not an object")
        if document.get("format") != FORMAT or document.get("version") != FORMAT_VERSION:
            raise KeyringError("keyring file has an unknown format or version")
        keks = _versions(document, "keks")
        peppers = _versions(document, "peppers")
        active_kek = _active(document, "active_kek", keks)
        active_pepper = _active(document, "active_pepper", peppers)
        seed = _unb64(document.get("audit_signing_seed"), "audit_signing_seed")
        return cls(
            keks=keks,
            active_kek=active_kek,
            peppers=peppers,
            active_pepper=active_pepper,
            signing_seed=seed,
        )


def _secret(rng: Rng) -> bytes:
    value = rng(SECRET_SIZE)
    if not isinstance(value, bytes) or len(value) != SECRET_SIZE:
        raise KeyringError("random source returned the wrong number of bytes")
    return value


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _unb64(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise KeyringError(f"keyring file is corrupt: {field}")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise KeyringError(f"keyring file is corrupt: {field}") from None
    if len(raw) != SECRET_SIZE:
        raise KeyringError(f"keyring file is corrupt: {field} is not {SECRET_SIZE} bytes")
    return raw


def _versions(document: dict[str, Any], field: str) -> dict[int, bytes]:
    table = document.get(field)
    if not isinstance(table, dict) or not table:
        raise KeyringError(f"keyring file is corrupt: {field}")
    result: dict[int, bytes] = {}
    for key, value in table.items():
        if not (isinstance(key, str) and key.isascii() and key.isdigit() and int(key) >= 1):
            raise KeyringError(f"keyring file is corrupt: {field} version")
        result[int(key)] = _unb64(value, f"{field}[{int(key)}]")
    return result


def _active(document: dict[str, Any], field: str, versions: Mapping[int, bytes]) -> int:
    value = document.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or value not in versions:
        raise KeyringError(f"keyring file is corrupt: {field}")
    return value


class _BaseKeyRing:
    """Getters over a :class:`_Material` snapshot; subclasses decide how changes persist."""

    def __init__(self, material: _Material) -> None:
        self._material = material

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._material!r})"

    def _refresh(self) -> bool:
        """Re-read the source after a miss (another process may have rotated). Default: no."""
        return False

    def _lookup(self, table: str, version: int) -> bytes:
        for attempt in range(2):
            secrets: Mapping[int, bytes] = getattr(self._material, table)
            if version in secrets:
                return secrets[version]
            if attempt == 0 and not self._refresh():
                break
        raise KeyringError(f"no {table[:-1].upper()} version {version} in the keyring")

    def active_kek_version(self) -> int:
        return self._material.active_kek

    def kek(self, version: int) -> bytes:
        return self._lookup("keks", version)

    def kek_versions(self) -> list[int]:
        return sorted(self._material.keks)

    def active_pepper_version(self) -> int:
        return self._material.active_pepper

    def pepper(self, version: int) -> bytes:
        return self._lookup("peppers", version)

    def audit_signing_seed(self) -> bytes:
        return self._material.signing_seed


class MemoryKeyRing(_BaseKeyRing):
    """A key ring that lives only in memory (tests, demos)."""

    @classmethod
    def generate(cls, rng: Rng) -> MemoryKeyRing:
        """A fresh ring: KEK v1, pepper v1 and a signing seed, 32 bytes each from ``rng``."""
        return cls(_Material.generate(rng))

    def add_kek(self, rng: Rng) -> int:
        self._material, version = self._material.with_new_kek(rng)
        return version

    def retire_kek(self, version: int) -> None:
        self._material = self._material.without_kek(version)


def default_keyring_path(data_dir: Path) -> Path:
    """Where the keyring lives unless configured: a sibling of the data dir, never inside it.

    ``/var/lib/callrec`` → ``/var/lib/callrec-keys/keyring.json``. Outside the data dir so a
    backup or copy of the data (ciphertext + wrapped keys) does not carry the KEKs with it.
    Pure: the CLI reads ``$CALLREC_KEYRING`` and passes an explicit path instead.
    """
    if data_dir.name in ("", ".", ".."):
        raise KeyringError("cannot derive a keyring path from this data directory; pass one")
    return data_dir.parent / f"{data_dir.name}-keys" / "keyring.json"


class FileKeyRing(_BaseKeyRing):
    """The local-file key ring: 0600, owned by the current user, replaced atomically."""

    def __init__(self, path: Path, material: _Material) -> None:
        super().__init__(material)
        self._path = path

    @property
    def path(self) -> Path:
        """The keyring file."""
        return self._path

    def __repr__(self) -> str:
        return f"FileKeyRing(path={str(self._path)!r}, {self._material!r})"

    @classmethod
    def create(cls, path: Path, rng: Rng) -> FileKeyRing:
        """Create a new keyring file (``callrec init``); :class:`KeyringExists` if one is there."""
        if os.path.lexists(path):
            raise KeyringExists(f"a keyring already exists at {path}; refusing to overwrite it")
        material = _Material.generate(rng)
        try:
            make_private_dir(path.parent)
            write_file_atomic(path, material.to_json(), replace=False)
        except FileExistsError as exc:
            raise KeyringExists(
                f"a keyring already exists at {path}; refusing to overwrite it"
            ) from exc
        except OSError as exc:
            raise KeyringError(f"cannot create the keyring at {path}: {exc.strerror}") from exc
        return cls(path, material)

    @classmethod
    def load(cls, path: Path) -> FileKeyRing:
        """Open an existing keyring, refusing one that others could read or that is corrupt."""
        return cls(path, _read(path)[0])

    def _refresh(self) -> bool:
        self._material = _read(self._path)[0]
        return True

    def add_kek(self, rng: Rng) -> int:
        """Add and activate a new KEK; the file is re-read under a lock and replaced atomically."""
        with self._locked():
            current, mode = _read(self._path)
            material, version = current.with_new_kek(rng)
            self._write(material, mode)
        return version

    def retire_kek(self, version: int) -> None:
        with self._locked():
            current, mode = _read(self._path)
            self._write(current.without_kek(version), mode)

    def _write(self, material: _Material, mode: int) -> None:
        try:
            write_file_atomic(self._path, material.to_json(), replace=True, mode=mode)
        except OSError as exc:
            raise KeyringError(f"cannot write the keyring at {self._path}: {exc.strerror}") from exc
        self._material = material

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive ``flock`` on the keyring's directory: one rotation at a time."""
        try:
            fd = os.open(self._path.parent, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise KeyringError(f"cannot lock the keyring at {self._path}") from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:
                raise KeyringError(f"cannot lock the keyring at {self._path}") from exc
            yield
        finally:
            os.close(fd)


def _read(path: Path) -> tuple[_Material, int]:
    """Read and check a keyring file; returns the material and the file's permission bits."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as exc:
        raise KeyringMissing(f"no keyring at {path}; run `callrec init` to create one") from exc
    except OSError as exc:
        raise KeyringError(f"cannot open the keyring at {path}: {exc.strerror}") from exc
    try:
        info = os.fstat(fd)
        _check_file(path, info)
        raw = b""
        while chunk := os.read(fd, MAX_FILE_SIZE + 1 - len(raw)):
            raw += chunk
            if len(raw) > MAX_FILE_SIZE:
                raise KeyringError(f"keyring file {path} is too large")
    except OSError as exc:
        raise KeyringError(f"cannot read the keyring at {path}: {exc.strerror}") from exc
    finally:
        os.close(fd)
    return _Material.from_json(raw), stat.S_IMODE(info.st_mode) or PRIVATE_FILE


def _check_file(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise KeyringError(f"keyring path {path} is not a regular file")
    if info.st_uid != os.geteuid():
        raise KeyringPermissions(
            f"keyring {path} is owned by uid {info.st_uid}, not by the current user "
            f"(uid {os.geteuid()}); run callrec as its owner or `chown` it"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise KeyringPermissions(
            f"keyring {path} is accessible by group or other users (mode {mode:04o}); "
            f"fix with `chmod 600 {path}`"
        )
