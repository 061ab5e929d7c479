"""The chat endpoints on a real uvicorn server on 127.0.0.1, signed by the real
``standardwebhooks`` package; the customer's self-service and the bank's history over HTTP.

- ``POST /hooks/chat``: a signed delivery is stored (200 + the secret, once); a replay is
  ``duplicate``; bad signatures 401, oversized 413, malformed or too deep 400, with no chat
  stored; no secret configured: 404.
- ``GET /chats/{id}/transcript`` (JSON, text) and ``DELETE /chats/{id}`` with the secret in
  ``Authorization``: a bot chat is erased at once with a receipt; an advisor chat becomes a
  DPO request (202). Unknown chat, malformed id, wrong, reused (spent), expired secret, a
  secret in the query string: all the same 404 with the same body.
- rate limit: over ``per_minute`` from one client, 429 with ``Retry-After``; a minute later ok.
- ``GET /customers/me/chats`` with the bank's Ed25519 assertion: the customer's chats only;
  expired, other audience, tampered or missing: 401.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from recorder.chat.assertion import make_assertion
from storage.keyring import FileKeyRing
from storage.vault import Vault
from tests.recorder.chat.helpers import (
    BANK_PUBLIC,
    BANK_SEED,
    CHAT_SECRET,
    advisor_chat,
    bot_chat,
    doc,
    msg,
)
from tests.recorder.web.harness import NOW, Reply, Web, reference_signature, running

CHAT_TOML_TEMPLATE = f"""
[[users]]
id = "qa1"
roles = ["qa_reviewer"]
[chat]
platforms = ["webchat"]
languages = ["no"]
[chat.selfservice]
per_minute = {{per_minute}}
[chat.history]
visible_months = 36
public_keys = ["{BANK_PUBLIC}"]
[webhooks.chat]
secrets = ["{CHAT_SECRET}"]
"""


CHAT_TOML = CHAT_TOML_TEMPLATE.replace("{per_minute}", "60")


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    with running(tmp_path, extra_toml=CHAT_TOML) as server:
        yield server


def deliver(
    web: Web,
    document: dict[str, Any] | str,
    *,
    msg_id: str = "msg_1",
    secret: str = CHAT_SECRET,
    tamper: bool = False,
) -> Reply:
    text = document if isinstance(document, str) else json.dumps(document)
    signature = reference_signature(text, msg_id=msg_id, secret=secret, at=web.clock.now)
    body = text.encode() + (b" " if tamper else b"")
    headers = [
        ("Content-Type", "application/json"),
        ("webhook-id", msg_id),
        ("webhook-timestamp", str(int(web.clock.now.timestamp()))),
        ("webhook-signature", signature),
    ]
    return web.request("POST", "/hooks/chat", body, headers)


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def test_a_signed_delivery_is_stored_once_and_the_secret_shown_once(web: Web) -> None:
    first = deliver(web, bot_chat("c-web"))
    assert first.status == 200 and first.body["status"] == "created"
    assert first.body["secret"].startswith("cs1_")
    again = deliver(web, bot_chat("c-web"), msg_id="msg_2")
    assert again.status == 200 and again.body["status"] == "duplicate"
    assert "secret" not in again.body and again.body["chat_id"] == first.body["chat_id"]


@pytest.mark.parametrize("case", ["wrong secret", "tampered", "no signature"])
def test_bad_signatures_are_401_and_store_nothing(web: Web, case: str) -> None:
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    if case == "no signature":
        reply = web.request(
            "POST",
            "/hooks/chat",
            json.dumps(bot_chat()).encode(),
            [("Content-Type", "application/json")],
        )
    else:
        reply = deliver(
            web,
            bot_chat(),
            secret=other if case == "wrong secret" else CHAT_SECRET,
            tamper=case == "tampered",
        )
    assert reply.status == 401
    assert _chats(web) == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("{not json", 400),
        ("[" * 5000 + "]" * 5000, 400),
        (json.dumps(doc(platform="other")), 400),
        (json.dumps(doc(messages=[msg("m1", "advisor:nobody", "x")])), 400),
        (json.dumps(doc(messages=[msg(f"m{i}", "bot", "x" * 3000) for i in range(100)])), 413),
    ],
)
def test_malformed_or_oversized_deliveries_are_4xx(web: Web, body: str, status: int) -> None:
    reply = deliver(web, body)
    assert reply.status == status, reply.body
    assert _chats(web) == 0


def test_without_a_secret_the_endpoint_is_off(tmp_path: Path) -> None:
    with running(tmp_path, extra_toml='[chat]\nplatforms = ["webchat"]\n') as server:
        assert deliver(server, bot_chat()).status == 404


def _chats(web: Web) -> int:
    vault = Vault.open(web.home, FileKeyRing.load(web.keyring))
    try:
        return sum(1 for r in vault.catalog.list_recordings() if r.provider == "chat")
    finally:
        vault.close()


def test_the_customer_downloads_and_deletes_a_bot_chat(web: Web) -> None:
    created = deliver(web, bot_chat("c-self"))
    chat_id, secret = created.body["chat_id"], created.body["secret"]
    got = web.request("GET", f"/chats/{chat_id}/transcript", headers=bearer(secret))
    assert got.status == 200
    assert [m["from"] for m in got.body["messages"]] == ["customer", "bot"]
    assert "[card]" in got.body["messages"][0]["text"]
    text = web.request("GET", f"/chats/{chat_id}/transcript?format=text", headers=bearer(secret))
    assert text.status == 200 and "customer: hvordan sperrer" in text.body["raw"]
    gone = web.request("DELETE", f"/chats/{chat_id}", headers=bearer(secret))
    assert gone.status == 200 and gone.body["status"] == "erased"
    assert uuid.UUID(gone.body["receipt"]).version == 4  # the erasure receipt id
    refused = web.request("GET", f"/chats/{chat_id}/transcript", headers=bearer(secret))
    assert refused.status == 404


def test_an_advisor_chat_deletion_goes_to_the_dpo(web: Web) -> None:
    created = deliver(web, advisor_chat("c-adv-web"))
    chat_id, secret = created.body["chat_id"], created.body["secret"]
    got = web.request("GET", f"/chats/{chat_id}/transcript", headers=bearer(secret))
    assert [m["from"] for m in got.body["messages"]][-1] == "advisor"  # identity withheld
    asked = web.request("DELETE", f"/chats/{chat_id}", headers=bearer(secret))
    assert asked.status == 202 and asked.body["status"] == "requested"
    assert _chats(web) == 1
    reused = web.request("GET", f"/chats/{chat_id}/transcript", headers=bearer(secret))
    assert reused.status == 404


def test_every_refusal_looks_the_same(web: Web) -> None:
    bot = deliver(web, bot_chat("c-r1"))
    adv = deliver(web, advisor_chat("c-r2"))
    web.request("DELETE", f"/chats/{adv.body['chat_id']}", headers=bearer(adv.body["secret"]))
    chat_id, secret = bot.body["chat_id"], bot.body["secret"]
    wrong = secret[:-2] + ("AA" if not secret.endswith("AA") else "BB")
    attempts = [
        ("unknown chat", f"/chats/{'0' * 32}/transcript", bearer(secret)),
        ("malformed id", "/chats/..%2e%2e;DROP/transcript", bearer(secret)),
        ("number-shaped id", "/chats/4791234567/transcript", bearer(secret)),
        ("wrong secret", f"/chats/{chat_id}/transcript", bearer(wrong)),
        ("other chat's secret", f"/chats/{adv.body['chat_id']}/transcript", bearer(secret)),
        ("spent secret", f"/chats/{adv.body['chat_id']}/transcript", bearer(adv.body["secret"])),
        ("no secret", f"/chats/{chat_id}/transcript", []),
        ("secret in the URL", f"/chats/{chat_id}/transcript?secret={secret}", []),
        ("not a bearer", f"/chats/{chat_id}/transcript", [("Authorization", f"Basic {secret}")]),
    ]
    bodies = set()
    for name, target, headers in attempts:
        reply = web.request("GET", target, headers=headers)
        assert reply.status == 404, name
        bodies.add(json.dumps(reply.body, sort_keys=True))
    assert len(bodies) == 1
    web.clock.now = NOW + timedelta(days=31)  # the secret expired; the advisor chat lives on
    expired = web.request("GET", f"/chats/{chat_id}/transcript", headers=bearer(secret))
    assert expired.status == 404 and json.dumps(expired.body, sort_keys=True) in bodies


def test_self_service_is_rate_limited_per_client(tmp_path: Path) -> None:
    with running(tmp_path, extra_toml=CHAT_TOML_TEMPLATE.replace("{per_minute}", "8")) as web:
        target = f"/chats/{'0' * 32}/transcript"
        codes = [web.request("GET", target, headers=bearer("cs1_x")).status for _ in range(10)]
        assert codes[:8] == [404] * 8 and codes[8:] == [429, 429]
        other = web.request("GET", f"/chats/{'1' * 32}/transcript")
        assert other.status == 429  # the same client, another chat: the client's limit
        web.clock.now = NOW + timedelta(minutes=1)
        assert web.request("GET", target).status == 404


def _assertion(customer: str, **kw: Any) -> str:
    issued = kw.pop("issued", int(NOW.timestamp()))
    return make_assertion(
        kw.pop("seed", BANK_SEED),
        customer,
        audience=kw.pop("audience", "callrec-chat-history"),
        issued=issued,
        ttl=kw.pop("ttl", 300),
    )


def test_the_logged_in_history_shows_only_the_customers_own_chats(web: Web) -> None:
    mine = deliver(web, bot_chat("c-h1") | {"customer_id": "kunde-1"}).body["chat_id"]
    deliver(web, bot_chat("c-h2") | {"customer_id": "kunde-2"})
    deliver(web, bot_chat("c-h3"))
    listed = web.request("GET", "/customers/me/chats", headers=bearer(_assertion("kunde-1")))
    assert listed.status == 200 and [c["chat_id"] for c in listed.body["chats"]] == [mine]
    one = web.request("GET", f"/customers/me/chats/{mine}", headers=bearer(_assertion("kunde-1")))
    assert one.status == 200 and one.body["messages"][0]["from"] == "customer"
    other = web.request("GET", f"/customers/me/chats/{mine}", headers=bearer(_assertion("kunde-2")))
    assert other.status == 404


@pytest.mark.parametrize(
    "token",
    [
        _assertion("kunde-1", issued=int(NOW.timestamp()) - 600),  # expired
        _assertion("kunde-1", audience="someone-else"),
        _assertion("kunde-1", ttl=86_400),  # lives too long
        _assertion("kunde-1", seed=bytes(32)),  # not the bank's key
        _assertion("kunde-1")[:-4] + "AAAA",  # tampered signature
        "cba1.e30.AAAA",
        "not-an-assertion",
    ],
)
def test_a_bad_assertion_is_401(web: Web, token: str) -> None:
    deliver(web, bot_chat("c-h1") | {"customer_id": "kunde-1"})
    reply = web.request("GET", "/customers/me/chats", headers=bearer(token))
    assert reply.status == 401 and "chats" not in reply.body


def test_the_audit_log_holds_no_secret_and_no_customer_id(web: Web) -> None:
    created = deliver(web, bot_chat("c-a") | {"customer_id": "kunde-9"})
    web.request(
        "GET",
        f"/chats/{created.body['chat_id']}/transcript",
        headers=bearer(created.body["secret"]),
    )
    web.request("GET", "/customers/me/chats", headers=bearer(_assertion("kunde-9")))
    vault = Vault.open(web.home, FileKeyRing.load(web.keyring))
    try:
        dump = json.dumps(
            [[e.event.actor_id, e.event.reason, e.event.detail] for e in vault.audit.entries()]
        )
        actions = [e.event.action for e in vault.audit.entries()]
    finally:
        vault.close()
    assert created.body["secret"] not in dump and "kunde-9" not in dump
    assert "chat.self.transcript" in actions and "chat.history" in actions
