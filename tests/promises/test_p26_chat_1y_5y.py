"""P26 - "Chat logs are kept one year for analysis, five years if an advisor took part."
(bank) -- and "a logged-in customer sees their chat history in the online bank for 3 years".

How these tests prove it
------------------------
On the real chat path with the shipped ``no-bank`` profile:

- a bot-only chat gets ``chat_1y`` (12 calendar months; 29 Feb 2028 → 28 Feb 2029), one an
  advisor took part in ``chat_advisor_5y`` (60 months); the real sweep keeps each a second
  before its deadline and crypto-shreds it at the deadline;
- the history window is independent of the analysis class: a logged-in customer's bot
  chat loses its analysis copy at one year (staff and review samples can no longer read
  it), while the customer still sees it in their history, through the bank's signed
  assertion, until three years; then the whole chat is crypto-shredded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from recorder.access import principal_for
from recorder.chat import history, staff
from recorder.chat.assertion import make_assertion
from recorder.chat.settings import HistorySettings, load_chat_settings
from storage.crypto import signing_public_key
from storage.errors import GoneError
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.promises.chat_path import (
    assert_shredded,
    conversation,
    deliver,
    kept_until,
    profile,
    readable,
    sweep_at,
)

CONFIG = profile("no-bank")
PLATFORM = "bank_assistant"
BANK_SEED = bytes(range(7, 39))


@pytest.mark.parametrize(
    ("advisor", "start", "deadline"),
    [
        (None, datetime(2026, 4, 20, 9, tzinfo=UTC), datetime(2027, 4, 20, 9, tzinfo=UTC)),
        (None, datetime(2028, 2, 29, 9, tzinfo=UTC), datetime(2029, 2, 28, 9, tzinfo=UTC)),
        ("ola", datetime(2026, 4, 20, 9, tzinfo=UTC), datetime(2031, 4, 20, 9, tzinfo=UTC)),
        ("kari", datetime(2028, 2, 29, 9, tzinfo=UTC), datetime(2033, 2, 28, 9, tzinfo=UTC)),
    ],
)
def test_chat_kept_one_year_or_five_with_an_advisor(
    vault: Vault,
    rng: Callable[[int], bytes],
    advisor: str | None,
    start: datetime,
    deadline: datetime,
) -> None:
    result = deliver(
        vault, CONFIG, conversation(PLATFORM, "c-1", start, advisor=advisor), now=start, rng=rng
    )
    assert result.retention_class == ("chat_advisor_5y" if advisor else "chat_1y")
    kept_until(vault, CONFIG, result.chat_id, deadline)


def test_history_stays_three_years_while_analysis_ends_at_one(
    vault: Vault, rng: Callable[[int], bytes]
) -> None:
    start = datetime(2026, 4, 20, 9, tzinfo=UTC)
    document = conversation(PLATFORM, "c-2", start, customer="kunde-4711")
    result = deliver(vault, CONFIG, document, now=start, rng=rng)
    settings = load_chat_settings(CONFIG, environ={})
    assert settings.history is not None
    bank = HistorySettings(
        visible_months=36,
        audience=settings.history.audience,
        public_keys=(signing_public_key(BANK_SEED),),
    )
    with_key = dataclasses.replace(settings, history=bank)

    def seen(at: datetime) -> list[str]:
        token = make_assertion(
            BANK_SEED, "kunde-4711", audience=bank.audience, issued=int(at.timestamp()), ttl=300
        )
        return [i.chat_id for i in history.list_history(vault, with_key, token, now=at)]

    one_year = datetime(2027, 4, 20, 9, tzinfo=UTC)
    sweep_at(vault, CONFIG, one_year - timedelta(seconds=1))
    assert readable(vault, result.chat_id, ArtefactKind.CHAT)
    sweep_at(vault, CONFIG, one_year)
    assert not readable(vault, result.chat_id, ArtefactKind.CHAT)  # analysis copy shredded
    with pytest.raises(GoneError):
        staff.show_chat(
            vault,
            CONFIG,
            principal_for(CONFIG, "dpo"),
            result.chat_id,
            now=one_year,
            purpose="dsar",
        )
    assert readable(vault, result.chat_id, ArtefactKind.CHAT_HISTORY)
    assert seen(one_year + timedelta(days=400)) == [result.chat_id]
    three_years = datetime(2029, 4, 20, 9, tzinfo=UTC)
    sweep_at(vault, CONFIG, three_years - timedelta(seconds=1))
    assert vault.catalog.get_recording(result.chat_id).state is State.AVAILABLE
    assert seen(three_years - timedelta(minutes=1)) == [result.chat_id]
    sweep_at(vault, CONFIG, three_years)
    assert_shredded(vault, result.chat_id)
    assert seen(three_years) == []
