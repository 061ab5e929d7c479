"""Erasure (RELIABILITY T-ERASE E1, E2, E6, E7): cascade, residue scan, idempotence, refusals."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from recorder.access import principal_for
from recorder.capture import Capturer
from recorder.errors import AccessDenied
from recorder.fsck import fsck as recorder_fsck
from recorder.holds import place_hold, target_for
from recorder.playback import open_playback
from recorder.retention import load_classes
from recorder.subject import erase, find, run_pending_erasures, set_restriction
from recorder.sweep import SweepReport, run_periodic
from storage import crypto, subjects
from storage.blobs import FileBlobStore
from storage.errors import GoneError
from storage.keyring import FileKeyRing
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.invariants import check_invariants
from tests.recorder.conftest import MakeCall
from tests.recorder.subject.conftest import OTHER, SUBJECT, Subject, files_under


def blob_path(s: Subject, name: str) -> Path:
    blobs = s.vault.blobs
    assert isinstance(blobs, FileBlobStore)
    return blobs.path(name)


def _ok_receipts(s: Subject, recording_id: str) -> list[str]:
    return [
        e.event.detail["receipt"]
        for e in s.vault.audit.for_recording(recording_id)
        if e.event.action == "subject.erase" and e.event.outcome == "ok"
    ]


def test_e1_erasure_is_complete(
    subject: Subject, now: datetime, rng: Callable[[int], bytes], home: Path, keyring_path: Path
) -> None:
    s = subject
    before = {rid: s.artefacts(rid) for rid in s.mine}
    assert len(before[s.mine[0]]) == 3  # audio + transcript + summary
    outcomes = erase(s.vault, s.config, s.dpo, SUBJECT, now=now, rng=rng)
    assert [o.status for o in outcomes] == ["erased"] * 3
    assert sum(o.artefacts for o in outcomes) == 5
    for rid, kinds in before.items():
        for artefact_id in kinds.values():
            with pytest.raises(GoneError):
                s.vault.catalog.get_wrapped_key(artefact_id)
            with pytest.raises(GoneError), s.vault.open_artefact(artefact_id):
                pass
            assert not blob_path(s, artefact_id).exists()
        row = s.vault.catalog.get_recording(rid)
        assert row.state is State.DESTROYED and row.caller_display == "withheld"
        assert len(_ok_receipts(s, rid)) == 1
        # every API answers "gone": playback is refused, audited as gone
        with pytest.raises(AccessDenied):
            open_playback(
                s.vault, s.config, principal_for(s.config, "anna"), rid, purpose="quality", now=now
            )
    # the lookup finds only tombstones
    assert [r.state for r in find(s.vault, s.config, s.dpo, SUBJECT, purpose="dsar", now=now)] == [
        State.DESTROYED
    ] * 3
    # the other caller is untouched and still plays
    (other,) = find(s.vault, s.config, s.dpo, OTHER, purpose="dsar", now=now)
    assert other.state is State.AVAILABLE
    for artefact_id in s.artefacts(other.id).values():
        s.vault.verify_artefact(artefact_id)
    s.vault.audit.verify()
    check_invariants(home, keyring_path, canaries=[], numbers=[SUBJECT, OTHER])
    report = recorder_fsck(s.vault)
    assert report.ok, report.findings


def test_e2_no_key_residue_on_disk(
    subject: Subject, now: datetime, rng: Callable[[int], bytes]
) -> None:
    s = subject
    secrets: list[bytes] = []
    for rid in s.mine:
        for artefact in s.vault.catalog.artefacts_for(rid):
            key = s.vault.catalog.get_wrapped_key(artefact.id)
            secrets.append(key.wrapped)
            secrets.append(
                crypto.unwrap_key(
                    s.vault.keyring.kek(key.kek_version),
                    key.kek_version,
                    key.wrapped,
                    recording_id=rid,
                    artefact=artefact.kind,
                )
            )
    assert len(secrets) == 10
    home = blob_path(s, s.mine[0]).parents[2]
    erase(s.vault, s.config, s.dpo, SUBJECT, now=now, rng=rng)
    files = files_under(home)
    assert any(p.name == "catalog.db" for p in files)
    hits = [(p.name, i) for p in files for i, sec in enumerate(secrets) if sec in p.read_bytes()]
    assert hits == []


def test_e6_erasing_three_times_is_one_erasure(
    subject: Subject, now: datetime, rng: Callable[[int], bytes]
) -> None:
    s = subject
    first = erase(s.vault, s.config, s.dpo, SUBJECT, now=now, rng=rng)
    states = [s.vault.catalog.get_recording(rid) for rid in s.mine]
    for _ in range(2):
        again = erase(s.vault, s.config, s.dpo, SUBJECT, now=now, rng=rng)
        assert [o.status for o in again] == ["already_erased"] * 3
        assert [o.receipt for o in again] == [o.receipt for o in first]
        assert [s.vault.catalog.get_recording(rid) for rid in s.mine] == states
    for rid in s.mine:
        assert len(_ok_receipts(s, rid)) == 1
        erasure = subjects.get_erasure(s.vault.catalog, rid)
        assert erasure is not None and erasure.state == "done"


def test_e7_hold_refuses_then_erases_after_release(
    subject: Subject, now: datetime, rng: Callable[[int], bytes]
) -> None:
    s = subject
    held = s.mine[1]
    s.vault.catalog.set_recording_flags(held, legal_hold=True)
    outcomes = {
        o.recording_id: o for o in erase(s.vault, s.config, s.dpo, SUBJECT, now=now, rng=rng)
    }
    assert outcomes[held].status == "pending"
    assert "hold" in (outcomes[held].reason or "")
    assert {outcomes[r].status for r in s.mine if r != held} == {"erased"}
    denied = [e for e in s.vault.audit.for_recording(held) if e.event.action == "subject.erase"]
    assert [(e.event.outcome, e.event.reason) for e in denied] == [
        ("denied", outcomes[held].reason)
    ]
    for artefact_id in s.artefacts(held).values():
        s.vault.verify_artefact(artefact_id)  # still fully readable
    # nothing changes while the hold stands, and the refusal is not re-audited
    assert run_pending_erasures(s.vault, s.config, now=now, rng=rng) == []
    s.vault.catalog.set_recording_flags(held, legal_hold=False)
    (done,) = run_pending_erasures(s.vault, s.config, now=now + timedelta(hours=1), rng=rng)
    assert (done.recording_id, done.status) == (held, "erased")
    assert s.vault.catalog.get_recording(held).state is State.DESTROYED
    assert len(_ok_receipts(s, held)) == 1
    assert subjects.pending_erasures(s.vault.catalog) == []


def test_e7_min_class_refuses_until_it_runs_out(
    subject: Subject,
    capturer: Capturer,
    make_call: MakeCall,
    now: datetime,
    rng: Callable[[int], bytes],
) -> None:
    s = subject
    event = make_call(caller=SUBJECT, seconds=2.0, retention_class="regulated_5y")
    regulated = capturer.capture(event, now=now, rng=rng).recording_id
    outcomes = {
        o.recording_id: o for o in erase(s.vault, s.config, s.dpo, SUBJECT, now=now, rng=rng)
    }
    assert outcomes[regulated].status == "pending"
    assert "regulated_5y" in (outcomes[regulated].reason or "")
    expiry = s.vault.catalog.get_recording(regulated).expires_at
    assert expiry is not None
    assert run_pending_erasures(s.vault, s.config, now=expiry - timedelta(days=1), rng=rng) == []
    (done,) = run_pending_erasures(s.vault, s.config, now=expiry + timedelta(seconds=1), rng=rng)
    assert done.status == "erased"


def test_restriction_blocks_erasure_until_lifted(
    subject: Subject, now: datetime, rng: Callable[[int], bytes]
) -> None:
    s = subject
    set_restriction(
        s.vault, s.config, s.dpo, SUBJECT, restricted=True, reason="accuracy contested", now=now
    )
    assert {o.status for o in erase(s.vault, s.config, s.dpo, SUBJECT, now=now, rng=rng)} == {
        "pending"
    }
    set_restriction(s.vault, s.config, s.dpo, SUBJECT, restricted=False, reason="resolved", now=now)
    assert {o.status for o in run_pending_erasures(s.vault, s.config, now=now, rng=rng)} == {
        "erased"
    }


def test_only_the_dpo_erases_and_the_refusal_is_audited(
    subject: Subject, now: datetime, rng: Callable[[int], bytes]
) -> None:
    s = subject
    for user in ("anna", "siri", "admin1", "lawyer1"):
        size = s.vault.audit.head()[0]
        with pytest.raises(AccessDenied):
            erase(s.vault, s.config, principal_for(s.config, user), SUBJECT, now=now, rng=rng)
        (entry,) = list(s.vault.audit.entries(size + 1))
        assert (entry.event.action, entry.event.outcome) == ("subject.erase", "denied")
    assert all(s.vault.catalog.get_recording(r).state is State.AVAILABLE for r in s.mine)


def test_no_number_reaches_the_audit_log(
    subject: Subject, now: datetime, rng: Callable[[int], bytes]
) -> None:
    s = subject
    find(s.vault, s.config, s.dpo, SUBJECT, purpose="dsar", now=now)
    erase(s.vault, s.config, s.dpo, SUBJECT, now=now, rng=rng)
    text = "\n".join(repr(e.event) for e in s.vault.audit.entries())
    for leak in ("4791234567", "91234567", "912 34 567"):
        assert leak not in text


def test_the_periodic_sweep_finishes_an_erasure_once_its_hold_lifts(
    subject: Subject,
    home: Path,
    keyring_path: Path,
    now: datetime,
    rng: Callable[[int], bytes],
) -> None:
    """The worker's periodic pass (run_periodic + after_pass) does what the DPO asked for."""
    s = subject
    held = s.mine[0]
    s.vault.catalog.set_recording_flags(held, legal_hold=True)
    erase(s.vault, s.config, s.dpo, SUBJECT, now=now, rng=rng)
    assert s.vault.catalog.get_recording(held).state is not State.DESTROYED
    s.vault.catalog.set_recording_flags(held, legal_hold=False)
    stop = threading.Event()

    def one_pass(_report: SweepReport) -> None:
        stop.set()

    passes = run_periodic(
        stop,
        timedelta(minutes=5),
        open_vault=lambda: Vault.open(home, FileKeyRing.load(keyring_path)),
        classes=load_classes(s.config),
        clock=lambda: now + timedelta(hours=1),
        on_report=one_pass,
        after_pass=lambda vault, at: run_pending_erasures(vault, s.config, now=at, rng=rng),
    )
    assert passes == 1
    assert s.vault.catalog.get_recording(held).state is State.DESTROYED
    assert len(_ok_receipts(s, held)) == 1
    assert subjects.pending_erasures(s.vault.catalog) == []


def test_a_standing_hold_blocks_erasure_of_a_call_captured_after_it(
    subject: Subject,
    capturer: Capturer,
    make_call: MakeCall,
    now: datetime,
    rng: Callable[[int], bytes],
) -> None:
    """A hold on the caller covers calls captured later, even before a sweep flags them."""
    s = subject
    target = target_for(s.vault, s.config, number=SUBJECT)
    place_hold(s.vault, s.config, s.legal, target, reason="case 12", now=now, rng=rng)
    later = capturer.capture(
        make_call(caller=SUBJECT, agent="anna", seconds=2.0), now=now, rng=rng
    ).recording_id
    assert not s.vault.catalog.get_recording(later).legal_hold  # no sweep has flagged it yet
    outcomes = {
        o.recording_id: o for o in erase(s.vault, s.config, s.dpo, SUBJECT, now=now, rng=rng)
    }
    assert outcomes[later].status == "pending"
    assert "hold" in (outcomes[later].reason or "")
    s.vault.verify_artefact(s.artefacts(later)[ArtefactKind.AUDIO])  # still whole
