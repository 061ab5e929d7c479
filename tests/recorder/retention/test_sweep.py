"""The sweep on a real store: what is due is crypto-shredded, what is kept is kept.

Real SQLite catalog, real file blobs, real keyring, real audit chain (the ``vault``
fixture). Covers R2 (derived artefacts), E6 for the sweep path (three passes, same final
state), hold release re-queueing, MIN and Art. 18 restriction, the spool's ``rejected/``
folder and "gone" answers after destruction.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from recorder.access import Principal
from recorder.config import Config
from recorder.errors import AccessDenied
from recorder.playback import open_playback
from recorder.retention import default_classes, expiry, keep_until
from recorder.sweep import SweepReport, purge_rejected, sweep
from storage import holds, sealing
from storage import retention_store as store
from storage.errors import GoneError
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.recorder.retention.helpers import add_call, live_kinds

C = default_classes()
Rng = Callable[[int], bytes]


def _sweep(vault: Vault, at: datetime, **kw: object) -> SweepReport:
    return sweep(vault, classes=C, now=at, **kw)  # type: ignore[arg-type]


def test_due_recording_is_crypto_shredded_and_audited(
    vault: Vault, now: datetime, rng: Rng
) -> None:
    due = add_call(vault, start=now, cls=C["buffer_24h"], rng=rng)
    kept = add_call(vault, start=now, cls=C["standard_6m"], rng=rng)
    arts = vault.catalog.artefacts_for(due)
    report = _sweep(vault, now + timedelta(hours=24))
    assert (report.recordings_destroyed, report.artefacts_destroyed) == (1, 1)
    assert vault.catalog.get_recording(due).state is State.DESTROYED
    for art in arts:
        with pytest.raises(GoneError):
            vault.catalog.get_wrapped_key(art.id)
        with pytest.raises(GoneError):
            with vault.open_artefact(art.id):
                pass
        assert not vault.blobs.exists(art.id)
    assert vault.catalog.get_recording(kept).state is State.AVAILABLE
    vault.verify_artefact(vault.catalog.artefacts_for(kept)[0].id)
    receipts = [e.event for e in vault.audit.for_recording(due)]
    shred = [e for e in receipts if e.action == "artefact.shred"]
    destroy = [e for e in receipts if e.action == "recording.destroy"]
    assert len(shred) == 1 and len(destroy) == 1
    assert {e.actor_id for e in shred + destroy} == {"retention"}
    assert {e.reason for e in shred + destroy} == {"buffer_24h"}
    vault.audit.verify()


def test_one_second_early_nothing_happens(vault: Vault, now: datetime, rng: Rng) -> None:
    rid = add_call(vault, start=now, cls=C["buffer_24h"], rng=rng)
    report = _sweep(vault, now + timedelta(hours=24) - timedelta(seconds=1))
    assert report.recordings_destroyed == 0
    assert vault.catalog.get_recording(rid).state is State.AVAILABLE


def test_three_sweeps_same_final_state(vault: Vault, now: datetime, rng: Rng) -> None:
    """E6 for the sweep path: repeated passes change nothing and never crash."""
    ids = [add_call(vault, start=now, cls=C["ai_30d"], rng=rng) for _ in range(3)]
    later = now + timedelta(days=31)
    first = _sweep(vault, later)
    seq_after_first = vault.audit.head()[0]
    second = _sweep(vault, later)
    third = _sweep(vault, later + timedelta(days=1))
    assert first.recordings_destroyed == 3
    assert second.recordings_destroyed == third.recordings_destroyed == 0
    assert second.artefacts_destroyed == third.artefacts_destroyed == 0
    assert vault.audit.head()[0] == seq_after_first  # no duplicate receipts
    assert {vault.catalog.get_recording(r).state for r in ids} == {State.DESTROYED}


def test_derived_artefacts_live_min_of_own_and_parent(
    vault: Vault, now: datetime, rng: Rng
) -> None:
    """R2: a transcript (ai_30d) under a 6-month call goes at 30 days; under a 24 h call at 24 h."""
    long = add_call(
        vault, start=now, cls=C["standard_6m"], rng=rng,
        derived=[(ArtefactKind.TRANSCRIPT, C["ai_30d"]), (ArtefactKind.SUMMARY, C["ai_30d"])],
    )  # fmt: skip
    short = add_call(
        vault, start=now, cls=C["buffer_24h"], rng=rng,
        derived=[(ArtefactKind.TRANSCRIPT, C["ai_30d"])],
    )  # fmt: skip
    _sweep(vault, now + timedelta(hours=24))
    assert live_kinds(vault, short) == set()
    assert live_kinds(vault, long) == {"audio", "transcript", "summary"}
    report = _sweep(vault, now + timedelta(days=30))
    assert report.artefacts_destroyed == 2 and report.recordings_destroyed == 0
    assert live_kinds(vault, long) == {"audio"}
    shreds = [
        e.event for e in vault.audit.for_recording(long) if e.event.action == "artefact.shred"
    ]
    assert {e.reason for e in shreds} == {"transcript expiry", "summary expiry"}
    _sweep(vault, expiry(C["standard_6m"], now))
    assert live_kinds(vault, long) == set()
    assert vault.catalog.get_recording(long).state is State.DESTROYED


def test_audio_expiring_takes_its_derived_artefacts(vault: Vault, now: datetime, rng: Rng) -> None:
    """No artefact outlives its parent: audio shortened alone still takes the transcript."""
    rid = add_call(
        vault, start=now, cls=C["standard_6m"], rng=rng,
        derived=[(ArtefactKind.TRANSCRIPT, C["standard_6m"])],
    )  # fmt: skip
    audio = vault.catalog.artefact_by_kind(rid, ArtefactKind.AUDIO)
    assert audio is not None
    with sealing.guarded(vault.catalog, "artefacts", [(audio.id,)]):  # as callrec would
        vault.catalog.change(
            "test: shorten the audio only",
            "UPDATE artefacts SET expires_at = ? WHERE id = ?",
            ("2000-01-01T00:00:00.000000Z", audio.id),
        )
    _sweep(vault, now + timedelta(days=1))
    assert live_kinds(vault, rid) == set()
    assert vault.catalog.get_recording(rid).state is State.DESTROYED


def test_hold_keeps_and_release_requeues(vault: Vault, now: datetime, rng: Rng) -> None:
    rid = add_call(vault, start=now, cls=C["buffer_24h"], rng=rng, digest="d" * 64)
    other = add_call(vault, start=now, cls=C["buffer_24h"], rng=rng, agent="bjorn")
    holds.place(
        vault.catalog, hold_id="h1", target="caller", value="d" * 64, reason="case",
        now=now, placed_by="lena",
    )  # fmt: skip
    # a call of the same caller captured after the hold is covered too (standing hold)
    later = add_call(vault, start=now + timedelta(hours=1), cls=C["buffer_24h"], rng=rng,
                     digest="d" * 64)  # fmt: skip
    dry = _sweep(vault, now + timedelta(days=3), dry_run=True)
    assert dry.blocked == {"legal hold": 2} and dry.recordings_destroyed == 1
    report = _sweep(vault, now + timedelta(days=3))
    assert report.blocked == {"legal hold": 2}
    assert report.holds_applied == 1
    assert vault.catalog.get_recording(rid).state is State.AVAILABLE
    assert vault.catalog.get_recording(later).state is State.AVAILABLE
    assert vault.catalog.get_recording(other).state is State.DESTROYED
    holds.release(
        vault.catalog, target="caller", value="d" * 64, now=now, released_by="lena",
        reason="case closed",
    )  # fmt: skip
    report = _sweep(vault, now + timedelta(days=4))
    assert report.recordings_destroyed == 2 and report.blocked == {}
    assert vault.catalog.get_recording(rid).state is State.DESTROYED


def test_overlapping_holds_release_one_keeps_the_other(
    vault: Vault, now: datetime, rng: Rng
) -> None:
    rid = add_call(vault, start=now, cls=C["buffer_24h"], rng=rng, agent="anna")
    holds.place(vault.catalog, hold_id="h1", target="agent", value="anna", reason="a",
                now=now, placed_by="lena")  # fmt: skip
    holds.place(vault.catalog, hold_id="h2", target="recording", value=rid, reason="b",
                now=now, placed_by="lena")  # fmt: skip
    holds.release(vault.catalog, target="agent", value="anna", now=now, released_by="lena",
                  reason="done")  # fmt: skip
    assert vault.catalog.get_recording(rid).legal_hold
    assert holds.is_covered(vault.catalog, rid)
    _sweep(vault, now + timedelta(days=2))
    assert vault.catalog.get_recording(rid).state is State.AVAILABLE
    holds.release(vault.catalog, target="recording", value=rid, now=now, released_by="lena",
                  reason="done")  # fmt: skip
    assert not vault.catalog.get_recording(rid).legal_hold
    assert [h.id for h in holds.history(vault.catalog, target="recording", value=rid)] == ["h2"]
    _sweep(vault, now + timedelta(days=2))
    assert vault.catalog.get_recording(rid).state is State.DESTROYED


def test_min_class_kept_until_its_date_then_destroyed(
    vault: Vault, now: datetime, rng: Rng
) -> None:
    rid = add_call(
        vault, start=now, cls=C["regulated_5y"], rng=rng,
        derived=[(ArtefactKind.TRANSCRIPT, C["ai_30d"])],
    )  # fmt: skip
    report = _sweep(vault, now + timedelta(days=40))
    assert report.artefacts_destroyed == 0  # the 30-day transcript: MIN beats MAX
    assert live_kinds(vault, rid) == {"audio", "transcript"}
    until = keep_until(vault.catalog.get_recording(rid), C)
    assert until == expiry(C["regulated_5y"], now)
    _sweep(vault, until - timedelta(seconds=1))
    assert vault.catalog.get_recording(rid).state is State.AVAILABLE
    _sweep(vault, until)
    assert vault.catalog.get_recording(rid).state is State.DESTROYED


def test_restricted_recording_is_not_destroyed(vault: Vault, now: datetime, rng: Rng) -> None:
    rid = add_call(vault, start=now, cls=C["buffer_24h"], rng=rng)
    vault.catalog.set_recording_flags(rid, restricted=True)
    report = _sweep(vault, now + timedelta(days=2))
    assert report.blocked == {"restricted (Art. 18)": 1}
    vault.catalog.set_recording_flags(rid, restricted=False)
    assert _sweep(vault, now + timedelta(days=2)).recordings_destroyed == 1


def test_dry_run_changes_nothing(vault: Vault, now: datetime, rng: Rng) -> None:
    rid = add_call(vault, start=now, cls=C["buffer_24h"], rng=rng,
                   derived=[(ArtefactKind.TRANSCRIPT, C["ai_30d"])])  # fmt: skip
    head = vault.audit.head()
    report = _sweep(vault, now + timedelta(days=2), dry_run=True)
    assert (report.recordings_destroyed, report.artefacts_destroyed) == (1, 2)
    assert vault.audit.head() == head
    assert live_kinds(vault, rid) == {"audio", "transcript"}


def test_playback_of_a_destroyed_recording_is_a_clear_refusal(
    vault: Vault, now: datetime, rng: Rng, config: Config
) -> None:
    rid = add_call(vault, start=now, cls=C["buffer_24h"], rng=rng, agent="anna")
    _sweep(vault, now + timedelta(days=2))
    anna = Principal(user_id="anna", roles=frozenset({"agent"}))
    with pytest.raises(AccessDenied, match="no such recording"):
        open_playback(vault, config, anna, rid, purpose="quality", now=now + timedelta(days=2))
    denied = [e.event for e in vault.audit.for_recording(rid) if e.event.outcome == "denied"]
    assert denied and denied[-1].reason == "recording is gone"


def test_many_pages_with_held_rows_between(vault: Vault, now: datetime, rng: Rng) -> None:
    """Keyset paging: a page full of held rows does not stop the pass (batch=2)."""
    held = [add_call(vault, start=now, cls=C["buffer_24h"], rng=rng) for _ in range(4)]
    free = [add_call(vault, start=now, cls=C["buffer_24h"], rng=rng) for _ in range(5)]
    for rid in held:
        vault.catalog.set_recording_flags(rid, legal_hold=True)
    report = _sweep(vault, now + timedelta(days=2), batch=2)
    assert report.recordings_destroyed == 5 and report.blocked == {"legal hold": 4}
    assert {vault.catalog.get_recording(r).state for r in free} == {State.DESTROYED}
    assert store.queued_blobs(vault.catalog) == []


def test_rejected_spool_files_older_than_24h_are_deleted(tmp_path: Path, now: datetime) -> None:
    spool = tmp_path / "spool"
    rejected = spool / "rejected"
    rejected.mkdir(parents=True)
    old = rejected / "call-1.wav"
    old.write_bytes(b"RIFF plaintext pbx audio")
    young = rejected / "call-2.wav"
    young.write_bytes(b"RIFF plaintext pbx audio")
    stamp = (now - timedelta(hours=25)).timestamp()
    os.utime(old, (stamp, stamp))
    stamp = (now - timedelta(hours=23)).timestamp()
    os.utime(young, (stamp, stamp))
    assert purge_rejected([spool, tmp_path / "missing"], now=now, keep=timedelta(hours=24)) == 1
    assert not old.exists() and young.exists()


def test_sweep_purges_rejected_with_the_buffer_class(
    vault: Vault, tmp_path: Path, now: datetime
) -> None:
    rejected = tmp_path / "spool" / "rejected"
    rejected.mkdir(parents=True)
    old = rejected / "x.wav"
    old.write_bytes(b"pcm")
    stamp = (now - timedelta(hours=24, seconds=1)).timestamp()
    os.utime(old, (stamp, stamp))
    report = _sweep(vault, now, spools=[tmp_path / "spool"])
    assert report.rejected_deleted == 1 and not old.exists()


def test_min_row_with_a_shortened_expiry_is_still_kept(
    vault: Vault, now: datetime, rng: Rng
) -> None:
    """A MIN row whose stored expiry was cut short by mistake is due, but kept (and said why)."""
    rid = add_call(vault, start=now, cls=C["regulated_5y"], rng=rng)
    with sealing.guarded(vault.catalog, "recordings", [(rid,)]):  # a bug in callrec, say
        vault.catalog.change(
            "test: shorten the expiry",
            "UPDATE recordings SET expires_at = ? WHERE id = ?",
            ("2000-01-01T00:00:00.000000Z", rid),
        )
    report = _sweep(vault, now + timedelta(days=400))
    assert report.blocked == {"regulated_5y (MIN)": 1}
    assert vault.catalog.get_recording(rid).state is State.AVAILABLE


def test_periodic_sweep_survives_a_failed_pass(vault: Vault, now: datetime, rng: Rng) -> None:
    import threading

    from recorder.sweep import run_periodic

    rid = add_call(vault, start=now, cls=C["buffer_24h"], rng=rng)
    stop = threading.Event()
    opened: list[int] = []
    reports: list[SweepReport] = []

    def open_vault() -> Vault:
        opened.append(1)
        if len(opened) == 1:
            raise OSError("disk not mounted yet")
        return _Unclosed(vault)  # type: ignore[return-value]

    def on_report(report: SweepReport) -> None:
        reports.append(report)
        stop.set()

    passes = run_periodic(stop, timedelta(0), open_vault=open_vault, classes=C,
                          clock=lambda: now + timedelta(days=2), on_report=on_report)  # fmt: skip
    assert passes == 2 and len(reports) == 1
    assert vault.catalog.get_recording(rid).state is State.DESTROYED


class _Unclosed:
    """The fixture's vault, with ``close`` a no-op (the fixture closes it)."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    def __getattr__(self, name: str) -> object:
        return getattr(self._vault, name)

    def close(self) -> None:
        """Leave the fixture's vault open."""
