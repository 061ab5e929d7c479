"""``callrec fsck`` finds what capture must never leave: pending rows, unmasked numbers,
blobs that are not our ciphertext. Each check is shown to fail on a planted fault."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from recorder.capture import Capturer
from recorder.fsck import fsck
from storage.vault import Vault
from tests.recorder.conftest import MakeCall

Rng = Callable[[int], bytes]


def _store(capturer: Capturer, make_call: MakeCall, now: datetime, rng: Rng) -> str:
    return capturer.capture(make_call(), now=now, rng=rng).recording_id


def _sql(home: Path, statement: str, *args: object) -> None:
    conn = sqlite3.connect(home / "catalog.db")
    conn.execute(statement, args)
    conn.commit()
    conn.close()


def test_clean_store_passes(capturer: Capturer, vault: Vault, make_call: MakeCall,
                            now: datetime, rng: Rng) -> None:  # fmt: skip
    _store(capturer, make_call, now, rng)
    for quick in (False, True):
        report = fsck(vault, verify_content=not quick)
        assert report.ok, report.findings
        assert report.artefacts_checked == 1


def test_unmasked_number_and_pending_row_are_found(
    capturer: Capturer, vault: Vault, home: Path, make_call: MakeCall, now: datetime, rng: Rng
) -> None:
    a = _store(capturer, make_call, now, rng)
    b = _store(capturer, make_call, now, rng)
    _sql(home, "UPDATE recordings SET caller_display = '+4791234567' WHERE id = ?", a)
    _sql(home, "UPDATE recordings SET state = 'pending' WHERE id = ?", b)
    found = {(f.invariant, f.subject) for f in fsck(vault).findings}
    assert ("I7", a) in found and ("D1", b) in found
    assert all("4791234567" not in f.problem for f in fsck(vault).findings)


def test_quick_mode_still_refuses_a_plaintext_blob(
    capturer: Capturer, vault: Vault, make_call: MakeCall, now: datetime, rng: Rng
) -> None:
    recording_id = _store(capturer, make_call, now, rng)
    (artefact,) = vault.catalog.artefacts_for(recording_id)
    path = vault.blobs.path(artefact.id)  # type: ignore[attr-defined]
    path.write_bytes(b"RIFF....WAVEfmt plaintext audio that should never be here")
    quick = fsck(vault, verify_content=False)
    assert [f.invariant for f in quick.findings] == ["I4"]
    full = fsck(vault)
    assert [f.invariant for f in full.findings] == ["I1"]


def test_repair_never_races_a_capture_in_progress(
    capturer: Capturer, vault: Vault, make_call: MakeCall, now: datetime, rng: Rng
) -> None:
    """fsck --repair from another process while a call is sealed but not yet committed."""
    from datetime import UTC, timedelta

    def repair_at(grace: timedelta) -> Callable[[str], None]:
        def step(name: str) -> None:
            if name == "sealed":
                fsck(vault, repair=True, now=datetime.now(UTC), grace=grace)

        return step

    safe = capturer.capture(make_call(), now=now, rng=rng, step=repair_at(timedelta(hours=1)))
    (artefact,) = vault.catalog.artefacts_for(safe.recording_id)
    vault.verify_artefact(artefact.id)  # the young blob was left alone

    # Control: without the grace period the same repair deletes the in-flight blob.
    hurt = capturer.capture(make_call(), now=now, rng=rng, step=repair_at(timedelta(0)))
    (lost,) = vault.catalog.artefacts_for(hurt.recording_id)
    assert not vault.blobs.exists(lost.id)
