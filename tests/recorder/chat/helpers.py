"""Shared set-up of the chat tests: an org chart with a [chat] table, deliveries, ingest.

Real parts only: a real store (SQLite catalog, encrypted files, file keyring, audit chain),
the real parser and ingest; the bank's sign-in key is an Ed25519 test seed.
"""

from __future__ import annotations

import base64
import json
import tomllib
from datetime import UTC, datetime, timedelta
from typing import Any

from recorder.chat.ingest import IngestResult, ingest_delivery
from recorder.chat.parse import read_delivery
from recorder.chat.settings import ChatSettings, load_chat_settings
from recorder.config import Config, parse_config
from storage.crypto import signing_public_key
from storage.models import Rng
from storage.vault import Vault
from tests.recorder.conftest import ORG_CHART

BANK_SEED = bytes(range(100, 132))
BANK_PUBLIC = base64.b64encode(signing_public_key(BANK_SEED)).decode("ascii")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CHAT_SECRET = "whsec_" + base64.b64encode(b"callrec-test-chat-secret-32bytes").decode()

#: The recorder tests' org chart (siri leads anna; bjorn moved to sven's team on 18 Nov,
#: before the chats of T0) plus the roles chats need.
ORG = ORG_CHART + "".join(
    f'[[users]]\nid = "{user}"\nroles = ["{role}"]\n'
    for user, role in (("qa1", "qa_reviewer"), ("dpo1", "dpo"), ("legal1", "legal"))
)

CHAT_TABLE = f"""
[chat]
platforms = ["webchat"]
languages = ["no", "en"]
topics = ["card", "loan"]
[chat.history]
visible_months = 36
public_keys = ["{BANK_PUBLIC}"]
"""


def chat_config(extra: str = "") -> Config:
    return parse_config(tomllib.loads(ORG + CHAT_TABLE + extra))


def chat_settings(config: Config) -> ChatSettings:
    return load_chat_settings(config, {"CALLREC_CHAT_SECRET": CHAT_SECRET})


def msg(mid: str, sender: str, text: str, minutes: float = 0, at: datetime = T0) -> dict[str, Any]:
    return {
        "id": mid,
        "sender": sender,
        "at": (at + timedelta(minutes=minutes)).isoformat(),
        "text": text,
    }


def event(kind: str, minutes: float = 0, at: datetime = T0, **kw: Any) -> dict[str, Any]:
    return {"type": kind, "at": (at + timedelta(minutes=minutes)).isoformat(), **kw}


def doc(conv: str = "c-1", messages: list[Any] | None = None, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "v": 1,
        "platform": "webchat",
        "conversation_id": conv,
        "language": "no",
        "messages": messages
        if messages is not None
        else [msg("m1", "customer", "hei, hvordan sperrer jeg kortet?")],
    }
    return base | kw


def bot_chat(conv: str = "c-bot", at: datetime = T0) -> dict[str, Any]:
    return doc(
        conv,
        [
            msg("m1", "customer", "hvordan sperrer jeg kortet 4111 1111 1111 1111?", 0, at),
            msg("m2", "bot", "Du kan sperre det i nettbanken.", 0.1, at),
        ],
        events=[event("ended", 1, at)],
    )


def advisor_chat(conv: str = "c-adv", at: datetime = T0, advisor: str = "anna") -> dict[str, Any]:
    return doc(
        conv,
        [
            msg("m1", "customer", "jeg vil klage på et gebyr, ring meg på 912 34 567", 0, at),
            msg("m2", "bot", "Jeg setter deg over til en rådgiver.", 0.1, at),
            msg("m3", f"advisor:{advisor}", "Hei, jeg ser på saken.", 1, at),
        ],
        events=[event("handover", 0.5, at, advisor=advisor)],
        contact={"name": "Kari Nordmann", "email": "kari@example.no", "phone": "+47 912 34 567"},
    )


def ingest(
    vault: Vault,
    config: Config,
    document: dict[str, Any] | bytes,
    *,
    now: datetime,
    rng: Rng,
    delivery_id: str | None = None,
) -> IngestResult:
    settings = chat_settings(config)
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    delivery = read_delivery(raw, settings, config)
    return ingest_delivery(
        vault, config, settings, delivery, source="test", now=now, rng=rng, delivery_id=delivery_id
    )
