"""P23 - "A bot chat is kept one month unless the user deletes it sooner; the user can
download or delete it." (postal chatbot) - retention side.

How these tests prove it
------------------------
The chat pipeline comes later; its logs will be artefacts of class ``chat_bot_1m``. Here
chat logs are stored as real encrypted artefacts of that class in a real store.

- One calendar month, in UTC, clamped to the month's end: a chat of 31 January is
  destroyed on 28 February, one of 15 March on 15 April.
- One second before, the sweep keeps it and it decrypts; at the deadline the sweep
  crypto-shreds it (key and file gone).
- "Unless the user deletes it sooner": the class is a MAX limit, so nothing blocks an
  earlier deletion on request (no MIN obligation, no hold): destroying it at once is
  allowed and leaves it gone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from recorder.retention import default_classes, destruction_blocked, expiry
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.recorder.retention.helpers import add_call, assert_kept_then_destroyed

C = default_classes()
BOT = C["chat_bot_1m"]


@pytest.mark.parametrize(
    ("start", "deadline"),
    [
        (datetime(2026, 1, 31, 18, tzinfo=UTC), datetime(2026, 2, 28, 18, tzinfo=UTC)),
        (datetime(2028, 1, 30, 9, tzinfo=UTC), datetime(2028, 2, 29, 9, tzinfo=UTC)),
        (datetime(2026, 3, 15, 9, tzinfo=UTC), datetime(2026, 4, 15, 9, tzinfo=UTC)),
    ],
)
def test_bot_chat_is_kept_one_month(
    vault: Vault, rng: Callable[[int], bytes], start: datetime, deadline: datetime
) -> None:
    assert BOT.applies_to == ("chat",) and BOT.kind == "max"
    assert expiry(BOT, start) == deadline
    rid = add_call(vault, start=start, cls=BOT, rng=rng, payload=b"bot chat log")
    assert_kept_then_destroyed(vault, C, rid, deadline)


def test_the_user_may_delete_it_sooner(vault: Vault, rng: Callable[[int], bytes]) -> None:
    start = datetime(2026, 5, 2, 10, tzinfo=UTC)
    rid = add_call(vault, start=start, cls=BOT, rng=rng, payload=b"bot chat log")
    asked = start + timedelta(days=2)
    assert destruction_blocked(vault.catalog.get_recording(rid), classes=C, now=asked) is None
    (log,) = vault.catalog.artefacts_for(rid)
    assert log.kind is ArtefactKind.AUDIO  # the chat log stands in the audio slot for now
    assert vault.shred_artefact(log.id, now=asked, reason="deleted on request")
    assert vault.catalog.get_artefact(log.id).state is State.DESTROYED
