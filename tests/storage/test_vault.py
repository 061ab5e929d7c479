"""The storage facade on the real store: round trips, shredding, key residue (K1, E2, E6)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

import storage.crypto
from storage.errors import GoneError, IntegrityError, NotFoundError
from storage.models import ArtefactKind, State
from storage.vault import Vault, new_id
from tests.storage.helpers import add_recording, count_hits, files_under

Rng = Callable[[int], bytes]
DB_FILES = ("catalog.db", "catalog.db-wal", "catalog.db-journal", "catalog.db-shm")


@pytest.fixture
def captured_deks(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The test hook of K1: every data key the vault creates, as the vault sees it."""
    seen: list[bytes] = []
    original = storage.crypto.new_data_key

    def spy(rng: Rng) -> bytes:
        dek = original(rng)
        seen.append(dek)
        return dek

    monkeypatch.setattr(storage.crypto, "new_data_key", spy)
    return seen


def _store(vault: Vault, now: datetime, rng: Rng, payload: bytes, kind: ArtefactKind) -> str:
    recording_id = new_id(rng)
    with vault.catalog.transaction():
        add_recording(vault, recording_id, now)
        artefact = vault.store_artefact(recording_id, kind, io.BytesIO(payload), now=now, rng=rng)
    return artefact.id


def test_round_trip_and_seek(vault: Vault, now: datetime, rng: Rng) -> None:
    payload = rng(300_000)
    artefact_id = _store(vault, now, rng, payload, ArtefactKind.AUDIO)
    vault.verify_artefact(artefact_id)
    with vault.open_artefact(artefact_id) as reader:
        assert reader.plaintext_size == len(payload)
        assert b"".join(reader.read_range(150_000, 1000)) == payload[150_000:151_000]
        assert reader.segments_decrypted <= 2


def test_streams_from_an_iterable_of_chunks(vault: Vault, now: datetime, rng: Rng) -> None:
    chunks = [rng(n) for n in (1, 70_000, 0, 65_480, 3)]
    recording_id = new_id(rng)
    add_recording(vault, recording_id, now)
    artefact = vault.store_artefact(
        recording_id, ArtefactKind.TRANSCRIPT, iter(chunks), now=now, rng=rng
    )
    with vault.open_artefact(artefact.id) as reader:
        assert reader.read_all() == b"".join(chunks)


def test_blob_on_disk_is_ciphertext_with_our_name(
    vault: Vault, home: Path, now: datetime, rng: Rng
) -> None:
    payload = b"CANARY-" + rng(10_000)
    artefact_id = _store(vault, now, rng, payload, ArtefactKind.AUDIO)
    blobs = files_under(home / "blobs")
    assert [p.name.split(".")[0] for p in blobs] == [artefact_id]
    assert count_hits(files_under(home), [payload[:64], b"CANARY-"]) == 0


def test_swapped_blobs_between_recordings_are_refused(
    vault: Vault, home: Path, now: datetime, rng: Rng
) -> None:
    a = _store(vault, now, rng, rng(5000), ArtefactKind.AUDIO)
    b = _store(vault, now, rng, rng(5000), ArtefactKind.AUDIO)
    with vault.blobs.open(b) as other:
        with pytest.raises(IntegrityError):
            with vault.open_artefact(a, ciphertext=io.BytesIO(other.read())) as reader:
                reader.read_all()


def test_k1_no_data_key_in_any_file_after_200_captures(
    vault: Vault,
    home: Path,
    keyring_path: Path,
    now: datetime,
    rng: Rng,
    captured_deks: list[bytes],
) -> None:
    for i in range(200):
        kind = ArtefactKind.AUDIO if i % 2 else ArtefactKind.TRANSCRIPT
        _store(vault, now, rng, rng(1000 + i), kind)
    for artefact in vault.catalog.all_artefacts()[:20]:
        vault.shred_artefact(artefact.id, now=now, reason="test")
    assert len(captured_deks) == 200
    files = files_under(home, keyring_path.parent)
    assert count_hits(files, captured_deks) == 0
    # Control: the scan reads the database files for real (wrapped keys are there).
    live = [a for a in vault.catalog.all_artefacts() if a.state is State.AVAILABLE]
    wrapped = [vault.catalog.get_wrapped_key(a.id).wrapped for a in live[:5]]
    vault.catalog.checkpoint()
    assert count_hits(files_under(home), wrapped) >= 5


def test_e2_shredded_key_leaves_no_residue(
    vault: Vault, home: Path, now: datetime, rng: Rng, captured_deks: list[bytes]
) -> None:
    keep = _store(vault, now, rng, rng(4000), ArtefactKind.AUDIO)
    doomed = _store(vault, now, rng, rng(4000), ArtefactKind.TRANSCRIPT)
    wrapped = vault.catalog.get_wrapped_key(doomed).wrapped
    db_files = [home / name for name in DB_FILES if (home / name).exists()]
    assert count_hits(db_files, [wrapped]) >= 1  # the control: it is there before
    assert vault.shred_artefact(doomed, now=now, reason="erasure request")
    db_files = [home / name for name in DB_FILES if (home / name).exists()]
    assert count_hits(db_files, [wrapped, *captured_deks]) == 0
    with pytest.raises(GoneError), vault.open_artefact(doomed):
        pass
    assert not vault.blobs.exists(doomed)
    vault.verify_artefact(keep)
    receipts = [e for e in vault.audit.entries() if e.event.action == "artefact.shred"]
    assert len(receipts) == 1
    assert receipts[0].event.recording_id == vault.catalog.get_artefact(doomed).recording_id


def test_e6_shredding_is_idempotent(vault: Vault, now: datetime, rng: Rng) -> None:
    doomed = _store(vault, now, rng, rng(4000), ArtefactKind.SUMMARY)
    results = [vault.shred_artefact(doomed, now=now, reason="erasure") for _ in range(3)]
    assert results == [True, False, False]
    assert vault.catalog.get_artefact(doomed).state is State.DESTROYED
    assert sum(e.event.action == "artefact.shred" for e in vault.audit.entries()) == 1
    with pytest.raises(GoneError):
        vault.verify_artefact(doomed)


def test_unknown_artefact_is_not_found(vault: Vault) -> None:
    with pytest.raises(NotFoundError), vault.open_artefact("0" * 32):
        pass


def test_failed_row_insert_leaves_no_blob(vault: Vault, now: datetime, rng: Rng) -> None:
    # No recording row: the foreign key refuses the artefact row, and the blob is removed.
    with pytest.raises(Exception) as excinfo:
        vault.store_artefact(
            new_id(rng), ArtefactKind.AUDIO, io.BytesIO(b"x" * 100), now=now, rng=rng
        )
    assert excinfo.type.__module__.startswith("storage")
    assert list(vault.blobs.names()) == []
    assert vault.blobs.stray_temps() == []
