"""The QA review flow: a reviewer works through the calls sampled to them, one step at a time.

This is the flow module the CLI drives today and the web UI will drive later, so it holds
no click and no rich: :class:`Review` is bound to (vault, configuration, reviewer) and each
method is one *step*:

==============================  ==========================  ================================
step                            action checked              audit entry (exactly one)
==============================  ==========================  ================================
:meth:`Review.assignments`      (own list)                  ``qa.assignments``
:meth:`Review.open`             (own session)               ``qa.session.open`` / ``.resume``
:meth:`Review.next`             ``list`` per candidate      ``qa.review.next``
:meth:`Review.play`             ``play``, purpose quality   ``recording.play`` (playback's)
:meth:`Review.transcript`       ``view_transcript``         ``recording.view_transcript``
:meth:`Review.summary`          ``view_summary``            ``recording.view_summary``
:meth:`Review.score`            ``list``                    ``qa.score``
:meth:`Review.pause`            (own session)               ``qa.session.pause``
==============================  ==========================  ================================

A reviewer can never reach a call not assigned to them: every step that names a call
decides afresh with :func:`recorder.access.allowed` for a principal reduced to the
``qa_reviewer`` role (so a reviewer who is also a supervisor cannot wander into team calls
through QA) and :class:`storage.qa.CatalogAssignments`; a refusal is audited with its
reason and raised as :class:`AccessDenied`. Unknown, malformed and destroyed ids get the
same answer as someone else's call, so guessing ids teaches nothing (B2).

Sessions: at most one live session per reviewer. :meth:`Review.next` opens one if needed
and remembers the call it showed (``position``); a paused or interrupted session resumes at
that call until it is scored, then moves to the next unscored assignment in draw order.
When nothing is left the session closes.

Comments are free text: they pass :func:`recorder.logredact.redact` and then the audit
log's own rule (no run of 7+ digits) before they are stored, so no phone number lands in a
scorecard; comments never enter the audit log at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from recorder import logredact
from recorder.access import Action, Principal, allowed
from recorder.audit_events import record
from recorder.config import Config
from recorder.errors import AccessDenied, QaError
from recorder.playback import RECORDING_ID, Playback, open_playback
from recorder.qa_config import QaSettings, qa_settings
from recorder.qa_views import (
    CallCard,
    SummaryView,
    TranscriptView,
    call_card,
    summary_view,
    transcript_view,
)
from storage.errors import NotFoundError
from storage.models import ArtefactKind, Recording, Rng, State
from storage.qa import CatalogAssignments, QaStore, Scorecard, Session, SessionState
from storage.vault import Vault

__all__ = ["CallCard", "Review", "SummaryView", "TranscriptView"]

QA_ROLE = "qa_reviewer"
PURPOSE = "quality"
UNREACHABLE = "no such recording, or not assigned to them"
_DIGIT_RUN = re.compile(r"\d{7,}")
_LETTERS = str.maketrans("0123456789abcdef", "bcdfghjklmnpqrst")


def qa_id(rng: Rng) -> str:
    """A random id for a sample, session or scorecard: 24 consonants (96 bits).

    Letters only, because these ids go into the audit log's ``detail``, which refuses any
    run of 7+ digits (A5); a hex UUID has such a run about one time in three.
    """
    return rng(12).hex().translate(_LETTERS)


def qa_principal(principal: Principal) -> Principal:
    """The principal reduced to its QA role: what the review flow decides with."""
    return Principal(user_id=principal.user_id, roles=principal.roles & {QA_ROLE})


def audit_step(
    vault: Vault,
    principal: Principal,
    action: str,
    *,
    now: datetime,
    outcome: str = "ok",
    recording_id: str | None = None,
    artefact: str | None = None,
    purpose: str | None = PURPOSE,
    reason: str | None = None,
    detail: Mapping[str, str | int | bool | None] | None = None,
) -> None:
    """Append one QA audit entry (joins the caller's transaction if one is open)."""
    record(
        vault.audit, principal, action, now=now, outcome=outcome, recording_id=recording_id,
        artefact=artefact, purpose=purpose, reason=reason, detail=detail,
    )  # fmt: skip


def clean_comment(text: str, limit: int) -> str:
    """A comment fit to store: trimmed, within ``limit``, every number-like run redacted."""
    text = text.strip()
    if len(text) > limit:
        raise QaError(f"comment: at most {limit} characters")
    return _DIGIT_RUN.sub(logredact.REDACTED, logredact.redact(text))


class Review:
    """One reviewer's QA desk over a vault: every method is one audited step."""

    def __init__(self, vault: Vault, config: Config, principal: Principal, *, rng: Rng) -> None:
        self.vault = vault
        self.rng = rng
        self.config = config
        self.principal = qa_principal(principal)
        self.store = QaStore(vault.catalog)
        self.assignments_source = CatalogAssignments(vault.catalog)

    @property
    def settings(self) -> QaSettings:
        """The scorecard criteria (``[qa]``)."""
        return qa_settings(self.config)

    # -- access ---------------------------------------------------------------------------

    def _decide(self, recording: Recording, action: Action) -> tuple[bool, str]:
        if recording.state is not State.AVAILABLE:
            return False, "recording is gone"
        d = allowed(
            self.config,
            self.principal,
            action,
            recording,
            purpose=PURPOSE,
            assignments=self.assignments_source,
        )
        return d.allowed, d.reason

    def _reach(
        self, recording_id: str, action: Action, audit_action: str, *, now: datetime
    ) -> Recording:
        """The call, if this reviewer may take ``action`` on it; else audit and refuse."""
        recording: Recording | None = None
        known = RECORDING_ID.fullmatch(recording_id) is not None
        if known:
            try:
                recording = self.vault.catalog.get_recording(recording_id)
            except NotFoundError:
                recording = None
        ok, reason = False, "no such recording"
        if recording is not None:
            ok, reason = self._decide(recording, action)
        if recording is None or not ok:
            audit_step(
                self.vault, self.principal, audit_action, now=now, outcome="denied",
                recording_id=recording_id if known else None, reason=reason,
            )  # fmt: skip
            raise AccessDenied(UNREACHABLE)
        return recording

    # -- sessions -------------------------------------------------------------------------

    def _session(self, now: datetime) -> tuple[Session, bool]:
        """The live session (reopened if paused) or a new one; True if it was resumed."""
        live = self.store.live_session(self.principal.user_id)
        if live is None:
            session = Session(
                id=qa_id(self.rng),
                reviewer_id=self.principal.user_id,
                started_at=now,
                updated_at=now,
                position=None,
                state=SessionState.OPEN,
            )
            self.store.create_session(session)
            return session, False
        if live.state is SessionState.PAUSED:
            self.store.update_session(
                live.id, position=live.position, state=SessionState.OPEN, now=now
            )
        return live, True

    def open(self, *, now: datetime) -> Session:
        """Open a session, or resume the reviewer's paused one where it left off."""
        self._require_reviewer("qa.session.open", now)
        with self.vault.catalog.transaction():
            session, resumed = self._session(now)
            audit_step(
                self.vault, self.principal,
                "qa.session.resume" if resumed else "qa.session.open",
                now=now, detail={"session": session.id},
            )  # fmt: skip
        return self.store.get_session(session.id)

    def pause(self, *, now: datetime) -> Session | None:
        """Put the live session aside (it resumes at the same call); None if there is none."""
        with self.vault.catalog.transaction():
            live = self.store.live_session(self.principal.user_id)
            if live is not None:
                self.store.update_session(
                    live.id, position=live.position, state=SessionState.PAUSED, now=now
                )
            audit_step(
                self.vault, self.principal, "qa.session.pause", now=now,
                detail={"session": None if live is None else live.id},
            )  # fmt: skip
        return None if live is None else self.store.get_session(live.id)

    def _require_reviewer(self, audit_action: str, now: datetime) -> None:
        if QA_ROLE not in self.principal.roles:
            reason = "not a QA reviewer"
            audit_step(
                self.vault, self.principal, audit_action, now=now, outcome="denied",
                reason=reason,
            )  # fmt: skip
            raise AccessDenied(reason)

    # -- the loop -------------------------------------------------------------------------

    def next(self, *, now: datetime) -> CallCard | None:
        """The call to review now: the session's current one until scored, then the next.

        Calls that became unreachable since the draw (destroyed, restricted, reviewer no
        longer assigned) are skipped. None, and the session closes, when nothing is left.
        """
        self._require_reviewer("qa.review.next", now)
        me = self.principal.user_id
        with self.vault.catalog.transaction():
            session, _ = self._session(now)
            scored = self.store.scored_by(me)
            order = [a.recording_id for a in self.store.assignments(me)]
            candidates = [session.position] if session.position else []
            candidates += [r for r in order if r not in scored]
            card: CallCard | None = None
            for recording_id in candidates:
                if recording_id in scored:
                    continue
                try:
                    recording = self.vault.catalog.get_recording(recording_id)
                except NotFoundError:
                    continue
                if self._decide(recording, Action.LIST)[0]:
                    number = order.index(recording_id) + 1 if recording_id in order else 0
                    card = call_card(
                        self.vault, recording, number=number, total=len(order), scored=False
                    )
                    break
            if card is None:
                self.store.update_session(
                    session.id, position=None, state=SessionState.CLOSED, now=now
                )
            else:
                self.store.update_session(
                    session.id, position=card.recording_id, state=SessionState.OPEN, now=now
                )
            audit_step(
                self.vault, self.principal, "qa.review.next", now=now, outcome="ok",
                recording_id=None if card is None else card.recording_id,
                reason=None if card is None else "call sampled to them for review",
                detail={
                    "session": session.id,
                    "resumed": card is not None and card.recording_id == session.position,
                    "remaining": len([r for r in order if r not in scored]),
                },
            )  # fmt: skip
        return card

    def play(
        self,
        recording_id: str,
        *,
        now: datetime,
        start_ms: int = 0,
        duration_ms: int | None = None,
    ) -> Playback:
        """Play a range of an assigned call (purpose ``quality``); audited by playback.

        :func:`recorder.playback.open_playback` decides and commits its ``recording.play``
        entry (with the true reason); the refusal raised here is the same for every
        unreachable call, like the other steps.
        """
        try:
            return open_playback(
                self.vault,
                self.config,
                self.principal,
                recording_id,
                purpose=PURPOSE,
                now=now,
                start_ms=start_ms,
                duration_ms=duration_ms,
                assignments=self.assignments_source,
            )
        except AccessDenied:
            raise AccessDenied(UNREACHABLE) from None

    def transcript(self, recording_id: str, *, now: datetime) -> TranscriptView:
        """The (redacted) transcript of an assigned call, if the AI path produced one."""
        action = "recording.view_transcript"
        recording = self._reach(recording_id, Action.VIEW_TRANSCRIPT, action, now=now)
        audit_step(
            self.vault, self.principal, action, now=now, outcome="allowed",
            recording_id=recording.id, artefact=ArtefactKind.TRANSCRIPT,
            reason="call sampled to them for review",
        )  # fmt: skip
        return transcript_view(self.vault, recording)

    def summary(self, recording_id: str, *, now: datetime) -> SummaryView:
        """The AI draft summary of an assigned call, if there is one."""
        action = "recording.view_summary"
        recording = self._reach(recording_id, Action.VIEW_SUMMARY, action, now=now)
        audit_step(
            self.vault, self.principal, action, now=now, outcome="allowed",
            recording_id=recording.id, artefact=ArtefactKind.SUMMARY,
            reason="call sampled to them for review",
        )  # fmt: skip
        return summary_view(self.vault, recording)

    def score(
        self,
        recording_id: str,
        scores: Mapping[str, int | None],
        *,
        comment: str = "",
        now: datetime,
    ) -> Scorecard:
        """Record (or replace) the reviewer's scorecard for an assigned call.

        Scores are validated against ``[qa]`` criteria first (:class:`QaError`, nothing
        audited: no call was touched); ``None`` marks a criterion not applicable where
        ``[qa]`` allows it. Then access is decided and audited.
        """
        settings = self.settings
        checked = settings.validate(scores)
        text = clean_comment(comment, settings.comment_max)
        recording = self._reach(recording_id, Action.LIST, "qa.score", now=now)
        with self.vault.catalog.transaction():
            live = self.store.live_session(self.principal.user_id)
            card = Scorecard(
                id=qa_id(self.rng),
                session_id=None if live is None else live.id,
                recording_id=recording.id,
                reviewer_id=self.principal.user_id,
                scores=checked,
                comment=text,
                created_at=now,
            )
            replaced = self.store.save_scorecard(card)
            if live is not None and live.position == recording.id:
                self.store.update_session(live.id, position=None, state=live.state, now=now)
            audit_step(
                self.vault, self.principal, "qa.score", now=now, outcome="ok",
                recording_id=recording.id, reason="call sampled to them for review",
                detail={
                    "session": None if live is None else live.id,
                    "criteria": len(checked),
                    "replaced": replaced,
                },
            )  # fmt: skip
        return card

    def assignments(self, *, now: datetime) -> list[CallCard]:
        """Every call assigned to the reviewer that they can still reach, in review order."""
        self._require_reviewer("qa.assignments", now)
        me = self.principal.user_id
        scored = self.store.scored_by(me)
        order = self.store.assignments(me)
        cards: list[CallCard] = []
        for number, assignment in enumerate(order, start=1):
            try:
                recording = self.vault.catalog.get_recording(assignment.recording_id)
            except NotFoundError:
                continue
            if self._decide(recording, Action.LIST)[0]:
                cards.append(
                    call_card(
                        self.vault,
                        recording,
                        number=number,
                        total=len(order),
                        scored=recording.id in scored,
                    )
                )
        audit_step(
            self.vault, self.principal, "qa.assignments", now=now, outcome="ok",
            detail={"count": len(cards), "assigned": len(order)},
        )  # fmt: skip
        return cards
