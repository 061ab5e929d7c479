"""The one exception tree of the storage package.

Every error about data, keys, disks or the database raised out of ``storage`` is a
:class:`StorageError`. Programming mistakes by the caller (a negative offset, writing to a
finished ``Sealer``) raise ``ValueError`` like the standard library does. Library errors
(``cryptography``, ``sqlite3``, ``OSError`` from blob I/O) are translated in the module
that owns the library, with ``raise ... from exc``; a test proves no raw library error
escapes. Messages never carry phone numbers, transcript text or key material.

::

    StorageError
    ├── IntegrityError          opaque: any authentication / tamper failure (wrong key,
    │                           flipped bit, truncation, reordering, swapped artefact)
    ├── FormatError             a ciphertext we do not understand (bad magic, version,
    │                           algorithm, segment size) - detected before any crypto
    ├── LimitError              a request the format refuses (segment counter >= 2**32)
    ├── KeyringError            the master key ring cannot be used
    │   ├── KeyringMissing      no keyring at the configured path (run `callrec init`)
    │   ├── KeyringExists       `init` would overwrite an existing keyring
    │   └── KeyringPermissions  keyring readable by group/other: refused
    ├── GoneError               the artefact/recording was destroyed (its key is gone)
    ├── NotFoundError           no such recording / artefact / blob
    ├── BlobError               durable blob write/read failed (disk full, I/O error)
    ├── CatalogError            the catalog database cannot be used
    │   ├── PragmaError         WAL / synchronous=FULL / secure_delete / foreign_keys not in force
    │   ├── SchemaError         database schema newer than this code, or corrupt
    │   └── DuplicateError      (provider, provider id) already stored
    ├── MalformedJson           a JSON document over the size, nesting or integer-digit
    │                           limits of storage.safejson, or not UTF-8 JSON at all
    ├── AuditError              the audit log cannot be written or read; an event refused
    │   │                       (PII guard, bad field); a corrupt checkpoint file line
    │   └── AuditChainBroken    verify() found the first bad entry (``.seq``, ``.reason``;
    │                           for a bad checkpoint, ``.seq`` is its size)
    └── JobError                the job queue cannot be used; a payload refused
        └── LeaseLost           complete/retry/fail by a worker whose lease is gone
"""

from __future__ import annotations


class StorageError(Exception):
    """Root of every error raised by the storage package."""


class IntegrityError(StorageError):
    """Authentication failed. Deliberately opaque: no detail about why or where."""

    def __init__(self, message: str = "ciphertext failed authentication") -> None:
        super().__init__(message)


class FormatError(StorageError):
    """The bytes are not a ciphertext this version understands."""


class LimitError(StorageError):
    """The operation would exceed a hard limit of the format."""


class KeyringError(StorageError):
    """The master key ring cannot be used."""


class KeyringMissing(KeyringError):
    """No keyring exists at the configured path."""


class KeyringExists(KeyringError):
    """A keyring already exists where one would be created."""


class KeyringPermissions(KeyringError):
    """The keyring file is accessible to group or other users."""


class GoneError(StorageError):
    """The artefact was destroyed (crypto-shredded); it can never be read again."""


class NotFoundError(StorageError):
    """No such recording, artefact or blob."""


class BlobError(StorageError):
    """A blob could not be written durably or read."""


class CatalogError(StorageError):
    """The catalog database cannot be used."""


class PragmaError(CatalogError):
    """A required SQLite pragma is not in force."""


class SchemaError(CatalogError):
    """The database schema is unknown, newer than this code, or corrupt."""


class DuplicateError(CatalogError):
    """A recording with the same (provider, provider id) already exists."""


class MalformedJson(StorageError):
    """A JSON document refused by :func:`storage.safejson.loads` (a fixed phrase says why)."""


class AuditError(StorageError):
    """The audit log cannot be written or read."""


class AuditChainBroken(AuditError):
    """The audit chain failed verification; ``seq`` is the first bad entry."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"audit chain broken at entry {seq}: {reason}")
        self.seq = seq
        self.reason = reason


class JobError(StorageError):
    """The durable job queue cannot be used, or a job request was refused."""


class LeaseLost(JobError):
    """The job is no longer leased by this worker (its lease expired and another took it)."""
