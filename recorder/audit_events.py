"""Typed audit events: every action name the audit log may hold, each one documented.

Why typed: a DPO reading ``callrec audit show`` (and P21, "every access is documented")
needs to know what each entry means, and a free-form string per call site drifts. Every
action name is a member of :class:`AuditAction`, with a :class:`EventDoc` saying what it
records, who writes it and which ``detail`` keys it carries. ``docs/audit-events.md`` is
generated from this table (``python -m recorder.audit_events > docs/audit-events.md``) and
a test fails when the two differ, so the documentation cannot drift.

The storage layer cannot import the recorder, so it keeps its own literal action strings
(``artefact.shred``, ``keys.rotate.*``); they are listed here all the same (writer
``storage.*``) and a test checks the literals in ``storage/`` against this table.

Denials are not a separate action: a refused attempt is the *same* action with outcome
``denied`` and the reason, so "every attempt audited exactly once" holds for allowed and
refused attempts alike (RELIABILITY B1).
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from recorder.access import Action, Principal
from storage.audit import AuditLog
from storage.models import AuditEvent


class Outcome(enum.StrEnum):
    """The ``outcome`` column: decisions are allowed/denied, operations ok/error."""

    ALLOWED = "allowed"
    DENIED = "denied"
    OK = "ok"
    ERROR = "error"


class AuditAction(enum.StrEnum):
    """Every ``action`` value of the audit log (see :data:`EVENTS` for what each means)."""

    # access to recordings (decided by recorder.access; allowed or denied)
    LIST = "recording.list"
    SEARCH = "recording.search"
    PLAY = "recording.play"
    DOWNLOAD = "recording.download"
    EXPORT = "recording.export"
    VIEW_TRANSCRIPT = "recording.view_transcript"
    VIEW_SUMMARY = "recording.view_summary"
    APPROVE_SUMMARY = "recording.approve_summary"
    PLACE_HOLD = "recording.place_hold"
    ERASE = "recording.erase"
    GRANT_ISSUE = "grant.issue"
    # life cycle of recordings and keys
    CAPTURE = "recording.capture"
    SHRED = "artefact.shred"
    RETENTION_DESTROY = "recording.destroy"
    INTEGRITY = "catalog.integrity"
    KEY_ROTATE_START = "keys.rotate.start"
    KEY_ROTATE_RESUME = "keys.rotate.resume"
    KEY_ROTATE_DONE = "keys.rotate.done"
    SELFCHECK = "selfcheck.store"
    # configuration and people
    CONFIG_CHANGE = "config.change"
    # legal holds (recorder.holds)
    HOLD_PLACE = "hold.place"
    HOLD_RELEASE = "hold.release"
    # data-subject requests (recorder.subject, recorder.subject_export)
    SUBJECT_FIND = "subject.find"
    SUBJECT_EXPORT = "subject.export"
    SUBJECT_EXPORT_BUNDLE = "subject.export.bundle"
    SUBJECT_ERASE = "subject.erase"
    SUBJECT_ERASE_REQUEST = "subject.erase.request"
    SUBJECT_RESTRICT = "subject.restrict"
    SUBJECT_UNRESTRICT = "subject.unrestrict"
    RECTIFY = "recording.rectify"
    # QA review flow (recorder.qa, recorder.qa_sample)
    QA_SAMPLE = "qa.sample"
    QA_REPLAY = "qa.replay"
    QA_SESSION_OPEN = "qa.session.open"
    QA_SESSION_PAUSE = "qa.session.pause"
    QA_SESSION_RESUME = "qa.session.resume"
    QA_REVIEW_NEXT = "qa.review.next"
    QA_SCORE = "qa.score"
    QA_REPORT = "qa.report"
    QA_ASSIGNMENTS = "qa.assignments"
    # AI path
    AI_RUN = "ai.run"
    AI_SKIP = "ai.skip"
    AI_OPTOUT = "ai.optout"
    AI_SAMPLE = "ai.sample"
    AI_SAMPLE_VERDICT = "ai.sample.verdict"
    TRANSCRIPT_VIEW = "transcript.view"
    SUMMARY_VIEW = "summary.view"
    SUMMARY_APPROVE = "summary.approve"
    SUMMARY_EDIT = "summary.edit"
    SUMMARY_SUPERSEDED = "summary.superseded"
    # chat conversations (recorder.chat)
    CHAT_INGEST = "chat.ingest"
    CHAT_CLASS = "chat.class"
    CHAT_LIST = "chat.list"
    CHAT_VIEW = "chat.view"
    CHAT_CONTACT = "chat.contact"
    CHAT_SAMPLE = "chat.sample"
    CHAT_STATS = "chat.stats"
    CHAT_SELF_TRANSCRIPT = "chat.self.transcript"
    CHAT_SELF_DELETE = "chat.self.delete"
    CHAT_HISTORY = "chat.history"
    CHAT_REQUEST_DONE = "chat.request.done"
    # the web app (recorder.web.ui)
    WEB_SIGNIN = "web.signin"
    WEB_SIGNOUT = "web.signout"
    WEB_SESSION_EXPIRE = "web.session.expire"
    WEB_PASSWORD_SET = "web.password.set"  # noqa: S105 - an action name, not a password
    AUDIT_VIEW = "audit.view"


@dataclass(frozen=True, slots=True, kw_only=True)
class EventDoc:
    """What one action records: a sentence, its writer, outcomes and ``detail`` keys."""

    means: str
    writer: str
    outcomes: tuple[Outcome, ...]
    detail: tuple[str, ...] = ()
    purpose: bool = False
    notes: str = field(default="")


_AD = (Outcome.ALLOWED, Outcome.DENIED)
_OK = (Outcome.OK,)
_ACCESS = "recorder.playback / recorder.cli"

#: The documentation of every :class:`AuditAction` (a test keeps the two in step).
EVENTS: Mapping[AuditAction, EventDoc] = MappingProxyType(
    {
        AuditAction.LIST: EventDoc(
            means="A user listed the calls they may see (`callrec calls list`).",
            writer="recorder.cli.call_cmds",
            outcomes=(Outcome.ALLOWED,),
            detail=("count", "filters"),
            notes="Filters are named, never their values (a masked pattern is not stored).",
        ),
        AuditAction.SEARCH: EventDoc(
            means="A DPO or legal user looked calls up by a caller's number (lookup digest).",
            writer="recorder.cli.call_cmds",
            outcomes=_AD,
            detail=("count",),
            notes="The number and its digest are never written; only that a search ran.",
        ),
        AuditAction.PLAY: EventDoc(
            means="Audio was played (or refused), with the requested range.",
            writer=_ACCESS,
            outcomes=_AD,
            detail=("start_ms", "duration_ms"),
            purpose=True,
            notes="Committed before the first audio byte; if it cannot be written, "
            "nothing plays (A1).",
        ),
        AuditAction.DOWNLOAD: EventDoc(
            means="Audio was written to a WAV file (`callrec download`), or refused.",
            writer=_ACCESS,
            outcomes=_AD,
            detail=("start_ms", "duration_ms"),
            purpose=True,
            notes="Committed before the first byte is written; a separate action from play.",
        ),
        AuditAction.EXPORT: EventDoc(
            means="A recording left callrec in an export (data-subject or legal), or refused.",
            writer=_ACCESS,
            outcomes=_AD,
            detail=("start_ms", "duration_ms"),
            purpose=True,
            notes="Only the DPO (`dsar`) and legal (`legal`) may export; never marketing (P10).",
        ),
        AuditAction.VIEW_TRANSCRIPT: EventDoc(
            means="A transcript was shown (or refused).",
            writer="recorder.qa / recorder.cli.ai_cmds",
            outcomes=_AD,
            purpose=True,
            notes="Never the transcript text itself.",
        ),
        AuditAction.VIEW_SUMMARY: EventDoc(
            means="An AI summary was shown (or refused).",
            writer="recorder.qa / recorder.cli.ai_cmds",
            outcomes=_AD,
            purpose=True,
        ),
        AuditAction.APPROVE_SUMMARY: EventDoc(
            means="An advisor approved an AI summary draft (P14), or was refused.",
            writer="recorder.cli.ai_cmds",
            outcomes=_AD,
        ),
        AuditAction.PLACE_HOLD: EventDoc(
            means="A legal hold was placed on (or released from) a recording, or refused.",
            writer="recorder.cli.retention_cmds",
            outcomes=_AD,
            purpose=True,
        ),
        AuditAction.ERASE: EventDoc(
            means="A recording was erased on a data-subject request, or the erasure refused.",
            writer="recorder.cli.subject_cmds",
            outcomes=_AD,
            purpose=True,
            notes="The key destruction itself is the `artefact.shred` receipt that follows.",
        ),
        AuditAction.GRANT_ISSUE: EventDoc(
            means="A signed playback grant (≤ 15 min, one user, one recording) was issued.",
            writer="recorder.grants",
            outcomes=_AD,
            detail=("expires_in_s", "start_ms", "duration_ms"),
            purpose=True,
            notes="The token itself is never written.",
        ),
        AuditAction.CAPTURE: EventDoc(
            means="A call was stored: encrypted audio, catalog row and wrapped key.",
            writer="recorder.capture",
            outcomes=_OK,
            detail=("source", "duration_ms", "channels", "retention_class", "ai", "ai_notice"),
        ),
        AuditAction.SHRED: EventDoc(
            means="An artefact's key was destroyed (crypto-shredding): retention expiry, "
            "erasure or restriction. The tombstone receipt, one per artefact.",
            writer="storage.vault",
            outcomes=_OK,
        ),
        AuditAction.RETENTION_DESTROY: EventDoc(
            means="A recording was destroyed by the retention sweep when its class expired "
            "(after the `artefact.shred` receipts of its artefacts).",
            writer="storage.retention_store",
            outcomes=_OK,
            notes="The reason names the retention class.",
        ),
        AuditAction.INTEGRITY: EventDoc(
            means="A catalog row failed its integrity MAC when a decision read it (someone "
            "edited the database): nothing was destroyed or granted. Access denials carry "
            "the same reason on their own action; this entry is the retention sweep's and "
            "fsck's.",
            writer="recorder.sweep / recorder.fsck",
            outcomes=(Outcome.DENIED,),
            detail=("table",),
            notes="The reason is a fixed phrase; `callrec fsck` lists every such row (I9).",
        ),
        AuditAction.KEY_ROTATE_START: EventDoc(
            means="A master-key (KEK) rotation started: data keys are rewrapped, "
            "audio is never rewritten.",
            writer="storage.vault",
            outcomes=_OK,
        ),
        AuditAction.KEY_ROTATE_RESUME: EventDoc(
            means="An interrupted KEK rotation was resumed.",
            writer="storage.vault",
            outcomes=_OK,
        ),
        AuditAction.KEY_ROTATE_DONE: EventDoc(
            means="A KEK rotation finished: every data key is on the new version.",
            writer="storage.vault",
            outcomes=_OK,
        ),
        AuditAction.SELFCHECK: EventDoc(
            means="The storage self-check sealed, stored and read back a test artefact.",
            writer="recorder.selfcheck",
            outcomes=(Outcome.OK, Outcome.ERROR),
        ),
        AuditAction.CONFIG_CHANGE: EventDoc(
            means="The configuration (org chart, roles, purposes) in force changed.",
            writer="recorder.audit_events.config_change",
            outcomes=_OK,
            detail=("config_sha256",),
            notes="Carries a digest of the new file, never its contents. Built by "
            "`config_change()`; no command writes it yet (the file is edited outside callrec).",
        ),
        AuditAction.HOLD_PLACE: EventDoc(
            means="A legal hold was placed (by recording, agent or caller number), or refused.",
            writer="recorder.holds",
            outcomes=(Outcome.OK, Outcome.DENIED),
            purpose=True,
            notes="A held recording is never destroyed until the hold is released.",
        ),
        AuditAction.HOLD_RELEASE: EventDoc(
            means="A legal hold was released, or the release refused.",
            writer="recorder.holds",
            outcomes=(Outcome.OK, Outcome.DENIED),
            purpose=True,
        ),
        AuditAction.SUBJECT_FIND: EventDoc(
            means="The DPO looked up a data subject's calls by number (no number stored).",
            writer="recorder.subject",
            outcomes=_AD,
            purpose=True,
        ),
        AuditAction.SUBJECT_EXPORT: EventDoc(
            means="A data subject's recordings were exported for them (P08), or refused.",
            writer="recorder.subject_export",
            outcomes=_AD,
            purpose=True,
        ),
        AuditAction.SUBJECT_EXPORT_BUNDLE: EventDoc(
            means="An encrypted export bundle was written (or failed) for a data subject.",
            writer="recorder.subject_export",
            outcomes=(Outcome.OK, Outcome.ERROR),
            purpose=True,
        ),
        AuditAction.SUBJECT_ERASE: EventDoc(
            means="A data subject's recording was erased on request, or the erasure refused "
            "(hold, MIN retention).",
            writer="recorder.subject",
            outcomes=(Outcome.OK, Outcome.DENIED),
            purpose=True,
        ),
        AuditAction.SUBJECT_ERASE_REQUEST: EventDoc(
            means="An erasure request was recorded, to be done when a hold lifts if still due.",
            writer="recorder.subject",
            outcomes=_AD,
            purpose=True,
        ),
        AuditAction.SUBJECT_RESTRICT: EventDoc(
            means="Processing of a data subject's recording was restricted (P09).",
            writer="recorder.subject",
            outcomes=(Outcome.OK, Outcome.DENIED),
            purpose=True,
        ),
        AuditAction.SUBJECT_UNRESTRICT: EventDoc(
            means="A restriction on a data subject's recording was lifted.",
            writer="recorder.subject",
            outcomes=(Outcome.OK, Outcome.DENIED),
            purpose=True,
        ),
        AuditAction.RECTIFY: EventDoc(
            means="A recording's metadata was rectified or completed on request (P09).",
            writer="recorder.subject",
            outcomes=(Outcome.OK, Outcome.DENIED),
        ),
        AuditAction.QA_SAMPLE: EventDoc(
            means="Calls were drawn for a QA reviewer (rate, seed, population digest).",
            writer="recorder.qa_sample",
            outcomes=(Outcome.OK, Outcome.DENIED),
        ),
        AuditAction.QA_REPLAY: EventDoc(
            means="A QA draw was replayed to check it (allowed or denied).",
            writer="recorder.qa_sample",
            outcomes=(Outcome.OK, Outcome.DENIED),
        ),
        AuditAction.QA_SESSION_OPEN: EventDoc(
            means="A QA reviewer opened a review session.",
            writer="recorder.qa",
            outcomes=(Outcome.OK, Outcome.DENIED),
        ),
        AuditAction.QA_SESSION_PAUSE: EventDoc(
            means="A QA review session was paused (resumable).",
            writer="recorder.qa",
            outcomes=_OK,
        ),
        AuditAction.QA_SESSION_RESUME: EventDoc(
            means="A paused QA review session was resumed.",
            writer="recorder.qa",
            outcomes=_OK,
        ),
        AuditAction.QA_REVIEW_NEXT: EventDoc(
            means="The next assigned call was shown to a QA reviewer.",
            writer="recorder.qa",
            outcomes=(Outcome.OK, Outcome.DENIED),
        ),
        AuditAction.QA_SCORE: EventDoc(
            means="A QA scorecard was recorded against a call.",
            writer="recorder.qa",
            outcomes=(Outcome.OK, Outcome.DENIED),
        ),
        AuditAction.QA_REPORT: EventDoc(
            means="A supervisor produced a QA score report for a team.",
            writer="recorder.qa",
            outcomes=(Outcome.OK, Outcome.DENIED),
        ),
        AuditAction.QA_ASSIGNMENTS: EventDoc(
            means="A QA reviewer listed the calls sampled to them (ids only, no audio).",
            writer="recorder.qa",
            outcomes=(Outcome.OK, Outcome.DENIED),
        ),
        AuditAction.AI_RUN: EventDoc(
            means="The AI path (transcription, summary, topics) ran on a call.",
            writer="recorder AI path",
            outcomes=(Outcome.OK, Outcome.ERROR),
        ),
        AuditAction.AI_SKIP: EventDoc(
            means="The AI path was skipped for a call (no notice, opted out, restricted).",
            writer="recorder AI path",
            outcomes=_OK,
        ),
        AuditAction.AI_OPTOUT: EventDoc(
            means="The customer asked to stop the AI during the call (P17).",
            writer="recorder AI path",
            outcomes=(Outcome.OK, Outcome.DENIED),
        ),
        AuditAction.AI_SAMPLE: EventDoc(
            means="AI outputs were sampled for a bias/oddity review (P19).",
            writer="recorder AI path",
            outcomes=_AD,
        ),
        AuditAction.AI_SAMPLE_VERDICT: EventDoc(
            means="A reviewer recorded a verdict on a sampled AI output (P19).",
            writer="recorder AI path",
            outcomes=_AD,
        ),
        AuditAction.TRANSCRIPT_VIEW: EventDoc(
            means="A redacted transcript was shown in the AI review flow, or refused.",
            writer="recorder.ai_review",
            outcomes=_AD + _OK,
            notes="Never the transcript text itself.",
        ),
        AuditAction.SUMMARY_VIEW: EventDoc(
            means="An AI summary draft was shown in the AI review flow, or refused.",
            writer="recorder.ai_review",
            outcomes=_AD + _OK,
        ),
        AuditAction.SUMMARY_APPROVE: EventDoc(
            means="An advisor approved an AI summary draft in the review flow (P14).",
            writer="recorder.ai_review",
            outcomes=_AD + _OK,
        ),
        AuditAction.SUMMARY_EDIT: EventDoc(
            means="An advisor edited an AI summary draft before approving it.",
            writer="recorder AI path",
            outcomes=_AD,
        ),
        AuditAction.SUMMARY_SUPERSEDED: EventDoc(
            means="A summary was replaced by a newer draft.",
            writer="recorder AI path",
            outcomes=_OK,
        ),
        AuditAction.CHAT_INGEST: EventDoc(
            means="A chat delivery (webhook, file or spool) was stored: new messages and "
            "events added, redacted, sealed.",
            writer="recorder.chat.ingest",
            outcomes=_OK,
            detail=(
                "source",
                "status",
                "messages_added",
                "events_added",
                "redacted",
                "contact",
                "secret_issued",
            ),  # fmt: skip
            notes="Counts only: never a message, a contact detail, an IP address or the "
            "secret. A redelivery that adds nothing writes no entry.",
        ),
        AuditAction.CHAT_CLASS: EventDoc(
            means="A chat moved to another retention class because of what happened in it "
            "(bot → advisor on a handover, → complaint when flagged).",
            writer="recorder.chat.ingest",
            outcomes=_OK,
            detail=("from", "to", "event"),
            notes="`event` is the event that caused the switch (`handover`, `complaint`).",
        ),
        AuditAction.CHAT_LIST: EventDoc(
            means="A user listed the chats they may see (`callrec chat list`).",
            writer="recorder.chat.staff",
            outcomes=_AD,
            detail=("count",),
            purpose=True,
        ),
        AuditAction.CHAT_VIEW: EventDoc(
            means="A chat's redacted text was shown to a member of staff (or refused).",
            writer="recorder.chat.staff",
            outcomes=_AD,
            purpose=True,
            notes="Committed before the text is decrypted; never the text itself.",
        ),
        AuditAction.CHAT_CONTACT: EventDoc(
            means="The contact details a customer gave in the advisor queue were shown to "
            "the advisor handling the follow-up (or refused).",
            writer="recorder.chat.staff",
            outcomes=_AD,
            purpose=True,
            notes="Only the advisor who took the handover may read them.",
        ),
        AuditAction.CHAT_SAMPLE: EventDoc(
            means="A random sample of redacted bot questions was drawn for review "
            "(`callrec chat sample`), or refused.",
            writer="recorder.chat.sample",
            outcomes=_AD,
            detail=("count", "population", "seed"),
            notes="The sample carries no chat id, time or customer; the seed replays it.",
        ),
        AuditAction.CHAT_STATS: EventDoc(
            means="Chat counts per day were read (`callrec chat stats`), or refused.",
            writer="recorder.chat.stats",
            outcomes=_AD,
            detail=("days", "chats"),
        ),
        AuditAction.CHAT_SELF_TRANSCRIPT: EventDoc(
            means="A customer downloaded their chat with its self-service secret "
            "(`GET /chats/{id}/transcript`), or was refused.",
            writer="recorder.chat.selfservice",
            outcomes=_AD,
            detail=("format",),
            notes="A refusal (unknown chat, wrong, spent or expired secret) has no "
            "recording id when the chat is unknown; the secret is never written.",
        ),
        AuditAction.CHAT_SELF_DELETE: EventDoc(
            means="A customer deleted their chat with its self-service secret "
            "(`DELETE /chats/{id}`): a bot chat is crypto-shredded at once, an advisor chat "
            "becomes a request for the DPO; or the request was refused.",
            writer="recorder.chat.selfservice",
            outcomes=(Outcome.OK, Outcome.DENIED),
            detail=("status", "receipt"),
            notes="`status`: `erased`, `pending` (held or restricted: done when that "
            "lifts) or `requested` (advisor chat, for the DPO).",
        ),
        AuditAction.CHAT_HISTORY: EventDoc(
            means="A logged-in customer listed their chat history through the online "
            "bank's signed assertion (`GET /customers/me/chats`), or was refused.",
            writer="recorder.chat.history",
            outcomes=_AD,
            detail=("count",),
            notes="The customer appears as a keyed digest prefix, never their id.",
        ),
        AuditAction.CHAT_REQUEST_DONE: EventDoc(
            means="The DPO closed a customer's chat deletion request (the erasure itself is "
            "the `subject.erase` receipt before it).",
            writer="recorder.chat.selfservice",
            outcomes=_OK,
            detail=("requests",),
            purpose=True,
        ),
        AuditAction.WEB_SIGNIN: EventDoc(
            means="A web sign-in (password or OpenID Connect), allowed or refused.",
            writer="recorder.web.ui.auth",
            outcomes=(Outcome.OK, Outcome.DENIED),
            detail=("method",),
            notes="A refused name that is not in the org chart is recorded as actor "
            "`(unknown)`: what was typed is never written.",
        ),
        AuditAction.WEB_SIGNOUT: EventDoc(
            means="A web session was ended by its user (server-side: the cookie is dead).",
            writer="recorder.web.ui.auth",
            outcomes=_OK,
        ),
        AuditAction.WEB_SESSION_EXPIRE: EventDoc(
            means="A web session was refused and ended: idle or absolute timeout, or its "
            "user left the org chart.",
            writer="recorder.web.ui.auth",
            outcomes=_OK,
        ),
        AuditAction.WEB_PASSWORD_SET: EventDoc(
            means="A local web password was set (`callrec users set-password`); the user's "
            "live sessions end.",
            writer="recorder.web.ui.auth",
            outcomes=_OK,
            detail=("user", "replaced", "sessions_ended"),
            notes="The password and its hash are never written.",
        ),
        AuditAction.AUDIT_VIEW: EventDoc(
            means="The DPO read the access log of a recording (its consultations) in the "
            "web app, or was refused.",
            writer="recorder.web.ui.access_log",
            outcomes=_AD,
            detail=("entries",),
            purpose=True,
        ),
    }
)


def for_access(action: Action) -> AuditAction:
    """The audit action of an access-controlled :class:`~recorder.access.Action`
    (``chat_view`` → ``chat.view``; the others ``recording.<action>``)."""
    if action.value.startswith("chat_"):
        return AuditAction("chat." + action.value.removeprefix("chat_"))
    return AuditAction(f"recording.{action.value}")


def access_event(
    action: AuditAction,
    principal: Principal,
    *,
    ts: datetime,
    allowed: bool,
    reason: str | None = None,
    recording_id: str | None = None,
    artefact: str | None = None,
    purpose: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """An :class:`AuditEvent` for an access decision (allowed or denied) by ``principal``."""
    return AuditEvent(
        ts=ts,
        actor_id=principal.user_id,
        actor_role=principal.role,
        action=action.value,
        outcome=(Outcome.ALLOWED if allowed else Outcome.DENIED).value,
        recording_id=recording_id,
        artefact=artefact,
        purpose=purpose,
        reason=reason,
        detail=dict(detail or {}),
    )


def check_documented(action: str, outcome: str) -> None:
    """Refuse an (action, outcome) pair :data:`EVENTS` does not document (a programming error).

    The documentation is the contract a DPO reads (P21); an entry it does not explain is a
    bug to fix here or at the writer, not something to write silently.
    """
    try:
        doc = EVENTS[AuditAction(action)]
    except ValueError:
        raise ValueError(f"undocumented audit action {action!r}") from None
    if outcome not in doc.outcomes:
        raise ValueError(f"undocumented outcome {outcome!r} for audit action {action!r}")


def record(
    log: AuditLog,
    actor: Principal | tuple[str, str],
    action: str,
    *,
    now: datetime,
    outcome: str,
    recording_id: str | None = None,
    artefact: str | None = None,
    purpose: str | None = None,
    reason: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append one documented audit entry by ``actor`` (a principal or ``(id, role)``).

    The one way the recorder's feature modules (QA, AI, holds, data-subject requests)
    write audit entries: it checks the pair against :data:`EVENTS` first, and joins the
    caller's open transaction like :meth:`storage.audit.AuditLog.append`.
    """
    check_documented(action, outcome)
    actor_id, actor_role = actor if isinstance(actor, tuple) else (actor.user_id, actor.role)
    log.append(
        AuditEvent(
            ts=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action=action,
            outcome=outcome,
            recording_id=recording_id,
            artefact=artefact,
            purpose=purpose,
            reason=reason,
            detail=dict(detail or {}),
        )
    )


