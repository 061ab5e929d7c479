"""T-CRYPT C3: exhaustive tampering at tiny segment sizes.

Every single-bit flip, every truncation, appended bytes, segment drop / duplicate / swap /
reorder, splices from another stream and header edits must raise the opaque
:class:`IntegrityError` (a :class:`FormatError` is accepted only for an outer header that
no longer parses), and no plaintext of an unverified segment may ever be yielded: what
was released before the error must be a genuine prefix ending no later than the first
damaged segment.
"""

from __future__ import annotations

import io
import random
import uuid

import pytest

from storage.crypto import SealedReader, Sealer
from storage.errors import FormatError, IntegrityError

KEY_ID = "0b7e4c1a-77a2-4c11-8e0e-6f1d3a2b9c44"
HEADER = 26
INNER = 40
TAG = 16
KEY = random.Random(1).randbytes(32)


def seal(plaintext: bytes, segment_size: int, seed: int = 0) -> bytes:
    out = io.BytesIO()
    sealer = Sealer(
        out,
        KEY,
        key_id=KEY_ID,
        recording_id="rec-1",
        artefact="audio",
        rng=random.Random(seed).randbytes,
        segment_size=segment_size,
    )
    sealer.write(plaintext)
    sealer.finish()
    return out.getvalue()


def attempt(ciphertext: bytes) -> tuple[bytes, BaseException | None]:
    """Read everything, returning what was yielded before any error, and the error."""
    released = bytearray()
    try:
        r = SealedReader(io.BytesIO(ciphertext), KEY, recording_id="rec-1", artefact="audio")
        for chunk in r.read_range(0):
            released += chunk
    except (IntegrityError, FormatError) as exc:
        return bytes(released), exc
    return bytes(released), None


def plaintext_start(segment: int, segment_size: int) -> int:
    if segment == 0:
        return 0
    return segment_size - INNER - TAG + (segment - 1) * (segment_size - TAG)


def segment_of_byte(position: int, segment_size: int) -> int:
    """The ciphertext segment holding absolute byte ``position`` (header bytes: 0)."""
    return max(position - HEADER, 0) // segment_size


def split(ciphertext: bytes, segment_size: int) -> tuple[bytes, list[bytes]]:
    """(outer + inner header, ciphertext segments)."""
    head = ciphertext[: HEADER + INNER]
    body = ciphertext[HEADER:]
    segments = [body[INNER:segment_size]]
    segments += [body[i : i + segment_size] for i in range(segment_size, len(body), segment_size)]
    return head, segments


# Plaintexts of 3-4 segments, ragged and exactly filled, at two tiny segment sizes.
CASES = [
    (64, 8 + 48 + 48 + 20),
    (64, 8 + 48 + 48 + 48),
    (128, 72 + 112 + 112 + 1),
    (128, 72 + 112 + 112),
]


@pytest.mark.parametrize(("segment_size", "size"), CASES)
def test_c3_every_bit_flip(segment_size: int, size: int) -> None:
    plaintext = random.Random(size).randbytes(size)
    ciphertext = seal(plaintext, segment_size)
    assert attempt(ciphertext) == (plaintext, None)
    tampered = bytearray(ciphertext)
    for position in range(len(ciphertext)):
        for bit in range(8):
            tampered[position] ^= 1 << bit
            released, error = attempt(bytes(tampered))
            tampered[position] ^= 1 << bit
            assert error is not None, (position, bit)
            if isinstance(error, FormatError):
                assert position < HEADER, (position, bit)  # only an unparseable outer header
            first_bad = segment_of_byte(position, segment_size)
            assert released == plaintext[: len(released)]
            assert len(released) <= plaintext_start(first_bad, segment_size), (position, bit)


@pytest.mark.parametrize(("segment_size", "size"), CASES)
def test_c3_every_truncation(segment_size: int, size: int) -> None:
    plaintext = random.Random(size).randbytes(size)
    ciphertext = seal(plaintext, segment_size)
    for length in range(len(ciphertext)):
        released, error = attempt(ciphertext[:length])
        assert isinstance(error, IntegrityError), length  # never an EOF, never "format"
        first_bad = segment_of_byte(length, segment_size)
        assert released == plaintext[: len(released)]
        assert len(released) <= plaintext_start(first_bad, segment_size)
        assert len(released) < len(plaintext)


@pytest.mark.parametrize(("segment_size", "size"), CASES)
def test_c3_appended_bytes(segment_size: int, size: int) -> None:
    plaintext = random.Random(size).randbytes(size)
    ciphertext = seal(plaintext, segment_size)
    _, segments = split(ciphertext, segment_size)
    gen = random.Random(2)
    tails = [bytes(n) for n in range(1, 2 * segment_size + 2)]
    tails += [gen.randbytes(n) for n in (1, TAG, TAG + 1, segment_size)]
    tails += [segments[-1], segments[0], ciphertext]
    for tail in tails:
        released, error = attempt(ciphertext + tail)
        assert isinstance(error, IntegrityError), len(tail)
        assert released == plaintext[: len(released)]
        assert len(released) < len(plaintext)


