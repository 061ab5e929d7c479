"""People and AI output: viewing, reviewing and sampling what the AI path produced.

- :func:`show_summary` / :func:`show_transcript`: decided by ``recorder.access``
  (``view_summary`` / ``view_transcript``) and audited, allowed or denied, *before* any
  artefact is decrypted. The transcript is the redacted one: the unredacted text was never
  stored.
- :func:`approve_summary` / :func:`edit_summary` (``approve_summary``): a draft summary
  is not a record until a person approves or edits it (P14). An approval records the
  reviewer, role and time against the draft artefact; an edit seals a *new* summary
  artefact holding the edited text and the unified diff from the draft (encrypted: the
  diff is text), shreds the draft in the same transaction, and records line counts only.
  Text an advisor types is run through the same redaction as the AI's.
- :func:`reviewed_summary`: the only summary other modules may export (the data-subject
  export): ``None`` until reviewed.
- :func:`ensure_may_opt_out`: who may stop AI for a call (decided and audited).

The P19 review-sample queue is in :mod:`recorder.ai_sampling`.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from recorder.access import Action, Assignments, Principal, allowed
from recorder.ai import summary_envelope
from recorder.ai_sampling import SampleAssignments
from recorder.audit_events import record
from recorder.config import Config
from recorder.errors import AccessDenied, InvalidEvent
from storage import reviews
from storage.errors import BlobError, GoneError, NotFoundError
from storage.models import ArtefactKind, AuditEvent, Recording, Rng, State
from storage.reviews import Review
from storage.vault import Vault
from transcribe.models import Segment, Transcript, Word
from transcribe.redact import redact
from transcribe.summarize import Summary

MAX_SUMMARY_CHARS: Final = 20_000
SAMPLER_ROLES: Final = frozenset({"qa_reviewer"})


@dataclass(frozen=True, slots=True, kw_only=True)
class SummaryView:
    """A summary as shown to a person: the text, whether it is still a draft, the review."""

    recording_id: str
    summary: Summary
    draft: bool
    review: Review | None
    edit_diff: tuple[str, ...] = ()


def _audit(
    vault: Vault,
    principal: Principal,
    *,
    now: datetime,
    action: str,
    recording_id: str | None,
    artefact: ArtefactKind,
    allowed_: bool,
    reason: str,
    purpose: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    record(
        vault.audit, principal, action, now=now, outcome="allowed" if allowed_ else "denied",
        recording_id=recording_id, artefact=artefact, purpose=purpose, reason=reason,
        detail=detail,
    )  # fmt: skip


def _decide(
    vault: Vault,
    config: Config,
    principal: Principal,
    recording_id: str,
    *,
    action: Action,
    audit_action: str,
    artefact: ArtefactKind,
    now: datetime,
    purpose: str | None,
    assignments: Assignments | None,
) -> Recording:
    """Decide and audit (committed) before anything is decrypted; raise if denied."""
    try:
        recording: Recording | None = vault.catalog.get_recording(recording_id)
    except NotFoundError:
        recording = None
    if recording is None or recording.state is not State.AVAILABLE:
        _audit(vault, principal, now=now, action=audit_action, recording_id=None,
               artefact=artefact, allowed_=False, reason="no such recording",
               purpose=purpose)  # fmt: skip
        raise AccessDenied("no such recording, or not yours to see")
    decision = allowed(
        config,
        principal,
        action,
        recording,
        purpose=purpose,
        assignments=SampleAssignments(vault, assignments),
    )
    _audit(vault, principal, now=now, action=audit_action, recording_id=recording.id,
           artefact=artefact, allowed_=decision.allowed, reason=decision.reason,
           purpose=purpose)  # fmt: skip
    if not decision.allowed:
        raise AccessDenied(decision.reason)
    return recording


def _live(vault: Vault, recording_id: str, kind: ArtefactKind) -> str:
    artefact = vault.catalog.artefact_by_kind(recording_id, kind)
    if artefact is None or artefact.state is State.DESTROYED:
        raise GoneError(f"the call has no {kind.value.replace('_', ' ')} (no AI output)")
    return artefact.id


def _read_json(vault: Vault, artefact_id: str) -> Any:
    with vault.open_artefact(artefact_id) as reader:
        return json.loads(reader.read_all().decode("utf-8"))


def _load_summary(vault: Vault, recording_id: str) -> tuple[str, Summary, tuple[str, ...]]:
    artefact_id = _live(vault, recording_id, ArtefactKind.SUMMARY)
    envelope = _read_json(vault, artefact_id)
    edit = envelope.get("edit") or {}
    return artefact_id, Summary.from_dict(envelope["summary"]), tuple(edit.get("diff", ()))


def _view(vault: Vault, recording_id: str) -> SummaryView:
    artefact_id, summary, diff = _load_summary(vault, recording_id)
    review = reviews.review_of(vault.catalog, artefact_id)
    return SummaryView(
        recording_id=recording_id,
        summary=summary,
        draft=review is None,
        review=review,
        edit_diff=diff,
    )


def show_summary(
    vault: Vault,
    config: Config,
    principal: Principal,
    recording_id: str,
    *,
    now: datetime,
    purpose: str | None = None,
    assignments: Assignments | None = None,
) -> SummaryView:
    """The call's summary (draft or reviewed), for a principal allowed ``view_summary``."""
    _decide(vault, config, principal, recording_id, action=Action.VIEW_SUMMARY,
            audit_action="summary.view", artefact=ArtefactKind.SUMMARY, now=now,
            purpose=purpose, assignments=assignments)  # fmt: skip
    return _view(vault, recording_id)


