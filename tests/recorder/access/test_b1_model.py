"""B1 (RELIABILITY T-RBAC): a model-based test of access over time, on the real store.

A hypothesis ``RuleBasedStateMachine`` grows a random org chart (up to 20 teams, nested
under random parents, and up to 200 agents), moves agents between teams and changes team
leaders as the clock runs, captures real calls (some with conference/transfer
participants), samples calls to a QA reviewer, restricts some, and makes every role try to
play, download and export them with every purpose code, through the real
:func:`recorder.playback.open_playback` on a real vault and audit log. Transcript and
summary views are checked at the decision level (:func:`recorder.access.allowed`).

The oracle is :meth:`AccessModel.reference`, a plain statement of the policy written here
from the test's own record of the org chart (not from ``recorder.config`` or
``recorder.access``). After every attempt:

- 0 unauthorised plays/downloads/exports/transcript views (the real path let someone in
  whom the reference refuses);
- 0 wrongful denials (the real path refused someone the reference lets in);
- exactly one new audit entry, naming the user, the action, the recording, the purpose
  and the right outcome.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from recorder.access import Action, StaticAssignments, allowed, principal_for
from recorder.capture import Capturer
from recorder.config import DEFAULT_PURPOSES, parse_config
from recorder.errors import AccessDenied
from recorder.models import CallEvent
from recorder.playback import open_playback
from recorder.wavfmt import PcmFormat, wav_header
from storage.keyring import MemoryKeyRing
from storage.models import Recording
from storage.vault import Vault

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
PURPOSE_TRIES = (*DEFAULT_PURPOSES, "marketing", "unknown_code")
AUDIO_ACTIONS = (Action.PLAY, Action.DOWNLOAD, Action.EXPORT)
TEXT_ACTIONS = (Action.VIEW_TRANSCRIPT, Action.VIEW_SUMMARY)
SUPERVISORS = ("s0", "s1", "s2", "s3")
OTHERS = {"q0": "qa_reviewer", "q1": "qa_reviewer", "ad": "admin", "dp": "dpo", "lg": "legal"}


@dataclass
class Interval:
    user: str
    start: datetime
    end: datetime | None = None

    def covers(self, at: datetime) -> bool:
        return self.start <= at and (self.end is None or at < self.end)


@dataclass
class TeamModel:
    id: str
    parent: str | None
    leaders: list[Interval] = field(default_factory=list)
    members: list[Interval] = field(default_factory=list)


@dataclass(frozen=True)
class CallModel:
    id: str
    agent: str
    participants: frozenset[str]
    at: datetime


class AccessModel(RuleBasedStateMachine):
    """The org chart, the calls, and every attempt, against the real store."""

    calls = Bundle("calls")

    def __init__(self) -> None:
        super().__init__()
        # tmpfs when there is one: B1 is about decisions, not durability, and every audited
        # attempt commits (fsync) - on a disk that is most of the run time.
        shm = Path("/dev/shm")
        where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
        self.dir = Path(tempfile.mkdtemp(prefix="callrec-b1-", dir=where))
        self.rng = random.Random(5).randbytes
        self.vault = Vault.open(self.dir / "data", MemoryKeyRing.generate(self.rng))
        self.audio = self.dir / "a.wav"  # 0.1 s of 8 kHz mono PCM
        self.audio.write_bytes(
            wav_header(PcmFormat(sample_rate=8000, channels=1), 800) + b"\x01\x02" * 800
        )
        self.now = T0
        self.roles: dict[str, set[str]] = {}
        self.teams: dict[str, TeamModel] = {}
        self.agents: list[str] = []
        self.assigned: set[tuple[str, str]] = set()
        self.restricted: set[str] = set()
        self.model_calls: dict[str, CallModel] = {}
        self.counter = 0
        self.attempts = 0

    def teardown(self) -> None:
        self.vault.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- the org chart as configuration --------------------------------------------------

    def document(self) -> dict[str, Any]:
        def spans(items: list[Interval]) -> list[dict[str, str]]:
            out = []
            for s in items:
                d = {"user": s.user, "from": s.start.isoformat()}
                if s.end is not None:
                    d["until"] = s.end.isoformat()
                out.append(d)
            return out

        return {
            "users": [{"id": u, "roles": sorted(r)} for u, r in self.roles.items()],
            "teams": [
                {"id": t.id, "leaders": spans(t.leaders), "members": spans(t.members)}
                | ({"parent": t.parent} if t.parent else {})
                for t in self.teams.values()
            ],
        }

    def config(self) -> Any:
        return parse_config(self.document())

    @initialize(
        target=calls,
        n_teams=st.integers(1, 20),
        n_agents=st.sampled_from([1, 4, 12, 200]),
        parents=st.lists(st.integers(-1, 19), min_size=20, max_size=20),
        homes=st.lists(st.integers(0, 19), min_size=200, max_size=200),
        bosses=st.lists(st.integers(0, 4), min_size=20, max_size=20),
        first_calls=st.lists(
            st.tuples(st.integers(0, 200), st.integers(0, 200)), min_size=3, max_size=3
        ),
    )
    def org_chart(
        self,
        n_teams: int,
        n_agents: int,
        parents: list[int],
        homes: list[int],
        bosses: list[int],
        first_calls: list[tuple[int, int]],
    ) -> Any:
        self.agents = [f"a{i}" for i in range(n_agents)] + ["x"]
        for a in self.agents:
            self.roles[a] = {"agent"}
        self.roles["x"] |= {"supervisor"}  # an agent who also leads a team
        for s in SUPERVISORS:
            self.roles[s] = {"supervisor"}
        self.roles["lead_no_role"] = {"agent"}  # leads a team but has no supervisor role
        for user, role in OTHERS.items():
            self.roles[user] = {role}
        self.roles["qd"] = {"qa_reviewer", "dpo"}  # several roles: the union
        leaders = [*SUPERVISORS, "x", "lead_no_role"]
        for i in range(n_teams):
            parent = parents[i] % i if i and parents[i] >= 0 else None  # -1: a root team
            team = TeamModel(id=f"t{i}", parent=None if parent is None else f"t{parent}")
            if bosses[i]:
                team.leaders.append(Interval(leaders[(i + bosses[i]) % len(leaders)], T0))
            self.teams[team.id] = team
        for i, a in enumerate(self.agents):
            if homes[i % len(homes)] < n_teams:
                self.teams[f"t{homes[i % len(homes)]}"].members.append(Interval(a, T0))
        self.now = T0 + timedelta(hours=1)
        ids = [
            self._capture(self.agents[a % len(self.agents)], [self.agents[b % len(self.agents)]])
            for a, b in first_calls
        ]
        return multiple(*ids)

    # -- org chart changes over time ------------------------------------------------------

    @rule(hours=st.integers(0, 72))
    def tick(self, hours: int) -> None:
        self.now += timedelta(hours=hours, minutes=1)

    @rule(data=st.data())
    def move_agent(self, data: st.DataObject) -> None:
        """An agent leaves their team(s) now and (maybe) joins another: old calls stay."""
        self.now += timedelta(minutes=1)
        agent = data.draw(st.sampled_from(self.agents), label="agent")
        for team in self.teams.values():
            for span in team.members:
                if span.user == agent and span.end is None:
                    span.end = self.now
        target = data.draw(st.sampled_from([None, *sorted(self.teams)]), label="to")
        if target is not None:
            self.teams[target].members.append(Interval(agent, self.now))

    @rule(data=st.data())
    def change_leader(self, data: st.DataObject) -> None:
        self.now += timedelta(minutes=1)
        team = self.teams[data.draw(st.sampled_from(sorted(self.teams)), label="team")]
        for span in team.leaders:
            if span.end is None:
                span.end = self.now
        who = data.draw(st.sampled_from([None, *SUPERVISORS, "x", "lead_no_role"]), label="new")
        if who is not None:
            team.leaders.append(Interval(who, self.now))

    # -- calls -----------------------------------------------------------------------------

    def _capture(self, agent: str, others: list[str]) -> str:
        self.counter += 1
        joined = frozenset(others) - {agent}
        event = CallEvent(
            source="b1",
            source_id=f"c{self.counter}",
            audio_path=self.audio,
            caller="+47 912 34 567",
            service_number=None,
            agent_id=agent,
            started_at=self.now,
            answered_at=self.now,
            ended_at=None,
            participants=tuple(sorted(joined)),
        )
        rid = Capturer(self.vault, self.config()).capture(event, now=self.now, rng=self.rng)
        self.model_calls[rid.recording_id] = CallModel(
            id=rid.recording_id, agent=agent, participants=joined, at=self.now
        )
        return rid.recording_id

    @rule(target=calls, data=st.data())
    def call(self, data: st.DataObject) -> str:
        agent = data.draw(st.sampled_from(self.agents), label="agent")
        others = data.draw(
            st.lists(st.sampled_from(self.agents), max_size=2, unique=True), label="joined"
        )
        return self._capture(agent, others)

    @rule(call=calls, reviewer=st.sampled_from(["q0", "q1", "qd"]))
    def sample_to_reviewer(self, call: str, reviewer: str) -> None:
        self.assigned.add((reviewer, call))

    @rule(call=calls)
    def restrict(self, call: str) -> None:
        self.vault.catalog.set_recording_flags(call, restricted=True)
        self.restricted.add(call)

    # -- the reference policy ---------------------------------------------------------------

    def reference(self, user: str, action: Action, call: CallModel, purpose: str | None) -> bool:
        """Who may do what, stated plainly from the test's own org-chart record."""
        if purpose is not None and purpose not in DEFAULT_PURPOSES:
            return False  # marketing and unknown codes: never
        roles = self.roles[user]
        at = call.at
        agents = {call.agent} | call.participants
        restricted = call.id in self.restricted
        audio_text = {Action.PLAY, *TEXT_ACTIONS}
        ok = False
        if "agent" in roles and action in audio_text and not restricted:
            ok |= user in agents
        if "supervisor" in roles and action in {*audio_text, Action.DOWNLOAD} and not restricted:
            led = {t.id for t in self.teams.values() if any(
                s.user == user and s.covers(at) for s in t.leaders)}  # fmt: skip
            while True:  # and every team below a led team
                below = {t.id for t in self.teams.values() if t.parent in led} - led
                if not below:
                    break
                led |= below
            ok |= any(
                s.user in agents and s.covers(at)
                for t in self.teams.values()
                if t.id in led
                for s in t.members
            )
        if "qa_reviewer" in roles and action in audio_text and not restricted:
            purpose_ok = action is not Action.PLAY or purpose in ("quality", "training")
            ok |= (user, call.id) in self.assigned and purpose_ok
        if "dpo" in roles and action in {Action.EXPORT, *TEXT_ACTIONS}:
            ok |= purpose == "dsar"
        if "legal" in roles and action in {*audio_text, Action.DOWNLOAD, Action.EXPORT}:
            ok |= purpose == "legal"
        return ok

    # -- attempts ---------------------------------------------------------------------------

    def _users(self) -> st.SearchStrategy[str]:
        return st.sampled_from(sorted(self.roles))

    def _attempt(self, user: str, action: Action, call: str, purpose: str) -> None:
        """One real play/download/export attempt: decision, audit entry, bytes."""
        config = self.config()
        principal = principal_for(config, user)
        want = self.reference(user, action, self.model_calls[call], purpose)
        before = self.vault.audit.head()[0]
        try:
            playback = open_playback(
                self.vault, config, principal, call, purpose=purpose, now=self.now,
                action=action, assignments=StaticAssignments(pairs=frozenset(self.assigned)),
            )  # fmt: skip
        except AccessDenied:
            got = False
        else:
            got = True
            wav = b"".join(playback.wav_chunks())
            assert wav[:4] == b"RIFF" and len(wav) > 44
        self.attempts += 1
        event(f"{action.value} {'allowed' if got else 'denied'}")
        assert got is want, (
            "unauthorised" if got else "wrongful denial", user, action, purpose,
            self.model_calls[call],
        )  # fmt: skip
        entries = list(self.vault.audit.entries(before + 1))
        assert len(entries) == 1, "every attempt audited exactly once"
        entry = entries[0].event
        assert (entry.actor_id, entry.action, entry.recording_id, entry.purpose) == (
            user, f"recording.{action.value}", call, purpose,
        )  # fmt: skip
        assert entry.outcome == ("allowed" if want else "denied")

    @rule(call=calls, data=st.data())
    def attempt_audio(self, call: str, data: st.DataObject) -> None:
        """One user tries play, download and export on a call."""
        user = data.draw(
            st.one_of(st.sampled_from([*SUPERVISORS, "x", *OTHERS, "qd"]), self._users()),
            label="user",
        )
        purpose = data.draw(st.sampled_from(PURPOSE_TRIES), label="purpose")
        for action in AUDIO_ACTIONS:
            self._attempt(user, action, call, purpose)

    @rule(call=calls, action=st.sampled_from(AUDIO_ACTIONS), data=st.data())
    def everyone_tries(self, call: str, action: Action, data: st.DataObject) -> None:
        """Every role tries one action on a call: leaders, QA, admin, DPO, legal, its agents."""
        model = self.model_calls[call]
        purpose = data.draw(st.sampled_from(PURPOSE_TRIES), label="purpose")
        users = {*SUPERVISORS, "x", "lead_no_role", *OTHERS, "qd", model.agent}
        users |= model.participants | {self.agents[0], self.agents[-1]}
        for user in sorted(users):
            self._attempt(user, action, call, purpose)

    @rule(call=calls, data=st.data())
    def decide_text_view(self, call: str, data: st.DataObject) -> None:
        """Transcript/summary views are decided by the same function the AI path calls."""
        user = data.draw(self._users(), label="user")
        action = data.draw(st.sampled_from(TEXT_ACTIONS), label="action")
        purpose = data.draw(st.sampled_from((None, *PURPOSE_TRIES)), label="purpose")
        config = self.config()
        recording: Recording = self.vault.catalog.get_recording(call)
        got = allowed(
            config, principal_for(config, user), action, recording, purpose=purpose,
            assignments=StaticAssignments(pairs=frozenset(self.assigned)),
        ).allowed  # fmt: skip
        want = self.reference(user, action, self.model_calls[call], purpose)
        assert got is want, (user, action, purpose, self.model_calls[call])

    @precondition(lambda self: bool(self.model_calls))
    @invariant()
    def catalog_matches_the_model(self) -> None:
        """What the access check reads (agent, participants) is what the call said."""
        for rid in list(self.model_calls)[-2:]:
            rec = self.vault.catalog.get_recording(rid)
            model = self.model_calls[rid]
            assert (rec.agent_id, set(rec.participants)) == (model.agent, set(model.participants))


AccessModel.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
test_b1_access_model = AccessModel.TestCase
