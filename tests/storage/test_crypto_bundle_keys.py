"""The bundle key recipes in storage.crypto: scrypt passphrase keys and X25519 agreement.

Only our own errors escape (FormatError for malformed input, IntegrityError for a key
agreement that must not be trusted); known answers pin the recipes.
"""

from __future__ import annotations

import hashlib
import random

import pytest

from storage import crypto
from storage.errors import FormatError, IntegrityError


def test_scrypt_known_answer_and_input_checks() -> None:
    # RFC 7914 test vector 2 parameters differ (N=1024, r=8, p=16); ours are r=8, p=1:
    # pin the recipe against hashlib's independent scrypt.
    salt = b"NaCl-and-more-salt"
    expected = hashlib.scrypt(b"password", salt=salt, n=1 << 10, r=8, p=1, dklen=32)
    assert crypto.passphrase_key(b"password", salt, log2_n=10) == expected
    assert crypto.passphrase_key(b"password", salt, log2_n=11) != expected
    for bad in (
        lambda: crypto.passphrase_key(b"", salt, log2_n=10),
        lambda: crypto.passphrase_key(b"pw", b"short", log2_n=10),
        lambda: crypto.passphrase_key(b"pw", salt, log2_n=9),
        lambda: crypto.passphrase_key(b"pw", salt, log2_n=crypto.SCRYPT_MAX_LOG2_N + 1),
    ):
        with pytest.raises(FormatError):
            bad()


def test_x25519_agreement_round_trip_and_refusals() -> None:
    rng = random.Random(5).randbytes
    private, public = crypto.x25519_keypair(rng)
    assert crypto.x25519_public(private) == public
    ephemeral, key = crypto.x25519_sender_key(public, rng=rng, info=b"test")
    assert crypto.x25519_recipient_key(private, ephemeral, info=b"test") == key
    assert crypto.x25519_recipient_key(private, ephemeral, info=b"other") != key
    other, _ = crypto.x25519_keypair(rng)
    assert crypto.x25519_recipient_key(other, ephemeral, info=b"test") != key
    with pytest.raises(FormatError):
        crypto.x25519_sender_key(public[:31], rng=rng, info=b"test")
    with pytest.raises(IntegrityError):  # low-order point: all-zero shared secret
        crypto.x25519_sender_key(bytes(32), rng=rng, info=b"test")
    with pytest.raises(IntegrityError):
        crypto.x25519_recipient_key(private, bytes(32), info=b"test")
    with pytest.raises(IntegrityError):
        crypto.x25519_recipient_key(private, b"short", info=b"test")
    with pytest.raises(FormatError):
        crypto.x25519_recipient_key(b"short", ephemeral, info=b"test")
