"""P24 - "An advisor chat is kept 3.5 years if it concerns a complaint, 1.5 years
otherwise." (postal chatbot)

How these tests prove it
------------------------
On the real chat path with the shipped ``no-postal-chatbot`` profile: a conversation
delivered with a handover to an advisor gets ``chat_advisor_18m`` (18 calendar months from
its start); one whose complaint flag arrives gets ``chat_complaint_42m`` (42 months = 3.5
years), also when the flag arrives in a later batch, and each switch is audited with the
event that caused it. The real sweep keeps each chat a second before its deadline and
crypto-shreds it at the deadline; month ends clamp (31 Aug + 18 months = 29 Feb 2028).
The contact details given in the queue are destroyed with the chat.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from storage.models import ArtefactKind
from storage.vault import Vault
from tests.promises.chat_path import conversation, deliver, kept_until, profile, readable

CONFIG = profile("no-postal-chatbot")
PLATFORM = "postal_chat"


@pytest.mark.parametrize(
    ("complaint", "start", "deadline"),
    [
        (False, datetime(2026, 3, 10, 8, tzinfo=UTC), datetime(2027, 9, 10, 8, tzinfo=UTC)),
        (False, datetime(2026, 8, 31, 8, tzinfo=UTC), datetime(2028, 2, 29, 8, tzinfo=UTC)),
        (True, datetime(2026, 3, 10, 8, tzinfo=UTC), datetime(2029, 9, 10, 8, tzinfo=UTC)),
        (True, datetime(2026, 8, 31, 8, tzinfo=UTC), datetime(2030, 2, 28, 8, tzinfo=UTC)),
    ],
)
def test_advisor_chat_kept_18_months_or_42_for_a_complaint(
    vault: Vault, rng: Callable[[int], bytes], complaint: bool, start: datetime, deadline: datetime
) -> None:
    document = conversation(PLATFORM, "c-1", start, advisor="per", complaint=complaint)
    document["contact"] = {"name": "Kari", "phone": "+47 912 34 567"}
    result = deliver(vault, CONFIG, document, now=start, rng=rng)
    assert result.retention_class == ("chat_complaint_42m" if complaint else "chat_advisor_18m")
    assert readable(vault, result.chat_id, ArtefactKind.CHAT_CONTACT)
    kept_until(vault, CONFIG, result.chat_id, deadline)


def test_a_complaint_flagged_later_extends_it_and_the_switch_is_audited(
    vault: Vault, rng: Callable[[int], bytes]
) -> None:
    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    first = deliver(
        vault, CONFIG, conversation(PLATFORM, "c-2", start, advisor="siv"), now=start, rng=rng
    )
    assert vault.catalog.get_recording(first.chat_id).expires_at == datetime(
        2027, 7, 1, 9, tzinfo=UTC
    )
    flag = {
        "v": 1,
        "platform": PLATFORM,
        "conversation_id": "c-2",
        "language": "no",
        "events": [{"type": "complaint", "at": (start + timedelta(days=3)).isoformat()}],
    }
    later = deliver(vault, CONFIG, flag, now=start + timedelta(days=3), rng=rng)
    assert later.retention_class == "chat_complaint_42m"
    assert vault.catalog.get_recording(first.chat_id).expires_at == datetime(
        2029, 7, 1, 9, tzinfo=UTC
    )
    switches = [
        (e.event.detail["from"], e.event.detail["to"], e.event.detail["event"])
        for e in vault.audit.entries()
        if e.event.action == "chat.class"
    ]
    assert switches == [
        ("chat_bot_1m", "chat_advisor_18m", "handover"),
        ("chat_advisor_18m", "chat_complaint_42m", "complaint"),
    ]
    kept_until(vault, CONFIG, first.chat_id, datetime(2029, 7, 1, 9, tzinfo=UTC))