def config_change(*, ts: datetime, actor_id: str, config_sha256: str) -> AuditEvent:
    """An :data:`AuditAction.CONFIG_CHANGE` event: a digest of the new file, nothing else."""
    return AuditEvent(
        ts=ts,
        actor_id=actor_id,
        actor_role="admin",
        action=AuditAction.CONFIG_CHANGE.value,
        outcome=Outcome.OK.value,
        detail={"config_sha256": config_sha256},
    )


def render_markdown() -> str:
    """``docs/audit-events.md``: the table of every action, generated from :data:`EVENTS`."""
    lines = [
        "# Audit events",
        "",
        "Generated from `recorder/audit_events.py` (`python -m recorder.audit_events >",
        "docs/audit-events.md`); a test fails when this file and the code differ.",
        "",
        "Every entry has: `seq`, `ts` (UTC), `actor_id`, `actor_role`, `action`,",
        "`recording_id`, `artefact`, `purpose`, `outcome`, `reason`, `detail`, and the hash",
        "chain (`prev_hash`, `hash`). No entry ever holds a full phone number, transcript",
        "text or key material; free text with a run of 7+ digits is refused (A5).",
        "A refused attempt is the same action with outcome `denied` and its reason.",
        "",
        "| action | what it records | written by | outcomes | purpose | detail keys |",
        "|---|---|---|---|---|---|",
    ]
    for action in AuditAction:
        doc = EVENTS[action]
        means = doc.means + (f" {doc.notes}" if doc.notes else "")
        lines.append(
            f"| `{action.value}` | {means} | `{doc.writer}` | "
            f"{', '.join(o.value for o in doc.outcomes)} | "
            f"{'required' if doc.purpose else ''} | "
            f"{', '.join(f'`{k}`' for k in doc.detail)} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - the documented regeneration command
    sys.stdout.write(render_markdown())
