"""QA fixtures: the test org chart plus two QA reviewers, a nested team and a [qa] table."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from recorder.access import Principal, principal_for
from recorder.capture import Capturer
from recorder.config import Config, parse_config
from recorder.qa import Review
from storage.models import AuditEntry, NewRecording, State
from storage.vault import Vault
from tests.recorder.conftest import ORG_CHART

QA_CHART = (
    ORG_CHART
    + """
[[users]]
id = "quinn"
roles = ["qa_reviewer"]
[[users]]
id = "rita"
roles = ["qa_reviewer"]
[[users]]
id = "dora"
roles = ["agent"]
[[users]]
id = "ola"
roles = ["supervisor"]

[[teams]]
id = "oslo-1-nights"
parent = "oslo-1"
leaders = [{ user = "ola", from = "2026-01-01T00:00:00Z" }]
members = [{ user = "dora", from = "2026-01-01T00:00:00Z" }]
"""
)

Rng = Callable[[int], bytes]


@pytest.fixture
def qa_config() -> Config:
    """siri leads oslo-1 (anna; bjorn until 18 Nov) and, through it, oslo-1-nights (dora)."""
    return parse_config(tomllib.loads(QA_CHART))


@pytest.fixture
def qa_capturer(vault: Vault, qa_config: Config) -> Capturer:
    return Capturer(vault, qa_config)


class Calls:
    """Insert metadata-only recording rows fast (sampling needs no audio)."""

    def __init__(self, vault: Vault, now: datetime) -> None:
        self.vault = vault
        self.now = now
        self.n = 0

    def add(
        self,
        *,
        agent: str = "anna",
        team: str | None = "oslo-1",
        started_at: datetime,
        created_at: datetime | None = None,
        state: State = State.AVAILABLE,
    ) -> str:
        self.n += 1
        rid = f"{self.n:032x}"
        self.vault.catalog.insert_recording(
            NewRecording(
                id=rid,
                provider="test",
                provider_id=rid,
                started_at=started_at,
                answered_at=started_at,
                ended_at=started_at + timedelta(seconds=60),
                duration_ms=60_000,
                service_number=None,
                caller_display="+4791234***",
                caller_digest=None,
                agent_id=agent,
                team_id=team,
                channels=1,
                retention_class="standard_6m",
                expires_at=None,
                created_at=created_at or self.now - timedelta(days=1),
            )
        )
        if state is not State.PENDING:
            self.vault.catalog.set_recording_state(rid, State.AVAILABLE)
        if state is State.DESTROYED:
            self.vault.catalog.set_recording_state(rid, State.DESTROYED)
        return rid


@pytest.fixture
def calls(vault: Vault, now: datetime) -> Calls:
    return Calls(vault, now)


def who(config: Config, user: str) -> Principal:
    return principal_for(config, user)


def review(vault: Vault, config: Config, user: str, rng: Rng) -> Review:
    return Review(vault, config, principal_for(config, user), rng=rng)


def audit_tail(vault: Vault, since: int) -> list[AuditEntry]:
    """Audit entries appended after ``since`` (a previous head size)."""
    return list(vault.audit.entries(since + 1))


@pytest.fixture
def qa_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """CLI environment with the QA org chart."""
    config = tmp_path / "callrec.toml"
    config.write_text(QA_CHART)
    yield {
        "CALLREC_HOME": str(tmp_path / "data"),
        "CALLREC_KEYRING": str(tmp_path / "keys" / "keyring.json"),
        "CALLREC_CONFIG": str(config),
    }
