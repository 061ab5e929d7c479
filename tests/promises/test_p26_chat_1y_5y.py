"""P26 - "Chat logs are kept one year for analysis, five years if an advisor took part."
(bank) - retention side.

How these tests prove it
------------------------
``chat_1y`` (12 calendar months) for chats without an advisor, ``chat_advisor_5y`` (60
calendar months) when an advisor took part. Chat logs are real encrypted artefacts in a
real store: kept one second before the deadline, crypto-shredded at it. A chat of 29 Feb
2028 is kept until 28 Feb 2029 (one year) or 28 Feb 2033 (five years): the day clamps to
the month's end, never rolls into March.
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
        ("chat_1y", datetime(2026, 4, 20, 9, tzinfo=UTC), datetime(2027, 4, 20, 9, tzinfo=UTC)),
        ("chat_1y", datetime(2028, 2, 29, 9, tzinfo=UTC), datetime(2029, 2, 28, 9, tzinfo=UTC)),
        (
            "chat_advisor_5y",
            datetime(2026, 4, 20, 9, tzinfo=UTC),
            datetime(2031, 4, 20, 9, tzinfo=UTC),
        ),
        (
            "chat_advisor_5y",
            datetime(2028, 2, 29, 9, tzinfo=UTC),
            datetime(2033, 2, 28, 9, tzinfo=UTC),
        ),
    ],
)
def test_chat_kept_one_year_or_five_with_an_advisor(
    vault: Vault, rng: Callable[[int], bytes], name: str, start: datetime, deadline: datetime
) -> None:
    cls = C[name]
    assert cls.applies_to == ("chat",)
    assert expiry(cls, start) == deadline
    rid = add_call(vault, start=start, cls=cls, rng=rng, payload=b"chat log")
    assert_kept_then_destroyed(vault, C, rid, deadline)
