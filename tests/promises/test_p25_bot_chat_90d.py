"""P25 - "A bot chat is kept 90 days; a customer-service chat is deleted on request."
(retail chatbot)

How these tests prove it
------------------------
On the real chat path with the shipped ``retail-chatbot`` profile:

- a bot-only chat gets ``chat_bot_90d``: 90 exact days in UTC (1 January → 1 April; 1
  December → 29 February across a leap day); the real sweep keeps it a second before and
  crypto-shreds it at the deadline;
- a chat with customer service, deleted on request: the customer's ``DELETE /chats/{id}``
  (real HTTP server, the chat's secret) files a request (202, with a receipt) that the DPO
  carries out (``callrec chat erase`` path): every artefact crypto-shredded, the request
  closed, both audited; the DPO can also erase by the contact e-mail (subject erasure).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recorder.access import principal_for
from recorder.chat.selfservice import close_request
from recorder.chat.subjects import SubjectKey
from recorder.subject import erase
from storage import chats
from storage.keyring import FileKeyRing
from storage.vault import Vault
from tests.promises.chat_path import (
    assert_shredded,
    chat_server,
    conversation,
    deliver,
    kept_until,
    profile,
)
from tests.recorder.web.harness import Clock

CONFIG = profile("retail-chatbot")
PLATFORM = "shop_chat"


@pytest.mark.parametrize(
    ("start", "deadline"),
    [
        (datetime(2026, 1, 1, 12, tzinfo=UTC), datetime(2026, 4, 1, 12, tzinfo=UTC)),
        (datetime(2027, 12, 1, 12, tzinfo=UTC), datetime(2028, 2, 29, 12, tzinfo=UTC)),
    ],
)
def test_a_bot_chat_is_kept_90_days(
    vault: Vault, rng: Callable[[int], bytes], start: datetime, deadline: datetime
) -> None:
    result = deliver(vault, CONFIG, conversation(PLATFORM, "c-1", start), now=start, rng=rng)
    assert result.retention_class == "chat_bot_90d" and deadline == start + timedelta(days=90)
    kept_until(vault, CONFIG, result.chat_id, deadline)


def test_a_customer_service_chat_is_deleted_on_request(
    tmp_path: Path, rng: Callable[[int], bytes]
) -> None:
    start = datetime(2026, 6, 1, 10, tzinfo=UTC)
    clock = Clock(now=start + timedelta(hours=1))
    with chat_server(tmp_path, CONFIG, clock) as web:
        vault = Vault.open(web.home, FileKeyRing.load(web.keyring))
        try:
            result = deliver(
                vault,
                CONFIG,
                conversation(PLATFORM, "c-2", start, advisor="emma"),
                now=clock.now,
                rng=rng,
            )
            asked = web.request(
                "DELETE",
                f"/chats/{result.chat_id}",
                headers=[("Authorization", f"Bearer {result.secret}")],
            )
            assert asked.status == 202 and asked.body["status"] == "requested"
            (request,) = chats.requests(vault.catalog)
            assert request.recording_id == result.chat_id
            status = close_request(
                vault,
                CONFIG,
                principal_for(CONFIG, "dpo"),
                result.chat_id,
                now=clock.now + timedelta(days=1),
                rng=rng,
            )
            assert status == "erased" and chats.requests(vault.catalog) == []
            assert_shredded(vault, result.chat_id)
            actions = [e.event.action for e in vault.audit.entries()]
            assert {"chat.self.delete", "subject.erase", "chat.request.done"} <= set(actions)
        finally:
            vault.close()


def test_the_dpo_can_delete_it_by_the_contact_e_mail(
    vault: Vault, rng: Callable[[int], bytes]
) -> None:
    start = datetime(2026, 6, 1, 10, tzinfo=UTC)
    document = conversation(PLATFORM, "c-3", start, advisor="oskar")
    document["contact"] = {"email": "emma.k@example.se"}
    result = deliver(vault, CONFIG, document, now=start, rng=rng)
    outcomes = erase(
        vault,
        CONFIG,
        principal_for(CONFIG, "dpo"),
        SubjectKey(email="Emma.K@example.se"),
        now=start,
        rng=rng,
    )
    assert [o.status for o in outcomes] == ["erased"]
    assert_shredded(vault, result.chat_id)
