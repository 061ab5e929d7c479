"""The one place callrec touches ``cryptography``: a small recipe surface.

CONTRACT STUB - to be implemented. Signatures below are fixed; other modules code
against them.

Format (ARCHITECTURE.md §2): outer header ``CRX1`` (26 bytes)::

    magic b"CRX1" | u8 version=1 | u8 alg=1 (AES256_GCM_HKDF_SHA256)
    | 16-byte artefact key id (UUID bytes) | u32 BE ciphertext segment size

followed by a Tink ``AES256_GCM_HKDF`` streaming ciphertext (inner header
``u8 len=40 | 32-byte salt | 7-byte nonce prefix``; segment nonce
``prefix | BE32(i) | last-flag``; stream key = HKDF-SHA256(DEK, salt, info=AD), 32 bytes;
every ciphertext segment is ``segment_size`` bytes, the first including the inner
header, the last shorter or equal).

Associated data = outer header | lp(recording id) | lp(artefact kind) where
``lp(s) = BE16(len(utf8 s)) | utf8 s``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from storage.errors import FormatError, IntegrityError
from storage.models import Rng, SealInfo

SEGMENT_SIZE = 65536
KEY_SIZE = 32
OUTER_HEADER_SIZE = 26


def new_data_key(rng: Rng) -> bytes:
    """A fresh 32-byte data key (DEK) from ``rng``."""
    raise NotImplementedError


class Sealer:
    """Streaming writer: ``write()`` plaintext chunks, ``finish()`` once.

    Writes ciphertext to ``dst`` as segments fill; memory stays O(segment size).
    ``finish()`` writes the final segment and returns :class:`SealInfo`.
    """

    def __init__(
        self,
        dst: BinaryIO,
        dek: bytes,
        *,
        key_id: str,
        recording_id: str,
        artefact: str,
        rng: Rng,
        segment_size: int = SEGMENT_SIZE,
    ) -> None:
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def finish(self) -> SealInfo:
        raise NotImplementedError


def seal_stream(
    src: BinaryIO,
    dst: BinaryIO,
    dek: bytes,
    *,
    key_id: str,
    recording_id: str,
    artefact: str,
    rng: Rng,
    segment_size: int = SEGMENT_SIZE,
) -> SealInfo:
    """Seal everything readable from ``src`` into ``dst``."""
    raise NotImplementedError


class SealedReader:
    """Seekable reader over a sealed artefact. Never yields unverified plaintext."""

    key_id: str
    segment_size: int
    plaintext_size: int
    segments_decrypted: int

    def __init__(
        self, src: BinaryIO, dek: bytes, *, recording_id: str, artefact: str
    ) -> None:
        raise NotImplementedError

    def read_range(self, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        raise NotImplementedError

    def read_all(self) -> bytes:
        raise NotImplementedError


def read_key_id(src: BinaryIO) -> str:
    """The artefact key id from a ciphertext's outer header (no key needed)."""
    raise NotImplementedError


def _lp(value: str) -> bytes:
    """Length-prefixed UTF-8: BE16(len) | bytes. Makes concatenated fields unambiguous."""
    raw = value.encode("utf-8")
    if len(raw) > 0xFFFF:
        raise FormatError("identifier too long")
    return len(raw).to_bytes(2, "big") + raw


_WRAP_LABEL = b"dekwrap-v1"
_WRAP_NONCE = 12
WRAPPED_KEY_SIZE = _WRAP_NONCE + KEY_SIZE + 16


def _wrap_aad(recording_id: str, artefact: str, kek_version: int) -> bytes:
    return _WRAP_LABEL + _lp(recording_id) + _lp(artefact) + kek_version.to_bytes(4, "big")


def _check_key(key: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise FormatError("key must be 32 bytes")


def wrap_key(
    kek: bytes, kek_version: int, dek: bytes, *, recording_id: str, artefact: str, rng: Rng
) -> bytes:
    """Wrap a DEK under a KEK: ``nonce(12) | AES-256-GCM(dek) | tag`` (60 bytes).

    The associated data binds the recording id, the artefact kind and the KEK version, so
    a wrapped key moved to another recording, artefact or version fails to unwrap.
    """
    _check_key(kek)
    _check_key(dek)
    nonce = rng(_WRAP_NONCE)
    sealed = AESGCM(kek).encrypt(nonce, dek, _wrap_aad(recording_id, artefact, kek_version))
    return nonce + sealed


def unwrap_key(
    kek: bytes, kek_version: int, wrapped: bytes, *, recording_id: str, artefact: str
) -> bytes:
    """Unwrap a DEK; :class:`IntegrityError` on any mismatch (opaque by design)."""
    _check_key(kek)
    if len(wrapped) != WRAPPED_KEY_SIZE:
        raise IntegrityError()
    try:
        return AESGCM(kek).decrypt(
            wrapped[:_WRAP_NONCE],
            wrapped[_WRAP_NONCE:],
            _wrap_aad(recording_id, artefact, kek_version),
        )
    except InvalidTag as exc:
        raise IntegrityError() from exc


def rewrap_key(
    old_kek: bytes,
    old_version: int,
    new_kek: bytes,
    new_version: int,
    wrapped: bytes,
    *,
    recording_id: str,
    artefact: str,
    rng: Rng,
) -> bytes:
    """Move a wrapped DEK from one KEK version to another; the blob is never touched."""
    dek = unwrap_key(old_kek, old_version, wrapped, recording_id=recording_id, artefact=artefact)
    return wrap_key(new_kek, new_version, dek, recording_id=recording_id, artefact=artefact, rng=rng)


def lookup_digest(pepper: bytes, e164: str) -> str:
    """HMAC-SHA256(pepper, e164) as lowercase hex: finds a caller's calls on request."""
    if len(pepper) < 16:
        raise FormatError("pepper too short")
    mac = hmac.HMAC(pepper, hashes.SHA256())
    mac.update(e164.encode("utf-8"))
    return mac.finalize().hex()


def _signing_key(seed: bytes) -> Ed25519PrivateKey:
    if len(seed) != 32:
        raise FormatError("signing seed must be 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)


def signing_public_key(seed: bytes) -> bytes:
    """Raw 32-byte Ed25519 public key for a 32-byte private seed."""
    return _signing_key(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign(seed: bytes, message: bytes) -> bytes:
    """Ed25519 signature (64 bytes) over ``message``."""
    return _signing_key(seed).sign(message)


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise :class:`IntegrityError` unless ``signature`` is a valid Ed25519 signature."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError) as exc:
        raise IntegrityError() from exc
