"""QA access as a hypothesis state machine (B1/B2 for the review flow).

Random draws for two reviewers, calls restricted along the way, and every review step
(next, play, transcript, summary, score) tried by reviewers, a supervisor and an agent on
real, guessed and malformed ids. The oracle is written here, independently of
``recorder.access``: a step succeeds iff the user is a QA reviewer, the call exists, was
drawn for them and is not restricted. Checked on every step: 0 unauthorised successes,
0 wrongful denials, exactly one audit entry per attempt with the matching outcome.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from recorder.capture import Capturer
from recorder.config import Config
from recorder.errors import AccessDenied
from recorder.models import CallEvent
from recorder.qa import Review
from recorder.qa_sample import SampleRequest, draw_sample
from storage.keyring import FileKeyRing
from storage.vault import Vault
from tests.conftest import NOW
from tests.recorder.conftest import BEFORE_MOVE, canary_pcm, write_wav
from tests.recorder.qa.conftest import who

SCORES = {"greeting": 3, "identification": 3, "resolution": 3, "compliance": 3, "tone": 3}
AGENTS = ("anna", "anna", "anna", "carla", "carla", "dora")
USERS = ("quinn", "rita", "siri", "anna")
REVIEWERS = frozenset({"quinn", "rita"})
STEPS = ("play", "transcript", "summary", "score")
BOGUS = ("0" * 32, "f" * 32, "not-an-id")


def build_template(root: Path, config: Config) -> list[str]:
    """A store with six short real calls, copied fresh for every example."""
    rng = random.Random(5).randbytes
    keyring = FileKeyRing.create(root / "keys" / "keyring.json", rng)
    vault = Vault.open(root / "data", keyring)
    ids = []
    try:
        for i, agent in enumerate(AGENTS):
            wav = write_wav(root / f"c{i}.wav", canary_pcm(1.0, seed=i))
            start = BEFORE_MOVE + timedelta(minutes=i)
            event = CallEvent(
                source="test", source_id=f"sm-{i}", audio_path=wav, caller="+47 912 34 567",
                service_number=None, agent_id=agent, started_at=start, answered_at=start,
                ended_at=start + timedelta(seconds=1), channels=("mixed",),
            )  # fmt: skip
            ids.append(Capturer(vault, config).capture(event, now=NOW, rng=rng).recording_id)
    finally:
        vault.close()
    return ids


class QaMachine(RuleBasedStateMachine):
    template: Path
    call_ids: list[str]
    config: Config

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="qa-sm-"))
        shutil.copytree(self.template, self.dir, dirs_exist_ok=True)
        keyring = FileKeyRing.load(self.dir / "keys" / "keyring.json")
        self.vault = Vault.open(self.dir / "data", keyring)
        self.rng = random.Random(11).randbytes
        self.assigned: set[tuple[str, str]] = set()
        self.restricted: set[str] = set()
        self.scored: set[tuple[str, str]] = set()
        self.now = NOW

    def teardown(self) -> None:
        self.vault.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def tick(self) -> None:
        self.now += timedelta(seconds=1)

    def reachable(self, user: str, recording_id: str) -> bool:
        """The oracle."""
        return (
            user in REVIEWERS
            and recording_id in self.call_ids
            and (user, recording_id) in self.assigned
            and recording_id not in self.restricted
        )

    def one_entry(self, size: int) -> str:
        entries = list(self.vault.audit.entries(size + 1))
        assert len(entries) == 1, [e.event.action for e in entries]
        return entries[0].event.outcome

    @initialize(reviewer=st.sampled_from(sorted(REVIEWERS)), seed=st.integers(0, 2**32))
    def first_draw(self, reviewer: str, seed: int) -> None:
        self.draw(reviewer, 5000, seed)

    @rule(
        reviewer=st.sampled_from(sorted(REVIEWERS)),
        rate_bp=st.sampled_from([1, 2500, 5000, 10_000]),
        seed=st.integers(0, 2**32),
    )
    def draw(self, reviewer: str, rate_bp: int, seed: int) -> None:
        self.tick()
        result = draw_sample(
            self.vault, self.config, who(self.config, "admin1"),
            SampleRequest(reviewer=reviewer, rate_bp=rate_bp, seed=seed),
            now=self.now, rng=self.rng,
        )  # fmt: skip
        assert not set(result.drawn) & self.restricted
        self.assigned |= {(reviewer, rid) for rid in result.drawn}

    @rule(index=st.integers(0, len(AGENTS) - 1))
    def restrict(self, index: int) -> None:
        rid = self.call_ids[index]
        self.vault.catalog.set_recording_flags(rid, restricted=True)
        self.restricted.add(rid)

    @rule(
        user=st.sampled_from(USERS),
        which=st.one_of(st.integers(0, len(AGENTS) - 1), st.sampled_from(BOGUS)),
        step=st.sampled_from(STEPS),
    )
    def attempt(self, user: str, which: int | str, step: str) -> None:
        self.tick()
        rid = self.call_ids[which] if isinstance(which, int) else which
        desk = Review(self.vault, self.config, who(self.config, user), rng=self.rng)
        size, _ = self.vault.audit.head()
        try:
            if step == "play":
                desk.play(rid, now=self.now, duration_ms=100)
            elif step == "transcript":
                desk.transcript(rid, now=self.now)
            elif step == "summary":
                desk.summary(rid, now=self.now)
            else:
                desk.score(rid, SCORES, now=self.now)
        except AccessDenied:
            succeeded = False
        else:
            succeeded = True
        expected = self.reachable(user, rid)
        assert succeeded == expected, (user, step, rid)
        outcome = self.one_entry(size)
        assert outcome == ("denied" if not expected else ("ok" if step == "score" else "allowed"))
        if succeeded and step == "score":
            self.scored.add((user, rid))

    @rule(user=st.sampled_from(USERS))
    def next_call(self, user: str) -> None:
        self.tick()
        desk = Review(self.vault, self.config, who(self.config, user), rng=self.rng)
        size, _ = self.vault.audit.head()
        try:
            card = desk.next(now=self.now)
        except AccessDenied:
            assert user not in REVIEWERS
            assert self.one_entry(size) == "denied"
            return
        assert user in REVIEWERS
        todo = {
            rid for rid in self.call_ids
            if self.reachable(user, rid) and (user, rid) not in self.scored
        }  # fmt: skip
        assert (card is None) == (not todo)
        assert card is None or card.recording_id in todo
        assert self.one_entry(size) == "ok"


def test_qa_access_state_machine(tmp_path: Path, qa_config: Config) -> None:
    QaMachine.config = qa_config
    QaMachine.template = tmp_path / "template"
    QaMachine.call_ids = build_template(QaMachine.template, qa_config)
    run_state_machine_as_test(
        QaMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
