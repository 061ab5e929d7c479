"""Find, restrict (Art. 18) and rectify (Art. 16): who may, what changes, what is audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from recorder.access import principal_for
from recorder.errors import AccessDenied, InvalidEvent
from recorder.playback import open_playback
from recorder.subject import find, rectify, set_restriction
from storage import subjects
from storage.models import ArtefactKind
from tests.recorder.subject.conftest import OTHER, SUBJECT, SUBJECT_FORMATS, Subject


def test_find_every_format_finds_all_and_only_the_subjects_calls(
    subject: Subject, now: datetime
) -> None:
    s = subject
    for number in SUBJECT_FORMATS:
        found = find(s.vault, s.config, s.dpo, number, purpose="dsar", now=now)
        assert [r.id for r in found] == s.mine
    assert [
        r.id for r in find(s.vault, s.config, s.legal, OTHER, purpose="legal", now=now)
    ] == s.other
    for user in ("anna", "siri", "admin1"):
        with pytest.raises(AccessDenied):
            find(s.vault, s.config, principal_for(s.config, user), SUBJECT, purpose="dsar", now=now)
    with pytest.raises(InvalidEvent):
        find(s.vault, s.config, s.dpo, "anonymous", purpose="dsar", now=now)
    finds = [e.event for e in s.vault.audit.entries() if e.event.action == "subject.find"]
    assert [(e.actor_id, e.outcome) for e in finds] == [
        *[("dpo1", "allowed")] * 3,
        ("lawyer1", "allowed"),
        ("anna", "denied"),
        ("siri", "denied"),
        ("admin1", "denied"),
    ]


def _play(s: Subject, user: str, rid: str, now: datetime, purpose: str = "quality") -> None:
    open_playback(s.vault, s.config, principal_for(s.config, user), rid, purpose=purpose, now=now)


def test_restriction_stops_play_except_legal_with_purpose(subject: Subject, now: datetime) -> None:
    s = subject
    rid = s.mine[0]  # anna's call, in siri's team
    _play(s, "anna", rid, now)
    _play(s, "siri", rid, now)
    changed = set_restriction(
        s.vault, s.config, s.dpo, SUBJECT, restricted=True, reason="accuracy contested", now=now
    )
    assert changed == s.mine
    for user in ("anna", "siri"):
        with pytest.raises(AccessDenied, match="restricted"):
            _play(s, user, rid, now)
    with pytest.raises(AccessDenied):
        _play(s, "lawyer1", rid, now, purpose="quality")
    _play(s, "lawyer1", rid, now, purpose="legal")
    _play(s, "anna", s.other[0], now)  # another caller's call is not affected
    again = set_restriction(
        s.vault, s.config, s.dpo, SUBJECT, restricted=True, reason="x again", now=now
    )
    assert again == []
    set_restriction(s.vault, s.config, s.dpo, SUBJECT, restricted=False, reason="resolved", now=now)
    _play(s, "anna", rid, now)
    events = [
        e.event for e in s.vault.audit.for_recording(rid) if e.event.action.startswith("subject.")
    ]
    assert [(e.action, e.reason) for e in events] == [
        ("subject.restrict", "accuracy contested"),
        ("subject.unrestrict", "resolved"),
    ]


def test_restriction_is_the_dpos_and_reasons_hold_no_numbers(
    subject: Subject, now: datetime
) -> None:
    s = subject
    with pytest.raises(AccessDenied):
        set_restriction(
            s.vault,
            s.config,
            principal_for(s.config, "siri"),
            SUBJECT,
            restricted=True,
            reason="why not",
            now=now,
        )
    with pytest.raises(InvalidEvent):
        set_restriction(
            s.vault,
            s.config,
            s.dpo,
            SUBJECT,
            restricted=True,
            reason="customer 91234567 called",
            now=now,
        )
    assert not any(s.vault.catalog.get_recording(r).restricted for r in s.mine)


def test_rectify_agent_and_service_number_audio_untouched(subject: Subject, now: datetime) -> None:
    s = subject
    rid = s.mine[0]  # taken by anna (oslo-1) before bjorn's move
    audio = s.vault.catalog.artefact_by_kind(rid, ArtefactKind.AUDIO)
    assert audio is not None
    done = rectify(
        s.vault, s.config, s.dpo, rid, agent="carla", service_number="+47 23 00 00 00", now=now
    )
    assert [d.field for d in done] == ["agent_id", "team_id", "service_number"]
    row = s.vault.catalog.get_recording(rid)
    assert (row.agent_id, row.team_id, row.service_number) == (
        "carla",
        "stockholm-1",
        "+47 23 00 00 00",
    )
    log = subjects.rectifications(s.vault.catalog, rid)
    assert [(r.field, r.old_value, r.new_value) for r in log] == [
        ("agent_id", "anna", "carla"),
        ("team_id", "oslo-1", "stockholm-1"),
        ("service_number", "+4722000000", "+47 23 00 00 00"),
    ]
    after = s.vault.catalog.artefact_by_kind(rid, ArtefactKind.AUDIO)
    assert after == audio
    s.vault.verify_artefact(audio.id)
    (entry,) = [
        e.event for e in s.vault.audit.for_recording(rid) if e.event.action == "recording.rectify"
    ]
    assert entry.detail == {"fields": "agent_id,team_id,service_number"}
    # access follows the corrected metadata: carla now plays it, anna no longer does
    _play(s, "carla", rid, now)
    with pytest.raises(AccessDenied):
        _play(s, "anna", rid, now)
    assert rectify(s.vault, s.config, s.dpo, rid, agent="carla", service_number=None, now=now) == []


def test_rectify_refusals(subject: Subject, now: datetime, rng: Callable[[int], bytes]) -> None:
    s = subject
    rid = s.mine[0]
    with pytest.raises(AccessDenied):
        rectify(
            s.vault,
            s.config,
            principal_for(s.config, "siri"),
            rid,
            agent="anna",
            service_number=None,
            now=now,
        )
    with pytest.raises(InvalidEvent):
        rectify(s.vault, s.config, s.dpo, rid, agent=None, service_number="call me", now=now)
    with pytest.raises(InvalidEvent):
        rectify(s.vault, s.config, s.dpo, "../etc", agent="anna", service_number=None, now=now)
    assert subjects.rectifications(s.vault.catalog, rid) == []
