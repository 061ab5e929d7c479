"""The review session: only assigned calls, every step audited once, resumable, valid scores."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from recorder.access import Principal
from recorder.capture import Capturer
from recorder.config import Config
from recorder.errors import AccessDenied, QaError
from recorder.qa import UNREACHABLE, Review
from recorder.qa_report import qa_report
from recorder.qa_sample import SampleRequest, draw_sample
from recorder.wavfmt import parse_header
from storage.models import ArtefactKind, State
from storage.qa import QaStore, SessionState
from storage.vault import Vault
from tests.invariants import check_invariants, pcm_canaries
from tests.recorder.conftest import BEFORE_MOVE, MakeCall, canary_pcm
from tests.recorder.qa.conftest import Rng, audit_tail, review, who
from transcribe.models import Segment, Transcript
from transcribe.summarize import Summary

T = TypeVar("T")
TOPICS = ("billing", "callback")
SCORES = {"greeting": 4, "identification": 5, "resolution": 3, "compliance": 5, "tone": 4}


@pytest.fixture
def assigned(
    vault: Vault, qa_config: Config, qa_capturer: Capturer, make_call: MakeCall, now: datetime,
    rng: Rng,
) -> dict[str, list[str]]:  # fmt: skip
    """Two of anna's calls sampled to quinn (oslo-1), carla's call sampled to rita."""
    ids = {
        "anna": [
            qa_capturer.capture(
                make_call(started_at=BEFORE_MOVE + timedelta(minutes=i)), now=now, rng=rng
            ).recording_id
            for i in range(2)
        ],  # fmt: skip
        "carla": [qa_capturer.capture(make_call(agent="carla"), now=now, rng=rng).recording_id],
    }
    admin = who(qa_config, "admin1")
    for reviewer, team in (("quinn", "oslo-1"), ("rita", "stockholm-1")):
        draw_sample(
            vault, qa_config, admin,
            SampleRequest(reviewer=reviewer, rate_bp=10_000, seed=5, team=team),
            now=now, rng=rng,
        )  # fmt: skip
    return ids


def test_session_walks_resumes_and_scores_one_audit_entry_per_step(
    vault: Vault, qa_config: Config, assigned: dict[str, list[str]], now: datetime, rng: Rng
) -> None:
    order = [a.recording_id for a in QaStore(vault.catalog).assignments("quinn")]
    assert sorted(order) == sorted(assigned["anna"])
    quinn = review(vault, qa_config, "quinn", rng)

    def step(action: str, call: Callable[[], T]) -> T:
        size, _ = vault.audit.head()
        result = call()
        (entry,) = audit_tail(vault, size)
        assert entry.event.action == action and entry.event.actor_id == "quinn"
        return result

    session = step("qa.session.open", lambda: quinn.open(now=now))
    first = step("qa.review.next", lambda: quinn.next(now=now))
    assert first is not None and first.recording_id == order[0] and first.number == 1
    assert first.caller == "+4791234***" and first.agent == "anna" and first.team == "oslo-1"
    assert list(vault.audit.entries())[-1].event.detail["resumed"] is False
    again = step("qa.review.next", lambda: quinn.next(now=now))
    assert again == first  # not scored yet: the same call
    assert list(vault.audit.entries())[-1].event.detail["resumed"] is True
    step("qa.session.pause", lambda: quinn.pause(now=now))
    assert QaStore(vault.catalog).get_session(session.id).state is SessionState.PAUSED

    later = now + timedelta(hours=3)
    resumed = review(vault, qa_config, "quinn", rng)  # a new process, same reviewer
    size, _ = vault.audit.head()
    assert resumed.next(now=later) == first
    (entry,) = audit_tail(vault, size)
    assert entry.event.detail["resumed"] is True and entry.event.detail["session"] == session.id
    assert entry.event.recording_id == first.recording_id

    first_id = first.recording_id
    step("qa.score", lambda: resumed.score(first_id, SCORES, now=later))
    second = step("qa.review.next", lambda: resumed.next(now=later))
    assert second is not None and second.recording_id == order[1] and second.number == 2
    second_id = second.recording_id
    step("qa.score", lambda: resumed.score(second_id, SCORES, now=later))
    assert step("qa.review.next", lambda: resumed.next(now=later)) is None
    assert QaStore(vault.catalog).get_session(session.id).state is SessionState.CLOSED
    cards = step("qa.assignments", lambda: resumed.assignments(now=later))
    assert [c.scored for c in cards] == [True, True]


def test_play_a_range_of_an_assigned_call(
    vault: Vault, qa_config: Config, assigned: dict[str, list[str]], now: datetime, rng: Rng
) -> None:
    quinn = review(vault, qa_config, "quinn", rng)
    card = quinn.next(now=now)
    assert card is not None
    size, _ = vault.audit.head()
    playback = quinn.play(card.recording_id, now=now, start_ms=1000, duration_ms=2000)
    (entry,) = audit_tail(vault, size)  # committed before any byte
    assert (entry.event.action, entry.event.outcome, entry.event.purpose) == (
        "recording.play", "allowed", "quality",
    )  # fmt: skip
    assert entry.event.detail == {"start_ms": 1000, "duration_ms": 2000}
    wav = b"".join(playback.wav_chunks())
    fmt, frames = parse_header(wav[:44])
    assert frames == 2 * fmt.sample_rate and len(wav) == 44 + frames * fmt.frame_size


def test_a_reviewer_reaches_only_their_assignments(
    vault: Vault, qa_config: Config, assigned: dict[str, list[str]], now: datetime, rng: Rng
) -> None:
    quinn = review(vault, qa_config, "quinn", rng)
    rita_call = assigned["carla"][0]
    steps: dict[str, Callable[[], object]] = {
        "recording.play": lambda: quinn.play(rita_call, now=now),
        "recording.view_transcript": lambda: quinn.transcript(rita_call, now=now),
        "recording.view_summary": lambda: quinn.summary(rita_call, now=now),
        "qa.score": lambda: quinn.score(rita_call, SCORES, now=now),
    }
    for action, attempt in steps.items():
        size, _ = vault.audit.head()
        with pytest.raises(AccessDenied):
            attempt()
        (entry,) = audit_tail(vault, size)
        assert (entry.event.action, entry.event.outcome) == (action, "denied")
        assert entry.event.reason == "call not sampled to them"
        assert entry.event.recording_id == rita_call
    assert QaStore(vault.catalog).scorecard("quinn", rita_call) is None


def test_guessing_ids_gets_nothing_and_teaches_nothing(
    vault: Vault, qa_config: Config, assigned: dict[str, list[str]], now: datetime, rng: Rng
) -> None:
    """B2 for QA: 200 guessed ids (random, other reviewers', malformed) -> 0 successes."""
    quinn = review(vault, qa_config, "quinn", rng)
    draw = random.Random(99)
    guesses = [f"{draw.getrandbits(128):032x}" for _ in range(196)]
    guesses += [assigned["carla"][0], "../../etc/passwd", "", "A" * 32]
    size, _ = vault.audit.head()
    successes = 0
    for guess in guesses:
        for attempt in (quinn.transcript, quinn.summary, quinn.play):
            try:
                attempt(guess, now=now)
            except AccessDenied as exc:
                assert str(exc) == f"access denied: {UNREACHABLE}"  # same answer for all
            else:
                successes += 1
    assert successes == 0
    entries = audit_tail(vault, size)
    assert len(entries) == 3 * len(guesses)  # every attempt audited exactly once
    assert all(e.event.outcome == "denied" for e in entries)


def test_qa_never_widens_a_reviewer_who_is_also_a_supervisor(
    vault: Vault, qa_config: Config, assigned: dict[str, list[str]], now: datetime, rng: Rng
) -> None:
    both = Principal(user_id="siri", roles=frozenset({"supervisor", "qa_reviewer"}))
    desk = Review(vault, qa_config, both, rng=rng)
    assert desk.next(now=now) is None  # siri's team calls are not assigned to her
    with pytest.raises(AccessDenied, match=UNREACHABLE):
        desk.play(assigned["anna"][0], now=now)
    supervisor = review(vault, qa_config, "siri", rng)
    size, _ = vault.audit.head()
    with pytest.raises(AccessDenied, match="not a QA reviewer"):
        supervisor.next(now=now)
    (entry,) = audit_tail(vault, size)
    assert entry.event.outcome == "denied"


def test_restricted_or_destroyed_after_the_draw_is_skipped_and_refused(
    vault: Vault, qa_config: Config, assigned: dict[str, list[str]], now: datetime, rng: Rng
) -> None:
    first, second = (a.recording_id for a in QaStore(vault.catalog).assignments("quinn"))
    vault.catalog.set_recording_flags(first, restricted=True)
    quinn = review(vault, qa_config, "quinn", rng)
    card = quinn.next(now=now)
    assert card is not None and card.recording_id == second
    with pytest.raises(AccessDenied):
        quinn.transcript(first, now=now)
    vault.catalog.set_recording_state(second, State.DESTROYED)
    assert quinn.next(now=now) is None
    with pytest.raises(AccessDenied):
        quinn.score(second, SCORES, now=now)


def test_transcript_summary_and_topics_when_the_ai_path_made_them(
    vault: Vault, qa_config: Config, assigned: dict[str, list[str]], now: datetime, rng: Rng
) -> None:
    quinn = review(vault, qa_config, "quinn", rng)
    card = quinn.next(now=now)
    assert card is not None and not card.has_transcript and card.topics == ()
    assert not quinn.transcript(card.recording_id, now=now).present
    assert not quinn.summary(card.recording_id, now=now).present

    rid = card.recording_id
    transcript = Transcript(
        language="nb", duration=5.0, model="test",
        segments=(
            Segment(start=0.0, end=2.0, text="Hei, du har ringt kundeservice.", speaker="agent"),
            Segment(start=2.0, end=4.5, text="Ring meg på 912 34 567.", speaker="customer"),
        ),
    )  # fmt: skip
    summary = Summary(
        text="Kunden ba om tilbakeringing på 912 34 567.", request="tilbakeringing",
        resolution="avtalt", topics=TOPICS,
    )  # fmt: skip
    for kind, payload in (
        (ArtefactKind.TRANSCRIPT, transcript.to_dict()),
        (ArtefactKind.SUMMARY, {"v": 1, "summary": summary.to_dict(), "edit": None}),
        (ArtefactKind.CATEGORIES, [{"topic": t, "score": 0.9, "evidence": []} for t in TOPICS]),
    ):
        vault.store_artefact(rid, kind, [json.dumps(payload).encode()], now=now, rng=rng)

    card = quinn.next(now=now)
    assert card is not None and card.has_transcript and card.has_summary
    assert card.topics == ("billing", "callback")
    size, _ = vault.audit.head()
    view = quinn.transcript(rid, now=now)
    (entry,) = audit_tail(vault, size)
    assert (entry.event.action, entry.event.artefact) == ("recording.view_transcript", "transcript")
    assert view.present and [line.speaker for line in view.lines] == ["agent", "customer"]
    assert view.lines[1].text == "Ring meg på [number]."  # redacted before display
    shown = quinn.summary(rid, now=now)
    assert shown.present and shown.status == "draft"
    assert shown.text == "Kunden ba om tilbakeringing på [number]."


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ({**SCORES, "greeting": 6}, "greeting: must be between 1 and 5"),
        ({**SCORES, "tone": 0}, "tone: must be between 1 and 5"),
        ({**SCORES, "empathy": 3}, "unknown criterion"),
        ({k: v for k, v in SCORES.items() if k != "compliance"}, "no score for compliance"),
        ({**SCORES, "resolution": True}, "whole number"),
        ({}, "incomplete"),
    ],
)
def test_scorecards_validate_criteria_and_scale(
    vault: Vault, qa_config: Config, assigned: dict[str, list[str]], now: datetime, rng: Rng,
    scores: dict[str, int], message: str,
) -> None:  # fmt: skip
    quinn = review(vault, qa_config, "quinn", rng)
    rid = assigned["anna"][0]
    size, _ = vault.audit.head()
    with pytest.raises(QaError, match=message):
        quinn.score(rid, scores, now=now)
    assert audit_tail(vault, size) == [] and QaStore(vault.catalog).scorecard("quinn", rid) is None


