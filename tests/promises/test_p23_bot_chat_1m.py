"""P23 - "A bot chat is kept one month unless the user deletes it sooner; the user can
download or delete it." (postal chatbot)

How these tests prove it
------------------------
On the real chat path with the shipped ``no-postal-chatbot`` profile: conversations are
delivered through the parser and ingest into a real store (redacted, sealed, classed),
the real sweep runs, and the customer acts over a real HTTP server on 127.0.0.1 with the
secret the delivery returned.

- A bot-only chat gets the class ``chat_bot_1m``: one calendar month from its first
  message, in UTC, clamped to the month's end (31 January → 28 February). Swept a second
  before, it is kept and decrypts; at the deadline it is crypto-shredded (keys and files).
- "The user can download it": ``GET /chats/{id}/transcript`` with the secret gives the
  chat as stored (redacted), JSON and plain text.
- "Unless the user deletes it sooner": ``DELETE /chats/{id}`` two days in crypto-shreds it
  at once with a receipt; afterwards the secret is refused and nothing can be read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recorder.retention import expiry, load_classes
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

CONFIG = profile("no-postal-chatbot")
PLATFORM = "postal_chat"


@pytest.mark.parametrize(
    ("start", "deadline"),
    [
        (datetime(2026, 1, 31, 18, tzinfo=UTC), datetime(2026, 2, 28, 18, tzinfo=UTC)),
        (datetime(2028, 1, 30, 9, tzinfo=UTC), datetime(2028, 2, 29, 9, tzinfo=UTC)),
        (datetime(2026, 3, 15, 9, tzinfo=UTC), datetime(2026, 4, 15, 9, tzinfo=UTC)),
    ],
)
def test_a_bot_chat_is_kept_one_month(
    vault: Vault, rng: Callable[[int], bytes], start: datetime, deadline: datetime
) -> None:
    result = deliver(vault, CONFIG, conversation(PLATFORM, "c-1", start), now=start, rng=rng)
    assert result.retention_class == "chat_bot_1m"
    assert expiry(load_classes(CONFIG)["chat_bot_1m"], start) == deadline
    kept_until(vault, CONFIG, result.chat_id, deadline)


def test_the_user_downloads_then_deletes_it_sooner(
    tmp_path: Path, rng: Callable[[int], bytes]
) -> None:
    start = datetime(2026, 5, 2, 10, tzinfo=UTC)
    clock = Clock(now=start + timedelta(minutes=5))
    with chat_server(tmp_path, CONFIG, clock) as web:
        vault = Vault.open(web.home, FileKeyRing.load(web.keyring))
        try:
            result = deliver(
                vault, CONFIG, conversation(PLATFORM, "c-2", start), now=clock.now, rng=rng
            )
        finally:
            vault.close()
        auth = [("Authorization", f"Bearer {result.secret}")]
        got = web.request("GET", f"/chats/{result.chat_id}/transcript", headers=auth)
        assert got.status == 200 and "[phone]" in got.body["messages"][0]["text"]
        text = web.request("GET", f"/chats/{result.chat_id}/transcript?format=text", headers=auth)
        assert text.status == 200 and "customer: hvor er pakken" in text.body["raw"]
        clock.now = start + timedelta(days=2)
        deleted = web.request("DELETE", f"/chats/{result.chat_id}", headers=auth)
        assert deleted.status == 200 and deleted.body["status"] == "erased"
        assert deleted.body["receipt"]
        again = web.request("GET", f"/chats/{result.chat_id}/transcript", headers=auth)
        assert again.status == 404
        vault = Vault.open(web.home, FileKeyRing.load(web.keyring))
        try:
            assert_shredded(vault, result.chat_id)
        finally:
            vault.close()