def show_transcript(
    vault: Vault,
    config: Config,
    principal: Principal,
    recording_id: str,
    *,
    now: datetime,
    purpose: str | None = None,
    assignments: Assignments | None = None,
) -> Transcript:
    """The call's REDACTED transcript, for a principal allowed ``view_transcript``."""
    _decide(vault, config, principal, recording_id, action=Action.VIEW_TRANSCRIPT,
            audit_action="transcript.view", artefact=ArtefactKind.TRANSCRIPT, now=now,
            purpose=purpose, assignments=assignments)  # fmt: skip
    artefact_id = _live(vault, recording_id, ArtefactKind.TRANSCRIPT)
    return Transcript.from_dict(_read_json(vault, artefact_id))


def approve_summary(
    vault: Vault,
    config: Config,
    principal: Principal,
    recording_id: str,
    *,
    now: datetime,
    purpose: str | None = None,
) -> SummaryView:
    """Approve the draft as it stands: it becomes the reviewed summary (P14)."""
    _decide(vault, config, principal, recording_id, action=Action.APPROVE_SUMMARY,
            audit_action="summary.approve", artefact=ArtefactKind.SUMMARY, now=now,
            purpose=purpose, assignments=None)  # fmt: skip
    artefact_id = _live(vault, recording_id, ArtefactKind.SUMMARY)
    if reviews.review_of(vault.catalog, artefact_id) is not None:
        raise InvalidEvent("summary: already reviewed")
    artefact = vault.catalog.get_artefact(artefact_id)
    with vault.catalog.transaction():
        reviews.add_review(
            vault.catalog,
            Review(
                recording_id=recording_id,
                draft_artefact_id=artefact_id,
                final_artefact_id=artefact_id,
                decision="approved",
                reviewer_id=principal.user_id,
                reviewer_role=principal.role,
                reviewed_at=now,
                lines_added=0,
                lines_removed=0,
                final_sha256=artefact.plaintext_sha256,
            ),
        )
    return _view(vault, recording_id)


def redact_text(text: str, *, languages: tuple[str, ...]) -> str:
    """Run free text (an advisor's edit) through the same number redaction as the AI's."""
    out_lines = []
    for line in text.splitlines():
        tokens = line.split()
        if not tokens:
            out_lines.append("")
            continue
        words = tuple(
            Word(text=t, start=float(i), end=float(i) + 0.5, probability=1.0)
            for i, t in enumerate(tokens)
        )
        seg = Segment(start=0.0, end=float(len(tokens)), text=line, words=words)
        transcript = Transcript(language="en", duration=float(len(tokens)), segments=(seg,),
                                model="edit")  # fmt: skip
        out_lines.append(redact(transcript, languages=languages).transcript.text)
    return "\n".join(out_lines)


