"""A year of simulated traffic on a fake clock, checked against an independent model.

The store, capture, chat ingest, sweep, holds, erasure and self-service are the real
ones; only time is simulated. Every item (a call or a chat) carries what the notice
promises about it -- its deadline (computed here from the profile's promise, with our own
calendar arithmetic, not the recorder's), whether a MIN obligation keeps it, when its
data subject asked to delete it -- and after every sweep the model says which items must
be gone, and the store must agree exactly: nothing readable past its deadline, nothing
destroyed early, nothing held destroyed.

Sweeps run daily through the traffic year, then at one second before and at every later
deadline and hold release (so a five-year class is checked without sweeping five years
of days). After each sweep pending erasures are finished, as the worker does.
"""

from __future__ import annotations

import calendar
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from recorder import profiles
from recorder.access import Principal, principal_for
from recorder.capture import Capturer
from recorder.chat.ingest import IngestResult, ingest_delivery
from recorder.chat.parse import read_delivery
from recorder.chat.settings import load_chat_settings
from recorder.config import Config
from recorder.holds import HoldTarget, place_hold, release_hold, target_for
from recorder.models import CallEvent
from recorder.retention import load_classes
from recorder.subject import run_pending_erasures
from recorder.sweep import sweep
from recorder.wavfmt import PcmFormat, wav_header
from storage.keyring import FileKeyRing
from storage.models import ArtefactKind, State
from storage.vault import Vault

YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2027, 1, 1, tzinfo=UTC)


def months_after(at: datetime, months: int) -> datetime:
    """The oracle's calendar arithmetic: ``at`` + months, the day clamped to the month."""
    total = at.year * 12 + at.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return at.replace(year=year, month=month + 1, day=min(at.day, last))


@dataclass(slots=True)
class Item:
    """One call or chat and what its notice promises about it."""

    label: str
    rid: str
    deadline: datetime
    minimum: bool = False
    held_by: str | None = None  # the number whose standing hold covers it
    erase_at: datetime | None = None
    gone: bool = False
    #: For a logged-in bank chat: when its analysis copy must end (the history lives on).
    analysis_until: datetime | None = None
    analysis_gone: bool = False


@dataclass(slots=True)
class Hold:
    number: str
    start: datetime
    end: datetime
    target: HoldTarget | None = None


