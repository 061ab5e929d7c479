"""T-CRYPT C2: the PyPI ``tink`` package is the oracle for the inner stream format.

Both ways, at the same segment size: our ciphertext minus the 26-byte outer header is
decrypted by Tink's decrypting stream given the same associated data, and Tink's
ciphertext with our outer header in front is read by :class:`SealedReader`. The
associated data is rebuilt here independently (outer header | lp(recording) | lp(kind)).
Lengths must also agree exactly, which pins down Tink's segmentation rules (first
segment carries the header, exactly-filled plaintexts end on a full final segment).
"""

from __future__ import annotations

import io
import random
import uuid
from typing import Any

import pytest
import tink
from tink import cleartext_keyset_handle, streaming_aead
from tink.proto import aes_gcm_hkdf_streaming_pb2, common_pb2, tink_pb2

from storage.crypto import SealedReader, Sealer
from storage.errors import IntegrityError

streaming_aead.register()

KEY_ID = "9d4b2c7e-5a61-4f3e-b0c2-1e8d7a6f5b40"
RECORDING = "rec-tink"
KIND = "audio"
SIZES = [64, 256, 65536]


class KeepOpen(io.BytesIO):
    """Tink closes the stream it wrote to; keep the bytes readable afterwards."""

    def close(self) -> None:
        pass


def tink_primitive(dek: bytes, segment_size: int) -> Any:
    params = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingParams(
        ciphertext_segment_size=segment_size,
        derived_key_size=32,
        hkdf_hash_type=common_pb2.SHA256,
    )
    key = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey(version=0, key_value=dek, params=params)
    keyset = tink_pb2.Keyset(
        primary_key_id=1,
        key=[
            tink_pb2.Keyset.Key(
                key_data=tink_pb2.KeyData(
                    type_url="type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey",
                    value=key.SerializeToString(),
                    key_material_type=tink_pb2.KeyData.SYMMETRIC,
                ),
                status=tink_pb2.ENABLED,
                key_id=1,
                output_prefix_type=tink_pb2.RAW,
            )
        ],
    )
    return cleartext_keyset_handle.from_keyset(keyset).primitive(streaming_aead.StreamingAead)


def outer_header(segment_size: int) -> bytes:
    return b"CRX1\x01\x01" + uuid.UUID(KEY_ID).bytes + segment_size.to_bytes(4, "big")


def lp(value: str) -> bytes:
    raw = value.encode()
    return len(raw).to_bytes(2, "big") + raw


def associated_data(segment_size: int) -> bytes:
    return outer_header(segment_size) + lp(RECORDING) + lp(KIND)


def lengths(segment_size: int) -> list[int]:
    """0, a few random lengths, and each boundary of the first 4 segments +/- 1."""
    first = segment_size - 56
    found = {0, 1}
    for k in range(4):
        b = first + k * (segment_size - 16)
        found |= {b - 1, b, b + 1}
    gen = random.Random(segment_size)
    found |= {gen.randrange(5 * segment_size) for _ in range(4)}
    return sorted(n for n in found if n >= 0)


def ours_seal(plaintext: bytes, dek: bytes, segment_size: int) -> bytes:
    out = io.BytesIO()
    sealer = Sealer(
        out,
        dek,
        key_id=KEY_ID,
        recording_id=RECORDING,
        artefact=KIND,
        rng=random.Random(len(plaintext)).randbytes,
        segment_size=segment_size,
    )
    sealer.write(plaintext)
    sealer.finish()
    return out.getvalue()


def tink_seal(plaintext: bytes, dek: bytes, segment_size: int) -> bytes:
    out = KeepOpen()
    with tink_primitive(dek, segment_size).new_encrypting_stream(
        out, associated_data(segment_size)
    ) as stream:
        stream.write(plaintext)
    return out.getvalue()


def tink_open(inner: bytes, dek: bytes, segment_size: int, ad: bytes) -> bytes:
    with tink_primitive(dek, segment_size).new_decrypting_stream(io.BytesIO(inner), ad) as s:
        data: bytes = s.read()
    return data


@pytest.mark.parametrize("segment_size", SIZES)
def test_c2_tink_reads_what_we_write(segment_size: int) -> None:
    dek = random.Random(1).randbytes(32)
    for n in lengths(segment_size):
        plaintext = random.Random(n).randbytes(n)
        ciphertext = ours_seal(plaintext, dek, segment_size)
        assert ciphertext[:26] == outer_header(segment_size)
        inner = ciphertext[26:]
        assert tink_open(inner, dek, segment_size, associated_data(segment_size)) == plaintext
        # Same layout as Tink's own output for this length (segmentation rules agree).
        assert len(inner) == len(tink_seal(plaintext, dek, segment_size)), n


@pytest.mark.parametrize("segment_size", SIZES)
def test_c2_we_read_what_tink_writes(segment_size: int) -> None:
    dek = random.Random(2).randbytes(32)
    for n in lengths(segment_size):
        plaintext = random.Random(n).randbytes(n)
        ciphertext = outer_header(segment_size) + tink_seal(plaintext, dek, segment_size)
        r = SealedReader(io.BytesIO(ciphertext), dek, recording_id=RECORDING, artefact=KIND)
        assert r.key_id == KEY_ID
        assert r.plaintext_size == n
        assert r.read_all() == plaintext
        if n > 3:
            assert b"".join(r.read_range(n // 3, n // 3)) == plaintext[n // 3 : 2 * (n // 3)]


def test_c2_binding_is_mutual() -> None:
    """Tink refuses our stream under other associated data, and we refuse Tink's."""
    dek = random.Random(3).randbytes(32)
    plaintext = random.Random(4).randbytes(1000)
    ours = ours_seal(plaintext, dek, 256)
    wrong_ad = outer_header(256) + lp("rec-other") + lp(KIND)
    with pytest.raises(tink.TinkError):
        tink_open(ours[26:], dek, 256, wrong_ad)
    theirs = outer_header(256) + tink_seal(plaintext, dek, 256)
    with pytest.raises(IntegrityError):
        SealedReader(
            io.BytesIO(theirs), dek, recording_id=RECORDING, artefact="transcript"
        ).read_all()
