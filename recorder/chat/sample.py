"""A random sample of bot questions for review, redacted, without anything that says whose.

Why: the bank reviews what customers ask its assistant, to prevent harmful use and to
improve answers (never to train a model, P20). The sample is what a customer wrote before
any advisor came in, as stored (redacted), with no chat id, time or customer. Randomness
is a seed passed in: the same seed over the same chats draws the same sample (audited with
its seed, so a review can be replayed). Only live, unrestricted chats whose analysis copy
still exists are drawn; one chat is decrypted per question drawn, not the whole population.
"""

from __future__ import annotations

import random
from datetime import datetime

from recorder.access import Action, Principal
from recorder.chat.aggregate import allow, readable
from recorder.chat.sealed import read_conversation
from recorder.config import Config
from recorder.errors import InvalidEvent
from storage.models import ArtefactKind
from storage.vault import Vault

MAX_SAMPLE = 1000


def draw_sample(
    vault: Vault,
    config: Config,
    principal: Principal,
    *,
    count: int,
    seed: int,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[str]:
    """Up to ``count`` redacted bot questions drawn with ``random.Random(seed)``; audited."""
    if not 1 <= count <= MAX_SAMPLE:
        raise InvalidEvent(f"count: expected 1 to {MAX_SAMPLE}")
    if seed < 0:
        raise InvalidEvent("seed: expected a whole number >= 0")
    rows = readable(
        vault,
        config,
        principal,
        Action.CHAT_SAMPLE,
        now=now,
        since=since,
        until=until,
        live_only=True,
    )
    slots = [
        (rec.id, i)
        for chat, rec, _ in rows
        if chat.analysis_until > now
        for i in range(chat.bot_questions)
    ]
    picked = random.Random(seed).sample(  # noqa: S311 - a review sample, replayable by seed
        slots, min(count, len(slots))
    )
    questions: list[str] = []
    cache: dict[str, list[str]] = {}
    for rid, index in picked:
        if rid not in cache:
            conv = read_conversation(vault, rid, (ArtefactKind.CHAT,))
            cache[rid] = [] if conv is None else conv.bot_questions()
        if index < len(cache[rid]):
            questions.append(cache[rid][index])
    allow(
        vault,
        principal,
        Action.CHAT_SAMPLE,
        now=now,
        detail={"count": len(questions), "population": len(slots), "seed": seed},
    )
    return questions
