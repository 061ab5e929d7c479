"""The bundle container on its own: atomic writes, key and passphrase files, bad input."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recorder import bundle
from recorder.errors import BundleError
from tests.recorder.subject.conftest import PASS

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_a_member_failing_half_way_leaves_no_file(tmp_path: Path) -> None:
    def broken() -> Iterator[bytes]:
        yield b"x" * 200_000
        raise BundleError("source failed")

    members = [
        bundle.Member(name="ok.txt", chunks=lambda: [b"fine"]),
        bundle.Member(name="broken.bin", chunks=broken),
    ]
    with pytest.raises(BundleError, match="source failed"):
        bundle.write_bundle(
            tmp_path / "b.bundle",
            members,
            lock=PASS,
            created_at=NOW,
            expires_at=NOW + timedelta(days=1),
            rng=random.Random(1).randbytes,
        )
    assert list(tmp_path.iterdir()) == []


def test_files_that_are_not_what_they_claim(tmp_path: Path) -> None:
    short = tmp_path / "short.txt"
    short.write_text("tiny\n")
    with pytest.raises(BundleError, match="at least"):
        bundle.read_passphrase(short)
    garbage = tmp_path / "garbage.pub"
    garbage.write_text("callrec-bundle-recipient-v1 not-base64!!\n")
    with pytest.raises(BundleError, match="not a key file"):
        bundle.read_recipient(garbage)
    rng = random.Random(2).randbytes
    bundle.write_keypair(tmp_path / "k.key", tmp_path / "k.pub", rng=rng)
    assert (tmp_path / "k.key").stat().st_mode & 0o077 == 0
    with pytest.raises(BundleError, match="not a key file"):
        bundle.read_identity(tmp_path / "k.pub")  # a public key is not an identity
    with pytest.raises(BundleError, match="already exists"):
        bundle.write_keypair(tmp_path / "k.key", tmp_path / "k2.pub", rng=rng)
    not_bundle = tmp_path / "x.bundle"
    not_bundle.write_bytes(b"PK\x03\x04 a plain zip")
    with pytest.raises(BundleError, match="not a callrec bundle"):
        bundle.open_bundle(not_bundle, tmp_path / "x.zip", unlock=PASS, now=NOW)
    with pytest.raises(BundleError, match="expire after"):
        bundle.write_bundle(
            tmp_path / "y.bundle", [], lock=PASS, created_at=NOW, expires_at=NOW, rng=rng
        )


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("fuzz") / "f.bundle"
    members = [bundle.Member(name="a.wav", chunks=lambda: [bytes(range(256)) * 300])]
    bundle.write_bundle(
        path,
        members,
        lock=PASS,
        created_at=NOW,
        expires_at=NOW + timedelta(days=1),
        rng=random.Random(3).randbytes,
    )
    return path.read_bytes()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_single_byte_change_is_refused(
    sealed: bytes, tmp_path: Path, data: st.DataObject
) -> None:
    """F4: a flipped byte anywhere (header, ciphertext, tag) -> BundleError, no zip written."""
    where = data.draw(st.integers(0, len(sealed) - 1))
    flip = data.draw(st.integers(1, 255))
    damaged = bytearray(sealed)
    damaged[where] ^= flip
    src, out = tmp_path / "d.bundle", tmp_path / "d.zip"
    src.write_bytes(bytes(damaged))
    out.unlink(missing_ok=True)
    with pytest.raises(BundleError):
        bundle.open_bundle(src, out, unlock=PASS, now=NOW)
    assert not out.exists()
