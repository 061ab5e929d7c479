"""Value types of the recorder: what an ingest adapter hands to capture.

Frozen, slotted, keyword-only dataclasses; UTC-aware datetimes. The caller's full number
exists only in :class:`CallEvent` (request memory) and is replaced by a
:class:`MaskedNumber` before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from storage.models import LookupDigest

WITHHELD = "withheld"
#: The ``provider`` of every chat conversation's recording row (issue 17): a chat is a
#: recording without audio, so retention, holds and data-subject rights cover it as they are.
CHAT_PROVIDER = "chat"


@dataclass(frozen=True, slots=True, kw_only=True)
class MaskedNumber:
    """A caller number as callrec keeps it.

    ``display`` is E.164 with exactly the last three digits replaced by ``*``
    (``+4791234***``), or ``"withheld"`` when the input was withheld, unparseable or odd.
    ``digest`` is the keyed lookup hash of the E.164 form (None when withheld).
    """

    display: str
    digest: LookupDigest | None = field(repr=False)

    @property
    def withheld(self) -> bool:
        """True when no number was kept at all."""
        return self.digest is None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent:
    """One finished call, normalised by an ingest adapter, ready for capture.

    ``caller`` is the raw caller id as delivered (full number: request memory only; it is
    excluded from ``repr`` so it cannot reach a log by accident).
    """

    source: str  # "spool", "cli", "twilio", "telnyx", "upload"
    source_id: str  # the provider's id for the recording; (source, source_id) is unique
    audio_path: Path
    caller: str | None = field(repr=False)
    service_number: str | None
    agent_id: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    channels: tuple[str, ...] = ("mixed",)  # e.g. ("agent", "customer") for dual-channel
    ai: bool = True
    retention_class: str | None = None
    language: str | None = None
    #: The customer was told AI is used in this call (P18); AI never runs without it.
    ai_notice: bool = False
    #: The customer asked to stop AI this many ms after the answer (P17); 0 = no AI at all.
    ai_optout_at_ms: int | None = None
    #: Other agents who took part (conference or transfer; user ids). For access each is an
    #: agent of the call: it is their own call, and their supervisors' at call time.
    participants: tuple[str, ...] = ()
    #: The caller already masked at ingest (webhook adapters mask before a job is queued, so
    #: no full number waits in the job table); used by capture when ``caller`` is None.
    masked_caller: MaskedNumber | None = None
