"""The one place callrec touches ``cryptography``: a small recipe surface.

Streaming ciphertext format (ARCHITECTURE.md §2). Outer header ``CRX1`` (26 bytes)::

    magic b"CRX1" | u8 version=1 | u8 alg=1 (AES256_GCM_HKDF_SHA256)
    | 16-byte artefact key id (UUID bytes) | u32 BE ciphertext segment size

followed by a Tink ``AES256_GCM_HKDF`` streaming ciphertext, byte for byte (the PyPI
``tink`` package is the test oracle):

* inner header ``u8 len=40 | 32-byte salt | 7-byte nonce prefix``;
* stream key = HKDF-SHA256(ikm=DEK, salt=salt, info=AD), 32 bytes;
* segment ``i`` nonce = ``prefix | BE32(i) | 0x01 if last else 0x00``, no per-segment AAD;
* every ciphertext segment is ``segment_size`` bytes (the first one's budget includes the
  inner header), the last one shorter or equal; a full segment is written as non-final
  only when more data follows, and an empty plaintext is one empty final segment.

Associated data = outer header | lp(recording id) | lp(artefact kind) where
``lp(s) = BE16(len(utf8 s)) | utf8 s``: editing any header field that still parses, or
moving a ciphertext to another recording or artefact kind, fails authentication.

Reading derives the segment count from the ciphertext length. Truncation at a segment
boundary is caught by the last-segment flag; any other length change, dropped,
duplicated or reordered segment by the position bound into each nonce. Every
authentication failure is the single opaque :class:`IntegrityError`.
"""

from __future__ import annotations

import hashlib
import io
import struct
import uuid
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from storage.errors import FormatError, IntegrityError, LimitError
from storage.models import Rng, SealInfo

SEGMENT_SIZE = 65536
KEY_SIZE = 32
OUTER_HEADER_SIZE = 26
#: Smallest and largest ciphertext segment size accepted (tiny sizes serve tests; the
#: upper bound keeps a reader's memory bounded whatever a header claims).
MIN_SEGMENT_SIZE = 64
MAX_SEGMENT_SIZE = 1 << 24
#: Segment numbers are BE32 in the nonce: at most 2**32 segments, numbered 0..2**32-1.
MAX_SEGMENTS = 1 << 32

_MAGIC = b"CRX1"
_VERSION = 1
_ALG_AES256_GCM_HKDF_SHA256 = 1
_OUTER = struct.Struct(">4sBB16sI")
_SALT_SIZE = 32
_NONCE_PREFIX_SIZE = 7
_INNER_HEADER_SIZE = 1 + _SALT_SIZE + _NONCE_PREFIX_SIZE  # 40, Tink's header length byte
_TAG_SIZE = 16
_FIRST_OVERHEAD = _INNER_HEADER_SIZE + _TAG_SIZE  # 56: first segment carries the header
_LAST = b"\x01"
_NOT_LAST = b"\x00"
_READ_CHUNK = 1 << 20


def _lp(value: str) -> bytes:
    """Length-prefixed UTF-8: BE16(len) | bytes. Makes concatenated fields unambiguous."""
    raw = value.encode("utf-8")
    if len(raw) > 0xFFFF:
        raise FormatError("identifier too long")
    return len(raw).to_bytes(2, "big") + raw


def _check_key(key: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise FormatError("key must be 32 bytes")


def _check_segment_size(segment_size: int) -> None:
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise FormatError(
            f"segment size must be between {MIN_SEGMENT_SIZE} and {MAX_SEGMENT_SIZE} bytes"
        )


def _random(rng: Rng, size: int) -> bytes:
    value = rng(size)
    if len(value) != size:
        raise ValueError("rng returned the wrong number of bytes")
    return value


def _key_id_bytes(key_id: str) -> bytes:
    try:
        return uuid.UUID(key_id).bytes
    except (ValueError, TypeError, AttributeError) as exc:
        raise FormatError("key id must be a UUID") from exc


def _stream_aead(dek: bytes, salt: bytes, associated_data: bytes) -> AESGCM:
    """The per-stream AES-256-GCM instance: key = HKDF-SHA256(DEK, salt, info=AD)."""
    key = HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt, info=associated_data)
    return AESGCM(key.derive(dek))


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (_LAST if last else _NOT_LAST)


