"""P16 - "With AI, recordings and transcripts are kept 30 days." (bank) - retention side.

How these tests prove it
------------------------
The AI path (issue 7) moves a call it processes to the class ``ai_30d`` and stores the
transcript and summary as artefacts that live min(30 days, the call's own expiry). This
test takes the retention side: sample calls captured into a real store, one moved to
``ai_30d`` with a transcript and a summary, another kept ``standard_6m`` but with a
transcript (an AI artefact of a call whose audio lives longer).

- One second before 30 days after the answer, the sweep destroys nothing of either.
- At 30 days, the AI call is destroyed whole (audio, transcript, summary: keys shredded,
  files deleted, receipts with reason ``ai_30d``), and the other call's transcript is
  destroyed while its audio stays until six months.
- 30 days are exact elapsed days in UTC, whatever DST did in between.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from recorder.retention import default_classes, derived_expiry, expiry
from recorder.sweep import sweep
from storage.ai_store import set_retention
from storage.models import ArtefactKind, State
from tests.promises.conftest import SampleStore

C = default_classes()


def test_ai_recordings_and_transcripts_go_after_30_days(
    store: SampleStore, rng: Callable[[int], bytes]
) -> None:
    vault = store.vault
    ai_call, other = store.recording("call-02"), store.recording("call-04")
    answered = ai_call.answered_at or ai_call.started_at
    thirty = expiry(C["ai_30d"], answered)
    assert thirty - answered == timedelta(days=30)
    set_retention(vault.catalog, ai_call.id, retention_class="ai_30d", expires_at=thirty)
    made = [
        vault.store_artefact(ai_call.id, kind, [b"{}"], now=answered, rng=rng,
                             expires_at=derived_expiry(C["ai_30d"], answered, thirty))
        for kind in (ArtefactKind.TRANSCRIPT, ArtefactKind.SUMMARY)
    ]  # fmt: skip
    other_answered = other.answered_at or other.started_at
    other_transcript = vault.store_artefact(
        other.id, ArtefactKind.TRANSCRIPT, [b"{}"], now=other_answered, rng=rng,
        expires_at=derived_expiry(C["ai_30d"], other_answered, other.expires_at),
    )  # fmt: skip

    sweep(vault, classes=C, now=thirty - timedelta(seconds=1))
    assert store.recording("call-02").state is State.AVAILABLE
    assert all(vault.catalog.get_artefact(a.id).state is State.AVAILABLE for a in made)

    sweep(vault, classes=C, now=other_answered + timedelta(days=30))
    assert store.recording("call-02").state is State.DESTROYED
    for art in vault.catalog.artefacts_for(ai_call.id):
        assert art.state is State.DESTROYED and not vault.blobs.exists(art.id)
    reasons = {e.event.reason for e in vault.audit.for_recording(ai_call.id)
               if e.event.action == "artefact.shred"}  # fmt: skip
    assert reasons == {"ai_30d"}
    assert vault.catalog.get_artefact(other_transcript.id).state is State.DESTROYED
    assert store.recording("call-04").state is State.AVAILABLE
    audio = vault.catalog.artefact_by_kind(other.id, ArtefactKind.AUDIO)
    assert audio is not None
    vault.verify_artefact(audio.id)
