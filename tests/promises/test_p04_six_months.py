"""P04 - "Recordings are kept six months and then destroyed automatically." (postal register)

How these tests prove it
------------------------
The eight sample calls are captured into a real store with ``callrec spool run``; seven
have the default class ``standard_6m``, call-06 is an investment call (``regulated_5y``).

- One second before six months after each call was answered, the retention sweep
  destroys nothing: every call still decrypts and verifies against its capture hash.
- At six months (calendar months, in UTC; 31 Aug + 6 months = 28 Feb), the sweep destroys
  every standard call: its data key is deleted from the catalog (``secure_delete`` plus a
  WAL checkpoint: the wrapped key's bytes are in no file of the store any more), its
  ciphertext file is gone, ``callrec play`` answers "no such recording" (exit 3), and the
  audit log holds a receipt per artefact by actor ``retention`` with the class as reason.
  The investment call is kept (a legal minimum beats the six-month limit).
- "Automatically": :func:`recorder.sweep.run_periodic`, the loop ``serve``/``worker``
  run, does the same with nobody typing a command.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

from recorder.retention import default_classes, expiry
from recorder.sweep import SweepReport, run_periodic, sweep
from storage.errors import GoneError
from storage.keyring import FileKeyRing
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.promises.conftest import SAMPLE_NAMES, SampleStore
from tests.storage.helpers import count_hits, files_under

C = default_classes()
STANDARD = [n for n in SAMPLE_NAMES if n != "call-06"]


def _six_months(store: SampleStore, name: str) -> datetime:
    rec = store.recording(name)
    return expiry(C["standard_6m"], rec.answered_at or rec.started_at)


def test_standard_calls_are_destroyed_at_six_months(store: SampleStore, tmp_path: Path) -> None:
    deadlines = {name: _six_months(store, name) for name in STANDARD}
    assert all(store.recording(n).expires_at == deadlines[n] for n in STANDARD)
    first, last = min(deadlines.values()), max(deadlines.values())
    assert first.month == 5 and last.month == 5  # November + 6 months = May

    early = sweep(store.vault, classes=C, now=first - timedelta(seconds=1))
    assert early.recordings_destroyed == 0
    for name in SAMPLE_NAMES:
        audio = store.vault.catalog.artefact_by_kind(store.ids[name], ArtefactKind.AUDIO)
        assert audio is not None
        store.vault.verify_artefact(audio.id)

    wrapped = [
        store.vault.catalog.get_wrapped_key(a.id).wrapped
        for name in STANDARD
        for a in store.vault.catalog.artefacts_for(store.ids[name])
    ]
    done = sweep(store.vault, classes=C, now=last)
    assert done.recordings_destroyed == len(STANDARD)
    for name in STANDARD:
        rid = store.ids[name]
        assert store.recording(name).state is State.DESTROYED
        for art in store.vault.catalog.artefacts_for(rid):
            assert art.state is State.DESTROYED
            assert not store.vault.blobs.exists(art.id)
            try:
                store.vault.catalog.get_wrapped_key(art.id)
                raise AssertionError("key survived")
            except GoneError:
                pass
        played = store.play(name, "anna", tmp_path / f"{name}.wav")
        assert played.exit_code == 3 and not (tmp_path / f"{name}.wav").exists()
        receipts = [e.event for e in store.vault.audit.for_recording(rid)]
        assert any(
            e.action == "recording.destroy" and e.actor_id == "retention"
            and e.reason == "standard_6m"
            for e in receipts
        )  # fmt: skip
    # crypto-shredding: no file of the store still holds a destroyed key's bytes
    assert count_hits(files_under(store.home), wrapped) == 0
    assert store.recording("call-06").state is State.AVAILABLE
    store.vault.audit.verify()


def test_the_periodic_sweep_destroys_without_anyone_asking(
    store: SampleStore, home: Path, keyring_path: Path
) -> None:
    after = max(_six_months(store, n) for n in STANDARD) + timedelta(hours=1)
    stop = threading.Event()
    reports: list[SweepReport] = []

    def on_report(report: SweepReport) -> None:
        reports.append(report)
        stop.set()

    passes = run_periodic(
        stop,
        timedelta(hours=1),
        open_vault=lambda: Vault.open(home, FileKeyRing.load(keyring_path)),
        classes=C,
        clock=lambda: after,
        on_report=on_report,
    )
    assert passes == 1
    assert reports[0].recordings_destroyed == len(STANDARD)
    assert {store.recording(n).state for n in STANDARD} == {State.DESTROYED}