def _write_all(dst: BinaryIO, data: bytes | bytearray | memoryview) -> None:
    """Write every byte (a raw file may accept fewer bytes than offered)."""
    view = memoryview(data)
    while view:
        written = dst.write(view)
        if written is None or written <= 0:
            raise OSError("write made no progress")
        view = view[written:]


def _read_exact(src: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes; fewer only at end of file."""
    data = src.read(size)
    if data is None:
        data = b""
    if len(data) >= size:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = src.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def _parse_outer_header(header: bytes) -> tuple[str, int]:
    """Key id and segment size from an outer header; FormatError if not ours.

    A header that is a valid prefix of ours but too short is a truncated ciphertext
    (IntegrityError: truncation is never mistaken for a format question or an EOF).
    """
    if header[:4] != _MAGIC[: len(header)]:
        raise FormatError("not a callrec ciphertext")
    if len(header) > 4 and header[4] != _VERSION:
        raise FormatError("unsupported ciphertext version")
    if len(header) > 5 and header[5] != _ALG_AES256_GCM_HKDF_SHA256:
        raise FormatError("unsupported ciphertext algorithm")
    if len(header) < OUTER_HEADER_SIZE:
        raise IntegrityError()
    _, _, _, key_id, segment_size = _OUTER.unpack(header)
    _check_segment_size(segment_size)
    return str(uuid.UUID(bytes=key_id)), segment_size


def new_data_key(rng: Rng) -> bytes:
    """A fresh 32-byte data key (DEK) from ``rng``."""
    return _random(rng, KEY_SIZE)


class Sealer:
    """Streaming writer: ``write()`` plaintext chunks, ``finish()`` once.

    Writes ciphertext to ``dst`` as segments fill; memory stays O(segment size): at most
    one segment of plaintext is buffered and one ciphertext buffer is reused. The outer
    and inner headers are written by the constructor. ``finish()`` writes the final
    segment and returns :class:`SealInfo`; the caller owns (and closes) ``dst``.
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
        _check_key(dek)
        _check_segment_size(segment_size)
        header = _OUTER.pack(
            _MAGIC, _VERSION, _ALG_AES256_GCM_HKDF_SHA256, _key_id_bytes(key_id), segment_size
        )
        associated_data = header + _lp(recording_id) + _lp(artefact)
        salt = _random(rng, _SALT_SIZE)
        self._prefix = _random(rng, _NONCE_PREFIX_SIZE)
        self._aead = _stream_aead(dek, salt, associated_data)
        self._dst = dst
        self._segment_size = segment_size
        self._index = 0  # number of the segment being filled (a private hook for tests)
        self._buf = bytearray()
        self._out = bytearray(segment_size)
        self._digest = hashlib.sha256()
        self._plaintext_size = 0
        self._closed = False
        inner = bytes([_INNER_HEADER_SIZE]) + salt + self._prefix
        _write_all(dst, header + inner)
        self._ciphertext_size = OUTER_HEADER_SIZE + _INNER_HEADER_SIZE

    def _capacity(self) -> int:
        """Plaintext bytes that fit in the segment being filled."""
        if self._index == 0:
            return self._segment_size - _FIRST_OVERHEAD
        return self._segment_size - _TAG_SIZE

    def _emit(self, plaintext: bytes | bytearray | memoryview, *, last: bool) -> None:
        """Encrypt one segment into the reused output buffer and write it out."""
        index = self._index
        if index >= MAX_SEGMENTS or (not last and index == MAX_SEGMENTS - 1):
            raise LimitError("segment counter would exceed 2**32 - 1")
        size = len(plaintext) + _TAG_SIZE
        out = memoryview(self._out)[:size]
        self._aead.encrypt_into(_nonce(self._prefix, index, last), plaintext, None, out)
        _write_all(self._dst, out)
        self._ciphertext_size += size
        self._index = index + 1

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Add plaintext. Full segments are sealed once more data is known to follow."""
        if self._closed:
            raise ValueError("sealer is finished")
        view = memoryview(data).cast("B")
        if not view:
            return
        try:
            self._write(view)
        except BaseException:
            # Never resume after a failure: a retry could seal new plaintext under a
            # segment number (nonce) already used, which GCM cannot survive.
            self._closed = True
            raise

    def _write(self, view: memoryview) -> None:
        self._digest.update(view)
        self._plaintext_size += len(view)
        buf = self._buf
        while view:
            capacity = self._capacity()
            if len(buf) == capacity:
                # A full buffered segment, and more data follows: it is not the last.
                self._emit(buf, last=False)
                buf.clear()
                capacity = self._capacity()
            if not buf and len(view) > capacity:
                # Fast path: seal straight from the caller's buffer, no copy.
                self._emit(view[:capacity], last=False)
                view = view[capacity:]
                continue
            take = min(capacity - len(buf), len(view))
            buf += view[:take]
            view = view[take:]

    def finish(self) -> SealInfo:
        """Seal the buffered remainder as the final segment (possibly empty)."""
        if self._closed:
            raise ValueError("sealer is finished")
        self._closed = True
        self._emit(self._buf, last=True)
        self._buf = bytearray()
        self._out = bytearray()
        return SealInfo(
            plaintext_size=self._plaintext_size,
            plaintext_sha256=self._digest.hexdigest(),
            ciphertext_size=self._ciphertext_size,
            segments=self._index,
        )


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
    """Seal everything readable from ``src`` into ``dst``, reading in bounded chunks."""
    sealer = Sealer(
        dst,
        dek,
        key_id=key_id,
        recording_id=recording_id,
        artefact=artefact,
        rng=rng,
        segment_size=segment_size,
    )
    chunk = max(segment_size, _READ_CHUNK // segment_size * segment_size)
    while True:
        data = src.read(chunk)
        if not data:
            break
        sealer.write(data)
    return sealer.finish()


class SealedReader:
    """Seekable reader over a sealed artefact. Never yields unverified plaintext.

    ``src`` is a seekable binary file holding exactly one ciphertext from offset 0. The
    constructor reads only the headers and the file length; each read decrypts just the
    segments overlapping the requested range (``segments_decrypted`` counts them), and a
    segment's plaintext is released only after its GCM tag has verified.

    The reader owns ``src``'s position: to skip a seek per segment on sequential reads it
    remembers where it left the file. Moving the position behind its back cannot yield
    wrong plaintext (every segment is bound to its number), only an IntegrityError.
    """

    key_id: str
    segment_size: int
    plaintext_size: int
    segments_decrypted: int

    def __init__(self, src: BinaryIO, dek: bytes, *, recording_id: str, artefact: str) -> None:
        _check_key(dek)
        src.seek(0)
        header = _read_exact(src, OUTER_HEADER_SIZE)
        self.key_id, self.segment_size = _parse_outer_header(header)
        segment_size = self.segment_size
        body = src.seek(0, io.SEEK_END) - OUTER_HEADER_SIZE
        if body < _FIRST_OVERHEAD:
            raise IntegrityError()
        count = -(-body // segment_size)
        last_size = body - (count - 1) * segment_size
        if count > 1 and last_size < _TAG_SIZE:
            raise IntegrityError()
        if count > MAX_SEGMENTS:
            raise LimitError("ciphertext has more than 2**32 segments")
        src.seek(OUTER_HEADER_SIZE)
        inner = _read_exact(src, _INNER_HEADER_SIZE)
        if len(inner) != _INNER_HEADER_SIZE or inner[0] != _INNER_HEADER_SIZE:
            raise IntegrityError()
        associated_data = header + _lp(recording_id) + _lp(artefact)
        self._aead = _stream_aead(dek, inner[1 : 1 + _SALT_SIZE], associated_data)
        self._prefix = inner[1 + _SALT_SIZE :]
        self._src = src
        # Where src is, if this reader put it there (None: unknown, seek first).
        self._position: int | None = OUTER_HEADER_SIZE + _INNER_HEADER_SIZE
        self._count = count
        self._body = body
        self._first_capacity = segment_size - _FIRST_OVERHEAD
        self._capacity = segment_size - _TAG_SIZE
        self.plaintext_size = body - _INNER_HEADER_SIZE - count * _TAG_SIZE
        self.segments_decrypted = 0

    def _segment_of(self, offset: int) -> int:
        """The segment holding plaintext byte ``offset`` (0 <= offset < plaintext_size)."""
        if offset < self._first_capacity:
            return 0
        return 1 + (offset - self._first_capacity) // self._capacity

    def _plaintext_start(self, index: int) -> int:
        if index == 0:
            return 0
        return self._first_capacity + (index - 1) * self._capacity

    def _decrypt(self, index: int) -> bytes:
        """Read, authenticate and decrypt one segment; IntegrityError on any mismatch."""
        size = self.segment_size
        start = _INNER_HEADER_SIZE if index == 0 else index * size
        end = min((index + 1) * size, self._body)
        position = OUTER_HEADER_SIZE + start
        if position != self._position:
            self._src.seek(position)
        self._position = None  # unknown until the read below completes
        ciphertext = _read_exact(self._src, end - start)
        if len(ciphertext) != end - start:
            raise IntegrityError()  # the file shrank under us
        self._position = position + len(ciphertext)
        last = index == self._count - 1
        self.segments_decrypted += 1
        try:
            return self._aead.decrypt(_nonce(self._prefix, index, last), ciphertext, None)
        except InvalidTag as exc:
            raise IntegrityError() from exc

    def read_range(self, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """Yield the verified plaintext of ``[offset, offset + length)``, segment by segment.

        The range is clipped to the plaintext. With ``length=None`` the read runs to the
        end and always authenticates the final segment, so a truncated or extended
        ciphertext fails even when the tail of the range is empty.
        """
        if offset < 0 or (length is not None and length < 0):
            raise ValueError("offset and length must be non-negative")
        end = self.plaintext_size if length is None else min(offset + length, self.plaintext_size)
        start = min(offset, end)
        if start < end:
            first, last = self._segment_of(start), self._segment_of(end - 1)
        elif length is None:
            first = last = self._count - 1
        else:
            return iter(())
        if length is None:
            last = self._count - 1
        return self._iter_segments(first, last, start, end)

    def _iter_segments(self, first: int, last: int, start: int, end: int) -> Iterator[bytes]:
        for index in range(first, last + 1):
            plaintext = self._decrypt(index)
            base = self._plaintext_start(index)
            lo = max(start - base, 0)
            hi = min(end - base, len(plaintext))
            if lo == 0 and hi == len(plaintext):
                if plaintext:
                    yield plaintext
            elif lo < hi:
                yield plaintext[lo:hi]

    def read_all(self) -> bytes:
        """The whole verified plaintext (memory O(plaintext); prefer ``read_range``)."""
        return b"".join(self.read_range())


def read_key_id(src: BinaryIO) -> str:
    """The artefact key id from a ciphertext's outer header (no key needed).

    Reads from offset 0 of ``src``. The id is not authenticated here: only a reader with
    the data key proves it (the header is part of the associated data).
    """
    src.seek(0)
    return _parse_outer_header(_read_exact(src, OUTER_HEADER_SIZE))[0]


_WRAP_LABEL = b"dekwrap-v1"
_WRAP_NONCE = 12
WRAPPED_KEY_SIZE = _WRAP_NONCE + KEY_SIZE + 16


def _wrap_aad(recording_id: str, artefact: str, kek_version: int) -> bytes:
    return _WRAP_LABEL + _lp(recording_id) + _lp(artefact) + kek_version.to_bytes(4, "big")


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
    return wrap_key(
        new_kek, new_version, dek, recording_id=recording_id, artefact=artefact, rng=rng
    )


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


# -- export bundles: a key from a passphrase (scrypt) or for a recipient (X25519) ---------

#: scrypt cost for bundle passphrases: N = 2**17, r = 8, p = 1 (128 MiB, OWASP's minimum).
SCRYPT_LOG2_N = 17
#: Largest cost a bundle header may ask a reader for (bounds memory on hostile input).
SCRYPT_MAX_LOG2_N = 18
_SCRYPT_R = 8
_SCRYPT_P = 1


def passphrase_key(passphrase: bytes, salt: bytes, *, log2_n: int = SCRYPT_LOG2_N) -> bytes:
    """A 32-byte key from a passphrase with scrypt (N = 2**log2_n, r = 8, p = 1).

    :class:`FormatError` for an empty passphrase, a salt under 16 bytes or a cost outside
    10..:data:`SCRYPT_MAX_LOG2_N`.
    """
    if not passphrase:
        raise FormatError("passphrase is empty")
    if len(salt) < 16:
        raise FormatError("scrypt salt must be at least 16 bytes")
    if not 10 <= log2_n <= SCRYPT_MAX_LOG2_N:
        raise FormatError("scrypt cost out of range")
    kdf = Scrypt(salt=salt, length=KEY_SIZE, n=1 << log2_n, r=_SCRYPT_R, p=_SCRYPT_P)
    return kdf.derive(passphrase)


def x25519_keypair(rng: Rng) -> tuple[bytes, bytes]:
    """A fresh X25519 key pair ``(private, public)``, 32 raw bytes each, from ``rng``."""
    private = X25519PrivateKey.from_private_bytes(_random(rng, KEY_SIZE))
    return _x25519_private_raw(private), _x25519_public_raw(private)


def x25519_public(private: bytes) -> bytes:
    """The raw public key of a raw 32-byte X25519 private key."""
    return _x25519_public_raw(_x25519_private(private))


def _x25519_private(raw: bytes) -> X25519PrivateKey:
    if len(raw) != KEY_SIZE:
        raise FormatError("X25519 private key must be 32 bytes")
    return X25519PrivateKey.from_private_bytes(raw)


def _x25519_private_raw(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def _x25519_public_raw(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _x25519_key(shared: bytes, ephemeral: bytes, recipient: bytes, info: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_SIZE, salt=ephemeral + recipient, info=info
    ).derive(shared)


def x25519_sender_key(recipient_public: bytes, *, rng: Rng, info: bytes) -> tuple[bytes, bytes]:
    """ECIES-style key agreement for one message: ``(ephemeral public key, 32-byte key)``.

    key = HKDF-SHA256(X25519(ephemeral, recipient), salt = ephemeral pub | recipient pub,
    info). :class:`FormatError` for a malformed recipient key; :class:`IntegrityError` for
    a low-order point (an all-zero shared secret).
    """
    if len(recipient_public) != KEY_SIZE:
        raise FormatError("X25519 public key must be 32 bytes")
    ephemeral = X25519PrivateKey.from_private_bytes(_random(rng, KEY_SIZE))
    try:
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_public))
    except ValueError as exc:
        raise IntegrityError() from exc
    ephemeral_public = _x25519_public_raw(ephemeral)
    return ephemeral_public, _x25519_key(shared, ephemeral_public, recipient_public, info)


def x25519_recipient_key(private: bytes, ephemeral_public: bytes, *, info: bytes) -> bytes:
    """The key :func:`x25519_sender_key` derived, recomputed with the recipient's private key."""
    key = _x25519_private(private)
    if len(ephemeral_public) != KEY_SIZE:
        raise IntegrityError()
    try:
        shared = key.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
    except ValueError as exc:
        raise IntegrityError() from exc
    return _x25519_key(shared, ephemeral_public, _x25519_public_raw(key), info)


# -- keyed MACs: signed, expiring playback grants (issue 6) -------------------------------


def derive_mac_key(secret: bytes, *, info: bytes) -> bytes:
    """A 32-byte key for one purpose (``info``) from a long-lived secret, by HKDF-SHA256.

    Used so a grant key is never the secret itself: rotating or leaking one grant key says
    nothing about the KEK it came from.
    """
    if len(secret) < 16:
        raise FormatError("secret too short")
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=info).derive(secret)


def mac(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256(key, message): 32 bytes."""
    _check_key(key)
    h = hmac.HMAC(key, hashes.SHA256())
    h.update(message)
    return h.finalize()


def verify_mac(key: bytes, message: bytes, tag: bytes) -> None:
    """Raise the opaque :class:`IntegrityError` unless ``tag`` is the MAC (constant time)."""
    _check_key(key)
    h = hmac.HMAC(key, hashes.SHA256())
    h.update(message)
    try:
        h.verify(tag)
    except InvalidSignature as exc:
        raise IntegrityError() from exc
