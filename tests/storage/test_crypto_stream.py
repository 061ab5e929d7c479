"""T-CRYPT C1, C5, C7, C9 and error mapping for the streaming ciphertext format.

Real AES-GCM throughout; randomness comes from seeded ``random.Random`` instances so every
ciphertext is reproducible. Tiny segment sizes make the boundary cases exhaustive.
"""

from __future__ import annotations

import hashlib
import io
import random
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import crypto
from storage.crypto import SealedReader, Sealer, read_key_id, seal_stream
from storage.errors import FormatError, IntegrityError, LimitError, StorageError
from storage.models import Rng, SealInfo

KEY_ID = "5f0c8a4e-0d1c-4a7e-9a55-3f1f2b6c9d10"
HEADER = 26
INNER = 40
TAG = 16


def rng(seed: int = 0) -> Rng:
    return random.Random(seed).randbytes


def dek(seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(32)


def seal(
    plaintext: bytes,
    key: bytes,
    *,
    segment_size: int = 256,
    recording_id: str = "rec-1",
    artefact: str = "audio",
    seed: int = 0,
    chunks: list[int] | None = None,
) -> tuple[bytes, SealInfo]:
    """Seal ``plaintext`` in memory, writing it in the given chunk sizes (else at once)."""
    out = io.BytesIO()
    sealer = Sealer(
        out,
        key,
        key_id=KEY_ID,
        recording_id=recording_id,
        artefact=artefact,
        rng=rng(seed),
        segment_size=segment_size,
    )
    if chunks is None:
        sealer.write(plaintext)
    else:
        pos = 0
        for size in chunks:
            sealer.write(plaintext[pos : pos + size])
            pos += size
        sealer.write(plaintext[pos:])
    info = sealer.finish()
    return out.getvalue(), info


def reader(
    ciphertext: bytes, key: bytes, *, recording_id: str = "rec-1", artefact: str = "audio"
) -> SealedReader:
    return SealedReader(io.BytesIO(ciphertext), key, recording_id=recording_id, artefact=artefact)


def segments_for(size: int, segment_size: int) -> int:
    """How many segments Tink's layout uses for ``size`` plaintext bytes."""
    first = segment_size - INNER - TAG
    if size <= first:
        return 1
    rest = segment_size - TAG
    return 1 + -(-(size - first) // rest)


def boundaries(segment_size: int, count: int = 4) -> list[int]:
    """Plaintext lengths that exactly fill the first ``count`` segments."""
    first = segment_size - INNER - TAG
    return [first + k * (segment_size - TAG) for k in range(count)]


def check_round_trip(plaintext: bytes, segment_size: int, chunks: list[int] | None = None) -> None:
    key = dek()
    ciphertext, info = seal(plaintext, key, segment_size=segment_size, chunks=chunks)
    segments = segments_for(len(plaintext), segment_size)
    assert info == SealInfo(
        plaintext_size=len(plaintext),
        plaintext_sha256=hashlib.sha256(plaintext).hexdigest(),
        ciphertext_size=len(ciphertext),
        segments=segments,
    )
    assert len(ciphertext) == HEADER + INNER + len(plaintext) + TAG * segments
    r = reader(ciphertext, key)
    assert r.plaintext_size == len(plaintext)
    assert r.segment_size == segment_size
    assert r.key_id == KEY_ID
    assert r.read_all() == plaintext
    assert r.segments_decrypted == segments


# -- C1 round trip ---------------------------------------------------------------------


def test_c1_random_plaintexts_up_to_300_kib() -> None:
    gen = random.Random(11)
    lengths = [0, 1, 300 * 1024] + [gen.randrange(300 * 1024) for _ in range(25)]
    for n in lengths:
        plaintext = gen.randbytes(n)
        chunks = [gen.randrange(1, 100_000) for _ in range(gen.randrange(6))]
        check_round_trip(plaintext, crypto.SEGMENT_SIZE, chunks=chunks)


def test_c1_every_length_of_the_first_four_segments_tiny() -> None:
    """Exhaustive at S=256: every length from 0 to past the 4th segment boundary."""
    gen = random.Random(12)
    top = boundaries(256)[-1] + 3
    data = gen.randbytes(top)
    for n in range(top + 1):
        check_round_trip(data[:n], 256)


@pytest.mark.parametrize("segment_size", [64, 65, 256])
@pytest.mark.parametrize("chunk", [1, 7, 8, 48, 200, 240, 256, 1000])
def test_c1_boundaries_with_chunked_writes(segment_size: int, chunk: int) -> None:
    data = random.Random(13).randbytes(boundaries(segment_size)[-1] + 2)
    for b in boundaries(segment_size):
        for n in (b - 1, b, b + 1):
            check_round_trip(data[:n], segment_size, chunks=[chunk] * (n // chunk + 1))


def test_c1_boundaries_at_64_kib() -> None:
    data = random.Random(14).randbytes(boundaries(65536)[-1] + 2)
    for b in [0, *boundaries(65536)]:
        for n in {max(b - 1, 0), b, b + 1}:
            check_round_trip(data[:n], 65536)


def test_c1_exact_fill_ends_with_a_full_final_segment() -> None:
    """Like Tink, a plaintext that fills k segments is k segments, none of them empty."""
    for b, k in zip(boundaries(256), range(1, 5), strict=True):
        ciphertext, info = seal(bytes(b), dek())
        assert info.segments == k
        assert len(ciphertext) == HEADER + k * 256


def test_c1_empty_plaintext_is_one_empty_final_segment() -> None:
    ciphertext, info = seal(b"", dek())
    assert info.segments == 1
    assert len(ciphertext) == HEADER + INNER + TAG
    r = reader(ciphertext, dek())
    assert r.read_all() == b""
    assert r.segments_decrypted == 1  # the empty final segment is still authenticated


def test_c1_ciphertext_does_not_depend_on_write_chunking() -> None:
    data = random.Random(15).randbytes(3000)
    whole, _ = seal(data, dek())
    for chunks in ([1] * 300, [200, 40, 1], [240] * 12, [999, 1, 1000]):
        assert seal(data, dek(), chunks=chunks)[0] == whole
    out = io.BytesIO()
    seal_stream(
        io.BytesIO(data),
        out,
        dek(),
        key_id=KEY_ID,
        recording_id="rec-1",
        artefact="audio",
        rng=rng(0),
        segment_size=256,
    )
    assert out.getvalue() == whole


def test_c1_seal_stream_reads_in_chunks() -> None:
    class Source(io.BytesIO):
        biggest = 0

        def read(self, size: int | None = -1, /) -> bytes:
            assert size is not None and size > 0, "seal_stream must read in bounded chunks"
            self.biggest = max(self.biggest, size)
            return super().read(size)

    data = random.Random(16).randbytes(5_000_000)
    src = Source(data)
    out = io.BytesIO()
    info = seal_stream(
        src, out, dek(), key_id=KEY_ID, recording_id="rec-1", artefact="audio", rng=rng()
    )
    assert src.biggest <= 1 << 20
    assert info.plaintext_sha256 == hashlib.sha256(data).hexdigest()
    assert reader(out.getvalue(), dek()).read_all() == data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plaintext=st.binary(max_size=2000),
    segment_size=st.sampled_from([64, 65, 97, 256, 1024]),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=6),
    offset=st.integers(min_value=0, max_value=2100),
    length=st.one_of(st.none(), st.integers(min_value=0, max_value=2100)),
)
def test_c1_property_round_trip_and_ranges(
    plaintext: bytes, segment_size: int, cuts: list[int], offset: int, length: int | None
) -> None:
    key = dek()
    ciphertext, info = seal(plaintext, key, segment_size=segment_size, chunks=cuts)
    assert info.plaintext_size == len(plaintext)
    r = reader(ciphertext, key)
    assert r.read_all() == plaintext
    end = None if length is None else offset + length
    assert b"".join(r.read_range(offset, length)) == plaintext[offset:end]


# -- misc API --------------------------------------------------------------------------


def test_new_data_key_is_32_bytes_from_rng() -> None:
    assert crypto.new_data_key(rng(3)) == random.Random(3).randbytes(32)


def test_read_key_id_and_canonical_form() -> None:
    out = io.BytesIO()
    Sealer(
        out, dek(), key_id=KEY_ID.upper(), recording_id="r", artefact="audio", rng=rng()
    ).finish()
    assert read_key_id(io.BytesIO(out.getvalue())) == KEY_ID
    assert read_key_id(io.BytesIO(out.getvalue()[:HEADER])) == KEY_ID


@pytest.mark.parametrize("segment_size", [0, 56, 63, (1 << 24) + 1, 1 << 32])
def test_segment_size_out_of_range_is_refused(segment_size: int) -> None:
    with pytest.raises(FormatError):
        Sealer(
            io.BytesIO(),
            dek(),
            key_id=KEY_ID,
            recording_id="r",
            artefact="audio",
            rng=rng(),
            segment_size=segment_size,
        )


@pytest.mark.parametrize("key_id", ["", "not-a-uuid", "5f0c8a4e"])
def test_bad_key_id_is_a_format_error(key_id: str) -> None:
    with pytest.raises(FormatError):
        Sealer(io.BytesIO(), dek(), key_id=key_id, recording_id="r", artefact="a", rng=rng())


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_wrong_key_size_is_a_format_error(size: int) -> None:
    with pytest.raises(FormatError):
        Sealer(io.BytesIO(), bytes(size), key_id=KEY_ID, recording_id="r", artefact="a", rng=rng())
    ciphertext, _ = seal(b"x", dek())
    with pytest.raises(FormatError):
        reader(ciphertext, bytes(size))


def test_sealer_refuses_use_after_finish() -> None:
    sealer = Sealer(io.BytesIO(), dek(), key_id=KEY_ID, recording_id="r", artefact="a", rng=rng())
    sealer.finish()
    with pytest.raises(ValueError):
        sealer.write(b"x")
    with pytest.raises(ValueError):
        sealer.finish()


def test_a_failed_write_poisons_the_sealer() -> None:
    """After an I/O error the sealer refuses to go on (no nonce reuse on retry)."""

    class Flaky(io.BytesIO):
        fail = False

        def write(self, data: Any, /) -> int:
            if self.fail:
                raise OSError("disk full")
            return super().write(data)

    out = Flaky()
    sealer = Sealer(
        out, dek(), key_id=KEY_ID, recording_id="r", artefact="a", rng=rng(), segment_size=64
    )
    sealer.write(bytes(8))
    out.fail = True
    with pytest.raises(OSError):
        sealer.write(bytes(100))
    out.fail = False
    with pytest.raises(ValueError):
        sealer.write(bytes(100))
    with pytest.raises(ValueError):
        sealer.finish()


def test_short_writes_are_completed() -> None:
    class Trickle(io.BytesIO):
        def write(self, data: Any, /) -> int:
            return super().write(memoryview(data)[:7])

    out = Trickle()
    sealer = Sealer(
        out,
        dek(),
        key_id=KEY_ID,
        recording_id="rec-1",
        artefact="audio",
        rng=rng(),
        segment_size=64,
    )
    plaintext = random.Random(20).randbytes(500)
    sealer.write(plaintext)
    sealer.finish()
    assert seal(plaintext, dek(), segment_size=64)[0] == out.getvalue()


def test_reader_survives_someone_else_moving_the_position() -> None:
    plaintext = random.Random(21).randbytes(3000)
    ciphertext, _ = seal(plaintext, dek())
    src = io.BytesIO(ciphertext)
    r = SealedReader(src, dek(), recording_id="rec-1", artefact="audio")
    chunks = r.read_range(0)
    got = next(chunks)
    src.seek(0)  # moved behind the reader's back: wrong bytes would fail, not leak
    with pytest.raises(IntegrityError):
        for chunk in chunks:
            got += chunk
    assert got == plaintext[: len(got)]
    assert b"".join(r.read_range(100, 1000)) == plaintext[100:1100]


def test_bad_range_arguments() -> None:
    ciphertext, _ = seal(b"abc", dek())
    r = reader(ciphertext, dek())
    with pytest.raises(ValueError):
        r.read_range(-1)
    with pytest.raises(ValueError):
        r.read_range(0, -1)
    assert list(r.read_range(10, 5)) == []
    assert list(r.read_range(1, 0)) == []
    assert r.segments_decrypted == 0


def test_no_key_material_in_repr_or_errors() -> None:
    key = dek()
    ciphertext, _ = seal(b"secret audio" * 50, key)
    sealer = Sealer(io.BytesIO(), key, key_id=KEY_ID, recording_id="r", artefact="a", rng=rng())
    r = reader(ciphertext, key)
    texts = [repr(sealer), repr(r), str(vars(r)), str(vars(sealer))]
    with pytest.raises(IntegrityError) as info:
        reader(ciphertext, key, recording_id="other").read_all()
    texts.append(str(info.value))
    texts.append(repr(info.value))
    for text in texts:
        assert key.hex() not in text
        assert repr(key)[2:-1] not in text
    assert str(info.value) == "ciphertext failed authentication"


# -- C5 swaps --------------------------------------------------------------------------


@pytest.mark.parametrize("same_key", [True, False])
def test_c5_ciphertext_swapped_between_recordings_or_kinds(same_key: bool) -> None:
    key_a, key_b = dek(1), dek(1 if same_key else 2)
    plaintext = random.Random(17).randbytes(1000)
    sealed = {
        (rec, kind): seal(
            plaintext,
            key_a if rec == "rec-a" else key_b,
            recording_id=rec,
            artefact=kind,
            seed=len(rec) * 10 + len(kind) + (rec == "rec-b"),
        )[0]
        for rec in ("rec-a", "rec-b")
        for kind in ("audio", "transcript")
    }
    for (rec, kind), ciphertext in sealed.items():
        key = key_a if rec == "rec-a" else key_b
        assert reader(ciphertext, key, recording_id=rec, artefact=kind).read_all() == plaintext
        for other_rec in ("rec-a", "rec-b"):
            for other_kind in ("audio", "transcript"):
                if (other_rec, other_kind) == (rec, kind):
                    continue
                other_key = key_a if other_rec == "rec-a" else key_b
                with pytest.raises(IntegrityError):
                    reader(
                        ciphertext, other_key, recording_id=other_rec, artefact=other_kind
                    ).read_all()


def test_c5_ambiguous_identifier_split_is_rejected() -> None:
    """Length prefixes keep ("ab", "c") and ("a", "bc") apart in the associated data."""
    ciphertext, _ = seal(b"x" * 100, dek(), recording_id="ab", artefact="c")
    with pytest.raises(IntegrityError):
        reader(ciphertext, dek(), recording_id="a", artefact="bc").read_all()


def test_c5_wrapped_keys_swapped_between_recordings_kinds_versions() -> None:
    kek1, kek2 = dek(10), dek(11)
    data_key = dek(12)
    contexts = [
        (kek, version, rec, kind)
        for kek, version in ((kek1, 1), (kek2, 2))
        for rec in ("rec-a", "rec-b")
        for kind in ("audio", "transcript")
    ]
    wrapped = {
        ctx: crypto.wrap_key(
            ctx[0], ctx[1], data_key, recording_id=ctx[2], artefact=ctx[3], rng=rng(i)
        )
        for i, ctx in enumerate(contexts)
    }
    for ctx, blob in wrapped.items():
        for other in contexts:
            kek, version, rec, kind = other
            if other == ctx:
                assert crypto.unwrap_key(kek, version, blob, recording_id=rec, artefact=kind) == (
                    data_key
                )
                continue
            with pytest.raises(IntegrityError):
                crypto.unwrap_key(kek, version, blob, recording_id=rec, artefact=kind)
        # Same KEK bytes but a claimed other version also fails (the version is bound).
        with pytest.raises(IntegrityError):
            crypto.unwrap_key(ctx[0], ctx[1] + 7, blob, recording_id=ctx[2], artefact=ctx[3])


# -- C7 segment counter ----------------------------------------------------------------


def test_c7_writer_refuses_to_pass_segment_2_pow_32_minus_1() -> None:
    capacity = 256 - TAG
    sealer = Sealer(
        io.BytesIO(),
        dek(),
        key_id=KEY_ID,
        recording_id="r",
        artefact="a",
        rng=rng(),
        segment_size=256,
    )
    sealer._index = 2**32 - 1  # the private hook: pretend 2**32 - 1 segments were written
    sealer.write(bytes(capacity))  # fills the last possible segment: still fine
    with pytest.raises(LimitError):
        sealer.write(b"x")  # would make segment 2**32 - 1 non-final
    with pytest.raises(ValueError):
        sealer.write(b"x")  # the sealer is poisoned, never half-usable


def test_c7_the_last_possible_segment_may_be_final() -> None:
    out = io.BytesIO()
    sealer = Sealer(
        out, dek(), key_id=KEY_ID, recording_id="r", artefact="a", rng=rng(), segment_size=256
    )
    sealer._index = 2**32 - 1
    sealer.write(bytes(256 - TAG))
    info = sealer.finish()
    assert info.segments == 2**32


def test_c7_reader_refuses_more_than_2_pow_32_segments() -> None:
    """A file claiming 2**32 + 1 segments (a fake of that length) is refused up front."""
    ciphertext, _ = seal(b"", dek(), segment_size=64)

    class Huge(io.BytesIO):
        def seek(self, pos: int, whence: int = 0) -> int:
            if whence == io.SEEK_END:
                return super().seek(HEADER + 64 * 2**32 + 20)
            return super().seek(pos, whence)

    with pytest.raises(LimitError):
        SealedReader(Huge(ciphertext), dek(), recording_id="rec-1", artefact="audio")


# -- C9 seeking ------------------------------------------------------------------------


def test_c9_random_seeks_decrypt_at_most_two_segments() -> None:
    segment_size = 65536
    first, rest = segment_size - INNER - TAG, segment_size - TAG
    size = first + 199 * rest  # 200 segments
    plaintext = random.Random(18).randbytes(size)
    key = dek()
    ciphertext, info = seal(plaintext, key, segment_size=segment_size)
    assert info.segments == 200
    r = reader(ciphertext, key)
    gen = random.Random(19)

    def segment_of(offset: int) -> int:
        return 0 if offset < first else 1 + (offset - first) // rest

    for _ in range(50):
        offset = gen.randrange(size)
        length = gen.randrange(1, rest)  # at most two segments
        before = r.segments_decrypted
        got = b"".join(r.read_range(offset, length))
        used = r.segments_decrypted - before
        end = min(offset + length, size)
        assert got == plaintext[offset:end]
        assert used == segment_of(end - 1) - segment_of(offset) + 1
        assert used <= 2
    before = r.segments_decrypted
    assert b"".join(r.read_range(size - 10)) == plaintext[-10:]
    assert r.segments_decrypted - before == 1


# -- error mapping under fuzzed input ------------------------------------------------------


def _exercise(ciphertext: bytes, key: bytes) -> None:
    try:
        read_key_id(io.BytesIO(ciphertext))
    except StorageError:
        pass
    try:
        r = SealedReader(io.BytesIO(ciphertext), key, recording_id="rec-1", artefact="audio")
        for _ in r.read_range(0):
            pass
    except StorageError:
        pass


@settings(max_examples=300, deadline=None)
@given(ciphertext=st.binary(max_size=600), key=st.binary(min_size=0, max_size=40))
def test_fuzz_random_bytes_only_storage_errors(ciphertext: bytes, key: bytes) -> None:
    _exercise(ciphertext, key)


@settings(max_examples=300, deadline=None)
@given(
    segment_size=st.integers(min_value=0, max_value=300),
    version=st.sampled_from([0, 1, 2]),
    alg=st.sampled_from([0, 1, 2]),
    body=st.binary(max_size=900),
    key=st.one_of(st.just(dek()), st.binary(min_size=32, max_size=32)),
)
def test_fuzz_plausible_headers_only_storage_errors(
    segment_size: int, version: int, alg: int, body: bytes, key: bytes
) -> None:
    header = b"CRX1" + bytes([version, alg]) + uuid.UUID(KEY_ID).bytes
    _exercise(header + segment_size.to_bytes(4, "big") + body, key)
    _exercise(header + segment_size.to_bytes(4, "big") + bytes([INNER]) + body, key)


@settings(max_examples=200, deadline=None)
@given(
    kek=st.binary(max_size=40),
    wrapped=st.binary(max_size=80),
    version=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_fuzz_unwrap_only_storage_errors(kek: bytes, wrapped: bytes, version: int) -> None:
    try:
        crypto.unwrap_key(kek, version, wrapped, recording_id="r", artefact="audio")
    except StorageError:
        pass
