"""What the call page shows, gathered on the database thread by the modules that decide it.

One job: ask each owner for its part of a call, each deciding and auditing on its own, and
keep the refusals apart so one denied part does not hide another:

- audio: a playback ticket (:func:`recorder.grants.issue_grant`, ``grant.issue``), which
  the browser then spends at ``/calls/{id}/audio`` (:mod:`recorder.web.ui.pages_audio`);
  which artefact plays (original or redacted) is ``open_playback``'s choice, never ours;
- transcript and summary: :func:`recorder.ai_review.show_transcript` / ``show_summary``
  (``transcript.view`` / ``summary.view``), the redacted transcript turn by turn; the
  redacted spans are read off its redaction tokens (``[card]``, ``[phone]``, ``[number]``)
  and widened like the audio side (:func:`transcribe.redact.padded`);
- the call's row (masked number only) and its AI topics once any part was allowed.

When every part is refused the page is refused as a whole with one message, the same for
an unknown id and someone else's call (B2). Text passes :func:`recorder.logredact.redact`
on the way out, a safety net over the AI path's own redaction (numbers masked on every
page).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from recorder import logredact
from recorder.access import Action, Principal, agents_of, allowed
from recorder.ai_review import SummaryView, show_summary, show_transcript
from recorder.config import Config
from recorder.errors import AccessDenied
from recorder.grants import issue_grant
from recorder.qa_views import read_json, topics_of
from storage.errors import GoneError
from storage.models import ArtefactKind, Recording
from storage.qa import CatalogAssignments
from storage.vault import Vault
from transcribe.models import Transcript
from transcribe.redact import TOKENS, RedactedSpan, merge_spans, padded

UNREACHABLE = "no such call, or not yours to see"
_KIND_OF = {token: kind for kind, token in TOKENS.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Turn:
    """One turn of the redacted transcript (seconds into the audio)."""

    index: int
    start: float
    end: float
    speaker: str | None
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallView:
    """Everything the call page renders; ``*_refused`` holds the reason a part was denied."""

    recording: Recording
    agents: tuple[str, ...]
    purpose: str
    ticket: str | None = field(repr=False)
    ticket_seconds: int
    audio_refused: str | None
    turns: tuple[Turn, ...]
    spans: tuple[RedactedSpan, ...]
    transcript_refused: str | None
    summary: SummaryView | None
    summary_refused: str | None
    may_approve: bool
    topics: tuple[str, ...] = ()

    @property
    def span_dicts(self) -> list[dict[str, float | str]]:
        """The redacted spans as JSON-ready dicts (for the waveform's regions)."""
        return [{"start": s.start, "end": s.end, "kind": s.kind} for s in self.spans]

    @property
    def summary_text(self) -> str:
        """The summary text, numbers redacted."""
        return "" if self.summary is None else logredact.redact(self.summary.summary.text)


def redacted_spans(transcript: Transcript) -> tuple[RedactedSpan, ...]:
    """Where the redacted numbers were spoken: each token word and the emptied words after it."""
    words = sorted(transcript.words, key=lambda w: (w.start, w.end))
    spans: list[RedactedSpan] = []
    i = 0
    while i < len(words):
        kind = _KIND_OF.get(words[i].text)
        if kind is None:
            i += 1
            continue
        start, end, i = words[i].start, words[i].end, i + 1
        while i < len(words) and words[i].text == "":
            end = max(end, words[i].end)
            i += 1
        spans.append(RedactedSpan(kind=kind, start=start, end=end))
    return padded(merge_spans(spans), duration=transcript.duration)


def turns_of(transcript: Transcript) -> tuple[Turn, ...]:
    """The transcript's segments as turns, text number-redacted once more."""
    return tuple(
        Turn(index=i, start=s.start, end=s.end, speaker=s.speaker, text=logredact.redact(s.text))
        for i, s in enumerate(transcript.segments)
        if s.text.strip()
    )


def gather(
    vault: Vault,
    config: Config,
    principal: Principal,
    recording_id: str,
    *,
    purpose: str,
    now: datetime,
    ticket_ttl: timedelta,
) -> CallView:
    """Decide and audit each part of the call page for ``principal`` (see the docstring)."""
    assignments = CatalogAssignments(vault.catalog)
    ticket = audio_refused = None
    try:
        ticket = issue_grant(
            vault, config, principal, recording_id, now=now, purpose=purpose, ttl=ticket_ttl,
            assignments=assignments,
        )  # fmt: skip
    except AccessDenied as exc:
        audio_refused = exc.reason
    turns: tuple[Turn, ...] = ()
    spans: tuple[RedactedSpan, ...] = ()
    transcript_refused = summary_refused = None
    seen_transcript = seen_summary = True
    try:
        transcript = show_transcript(
            vault, config, principal, recording_id, now=now, purpose=purpose,
            assignments=assignments,
        )  # fmt: skip
        turns, spans = turns_of(transcript), redacted_spans(transcript)
    except AccessDenied as exc:
        transcript_refused, seen_transcript = exc.reason, False
    except GoneError:
        transcript_refused = "no transcript for this call (no AI output)"
    summary = None
    try:
        summary = show_summary(
            vault, config, principal, recording_id, now=now, purpose=purpose,
            assignments=assignments,
        )  # fmt: skip
    except AccessDenied as exc:
        summary_refused, seen_summary = exc.reason, False
    except GoneError:
        summary_refused = "no summary for this call (no AI output)"
    if ticket is None and not (seen_transcript or seen_summary):
        raise AccessDenied(UNREACHABLE)
    recording = vault.catalog.get_recording(recording_id)
    # The topics are AI output like the summary: shown to whoever may see the AI's text.
    topics = topics_of(read_json(vault, recording, ArtefactKind.CATEGORIES))
    return CallView(
        recording=recording,
        agents=agents_of(recording),
        purpose=purpose,
        ticket=ticket,
        ticket_seconds=int(ticket_ttl.total_seconds()),
        audio_refused=audio_refused,
        turns=turns,
        spans=spans,
        transcript_refused=transcript_refused,
        summary=summary,
        summary_refused=summary_refused,
        may_approve=allowed(config, principal, Action.APPROVE_SUMMARY, recording).allowed,
        topics=topics if (seen_transcript or seen_summary) else (),
    )