@pytest.mark.parametrize(("segment_size", "size"), CASES)
def test_c3_segment_drop_duplicate_reorder(segment_size: int, size: int) -> None:
    plaintext = random.Random(size).randbytes(size)
    ciphertext = seal(plaintext, segment_size)
    head, segments = split(ciphertext, segment_size)
    n = len(segments)
    assert n >= 3
    variants: dict[str, list[bytes]] = {}
    for i in range(n):
        variants[f"drop {i}"] = segments[:i] + segments[i + 1 :]
        variants[f"dup {i}"] = segments[: i + 1] + segments[i:]
        variants[f"dup {i} at end"] = [*segments, segments[i]]
        for j in range(n):
            if i != j:
                swapped = list(segments)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                variants[f"swap {i} {j}"] = swapped
                moved = list(segments)
                moved.insert(j, moved.pop(i))
                variants[f"move {i} to {j}"] = moved
    variants["reverse"] = segments[::-1]
    variants["drop all"] = []
    variants["only last"] = segments[-1:]
    for name, order in variants.items():
        released, error = attempt(head + b"".join(order))
        assert isinstance(error, IntegrityError), name
        assert released == plaintext[: len(released)], name
        assert len(released) < len(plaintext), name


@pytest.mark.parametrize(("segment_size", "size"), CASES)
def test_c3_splice_from_another_stream(segment_size: int, size: int) -> None:
    """Same key, same identity, other salt and nonce prefix: no segment transplants."""
    plaintext = random.Random(size).randbytes(size)
    ours = seal(plaintext, segment_size, seed=0)
    theirs = seal(plaintext, segment_size, seed=1)
    head_a, segs_a = split(ours, segment_size)
    head_b, segs_b = split(theirs, segment_size)
    for i in range(len(segs_a)):
        mixed = list(segs_a)
        mixed[i] = segs_b[i]
        released, error = attempt(head_a + b"".join(mixed))
        assert isinstance(error, IntegrityError)
        assert len(released) <= plaintext_start(i, segment_size)
    released, error = attempt(head_b + b"".join(segs_a))
    assert isinstance(error, IntegrityError)
    assert released == b""


def _with(ciphertext: bytes, offset: int, value: bytes) -> bytes:
    return ciphertext[:offset] + value + ciphertext[offset + len(value) :]


@pytest.mark.parametrize(("segment_size", "size"), CASES)
def test_c3_header_field_edits(segment_size: int, size: int) -> None:
    plaintext = random.Random(size).randbytes(size)
    ciphertext = seal(plaintext, segment_size)
    unparseable = {
        "magic": _with(ciphertext, 0, b"CRX2"),
        "magic case": _with(ciphertext, 0, b"crx1"),
        "version 0": _with(ciphertext, 4, b"\x00"),
        "version 2": _with(ciphertext, 4, b"\x02"),
        "alg 0": _with(ciphertext, 5, b"\x00"),
        "alg 2": _with(ciphertext, 5, b"\x02"),
        "segment size 0": _with(ciphertext, 22, (0).to_bytes(4, "big")),
        "segment size 63": _with(ciphertext, 22, (63).to_bytes(4, "big")),
        "segment size huge": _with(ciphertext, 22, (2**32 - 1).to_bytes(4, "big")),
    }
    for name, edited in unparseable.items():
        released, error = attempt(edited)
        assert isinstance(error, FormatError), name
        assert released == b""
    parseable = {
        "key id": _with(ciphertext, 6, uuid.UUID(int=12345).bytes),
        "key id nil": _with(ciphertext, 6, bytes(16)),
        "inner length 0": _with(ciphertext, HEADER, b"\x00"),
        "inner length 41": _with(ciphertext, HEADER, b"\x29"),
        "salt": _with(ciphertext, HEADER + 1, bytes(32)),
        "nonce prefix": _with(ciphertext, HEADER + 33, bytes(7)),
    }
    for other in (64, 65, 100, 127, 128, 129, 256, 65536):
        if other != segment_size:
            parseable[f"segment size {other}"] = _with(ciphertext, 22, other.to_bytes(4, "big"))
    for name, edited in parseable.items():
        released, error = attempt(edited)
        assert isinstance(error, IntegrityError), name
        assert released == b"", name


def test_c3_wrong_identity_or_key_releases_nothing() -> None:
    plaintext = random.Random(3).randbytes(200)
    ciphertext = seal(plaintext, 64)
    attempts = [
        dict(dek=KEY, recording_id="rec-2", artefact="audio"),
        dict(dek=KEY, recording_id="rec-1", artefact="transcript"),
        dict(dek=random.Random(9).randbytes(32), recording_id="rec-1", artefact="audio"),
    ]
    for kwargs in attempts:
        released = bytearray()
        with pytest.raises(IntegrityError):
            r = SealedReader(
                io.BytesIO(ciphertext),
                kwargs["dek"],  # type: ignore[arg-type]
                recording_id=str(kwargs["recording_id"]),
                artefact=str(kwargs["artefact"]),
            )
            for chunk in r.read_range(0):
                released += chunk
        assert released == b""


def test_c3_ranges_never_yield_from_a_damaged_segment() -> None:
    """Random range reads over a stream with one flipped byte in segment 2."""
    segment_size = 64
    plaintext = random.Random(4).randbytes(8 + 48 * 5)
    ciphertext = bytearray(seal(plaintext, segment_size))
    ciphertext[HEADER + 2 * segment_size + 5] ^= 0x40
    bad_lo, bad_hi = plaintext_start(2, segment_size), plaintext_start(3, segment_size)
    r = SealedReader(io.BytesIO(bytes(ciphertext)), KEY, recording_id="rec-1", artefact="audio")
    gen = random.Random(5)
    for _ in range(300):
        offset = gen.randrange(len(plaintext))
        length = gen.randrange(1, 150)
        released = bytearray()
        touches_bad = offset < bad_hi and offset + length > bad_lo
        try:
            for chunk in r.read_range(offset, length):
                released += chunk
        except IntegrityError:
            assert touches_bad
            assert not released or offset + len(released) <= bad_lo
        else:
            assert not touches_bad
        assert released == plaintext[offset : offset + len(released)]
