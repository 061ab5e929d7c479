"""A seeded store for the web app's tests: real capture, the real AI pipeline, a real QA draw.

- calls (captured by :class:`recorder.capture.Capturer` from WAV files):
  ``dual``: anna's dual-channel call of the AI tests (the customer reads a card number and a
  phone number), processed by :class:`recorder.ai.AiPipeline` with the transcribe package's
  scripted engine: redacted audio, redacted transcript, topics, a draft summary;
  ``anna2`` (mono, no AI), ``bjorn1`` (bjorn in oslo-1, before his move), ``carla1``
  (stockholm-1, sven's), ``eve1`` (agent ``=eve``, a name a spreadsheet would run);
- a QA sample drawn by siri for ``qa1`` over oslo-1 at 100 % (so not carla's call), and one
  scorecard already on ``eve1``;
- every user has the local password :data:`PASSWORD`.
"""

from __future__ import annotations

import random
import threading
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from recorder.access import principal_for
from recorder.ai import AiPipeline
from recorder.ai_config import ai_settings
from recorder.capture import Capturer
from recorder.config import Config, parse_config
from recorder.models import CallEvent
from recorder.qa import Review
from recorder.qa_sample import SampleRequest, draw_sample
from recorder.web.ui.auth import set_password
from storage.keyring import FileKeyRing
from storage.vault import Vault
from tests.conftest import NOW
from tests.recorder.ai.conftest import (
    AI_ORG_CHART,
    ANSWER_AFTER,
    CALL_SECONDS,
    script,
    scripted_pcm,
)
from tests.recorder.conftest import BEFORE_MOVE, canary_pcm, write_wav
from transcribe.engine import ScriptedEngine

PASSWORD = "correct horse battery staple"  # noqa: S105 - a test password
CALLER = "+47 912 34 567"
USERS = ("anna", "bjorn", "carla", "siri", "sven", "admin1", "qa1", "qa2", "dpo1", "legal1",
         "=eve")  # fmt: skip

UI_CHART = (
    AI_ORG_CHART
    + """
[[users]]
id = "legal1"
roles = ["legal"]
[[users]]
id = "=eve"
roles = ["agent"]

[[teams]]
id = "oslo-1-evening"
parent = "oslo-1"
members = [{ user = "=eve", from = "2026-01-01T00:00:00Z" }]

[qa]
criteria = [
  { name = "greeting", scale = [1, 5], weight = 1, na = true },
  { name = "verified_identity", scale = [0, 1], weight = 1, critical = true },
  { name = "resolution", scale = [1, 5], weight = 2 },
]

[ai.topics]
card_block = { en = ["card is blocked", "new card"] }
complaint = { en = ["not happy with"] }

[web]
idle_minutes = 15
absolute_hours = 8
ticket_minutes = 5
page_size = 50
"""
)


class Clock:
    """The app's clock in the tests: fixed until a test moves it (thread-safe)."""

    def __init__(self, start: datetime = NOW) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when

    def advance(self, by: timedelta) -> None:
        with self._lock:
            self._now += by


@dataclass(frozen=True)
class Seeded:
    """Where the seeded store is and what is in it."""

    home: Path
    keyring: Path
    config: Config
    calls: dict[str, str]  # name -> recording id
    assigned: frozenset[str]


def _event(folder: Path, name: str, agent: str, at: datetime, *, dual: bool) -> CallEvent:
    seconds = CALL_SECONDS if dual else 6.0
    pcm = scripted_pcm() if dual else canary_pcm(seconds, seed=len(name))
    audio = write_wav(folder / f"{name}.wav", pcm, channels=2 if dual else 1)
    return CallEvent(
        source="test", source_id=name, audio_path=audio, caller=CALLER,
        service_number="+4722000000", agent_id=agent, started_at=at,
        answered_at=at + timedelta(seconds=ANSWER_AFTER if dual else 1.0),
        ended_at=at + timedelta(seconds=seconds),
        channels=("agent", "customer") if dual else ("mixed",), ai=dual, ai_notice=dual,
        language="en",
    )  # fmt: skip


def seed(folder: Path) -> Seeded:
    """Build the store in ``folder`` (see the module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(16).randbytes
    config = parse_config(tomllib.loads(UI_CHART))
    keyring_path = folder / "keys" / "keyring.json"
    home = folder / "data"
    vault = Vault.open(home, FileKeyRing.create(keyring_path, rng))
    try:
        capturer = Capturer(vault, config)
        plan = [
            ("dual", "anna", BEFORE_MOVE, True),
            ("anna2", "anna", BEFORE_MOVE + timedelta(hours=2), False),
            ("bjorn1", "bjorn", BEFORE_MOVE + timedelta(hours=1), False),
            ("carla1", "carla", BEFORE_MOVE + timedelta(hours=3), False),
            ("eve1", "=eve", BEFORE_MOVE + timedelta(hours=4), False),
        ]
        calls = {
            name: capturer.capture(
                _event(folder, name, agent, at, dual=dual), now=NOW, rng=rng
            ).recording_id  # fmt: skip
            for name, agent, at, dual in plan
        }
        AiPipeline(vault, ai_settings(config), ScriptedEngine(script)).process(
            calls["dual"], now=NOW, rng=rng
        )
        drawn = draw_sample(
            vault, config, principal_for(config, "siri"),
            SampleRequest(reviewer="qa1", rate_bp=10_000, seed=7, team="oslo-1"), now=NOW,
            rng=rng,
        )  # fmt: skip
        Review(vault, config, principal_for(config, "qa1"), rng=rng).score(
            calls["eve1"], {"greeting": 4, "verified_identity": 1, "resolution": 3}, now=NOW
        )
        for user in USERS:
            set_password(vault, config, user, PASSWORD, now=NOW)
    finally:
        vault.close()
    return Seeded(
        home=home, keyring=keyring_path, config=config, calls=calls,
        assigned=frozenset(drawn.drawn),
    )  # fmt: skip
