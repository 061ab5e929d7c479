"""The storage facade: store, open, verify, shred and re-key encrypted artefacts.

One job: tie the key hierarchy (``keyring`` -> wrapped DEK in ``catalog``), the ciphertext
format (``crypto``), durable blobs (``blobs``) and the audit chain (``audit``) together, so
callers never handle a data key themselves.

Writing an artefact::

    fresh DEK ─► Sealer ─► blobs.write(id)  (temp, fsync, rename, fsync dir)
             └─► wrap under the active KEK ─► catalog: artefact row + key row

A crash after the blob is durable but before its row commits leaves an orphan blob that
``fsck`` removes (invariant I3); a crash before leaves only a temp file, also removed. The
DEK exists only in memory.

Destroying an artefact is crypto-shredding: the wrapped key row is deleted with
``secure_delete=ON``, the WAL is checkpointed with TRUNCATE (so no copy of the key
survives in the WAL), a receipt goes to the audit log, and only then is the ciphertext
deleted, as best effort.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from storage import crypto
from storage.audit import AuditLog
from storage.audit_policy import DEFAULT_POLICY
from storage.blobs import BlobStore, FileBlobStore
from storage.catalog import Catalog
from storage.errors import BlobError, GoneError, IntegrityError
from storage.guard import Guard
from storage.keyring import KeyRing
from storage.models import (
    Artefact,
    ArtefactKind,
    AuditEvent,
    Rng,
    SealInfo,
    State,
    WrappedKey,
)

log = logging.getLogger(__name__)

DB_NAME = "catalog.db"
BLOBS_DIR = "blobs"
CHECKPOINTS_NAME = "audit-checkpoints.jsonl"
READ_CHUNK = 1 << 16
SYSTEM_ACTOR = "system"


def new_id(rng: Rng) -> str:
    """A random UUID4 as 32 lowercase hex chars: our only kind of blob/artefact name."""
    return uuid.UUID(bytes=rng(16), version=4).hex


def _chunks(src: BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(src, Iterable) and not hasattr(src, "read"):
        yield from src
        return
    reader: BinaryIO = src  # type: ignore[assignment]
    while chunk := reader.read(READ_CHUNK):
        yield chunk


@dataclass(frozen=True, slots=True, kw_only=True)
class Sealed:
    """A durable, sealed blob whose catalog rows are not written yet."""

    artefact_id: str
    recording_id: str
    kind: ArtefactKind
    info: SealInfo
    key: WrappedKey


@dataclass(frozen=True, slots=True, kw_only=True)
class RotationReport:
    """Outcome of a KEK rotation pass."""

    kek_version: int
    rewrapped: int
    remaining: int
    started_new_version: bool


class Vault:
    """Encrypted artefacts with per-artefact keys under a rotatable master key ring."""

    def __init__(
        self, *, catalog: Catalog, blobs: BlobStore, keyring: KeyRing, audit: AuditLog
    ) -> None:
        self.catalog = catalog
        self.blobs = blobs
        self.keyring = keyring
        self.audit = audit
        if catalog.guard is None:  # rows are sealed and checked under the keyring's key
            catalog.attach_guard(Guard.from_seed(keyring.audit_signing_seed()))
        catalog.on_commit(audit.committed)  # automatic checkpoints (storage.audit_policy)

    @classmethod
    def open(cls, data_dir: Path, keyring: KeyRing) -> Vault:
        """Open (creating if needed) the embedded default: SQLite + local encrypted files."""
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        catalog = Catalog.open(
            data_dir / DB_NAME, guard=Guard.from_seed(keyring.audit_signing_seed())
        )
        audit = AuditLog(
            catalog.connection,
            signing_seed=keyring.audit_signing_seed(),
            checkpoint_path=data_dir / CHECKPOINTS_NAME,
            policy=DEFAULT_POLICY,
        )
        return cls(
            catalog=catalog,
            blobs=FileBlobStore(data_dir / BLOBS_DIR),
            keyring=keyring,
            audit=audit,
        )

    def close(self) -> None:
        """Close the catalog connection."""
        self.catalog.close()

    # -- writing -------------------------------------------------------------------------

    def seal(
        self,
        recording_id: str,
        kind: ArtefactKind,
        src: BinaryIO | Iterable[bytes],
        *,
        rng: Rng,
    ) -> Sealed:
        """Seal ``src`` under a fresh data key into a durable blob; no catalog rows yet.

        The data key is wrapped under the active KEK at once and then forgotten. Sealing
        happens outside any database transaction, so a long recording never holds the
        catalog's write lock; :meth:`register` then records it in the caller's
        transaction. If the caller never registers it (crash, duplicate), the blob is an
        orphan that :meth:`discard` or ``fsck --repair`` removes.
        """
        artefact_id = new_id(rng)
        dek = crypto.new_data_key(rng)
        with self.blobs.write(artefact_id) as out:
            sealer = crypto.Sealer(
                out, dek, key_id=artefact_id, recording_id=recording_id, artefact=kind, rng=rng
            )
            for chunk in _chunks(src):
                sealer.write(chunk)
            info = sealer.finish()
        version = self.keyring.active_kek_version()
        wrapped = crypto.wrap_key(
            self.keyring.kek(version),
            version,
            dek,
            recording_id=recording_id,
            artefact=kind,
            rng=rng,
        )
        return Sealed(
            artefact_id=artefact_id,
            recording_id=recording_id,
            kind=kind,
            info=info,
            key=WrappedKey(artefact_id=artefact_id, kek_version=version, wrapped=wrapped),
        )

    def register(
        self, sealed: Sealed, *, now: datetime, expires_at: datetime | None = None
    ) -> Artefact:
        """Record a sealed blob: artefact row + wrapped key row (joins an open transaction)."""
        artefact = Artefact(
            id=sealed.artefact_id,
            recording_id=sealed.recording_id,
            kind=sealed.kind,
            state=State.AVAILABLE,
            plaintext_size=sealed.info.plaintext_size,
            plaintext_sha256=sealed.info.plaintext_sha256,
            ciphertext_size=sealed.info.ciphertext_size,
            created_at=now,
            expires_at=expires_at,
        )
        self.catalog.insert_artefact(artefact, sealed.key)
        return artefact

    def discard(self, sealed: Sealed) -> None:
        """Delete the blob of a sealed artefact that will not be registered."""
        self._delete_blob(sealed.artefact_id)

    def store_artefact(
        self,
        recording_id: str,
        kind: ArtefactKind,
        src: BinaryIO | Iterable[bytes],
        *,
        now: datetime,
        rng: Rng,
        expires_at: datetime | None = None,
    ) -> Artefact:
        """:meth:`seal` then :meth:`register`; the blob is removed if registering fails."""
        sealed = self.seal(recording_id, kind, src, rng=rng)
        try:
            return self.register(sealed, now=now, expires_at=expires_at)
        except BaseException:
            self.discard(sealed)
            raise

    # -- reading -------------------------------------------------------------------------

    def _data_key(self, artefact: Artefact) -> bytes:
        if artefact.state is State.DESTROYED:
            raise GoneError("artefact was destroyed")
        key = self.catalog.get_wrapped_key(artefact.id)
        return crypto.unwrap_key(
            self.keyring.kek(key.kek_version),
            key.kek_version,
            key.wrapped,
            recording_id=artefact.recording_id,
            artefact=artefact.kind,
        )

    @contextmanager
    def open_artefact(
        self, artefact_id: str, *, ciphertext: BinaryIO | None = None
    ) -> Iterator[crypto.SealedReader]:
        """A seekable, authenticating reader over one artefact's plaintext.

        Raises :class:`GoneError` for a shredded artefact and the opaque
        :class:`IntegrityError` for anything that fails authentication. ``ciphertext``
        reads another copy of the artefact's bytes instead of the stored blob (the
        self-check uses it to prove a tampered copy is refused).
        """
        artefact = self.catalog.get_artefact(artefact_id)
        dek = self._data_key(artefact)
        stream = self.blobs.open(artefact_id) if ciphertext is None else ciphertext
        try:
            yield crypto.SealedReader(
                stream, dek, recording_id=artefact.recording_id, artefact=artefact.kind
            )
        finally:
            stream.close()

    def verify_artefact(self, artefact_id: str) -> None:
        """Decrypt everything and compare with the SHA-256 taken at capture (invariant I1)."""
        artefact = self.catalog.get_artefact(artefact_id)
        digest = hashlib.sha256()
        size = 0
        with self.open_artefact(artefact_id) as reader:
            for chunk in reader.read_range(0):
                digest.update(chunk)
                size += len(chunk)
        if size != artefact.plaintext_size or digest.hexdigest() != artefact.plaintext_sha256:
            raise IntegrityError()

    # -- destroying ----------------------------------------------------------------------

    def shred_artefact(
        self,
        artefact_id: str,
        *,
        now: datetime,
        reason: str,
        actor_id: str = SYSTEM_ACTOR,
        actor_role: str = SYSTEM_ACTOR,
    ) -> bool:
        """Crypto-shred one artefact. Idempotent: returns False if it was already gone."""
        artefact = self.catalog.get_artefact(artefact_id)
        if artefact.state is State.DESTROYED:
            self._delete_blob(artefact_id)
            return False
        with self.catalog.transaction():
            self.catalog.destroy_key(artefact_id)
            self.catalog.set_artefact_state(artefact_id, State.DESTROYED)
            self.audit.append(
                AuditEvent(
                    ts=now,
                    actor_id=actor_id,
                    actor_role=actor_role,
                    action="artefact.shred",
                    outcome="ok",
                    recording_id=artefact.recording_id,
                    artefact=artefact.kind,
                    reason=reason,
                )
            )
        self.catalog.checkpoint()
        self._delete_blob(artefact_id)
        return True

    def _delete_blob(self, artefact_id: str) -> None:
        try:
            self.blobs.delete(artefact_id)
        except BlobError:
            # Best effort: the key is already gone, the ciphertext is noise; fsck removes it.
            log.warning("could not delete blob %s; fsck will remove it", artefact_id)

    # -- master key rotation ---------------------------------------------------------------

    def rotation_pending(self) -> int:
        """How many wrapped keys are not yet on the active KEK version."""
        active = self.keyring.active_kek_version()
        return sum(n for v, n in self.catalog.count_keys_by_version().items() if v != active)

    def rotate_keys(
        self,
        *,
        now: datetime,
        rng: Rng,
        start_new: bool,
        batch: int = 200,
        progress: Callable[[int, int], None] | None = None,
        on_key: Callable[[int], None] | None = None,
    ) -> RotationReport:
        """Rewrap every data key under the active (or a new) KEK; blob bytes are untouched.

        ``start_new`` creates a new KEK version first (persisted before any rewrap), so a
        rotation killed at any point is resumed by calling again with ``start_new=False``:
        each batch commits on its own and keys already on the active version are skipped.
        ``on_key`` is a test hook called before each rewrap (crash injection).
        """
        if start_new:
            version = self.keyring.add_kek(rng)
        else:
            version = self.keyring.active_kek_version()
        new_kek = self.keyring.kek(version)
        total = self.rotation_pending()
        self.audit.append(
            AuditEvent(
                ts=now,
                actor_id=SYSTEM_ACTOR,
                actor_role=SYSTEM_ACTOR,
                action="keys.rotate.start" if start_new else "keys.rotate.resume",
                outcome="ok",
                detail={"kek_version": version, "pending": total},
            )
        )
        done = 0
        while rows := self.catalog.keys_not_on_version(version, batch):
            with self.catalog.transaction():
                for artefact, key in rows:
                    if on_key is not None:
                        on_key(done)
                    wrapped = crypto.rewrap_key(
                        self.keyring.kek(key.kek_version),
                        key.kek_version,
                        new_kek,
                        version,
                        key.wrapped,
                        recording_id=artefact.recording_id,
                        artefact=artefact.kind,
                        rng=rng,
                    )
                    self.catalog.update_wrapped_key(artefact.id, version, wrapped)
                    done += 1
            if progress is not None:
                progress(done, total)
        self.audit.append(
            AuditEvent(
                ts=now,
                actor_id=SYSTEM_ACTOR,
                actor_role=SYSTEM_ACTOR,
                action="keys.rotate.done",
                outcome="ok",
                detail={"kek_version": version, "rewrapped": done},
            )
        )
        # Old wrapped keys were overwritten in place; checkpoint so no copy lingers in the WAL.
        self.catalog.checkpoint()
        return RotationReport(
            kek_version=version,
            rewrapped=done,
            remaining=self.rotation_pending(),
            started_new_version=start_new,
        )
