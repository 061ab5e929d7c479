"""P13 - "Calls about investment services are kept five years, as the securities law
requires." (bank)

How these tests prove it
------------------------
Sample call-06 is an investment call: its sidecar says ``regulated_5y``, a MIN class
("keep at least", a legal obligation). It is captured with the others into a real store.

- Its expiry is five calendar years after the answer (UTC).
- Sweeps at six months, at one year and one second before five years destroy nothing
  of it; it still decrypts and verifies against its capture hash each time, while the
  standard calls around it are destroyed at six months.
- A MIN obligation beats every MAX limit: a 30-day AI transcript made from it is kept as
  long as the call, and destroying it early is refused with the reason (what an erasure
  request would be told: "regulated_5y keeps until <date>").
- At five years the sweep destroys it, transcript included, with receipts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from recorder.retention import default_classes, derived_expiry, destruction_blocked, expiry
from recorder.sweep import sweep
from storage.models import ArtefactKind, State
from tests.promises.conftest import SampleStore

C = default_classes()


def test_investment_call_is_kept_five_years_then_destroyed(
    store: SampleStore, rng: Callable[[int], bytes]
) -> None:
    rec = store.recording("call-06")
    assert rec.retention_class == "regulated_5y" and C["regulated_5y"].kind == "min"
    answered = rec.answered_at or rec.started_at
    five_years = expiry(C["regulated_5y"], answered)
    assert rec.expires_at == five_years
    assert (five_years.year, five_years.month, five_years.day) == (2031, 11, 19)
    transcript = store.vault.store_artefact(
        rec.id, ArtefactKind.TRANSCRIPT, [b'{"segments": []}'], now=answered, rng=rng,
        expires_at=derived_expiry(C["ai_30d"], answered, rec.expires_at),
    )  # fmt: skip

    for at in (answered + timedelta(days=31), answered + timedelta(days=183),
               answered + timedelta(days=366), five_years - timedelta(seconds=1)):  # fmt: skip
        sweep(store.vault, classes=C, now=at)
        assert store.recording("call-06").state is State.AVAILABLE
        for art in store.vault.catalog.artefacts_for(rec.id):
            assert art.state is State.AVAILABLE
            store.vault.verify_artefact(art.id)
        reason = destruction_blocked(store.recording("call-06"), classes=C, now=at)
        assert reason == "regulated_5y keeps until 2031-11-19"
    assert store.recording("call-01").state is State.DESTROYED  # a standard call, meanwhile

    report = sweep(store.vault, classes=C, now=five_years)
    assert report.recordings_destroyed == 1
    assert store.recording("call-06").state is State.DESTROYED
    assert store.vault.catalog.get_artefact(transcript.id).state is State.DESTROYED
    receipts = [e.event for e in store.vault.audit.for_recording(rec.id)]
    assert {(e.action, e.reason) for e in receipts if e.actor_id == "retention"} == {
        ("artefact.shred", "regulated_5y"),
        ("recording.destroy", "regulated_5y"),
    }
