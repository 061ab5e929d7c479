"""P24 - "An advisor chat is kept 3.5 years if it concerns a complaint, 1.5 years
otherwise." (postal chatbot) - retention side.

How these tests prove it
------------------------
Two classes: ``chat_advisor_18m`` (18 calendar months) and ``chat_complaint_42m`` (42
calendar months = 3.5 years), MAX limits on chat logs. Chat logs are stored as real
encrypted artefacts in a real store; each is kept one second before its deadline and
crypto-shredded at it, month ends clamping (31 Aug + 18 months = 28 Feb).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from recorder.retention import default_classes, expiry
from storage.vault import Vault
from tests.recorder.retention.helpers import add_call, assert_kept_then_destroyed

C = default_classes()


@pytest.mark.parametrize(
    ("name", "start", "deadline"),
    [
        (
            "chat_advisor_18m",
            datetime(2026, 3, 10, 8, tzinfo=UTC),
            datetime(2027, 9, 10, 8, tzinfo=UTC),
        ),
        (
            "chat_advisor_18m",
            datetime(2026, 8, 31, 8, tzinfo=UTC),
            datetime(2028, 2, 29, 8, tzinfo=UTC),
        ),
        (
            "chat_complaint_42m",
            datetime(2026, 3, 10, 8, tzinfo=UTC),
            datetime(2029, 9, 10, 8, tzinfo=UTC),
        ),
        (
            "chat_complaint_42m",
            datetime(2026, 8, 31, 8, tzinfo=UTC),
            datetime(2030, 2, 28, 8, tzinfo=UTC),
        ),
    ],
)
def test_advisor_chat_kept_18_months_or_42_for_a_complaint(
    vault: Vault, rng: Callable[[int], bytes], name: str, start: datetime, deadline: datetime
) -> None:
    cls = C[name]
    assert cls.kind == "max" and cls.applies_to == ("chat",)
    assert expiry(cls, start) == deadline
    rid = add_call(vault, start=start, cls=cls, rng=rng, payload=b"advisor chat log")
    assert_kept_then_destroyed(vault, C, rid, deadline)


def test_a_complaint_keeps_longer_than_a_plain_advisor_chat() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    plain, complaint = (expiry(C[n], start) for n in ("chat_advisor_18m", "chat_complaint_42m"))
    assert (plain.year, plain.month) == (2027, 7)
    assert (complaint.year, complaint.month) == (2029, 7)