def test_comments_never_hold_a_phone_number(
    vault: Vault, qa_config: Config, assigned: dict[str, list[str]], now: datetime, rng: Rng
) -> None:
    quinn = review(vault, qa_config, "quinn", rng)
    rid = assigned["anna"][0]
    comment = "Kunden oppga +47 912 34 567 og ref abc4791234567; god tone."
    card = quinn.score(rid, SCORES, comment=comment, now=now)
    stored = QaStore(vault.catalog).scorecard("quinn", rid)
    assert stored is not None and stored.comment == card.comment
    assert not re.search(r"\d{6,}", stored.comment.replace(" ", ""))
    assert "[number]" in stored.comment and "god tone" in stored.comment
    with pytest.raises(QaError, match="at most 2000"):
        quinn.score(rid, SCORES, comment="x" * 2001, now=now)
    # scoring again replaces the reviewer's scorecard for that call
    quinn.score(rid, {**SCORES, "tone": 1}, now=now)
    again = QaStore(vault.catalog).scorecard("quinn", rid)
    assert again is not None and again.scores["tone"] == 1 and again.comment == ""


def test_a_full_review_leaves_no_number_or_audio_in_clear(
    vault: Vault, qa_config: Config, assigned: dict[str, list[str]], now: datetime, rng: Rng,
    home: Path, keyring_path: Path,
) -> None:  # fmt: skip
    """I4/I7/A5 after the QA flow: raw scan of every file, the audit log included."""
    quinn = review(vault, qa_config, "quinn", rng)
    while (card := quinn.next(now=now)) is not None:
        b"".join(quinn.play(card.recording_id, now=now, start_ms=500).wav_chunks())
        quinn.transcript(card.recording_id, now=now)
        quinn.score(card.recording_id, SCORES, now=now,
                    comment="Kunden ga nytt nummer +47 987 65 432, ring 98765432.")  # fmt: skip
    qa_report(vault, qa_config, who(qa_config, "siri"), team="oslo-1", now=now)
    vault.close()
    check_invariants(
        home, keyring_path,
        canaries=pcm_canaries(canary_pcm(6.0, seed=1)),
        numbers=["+47 912 34 567", "+47 987 65 432"],
    )  # fmt: skip
