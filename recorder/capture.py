"""Capture: one finished call in, one durable, encrypted, catalogued, audited recording out.

The steps, each named so the crash tests (RELIABILITY D1) can stop the process there::

    decoded            audio probed and decoded; duration from real samples
    masked             caller number -> masked display + lookup digest (full number dropped)
    sealed             audio sealed under a fresh data key into a durable blob (no rows yet)
    tx.begin           BEGIN IMMEDIATE
    recording.inserted recording row, state pending
    artefact.inserted  artefact + wrapped-key rows
    audited            audit entry "recording.capture"
    available          state -> available
    committed          COMMIT: the recording exists, all or nothing

Only audio between the answer and the hang-up is kept (a recording starts when the call
is answered and ends when it is hung up). Idempotent on (source, source id): a second
delivery of the same call returns the first recording and stores nothing. A crash at any
step leaves either nothing visible or the whole recording; an orphan blob left by a crash
between ``sealed`` and ``committed`` is removed by ``fsck --repair``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from recorder.audio import AudioLimits, decode
from recorder.config import Config
from recorder.errors import InvalidEvent
from recorder.fieldrules import check_event
from recorder.masking import mask
from recorder.models import CallEvent
from recorder.policy import expires_at, retention_class
from storage.ai_store import set_call_ai
from storage.errors import DuplicateError
from storage.models import ArtefactKind, AuditEvent, NewRecording, Rng, State
from storage.vault import Vault, new_id

Step = Callable[[str], None]
log = logging.getLogger(__name__)

#: Audio may end a little before the signalled hang-up (the PBX stops recording first).
SHORTFALL_TOLERANCE_MS = 2000


def recording_hint(event: CallEvent) -> str:
    """A log-safe handle for an event: its source id, never the caller."""
    return event.source_id[:64]


def _no_step(name: str) -> None:
    """Default step hook: does nothing."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Captured:
    """What capture did with one call."""

    recording_id: str
    duplicate: bool
    duration_ms: int
    caller_display: str


def _offsets(event: CallEvent) -> tuple[int, int | None]:
    """Milliseconds into the audio where the answered part starts and ends."""
    answered = event.answered_at or event.started_at
    if answered < event.started_at:
        raise InvalidEvent("answered_at: before started_at")
    if event.ended_at is not None and event.ended_at < answered:
        raise InvalidEvent("ended_at: before answered_at")
    start = int((answered - event.started_at).total_seconds() * 1000)
    if event.ended_at is None:
        return start, None
    return start, int((event.ended_at - event.started_at).total_seconds() * 1000)


class Capturer:
    """Turns :class:`CallEvent` into stored recordings on one :class:`Vault`."""

    def __init__(self, vault: Vault, config: Config, *, limits: AudioLimits | None = None) -> None:
        self.vault = vault
        self.config = config
        self.limits = limits or AudioLimits()

    def _existing(self, event: CallEvent) -> Captured | None:
        found = self.vault.catalog.find_recording(event.source, event.source_id)
        if found is None or found.state is State.PENDING:
            return None
        return Captured(
            recording_id=found.id,
            duplicate=True,
            duration_ms=found.duration_ms or 0,
            caller_display=found.caller_display,
        )

    def capture(
        self, event: CallEvent, *, now: datetime, rng: Rng, step: Step = _no_step
    ) -> Captured:
        """Store one call (see the module docstring for the steps and guarantees)."""
        check_event(event)  # the same field rules on every path (recorder.fieldrules)
        existing = self._existing(event)
        if existing is not None:
            return existing
        cls = retention_class(event.retention_class)
        start_ms, end_ms = _offsets(event)
        audio = decode(event.audio_path, limits=self.limits).slice_ms(start_ms, end_ms)
        step("decoded")
        # Audio that stops well before the signalled hang-up is stored as it is (the duration
        # is always the real one), but the shortfall is audited and logged, never silent.
        shortfall = 0 if end_ms is None else max(0, end_ms - start_ms - audio.duration_ms)
        if shortfall > SHORTFALL_TOLERANCE_MS:
            log.warning("audio of %s/%s ends %d ms before the hang-up", event.source,
                        recording_hint(event), shortfall)  # fmt: skip
        keyring = self.vault.keyring
        pepper_version = keyring.active_pepper_version()
        if event.caller is None and event.masked_caller is not None:
            masked = event.masked_caller  # masked at ingest (webhook → job → worker)
        else:
            masked = mask(
                event.caller,
                pepper=keyring.pepper(pepper_version),
                pepper_version=pepper_version,
                default_region=self.config.default_region,
            )
        step("masked")
        recording_id = new_id(rng)
        answered = event.answered_at or event.started_at
        expiry = expires_at(cls, answered)
        sealed = self.vault.seal(recording_id, ArtefactKind.AUDIO, audio.iter_wav(), rng=rng)
        step("sealed")
        row = NewRecording(
            id=recording_id,
            provider=event.source,
            provider_id=event.source_id,
            started_at=event.started_at,
            answered_at=answered,
            ended_at=event.ended_at,
            duration_ms=audio.duration_ms,
            service_number=event.service_number,
            caller_display=masked.display,
            caller_digest=masked.digest,
            agent_id=event.agent_id,
            team_id=self.config.team_of(event.agent_id, event.started_at),
            channels=audio.channels,
            retention_class=cls.name,
            expires_at=expiry,
            ai_opted_out=not event.ai,
            created_at=now,
        )
        catalog = self.vault.catalog
        try:
            with catalog.transaction():
                step("tx.begin")
                catalog.insert_recording(row)
                set_call_ai(  # the AI path's view of the call (issue 7)
                    catalog,
                    recording_id,
                    notice=event.ai_notice,
                    optout_at_ms=event.ai_optout_at_ms,
                    language=event.language,
                )
                if event.participants:  # conference/transfer: agents of the call (issue 6)
                    catalog.add_participants(recording_id, event.participants)
                step("recording.inserted")
                self.vault.register(sealed, now=now, expires_at=expiry)
                step("artefact.inserted")
                self.vault.audit.append(
                    AuditEvent(
                        ts=now,
                        actor_id=f"ingest:{event.source}",
                        actor_role="system",
                        action="recording.capture",
                        outcome="ok",
                        recording_id=recording_id,
                        artefact=ArtefactKind.AUDIO,
                        detail={
                            "source": event.source,
                            "duration_ms": audio.duration_ms,
                            "channels": audio.channels,
                            "retention_class": cls.name,
                            "ai": event.ai,
                            "ai_notice": event.ai_notice,
                        }
                        | (
                            {"audio_shortfall_ms": shortfall}
                            if shortfall > SHORTFALL_TOLERANCE_MS
                            else {}
                        ),
                    )
                )
                step("audited")
                catalog.set_recording_state(recording_id, State.AVAILABLE)
                step("available")
        except DuplicateError:
            # Another worker stored the same call first: ours was never visible.
            self.vault.discard(sealed)
            existing = self._existing(event)
            if existing is None:
                raise
            return existing
        except BaseException:
            self.vault.discard(sealed)
            raise
        step("committed")
        return Captured(
            recording_id=recording_id,
            duplicate=False,
            duration_ms=audio.duration_ms,
            caller_display=masked.display,
        )