def edit_summary(
    vault: Vault,
    config: Config,
    principal: Principal,
    recording_id: str,
    text: str,
    *,
    now: datetime,
    rng: Rng,
    languages: tuple[str, ...],
    purpose: str | None = None,
) -> SummaryView:
    """Replace the draft with the reviewer's text; the diff, reviewer and time are kept."""
    if not text.strip() or len(text) > MAX_SUMMARY_CHARS:
        raise InvalidEvent(f"summary text: expected 1 to {MAX_SUMMARY_CHARS} characters")
    _decide(vault, config, principal, recording_id, action=Action.APPROVE_SUMMARY,
            audit_action="summary.edit", artefact=ArtefactKind.SUMMARY, now=now,
            purpose=purpose, assignments=None)  # fmt: skip
    draft_id, draft, _ = _load_summary(vault, recording_id)
    if reviews.review_of(vault.catalog, draft_id) is not None:
        raise InvalidEvent("summary: already reviewed")
    new_text = redact_text(text.strip(), languages=languages)
    diff = tuple(
        difflib.unified_diff(
            draft.text.splitlines(), new_text.splitlines(), "draft", "reviewed", lineterm=""
        )
    )
    added = sum(1 for d in diff if d.startswith("+") and not d.startswith("+++"))
    removed = sum(1 for d in diff if d.startswith("-") and not d.startswith("---"))
    final = dataclasses.replace(draft, text=new_text, draft=False)
    payload = summary_envelope(final, edit={"diff": list(diff), "draft_artefact": draft_id})
    sealed = vault.seal(recording_id, ArtefactKind.SUMMARY, (payload,), rng=rng)
    old = vault.catalog.get_artefact(draft_id)
    try:
        with vault.catalog.transaction():
            vault.catalog.destroy_key(draft_id)
            vault.catalog.set_artefact_state(draft_id, State.DESTROYED)
            vault.register(sealed, now=now, expires_at=old.expires_at)
            reviews.add_review(
                vault.catalog,
                Review(
                    recording_id=recording_id,
                    draft_artefact_id=draft_id,
                    final_artefact_id=sealed.artefact_id,
                    decision="edited",
                    reviewer_id=principal.user_id,
                    reviewer_role=principal.role,
                    reviewed_at=now,
                    lines_added=added,
                    lines_removed=removed,
                    final_sha256=hashlib.sha256(payload).hexdigest(),
                ),
            )
            vault.audit.append(
                AuditEvent(ts=now, actor_id=principal.user_id, actor_role=principal.role,
                           action="artefact.shred",
                           outcome="ok", recording_id=recording_id,
                           artefact=ArtefactKind.SUMMARY, reason="summary.superseded")
            )  # fmt: skip
    except BaseException:
        vault.discard(sealed)
        raise
    vault.catalog.checkpoint()
    _drop_blob(vault, draft_id)
    return _view(vault, recording_id)


def _drop_blob(vault: Vault, artefact_id: str) -> None:
    try:
        vault.blobs.delete(artefact_id)
    except BlobError:  # best effort: the key is gone, the bytes are noise; fsck removes them
        return


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewedSummary:
    """A summary a person approved or edited: the only summary that may be exported."""

    recording_id: str
    text: str
    topics: tuple[str, ...]
    decision: str
    reviewer_id: str
    reviewed_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for exports."""
        return {
            "recording_id": self.recording_id,
            "text": self.text,
            "topics": list(self.topics),
            "decision": self.decision,
            "reviewer": self.reviewer_id,
            "reviewed_at": self.reviewed_at.isoformat(),
        }


def reviewed_summary(vault: Vault, recording_id: str) -> ReviewedSummary | None:
    """The reviewed summary of a call, or None (no AI output, still a draft, or shredded)."""
    artefact = vault.catalog.artefact_by_kind(recording_id, ArtefactKind.SUMMARY)
    if artefact is None or artefact.state is State.DESTROYED:
        return None
    review = reviews.review_of(vault.catalog, artefact.id)
    if review is None:
        return None
    _, summary, _ = _load_summary(vault, recording_id)
    return ReviewedSummary(
        recording_id=recording_id,
        text=summary.text,
        topics=tuple(str(t) for t in summary.topics),
        decision=review.decision,
        reviewer_id=review.reviewer_id,
        reviewed_at=review.reviewed_at,
    )


def ensure_may_opt_out(
    vault: Vault,
    config: Config,
    principal: Principal,
    recording_id: str,
    *,
    now: datetime,
    purpose: str | None = None,
) -> Recording:
    """Who may stop AI for a call: whoever may approve its summary (the advisor on their own
    call, their supervisor), or the DPO handling a data-subject request (``erase``, with
    purpose ``dsar``). A refusal is audited as ``ai.optout`` with outcome ``denied`` (an
    allowed opt-out is audited by :func:`recorder.ai.opt_out` itself); raises if denied."""
    try:
        recording = vault.catalog.get_recording(recording_id)
    except NotFoundError:
        _audit(vault, principal, now=now, action="ai.optout", recording_id=None,
               artefact=ArtefactKind.SUMMARY, allowed_=False, reason="no such recording",
               purpose=purpose)  # fmt: skip
        raise AccessDenied("no such recording, or not theirs to change") from None
    decision = allowed(config, principal, Action.APPROVE_SUMMARY, recording, purpose=purpose)
    if not decision.allowed:
        erase = allowed(config, principal, Action.ERASE, recording, purpose=purpose)
        decision = erase if erase.allowed else decision
    if not decision.allowed:
        _audit(vault, principal, now=now, action="ai.optout", recording_id=recording.id,
               artefact=ArtefactKind.SUMMARY, allowed_=False, reason=decision.reason,
               purpose=purpose)  # fmt: skip
        raise AccessDenied(decision.reason)
    return recording
