"""Improvement and statistics without personal data.

- ``draw_sample``: only what customers asked the bot (before any advisor), redacted; the
  same seed draws the same sample; no chat id, time or customer in what comes back; QA
  may, agents may not; restricted chats are never drawn; audited with the seed.
- ``chat_stats``: per day, conversations, handovers, complaints and topics; no id, no text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from recorder.access import principal_for
from recorder.chat.sample import draw_sample
from recorder.chat.stats import chat_stats
from recorder.config import Config
from recorder.errors import AccessDenied
from storage.vault import Vault
from tests.recorder.chat.helpers import T0, advisor_chat, doc, event, ingest, msg

Rng = Callable[[int], bytes]
NOW = T0 + timedelta(days=3)


@pytest.fixture
def chats_in(vault: Vault, config: Config, rng: Rng) -> list[str]:
    ids = []
    for day in range(3):
        at = T0 + timedelta(days=day)
        for n in range(4):
            question = f"spørsmål {day}-{n}: hva koster kort? ring 912 34 56{n}"
            document = doc(
                f"c-{day}-{n}",
                [msg("q", "customer", question, 0, at), msg("a", "bot", "Det er gratis.", 0.1, at)],
                topics=["card"] if n % 2 else ["loan", "mystery"],
            )
            ids.append(ingest(vault, config, document, now=NOW, rng=rng).chat_id)
        ids.append(
            ingest(vault, config, advisor_chat(f"c-{day}-adv", at=at), now=NOW, rng=rng).chat_id
        )
    ingest(vault, config, doc("c-0-adv", [], events=[event("complaint", 5)]), now=NOW, rng=rng)
    return ids


def test_the_sample_is_redacted_bot_questions_only_and_replays(
    vault: Vault, config: Config, chats_in: list[str]
) -> None:
    qa = principal_for(config, "qa1")
    first = draw_sample(vault, config, qa, count=5, seed=42, now=NOW)
    again = draw_sample(vault, config, qa, count=5, seed=42, now=NOW)
    other = draw_sample(vault, config, qa, count=5, seed=43, now=NOW)
    assert first == again and first != other and len(first) == 5
    everything = draw_sample(vault, config, qa, count=100, seed=1, now=NOW)
    assert len(everything) == 12 + 3  # 12 bot chats + the customer's first line of 3 advisor chats
    assert all("[phone]" in q for q in everything)
    assert not any("gratis" in q or "rådgiver" in q or "Hei, jeg ser" in q for q in everything)
    dump = json.dumps(everything)
    assert not any(cid in dump for cid in chats_in) and "2026" not in dump
    entry = [e.event for e in vault.audit.entries() if e.event.action == "chat.sample"][0]
    assert entry.detail == {"count": 5, "population": 15, "seed": 42}


def test_restricted_chats_are_not_drawn_and_agents_may_not_sample(
    vault: Vault, config: Config, chats_in: list[str]
) -> None:
    for cid in chats_in:
        vault.catalog.set_recording_flags(cid, restricted=True)
    assert draw_sample(vault, config, principal_for(config, "qa1"), count=5, seed=1, now=NOW) == []
    with pytest.raises(AccessDenied):
        draw_sample(vault, config, principal_for(config, "anna"), count=5, seed=1, now=NOW)
    denied = [e.event for e in vault.audit.entries() if e.event.action == "chat.sample"][-1]
    assert denied.outcome == "denied"


def test_stats_count_per_day_without_ids_or_text(
    vault: Vault, config: Config, chats_in: list[str]
) -> None:
    days = chat_stats(vault, config, principal_for(config, "siri"), now=NOW)
    assert [(d.day.isoformat(), d.conversations, d.handovers, d.complaints) for d in days] == [
        ("2026-11-23", 5, 1, 1),
        ("2026-11-24", 5, 1, 0),
        ("2026-11-25", 5, 1, 0),
    ]
    assert days[0].topics == {"card": 2, "loan": 2, "other": 2}
    dump = json.dumps([d.as_dict() for d in days])
    assert not any(cid in dump for cid in chats_in) and "spørsmål" not in dump
    with pytest.raises(AccessDenied):
        chat_stats(vault, config, principal_for(config, "anna"), now=NOW)
    window = chat_stats(
        vault,
        config,
        principal_for(config, "admin1"),
        now=NOW,
        since=T0 + timedelta(days=1),
        until=T0 + timedelta(days=2),
    )
    assert [d.conversations for d in window] == [5]
