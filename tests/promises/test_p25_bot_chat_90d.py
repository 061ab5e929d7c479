"""P25 - "A bot chat is kept 90 days; a customer-service chat is deleted on request."
(retail chatbot) - retention side.

How these tests prove it
------------------------
``chat_bot_90d`` is 90 exact days (not three months) in UTC: a chat of 1 January is
destroyed on 1 April (2026) and one of 1 December on 1 March (across a leap day: 29 Feb
2028 counts). Chat logs are real encrypted artefacts in a real store: kept one second
before, crypto-shredded at the deadline. A customer-service chat carries a MAX class, so
nothing blocks deleting it on request before then.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from recorder.retention import default_classes, destruction_blocked, expiry
from storage.vault import Vault
from tests.recorder.retention.helpers import add_call, assert_kept_then_destroyed

C = default_classes()
BOT = C["chat_bot_90d"]


@pytest.mark.parametrize(
    ("start", "deadline"),
    [
        (datetime(2026, 1, 1, 12, tzinfo=UTC), datetime(2026, 4, 1, 12, tzinfo=UTC)),
        (datetime(2027, 12, 1, 12, tzinfo=UTC), datetime(2028, 2, 29, 12, tzinfo=UTC)),
    ],
)
def test_bot_chat_is_kept_90_days(
    vault: Vault, rng: Callable[[int], bytes], start: datetime, deadline: datetime
) -> None:
    assert expiry(BOT, start) == deadline == start + timedelta(days=90)
    rid = add_call(vault, start=start, cls=BOT, rng=rng, payload=b"bot chat log")
    assert_kept_then_destroyed(vault, C, rid, deadline)


def test_customer_service_chat_may_be_deleted_on_request(
    vault: Vault, rng: Callable[[int], bytes]
) -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    rid = add_call(vault, start=start, cls=C["chat_1y"], rng=rng, payload=b"service chat")
    rec = vault.catalog.get_recording(rid)
    assert destruction_blocked(rec, classes=C, now=start + timedelta(hours=1)) is None
