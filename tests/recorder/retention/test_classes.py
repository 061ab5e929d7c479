"""Retention classes as data: defaults, configuration, expiry arithmetic, conflict rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recorder.config import Config, parse_config
from recorder.errors import ConfigError
from recorder.policy import retention_class
from recorder.retention import (
    default_classes,
    derived_expiry,
    destruction_blocked,
    expiry,
    load_classes,
    resolve,
    sweep_interval,
)
from storage.models import Recording, State

OSLO = ZoneInfo("Europe/Oslo")
HELSINKI = ZoneInfo("Europe/Helsinki")
C = default_classes()


def _config(retention: dict[str, Any] | None = None) -> Config:
    doc: dict[str, Any] = {"default_region": "NO", "users": [], "teams": []}
    if retention is not None:
        doc["retention"] = retention
    return parse_config(doc)


def _recording(**overrides: Any) -> Recording:
    start = datetime(2026, 1, 10, 9, tzinfo=UTC)
    base = Recording(
        id="r1",
        provider="test",
        provider_id="r1",
        started_at=start,
        answered_at=start,
        ended_at=start + timedelta(minutes=3),
        duration_ms=180_000,
        service_number=None,
        caller_display="withheld",
        caller_digest=None,
        agent_id="anna",
        team_id=None,
        channels=1,
        retention_class="standard_6m",
        expires_at=expiry(C["standard_6m"], start),
        ai_opted_out=False,
        legal_hold=False,
        restricted=False,
        state=State.AVAILABLE,
        created_at=start,
    )
    return replace(base, **overrides)


def test_defaults_cover_every_promised_class() -> None:
    assert set(C) >= {
        "buffer_24h", "ai_30d", "standard_6m", "regulated_5y", "chat_bot_1m", "chat_bot_90d",
        "chat_1y", "chat_advisor_18m", "chat_complaint_42m", "chat_advisor_5y",
    }  # fmt: skip
    assert C["regulated_5y"].kind == "min"
    assert all(c.kind == "max" for n, c in C.items() if n != "regulated_5y")
    assert all(c.applies_to == ("chat",) for n, c in C.items() if n.startswith("chat_"))


def test_config_adds_and_replaces_classes() -> None:
    classes = load_classes(
        _config(
            {
                "sweep_interval_minutes": 15,
                "classes": {
                    "complaint_2y": {"months": 24, "applies_to": ["call", "chat"]},
                    "standard_6m": {"months": 3},
                    "pension_10y": {"months": 120, "kind": "min"},
                },
            }
        )
    )
    assert classes["complaint_2y"].months == 24
    assert classes["complaint_2y"].applies_to == ("call", "chat")
    assert classes["standard_6m"].months == 3
    assert classes["pension_10y"].kind == "min"
    assert classes["buffer_24h"] == C["buffer_24h"]
    assert sweep_interval(_config({"sweep_interval_minutes": 15})) == timedelta(minutes=15)
    assert sweep_interval(_config()) == timedelta(hours=1)


@pytest.mark.parametrize(
    ("retention", "path"),
    [
        ({"classes": {"x": {"months": -1}}}, "retention.classes.x.months"),
        ({"classes": {"x": {"months": True}}}, "retention.classes.x.months"),
        ({"classes": {"x": {"days": "30"}}}, "retention.classes.x.days"),
        ({"classes": {"x": {}}}, "retention.classes.x: give a duration"),
        ({"classes": {"x": {"hours": 1, "kind": "forever"}}}, "retention.classes.x.kind"),
        ({"classes": {"x": {"hours": 1, "applies_to": ["fax"]}}}, "retention.classes.x.applies"),
        ({"classes": {"x": {"hours": 1, "colour": "red"}}}, "retention.classes.x: unknown key"),
        ({"classes": {"Bad Name": {"hours": 1}}}, "retention.classes.Bad Name"),
        ({"classes": {"case_1234567": {"hours": 1}}}, "retention.classes.case_1234567"),
        ({"classes": {"x": 5}}, "retention.classes.x: must be a table"),
        ({"classes": 5}, "retention.classes"),
        ({"sweep": 1}, "retention.sweep"),
        ({"classes": {"x": {"months": 5000}}}, "retention.classes.x.months"),
    ],
)
def test_bad_classes_are_refused_with_the_toml_path(retention: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError, match=path.replace(".", r"\.")):
        load_classes(_config(retention))


def test_policy_lookup_still_works_for_capture() -> None:
    assert retention_class(None).name == "standard_6m"
    assert retention_class("chat_bot_90d").days == 90


# -- arithmetic -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "name", "expected"),
    [
        ("2028-02-29T10:00:00Z", "chat_1y", "2029-02-28T10:00:00Z"),  # 29 Feb + 12 m
        ("2028-02-29T10:00:00Z", "regulated_5y", "2033-02-28T10:00:00Z"),
        ("2026-08-31T23:30:00Z", "standard_6m", "2027-02-28T23:30:00Z"),  # month end clamps
        ("2027-08-31T23:30:00Z", "standard_6m", "2028-02-29T23:30:00Z"),  # leap target
        ("2026-01-31T08:00:00Z", "chat_bot_1m", "2026-02-28T08:00:00Z"),
        ("2026-03-31T08:00:00Z", "chat_advisor_18m", "2027-09-30T08:00:00Z"),
        ("2026-06-30T08:00:00Z", "chat_complaint_42m", "2029-12-30T08:00:00Z"),
        ("2026-12-31T23:59:59Z", "buffer_24h", "2027-01-01T23:59:59Z"),
        ("2026-02-01T00:00:00Z", "ai_30d", "2026-03-03T00:00:00Z"),
        ("2026-01-01T00:00:00Z", "chat_bot_90d", "2026-04-01T00:00:00Z"),
        ("2026-05-15T12:00:00Z", "chat_advisor_5y", "2031-05-15T12:00:00Z"),
    ],
)
def test_calendar_arithmetic(start: str, name: str, expected: str) -> None:
    got = expiry(C[name], datetime.fromisoformat(start))
    assert got == datetime.fromisoformat(expected)
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "local",
    [
        datetime(2026, 3, 29, 1, 30, tzinfo=OSLO),  # the hour before spring-forward
        datetime(2026, 3, 29, 3, 30, tzinfo=OSLO),  # just after
        datetime(2026, 10, 25, 2, 30, tzinfo=OSLO, fold=0),  # the repeated hour, 1st
        datetime(2026, 10, 25, 2, 30, tzinfo=OSLO, fold=1),  # the repeated hour, 2nd
        datetime(2026, 3, 29, 2, 30, tzinfo=HELSINKI),
        datetime(2026, 10, 25, 3, 30, tzinfo=HELSINKI, fold=1),
    ],
)
@pytest.mark.parametrize("name", ["buffer_24h", "ai_30d", "standard_6m", "regulated_5y"])
def test_dst_does_not_move_a_deadline(local: datetime, name: str) -> None:
    """Local times across a DST switch give the same deadline as their UTC instant."""
    utc = local.astimezone(UTC)
    assert expiry(C[name], local) == expiry(C[name], utc)
    # exact-duration classes are exact in elapsed time, whatever the local clock did
    if C[name].months == 0:
        assert expiry(C[name], local) - utc == timedelta(days=C[name].days, hours=C[name].hours)


def test_naive_start_is_refused() -> None:
    with pytest.raises(Exception, match="timezone"):
        expiry(C["standard_6m"], datetime(2026, 1, 1))  # noqa: DTZ001


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1),  # noqa: DTZ001
        max_value=datetime(2035, 12, 31),  # noqa: DTZ001
        timezones=st.sampled_from([UTC, OSLO, HELSINKI]),
    ),
    st.sampled_from(sorted(C)),
)
def test_expiry_is_after_start_and_monotone(start: datetime, name: str) -> None:
    later = start + timedelta(hours=1)
    assert expiry(C[name], start) > start
    assert expiry(C[name], later) >= expiry(C[name], start)


# -- conflict rule and derived artefacts (R2) -------------------------------------------------


def test_min_beats_any_max_and_shortest_max_wins() -> None:
    start = datetime(2026, 1, 10, tzinfo=UTC)
    shortest = resolve([C["standard_6m"], C["ai_30d"], C["chat_1y"]], start)
    assert (shortest.governed_by, shortest.kind) == ("ai_30d", "max")
    assert shortest.expires_at == start + timedelta(days=30)
    kept = resolve([C["ai_30d"], C["regulated_5y"], C["standard_6m"]], start)
    assert (kept.governed_by, kept.kind) == ("regulated_5y", "min")
    assert kept.expires_at == datetime(2031, 1, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="at least one"):
        resolve([], start)


def test_derived_artefact_lives_min_of_own_and_parent() -> None:
    start = datetime(2026, 1, 10, tzinfo=UTC)
    parent_short = expiry(C["buffer_24h"], start)
    assert derived_expiry(C["ai_30d"], start, parent_short) == parent_short
    parent_long = expiry(C["standard_6m"], start)
    assert derived_expiry(C["ai_30d"], start, parent_long) == start + timedelta(days=30)
    assert derived_expiry(C["ai_30d"], start, None) == start + timedelta(days=30)


def test_destruction_blocked_reasons() -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    assert destruction_blocked(_recording(), classes=C, now=now) is None
    assert destruction_blocked(_recording(legal_hold=True), classes=C, now=now) == "legal hold"
    assert destruction_blocked(_recording(restricted=True), classes=C, now=now) == (
        "restricted (Art. 18)"
    )
    start = datetime(2026, 1, 10, 9, tzinfo=UTC)
    regulated = _recording(
        retention_class="regulated_5y", expires_at=expiry(C["regulated_5y"], start)
    )
    assert destruction_blocked(regulated, classes=C, now=now) == (
        "regulated_5y keeps until 2031-01-10"
    )
    assert destruction_blocked(regulated, classes=C, now=datetime(2031, 1, 10, 9, tzinfo=UTC)) is (
        None
    )
    # a MIN row whose stored expiry was shortened by mistake still keeps the law
    shortened = replace(regulated, expires_at=start + timedelta(days=1))
    assert destruction_blocked(shortened, classes=C, now=now) is not None
    unknown = _recording(retention_class="gone_class")
    assert "unknown retention class" in (destruction_blocked(unknown, classes=C, now=now) or "")
    gone = _recording(state=State.DESTROYED, legal_hold=True)
    assert destruction_blocked(gone, classes=C, now=now) is None
