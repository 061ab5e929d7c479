"""The real chat path for the chat promises (P23-P26): a shipped profile, real ingest.

Each promise test loads the profile of the notice it comes from (``samples/profiles``),
delivers conversations through the real parser and ingest into a real store, and lets
the real retention sweep run at the instants that matter. Self-service goes over a real
HTTP server where the promise is about the customer (download, delete).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from recorder import profiles
from recorder.chat.ingest import IngestResult, ingest_delivery
from recorder.chat.parse import read_delivery
from recorder.chat.settings import load_chat_settings
from recorder.config import Config
from recorder.retention import load_classes
from recorder.sweep import sweep
from recorder.web.config import load_web_settings
from recorder.web.server import BackgroundServer, ServerPaths, make_deps, uvicorn_config
from storage.errors import GoneError
from storage.keyring import FileKeyRing
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.recorder.web.harness import Clock, Web

Rng = Callable[[int], bytes]


def profile(name: str) -> Config:
    """The shipped profile ``name``, validated like ``callrec init --profile`` does."""
    return profiles.validate(profiles.profile_path(name))


def conversation(
    platform: str,
    conv: str,
    start: datetime,
    *,
    advisor: str | None = None,
    complaint: bool = False,
    customer: str | None = None,
) -> dict[str, Any]:
    """A finished conversation: a customer question, the bot's answer, optionally a handover
    to ``advisor`` and their reply, a complaint flag, and the end."""

    def at(minutes: float) -> str:
        return (start + timedelta(minutes=minutes)).isoformat()

    messages = [
        {
            "id": "m1",
            "sender": "customer",
            "at": at(0),
            "text": "hvor er pakken min? ring 912 34 567",
        },
        {"id": "m2", "sender": "bot", "at": at(0.1), "text": "Jeg kan hjelpe med sporing."},
    ]
    events: list[dict[str, Any]] = []
    if advisor is not None:
        events.append({"type": "handover", "at": at(1), "advisor": advisor})
        messages.append({"id": "m3", "sender": f"advisor:{advisor}", "at": at(2), "text": "Hei!"})
    if complaint:
        events.append({"type": "complaint", "at": at(3)})
    events.append({"type": "ended", "at": at(4)})
    document: dict[str, Any] = {
        "v": 1,
        "platform": platform,
        "conversation_id": conv,
        "language": "no",
        "messages": messages,
        "events": events,
    }
    if customer is not None:
        document["customer_id"] = customer
    return document


def deliver(
    vault: Vault, config: Config, document: dict[str, Any], *, now: datetime, rng: Rng
) -> IngestResult:
    settings = load_chat_settings(config, environ={})
    delivery = read_delivery(json.dumps(document).encode(), settings, config)
    return ingest_delivery(vault, config, settings, delivery, source="test", now=now, rng=rng)


def sweep_at(vault: Vault, config: Config, at: datetime) -> None:
    sweep(vault, classes=load_classes(config), now=at)


def readable(vault: Vault, rid: str, kind: ArtefactKind) -> bool:
    """True if the chat has a live ``kind`` artefact that decrypts and authenticates."""
    art = vault.catalog.artefact_by_kind(rid, kind)
    if art is None or art.state is not State.AVAILABLE:
        return False
    vault.verify_artefact(art.id)
    return True


def assert_shredded(vault: Vault, rid: str) -> None:
    """The chat is destroyed: every artefact's key and blob gone."""
    assert vault.catalog.get_recording(rid).state is State.DESTROYED
    for art in vault.catalog.artefacts_for(rid):
        assert art.state is State.DESTROYED and not vault.blobs.exists(art.id)
        try:
            vault.catalog.get_wrapped_key(art.id)
        except GoneError:
            continue
        raise AssertionError("a destroyed chat artefact kept its key")


def kept_until(vault: Vault, config: Config, rid: str, deadline: datetime) -> None:
    """Swept a second before ``deadline`` the chat is kept and decrypts; at it, it is gone."""
    sweep_at(vault, config, deadline - timedelta(seconds=1))
    assert readable(vault, rid, ArtefactKind.CHAT)
    sweep_at(vault, config, deadline)
    assert_shredded(vault, rid)


@contextmanager
def chat_server(tmp: Path, config: Config, clock: Clock) -> Iterator[Web]:
    """A real callrec server on 127.0.0.1 over the store at ``tmp/data`` with ``config``."""
    home, keyring = tmp / "data", tmp / "keys" / "keyring.json"
    if not keyring.exists():
        FileKeyRing.create(keyring, random.Random(99).randbytes)
    deps = make_deps(
        ServerPaths(home=home, keyring=keyring),
        config,
        load_web_settings(config, {}),
        clock=clock,
        rng=random.Random(5).randbytes,
    )
    server = BackgroundServer(uvicorn_config(deps, "127.0.0.1", 0)).start()
    try:
        yield Web(home=home, keyring=keyring, config=config, clock=clock, server=server)
    finally:
        server.stop()
        deps.store.close()