@dataclass
class Simulation:
    """The real store for one profile, the model beside it, and the fake clock."""

    tmp: Path
    profile: str
    seed: int
    config: Config = field(init=False)
    vault: Vault = field(init=False)
    items: list[Item] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    sweeps: int = 0
    checks: int = 0
    actions: list[tuple[datetime, int, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.config = profiles.validate(profiles.profile_path(self.profile))
        self.settings = load_chat_settings(self.config, environ={})
        self.classes = load_classes(self.config)
        self.rand = random.Random(self.seed)
        self.rng = random.Random(self.seed + 1).randbytes
        keyring = FileKeyRing.create(self.tmp / "keys" / "keyring.json", self.rng)
        self.vault = Vault.open(self.tmp / "data", keyring)
        self.capturer = Capturer(self.vault, self.config)
        fmt = PcmFormat(sample_rate=8000, channels=1)
        self.wav = self.tmp / "call.wav"
        self.wav.write_bytes(wav_header(fmt, 4000) + bytes(8000))
        self.agents = sorted(u.id for u in self.config.users.values() if "agent" in u.roles)
        self.dpo = principal_for(self.config, "dpo")
        self.legal: Principal = self.dpo
        if "legal" in self.config.users:
            self.legal = principal_for(self.config, "legal")

    # -- traffic -------------------------------------------------------------------------

    def call(
        self, at: datetime, cls: str, caller: str, *, deadline: datetime, minimum: bool = False
    ) -> Item:
        event = CallEvent(
            source="pbx",
            source_id=f"call-{len(self.items)}",
            audio_path=self.wav,
            caller=caller,
            service_number="+4722000000",
            agent_id=self.rand.choice(self.agents),
            started_at=at,
            answered_at=at,
            ended_at=at + timedelta(milliseconds=500),
            retention_class=cls,
        )
        captured = self.capturer.capture(event, now=at, rng=self.rng)
        return self._add(f"call {cls} {at:%F}", captured.recording_id, deadline, minimum, caller)

    def chat(
        self,
        at: datetime,
        *,
        kind: str,
        deadline: datetime,
        phone: str | None = None,
        customer: str | None = None,
        analysis_until: datetime | None = None,
    ) -> tuple[Item, IngestResult]:
        def t(minutes: float) -> str:
            return (at + timedelta(minutes=minutes)).isoformat()

        advisor = self.rand.choice(self.agents)
        messages: list[dict[str, Any]] = [
            {"id": "m1", "sender": "customer", "at": t(0), "text": "hei, jeg trenger hjelp"},
            {"id": "m2", "sender": "bot", "at": t(0.1), "text": "Hva gjelder det?"},
        ]
        events: list[dict[str, Any]] = [{"type": "ended", "at": t(9)}]
        if kind in ("advisor", "complaint"):
            events.append({"type": "handover", "at": t(1), "advisor": advisor})
            messages.append(
                {"id": "m3", "sender": f"advisor:{advisor}", "at": t(2), "text": "Hei!"}
            )
        if kind == "complaint":
            events.append({"type": "complaint", "at": t(3)})
        document: dict[str, Any] = {
            "v": 1,
            "platform": self.settings.platforms[0],
            "conversation_id": f"conv-{len(self.items)}",
            "language": "no",
            "messages": messages,
            "events": events,
        }
        if phone is not None:
            document["contact"] = {"name": "Kunde", "phone": phone}
        if customer is not None:
            document["customer_id"] = customer
        delivery = read_delivery(json.dumps(document).encode(), self.settings, self.config)
        result = ingest_delivery(
            self.vault, self.config, self.settings, delivery, source="sim", now=at, rng=self.rng
        )
        item = self._add(f"chat {kind} {at:%F}", result.chat_id, deadline, False, phone)
        item.analysis_until = analysis_until
        return item, result

    def _add(
        self, label: str, rid: str, deadline: datetime, minimum: bool, number: str | None
    ) -> Item:
        item = Item(label=label, rid=rid, deadline=deadline, minimum=minimum)
        if number is not None and any(h.number == number for h in self.holds):
            item.held_by = number  # a standing hold covers what is captured after it
        self.items.append(item)
        return item

    def later(self, at: datetime, action: Any) -> None:
        """Run ``action(sim, at)`` at ``at`` (before that day's sweep)."""
        self.actions.append((at, len(self.actions), action))

    def place_hold(self, number: str, start: datetime, end: datetime) -> None:
        target = target_for(self.vault, self.config, number=number)
        place_hold(
            self.vault,
            self.config,
            self.legal,
            target,
            reason="complaints board case",
            now=start,
            rng=self.rng,
        )
        self.holds.append(Hold(number=number, start=start, end=end, target=target))
        for item in self.items:
            rec = self.vault.catalog.get_recording(item.rid)
            if rec.caller_digest is not None and rec.caller_digest.digest == target.value:
                item.held_by = number

    def _held(self, item: Item, at: datetime) -> bool:
        return any(h.number == item.held_by and h.start <= at < h.end for h in self.holds)

    # -- time ----------------------------------------------------------------------------

    def run_sweep(self, at: datetime) -> None:
        """One real sweep (and pending erasures) at ``at``; then the model decides and the
        store must agree."""
        for hold in self.holds:
            if hold.target is not None and hold.end <= at:
                release_hold(
                    self.vault,
                    self.config,
                    self.legal,
                    hold.target,
                    reason="case closed",
                    now=hold.end,
                )
                hold.target = None
        sweep(self.vault, classes=self.classes, now=at)
        run_pending_erasures(self.vault, self.config, now=at, rng=self.rng)
        self.sweeps += 1
        for item in self.items:
            if item.gone or self._held(item, at):
                continue
            due = item.deadline <= at
            asked = item.erase_at is not None and item.erase_at <= at and not item.minimum
            item.gone = due or asked
            if item.analysis_until is not None and item.analysis_until <= at:
                item.analysis_gone = True
        self.check(at)

    def erased_now(self, item: Item, at: datetime) -> None:
        """The model's side of an erasure done at ``at`` (self-service or the DPO)."""
        item.erase_at = at
        if not self._held(item, at) and not item.minimum:
            item.gone = True

    def check(self, at: datetime) -> None:
        """The store equals the model: gone exactly when promised, keys gone with it."""
        catalog = self.vault.catalog  # two plain reads per check: the year has ~900 checks
        states = {
            r["id"]: r["state"] for r in catalog.rows("sim", "SELECT id, state FROM recordings")
        }
        kinds: dict[str, set[ArtefactKind]] = {}
        for row in catalog.rows(
            "sim", "SELECT recording_id, kind FROM artefacts WHERE state = 'available'"
        ):
            kinds.setdefault(row["recording_id"], set()).add(ArtefactKind(row["kind"]))
        for item in self.items:
            state = State(states[item.rid])
            assert (state is State.DESTROYED) == item.gone, (item.label, at, state, item.deadline)
            live = kinds.get(item.rid, set())
            if item.gone:
                assert not live, (item.label, at)
            elif item.analysis_until is not None:
                assert (ArtefactKind.CHAT not in live) == item.analysis_gone, (item.label, at)
                assert ArtefactKind.CHAT_HISTORY in live, (item.label, at)
            self.checks += 1

    def run_year(self, traffic: Any) -> None:
        """``traffic(sim, day)`` adds one day's calls and chats; daily sweeps, then every
        later deadline (a second before and at it) and hold release."""
        day = YEAR_START
        while day < YEAR_END:
            traffic(self, day)
            end = day + timedelta(days=1) - timedelta(seconds=1)
            for at, _, action in sorted(a for a in self.actions if a[0] <= end):
                action(self, at)
            self.actions = [a for a in self.actions if a[0] > end]
            self.run_sweep(end)
            day += timedelta(days=1)
        assert not self.actions, "every scheduled action ran within the year"
        later: set[datetime] = set()
        for item in self.items:
            for at in (item.deadline, item.analysis_until):
                if at is not None and at >= YEAR_END:
                    later |= {at - timedelta(seconds=1), at}
        later |= {h.end for h in self.holds if h.end >= YEAR_END}
        for at in sorted(later):
            self.run_sweep(at)
        assert all(item.gone for item in self.items), "every item ends by its promise"

    def verify_all_live(self) -> int:
        """Decrypt and authenticate every live artefact (I1); the number checked."""
        count = 0
        for artefact in self.vault.catalog.all_artefacts(state=State.AVAILABLE):
            self.vault.verify_artefact(artefact.id)
            count += 1
        return count

    def close(self) -> None:
        self.vault.close()
