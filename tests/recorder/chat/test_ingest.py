"""Chat ingest on a real store: idempotent, redacted at rest, classed by what happened.

- the same delivery twice, or a batch repeating message ids, adds nothing (no audit entry);
- a conversation arriving in batches ends as one chat with every message once, in order;
- at rest: no message text, e-mail, phone number, national id, contact name, platform id,
  customer id or full IP address in any file (I4/I7 scan of DB, WAL and blobs), and fsck,
  the audit chain and I8 hold (``tests/invariants.check_invariants``);
- the contact details are their own artefact; the IP is kept as its /24 (or /48) network;
- bot → advisor on a handover → complaint when flagged, each switch audited with its event;
  phases never fall back;
- a deleted chat stays deleted when the platform delivers it again;
- a commit that fails leaves no chat, no artefact row and no blob behind.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from recorder.chat import digests
from recorder.chat.sealed import read_contact, read_conversation
from recorder.config import Config
from recorder.models import CHAT_PROVIDER
from recorder.retention import expiry, load_classes
from storage import chats
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.invariants import check_invariants
from tests.recorder.chat.helpers import T0, advisor_chat, bot_chat, doc, event, ingest, msg
from tests.transcribe import idgen

Rng = Callable[[int], bytes]
NOW = T0 + timedelta(hours=1)


def _audit(vault: Vault, action: str) -> list[dict[str, object]]:
    return [
        e.event.detail | {"reason": e.event.reason}
        for e in vault.audit.entries()
        if e.event.action == action
    ]


def test_the_same_delivery_twice_stores_it_once(vault: Vault, config: Config, rng: Rng) -> None:
    first = ingest(vault, config, bot_chat(), now=NOW, rng=rng)
    before = vault.audit.verify().size
    again = ingest(vault, config, bot_chat(), now=NOW, rng=rng)
    assert first.status == "created" and again.status == "duplicate"
    assert again.chat_id == first.chat_id and again.secret is None
    assert vault.audit.verify().size == before
    assert len([r for r in vault.catalog.list_recordings() if r.provider == CHAT_PROVIDER]) == 1


def test_batches_make_one_chat_with_every_message_once(
    vault: Vault, config: Config, rng: Rng
) -> None:
    messages = [msg(f"m{i}", "customer" if i % 2 else "bot", f"linje {i}", i) for i in range(9)]
    batches = [messages[0:4], messages[3:7], messages[2:9], messages[8:9]]  # overlapping
    results = [
        ingest(vault, config, doc("c-b", list(reversed(b))), now=NOW, rng=rng) for b in batches
    ]
    assert [r.status for r in results] == ["created", "updated", "updated", "duplicate"]
    assert sum(r.messages_added for r in results) == 9
    conv = read_conversation(vault, results[0].chat_id)
    assert conv is not None and [ln.text for ln in conv.lines] == [f"linje {i}" for i in range(9)]
    assert chats.get_chat(vault.catalog, results[0].chat_id).messages == 9  # type: ignore[union-attr]
    live = [
        a for a in vault.catalog.artefacts_for(results[0].chat_id) if a.state is State.AVAILABLE
    ]
    assert [a.kind for a in live] == [ArtefactKind.CHAT]  # superseded versions are shredded


def test_nothing_personal_is_at_rest_in_clear(
    vault: Vault, config: Config, rng: Rng, home: Path, keyring_path: Path
) -> None:
    r = random.Random(3)
    fnr, pnr, card = idgen.norwegian(r), idgen.swedish(r), idgen.luhn_card(r)
    canary = "CANARY-1b2c3d4e-chat-text"
    document = advisor_chat("conv-4798765432")
    document["messages"].append(
        msg("m4", "customer", f"{canary} fnr {fnr} pnr {pnr} kort {card}", 2)
    )
    document["customer_id"] = "cust-02029912345"
    document["ip"] = "203.0.113.45"
    result = ingest(vault, config, document, now=NOW, rng=rng)
    conv = read_conversation(vault, result.chat_id)
    assert conv is not None
    stored = " ".join(ln.text for ln in conv.lines)
    assert "[national-id]" in stored and "[card]" in stored and "[phone]" in stored
    assert fnr not in stored and card not in stored
    contact = read_contact(vault, result.chat_id)
    assert contact is not None and contact.email == "kari@example.no"
    row = chats.get_chat(vault.catalog, result.chat_id)
    assert row is not None and row.ip_prefix == "203.0.113.0/24"
    vault.catalog.checkpoint()
    needles = [
        canary.encode(),
        fnr.encode(),
        pnr.encode(),
        card.encode(),
        b"kari@example.no",
        b"Kari Nordmann",
        b"conv-4798765432",
        b"cust-02029912345",
        b"203.0.113.45",
        b"jeg vil klage",
    ]
    check_invariants(home, keyring_path, canaries=needles, numbers=["+47 912 34 567"])


def test_ipv6_is_kept_as_its_48_and_can_be_turned_off(
    vault: Vault, config: Config, rng: Rng
) -> None:
    result = ingest(
        vault, config, doc("c-v6", ip="2001:db8:85a3:8d3:1319:8a2e:370:7348"), now=NOW, rng=rng
    )
    assert chats.get_chat(vault.catalog, result.chat_id).ip_prefix == "2001:db8:85a3::/48"  # type: ignore[union-attr]
    from tests.recorder.chat.helpers import chat_config

    off = chat_config().document | {}
    off["chat"] = dict(off["chat"], ip="none")
    from recorder.config import parse_config

    result = ingest(vault, parse_config(off), doc("c-off", ip="203.0.113.9"), now=NOW, rng=rng)
    assert chats.get_chat(vault.catalog, result.chat_id).ip_prefix is None  # type: ignore[union-attr]


def test_class_follows_what_happened_and_each_switch_is_audited(
    vault: Vault, config: Config, rng: Rng
) -> None:
    classes = load_classes(config)
    first = ingest(vault, config, doc("c-p", [msg("m1", "customer", "hei")]), now=NOW, rng=rng)
    rec = vault.catalog.get_recording(first.chat_id)
    assert rec.retention_class == "chat_bot_1m"
    assert rec.expires_at == expiry(classes["chat_bot_1m"], T0)
    handover = doc(
        "c-p", [msg("m2", "advisor:anna", "Hei!", 2)], events=[event("handover", 1, advisor="anna")]
    )
    ingest(vault, config, handover, now=NOW, rng=rng)
    rec = vault.catalog.get_recording(first.chat_id)
    assert (rec.retention_class, rec.agent_id) == ("chat_advisor_18m", "anna")
    assert rec.expires_at == expiry(classes["chat_advisor_18m"], T0)
    ingest(vault, config, doc("c-p", [], events=[event("complaint", 3)]), now=NOW, rng=rng)
    rec = vault.catalog.get_recording(first.chat_id)
    assert rec.retention_class == "chat_complaint_42m"
    (art,) = [a for a in vault.catalog.artefacts_for(rec.id) if a.state is State.AVAILABLE]
    assert art.expires_at == expiry(classes["chat_complaint_42m"], T0)
    switches = _audit(vault, "chat.class")
    assert [(s["from"], s["to"], s["event"]) for s in switches] == [
        ("chat_bot_1m", "chat_advisor_18m", "handover"),
        ("chat_advisor_18m", "chat_complaint_42m", "complaint"),
    ]
    # a later plain advisor message never moves it back
    ingest(vault, config, doc("c-p", [msg("m9", "advisor:anna", "Ha det", 9)]), now=NOW, rng=rng)
    assert vault.catalog.get_recording(rec.id).retention_class == "chat_complaint_42m"


def test_a_whole_conversation_delivered_at_once_audits_every_step(
    vault: Vault, config: Config, rng: Rng
) -> None:
    document = advisor_chat("c-all")
    document["events"].append(event("complaint", 5))
    result = ingest(vault, config, document, now=NOW, rng=rng)
    assert result.retention_class == "chat_complaint_42m" and result.phase == "complaint"
    assert [s["event"] for s in _audit(vault, "chat.class")] == ["handover", "complaint"]


def test_a_bot_flagged_complaint_goes_straight_to_the_complaint_class(
    vault: Vault, config: Config, rng: Rng
) -> None:
    document = doc("c-bc", [msg("m1", "customer", "klage")], events=[event("complaint", 1)])
    ingest(vault, config, document, now=NOW, rng=rng)
    assert [(s["from"], s["to"]) for s in _audit(vault, "chat.class")] == [
        ("chat_bot_1m", "chat_complaint_42m")
    ]


def test_a_deleted_chat_is_never_brought_back(vault: Vault, config: Config, rng: Rng) -> None:
    first = ingest(vault, config, bot_chat("c-del"), now=NOW, rng=rng)
    for artefact in vault.catalog.artefacts_for(first.chat_id):
        vault.shred_artefact(artefact.id, now=NOW, reason="test")
    vault.catalog.set_recording_state(first.chat_id, State.DESTROYED)
    more = doc("c-del", [msg("m7", "customer", "er du der?", 5)])
    again = ingest(vault, config, more, now=NOW, rng=rng)
    assert again.status == "gone" and again.chat_id == first.chat_id
    assert all(a.state is State.DESTROYED for a in vault.catalog.artefacts_for(first.chat_id))


def test_a_failed_commit_leaves_nothing_behind(
    vault: Vault, config: Config, rng: Rng, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(chats, "put_chat", boom)
    with pytest.raises(RuntimeError):
        ingest(vault, config, advisor_chat("c-fail"), now=NOW, rng=rng)
    assert vault.catalog.list_recordings() == [] and vault.catalog.all_artefacts() == []
    assert list(vault.blobs.names()) == []
    monkeypatch.undo()
    assert ingest(vault, config, advisor_chat("c-fail"), now=NOW, rng=rng).status == "created"


def test_the_secret_is_shown_once_and_reissued_only_for_a_retry_of_its_delivery(
    vault: Vault, config: Config, rng: Rng
) -> None:
    first = ingest(vault, config, bot_chat("c-s"), now=NOW, rng=rng, delivery_id="msg_1")
    assert first.secret is not None and first.secret.startswith("cs1_")
    other = ingest(vault, config, bot_chat("c-s"), now=NOW, rng=rng, delivery_id="msg_2")
    assert other.secret is None
    retry = ingest(vault, config, bot_chat("c-s"), now=NOW, rng=rng, delivery_id="msg_1")
    assert retry.secret is not None and retry.secret != first.secret
    row = chats.get_secret(vault.catalog, first.chat_id)
    assert row is not None and first.secret not in json.dumps(row.digest)
    # 30 days, but never past the chat itself (a bot chat: one month from its start)
    assert row.expires_at == min(NOW + timedelta(days=30), T0 + timedelta(days=30))


def test_conversation_ids_are_kept_only_as_keyed_digests(
    vault: Vault, config: Config, rng: Rng
) -> None:
    result = ingest(vault, config, bot_chat("+4791234567"), now=NOW, rng=rng)
    rec = vault.catalog.get_recording(result.chat_id)
    assert (
        rec.provider_id == digests.conversation_digests(vault.keyring, "webchat", "+4791234567")[0]
    )
    assert "91234567" not in rec.provider_id


def test_a_destroyed_chat_forgets_its_ip_prefix(vault: Vault, config: Config, rng: Rng) -> None:
    result = ingest(vault, config, bot_chat("c-ip") | {"ip": "198.51.100.7"}, now=NOW, rng=rng)
    assert chats.get_chat(vault.catalog, result.chat_id).ip_prefix == "198.51.100.0/24"  # type: ignore[union-attr]
    from recorder.retention import load_classes as classes_of
    from recorder.sweep import sweep

    sweep(vault, classes=classes_of(config), now=T0 + timedelta(days=40))
    assert vault.catalog.get_recording(result.chat_id).state is State.DESTROYED
    assert chats.get_chat(vault.catalog, result.chat_id).ip_prefix is None  # type: ignore[union-attr]
