"""What a QA reviewer is shown: the call card, the transcript and the draft summary.

One job: turn a recording row and its AI artefacts into plain view objects for the review
flow (:mod:`recorder.qa`, which decides and audits *before* calling anything here). No
access decisions, no audit, no click.

- The call card carries the masked number only (the catalog holds nothing else), the
  agent and team at call time, the duration and the AI topics when there are any.
- Transcript and summary text pass :func:`recorder.logredact.redact` on the way out, a
  safety net on top of the AI path's own redaction.
- Artefact formats: the transcript is :meth:`transcribe.models.Transcript.to_dict`; the
  summary is the AI path's envelope ``{"v", "summary": Summary.to_dict(), "edit"}`` (a bare
  ``Summary`` dict or ``{"text": ...}`` is read too); the categories are a list of
  ``{"topic", "score", "evidence"}`` (or of names). A call without them shows "no AI
  output for this call".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recorder import logredact
from recorder.errors import QaError
from storage.errors import GoneError
from storage.models import ArtefactKind, Recording, State
from storage.vault import Vault
from transcribe.errors import BadTranscript
from transcribe.models import Transcript


@dataclass(frozen=True, slots=True, kw_only=True)
class CallCard:
    """What a reviewer sees of a call before listening: never the full number."""

    recording_id: str
    caller: str
    agent: str | None
    team: str | None
    started_at: datetime
    duration_ms: int | None
    topics: tuple[str, ...]
    has_transcript: bool
    has_summary: bool
    scored: bool
    number: int  # 1-based place among the reviewer's assignments
    total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptLine:
    """One segment of a transcript as shown (text already number-redacted)."""

    start: float
    end: float
    speaker: str | None
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptView:
    """The transcript of a call, or ``present=False`` when there is none."""

    recording_id: str
    present: bool
    language: str | None = None
    lines: tuple[TranscriptLine, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SummaryView:
    """The AI draft summary of a call (``present=False`` when there is none)."""

    recording_id: str
    present: bool
    text: str = ""
    status: str | None = None


def _live(vault: Vault, recording: Recording, kind: ArtefactKind) -> str | None:
    artefact = vault.catalog.artefact_by_kind(recording.id, kind)
    if artefact is None or artefact.state is not State.AVAILABLE:
        return None
    return artefact.id


def read_json(vault: Vault, recording: Recording, kind: ArtefactKind) -> Any | None:
    """The decoded JSON of a live artefact, or None when the call has none (or it is gone)."""
    artefact_id = _live(vault, recording, kind)
    if artefact_id is None:
        return None
    try:
        with vault.open_artefact(artefact_id) as reader:
            data = b"".join(reader.read_range(0))
    except GoneError:
        return None
    try:
        return json.loads(data)
    except ValueError:
        raise QaError(f"stored {kind} is not readable JSON") from None


def topics_of(data: Any) -> tuple[str, ...]:
    """Topic names from a categories artefact (see the module docstring)."""
    if isinstance(data, Mapping):
        data = data.get("topics", data.get("categories"))
    if not isinstance(data, list):
        return ()
    names: list[str] = []
    for item in data:
        if isinstance(item, Mapping):
            item = item.get("topic", item.get("name"))
        if isinstance(item, str):
            names.append(logredact.redact(item))
    return tuple(names)


def _summary_parts(data: Any) -> tuple[str, str | None]:
    """(text, status) from a summary artefact in any of the accepted shapes."""
    if isinstance(data, str):
        return data, None
    if not isinstance(data, Mapping):
        return "", None
    if isinstance(data.get("summary"), Mapping):  # the AI path's envelope
        edited = bool(data.get("edit"))
        data = data["summary"]
        status = "edited" if edited else None
    else:
        status = None
    text = data.get("text", data.get("summary", ""))
    draft = data.get("draft")
    if isinstance(draft, bool):
        status = status or ("draft" if draft else "reviewed")
    elif isinstance(data.get("status"), str):
        status = data["status"]
    return (text if isinstance(text, str) else str(text)), status


def call_card(
    vault: Vault, recording: Recording, *, number: int, total: int, scored: bool
) -> CallCard:
    """The card of an assigned call (number ``number`` of ``total``)."""
    return CallCard(
        recording_id=recording.id,
        caller=recording.caller_display,
        agent=recording.agent_id,
        team=recording.team_id,
        started_at=recording.started_at,
        duration_ms=recording.duration_ms,
        topics=topics_of(read_json(vault, recording, ArtefactKind.CATEGORIES)),
        has_transcript=_live(vault, recording, ArtefactKind.TRANSCRIPT) is not None,
        has_summary=_live(vault, recording, ArtefactKind.SUMMARY) is not None,
        scored=scored,
        number=number,
        total=total,
    )


def transcript_view(vault: Vault, recording: Recording) -> TranscriptView:
    """The call's transcript, segment by segment, numbers redacted."""
    data = read_json(vault, recording, ArtefactKind.TRANSCRIPT)
    if data is None:
        return TranscriptView(recording_id=recording.id, present=False)
    try:
        transcript = Transcript.from_dict(data)
    except BadTranscript:
        raise QaError("stored transcript is not in a format this version reads") from None
    lines = tuple(
        TranscriptLine(start=s.start, end=s.end, speaker=s.speaker, text=logredact.redact(s.text))
        for s in transcript.segments
    )
    return TranscriptView(
        recording_id=recording.id, present=True, language=transcript.language, lines=lines
    )


def summary_view(vault: Vault, recording: Recording) -> SummaryView:
    """The call's AI summary (draft, reviewed or edited), numbers redacted."""
    data = read_json(vault, recording, ArtefactKind.SUMMARY)
    if data is None:
        return SummaryView(recording_id=recording.id, present=False)
    text, status = _summary_parts(data)
    return SummaryView(
        recording_id=recording.id, present=True, text=logredact.redact(text), status=status
    )
