"""Fixtures for the data-subject tests: an org chart with a DPO and legal, and one caller
with several calls (in different number formats) next to another caller."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from recorder.access import Principal, principal_for
from recorder.bundle import Passphrase
from recorder.capture import Capturer
from recorder.config import Config, parse_config
from storage.models import ArtefactKind
from storage.vault import Vault
from tests.recorder.conftest import BEFORE_MOVE, ORG_CHART, MakeCall

SUBJECT_CHART = (
    ORG_CHART
    + """
[[users]]
id = "dpo1"
roles = ["dpo"]
[[users]]
id = "lawyer1"
roles = ["legal"]
"""
)

#: The data subject, in the formats a caller id arrives in.
SUBJECT = "+47 912 34 567"
SUBJECT_FORMATS = ("+47 912 34 567", "+4791234567", "0047 912 34 567")
#: Strings that would betray the full number if found anywhere.
SUBJECT_LEAKS = ("4791234567", "91234567", "912 34 567")
OTHER = "+46 70 123 45 67"
#: Cheap scrypt for tests (the CLI uses the production cost).
PASS = Passphrase(secret=b"correct horse battery", log2_n=12)


@pytest.fixture
def config() -> Config:
    """The recorder test org chart plus dpo1 (DPO) and lawyer1 (legal)."""
    return parse_config(tomllib.loads(SUBJECT_CHART))


@dataclass(slots=True)
class Subject:
    """The subject's recordings (ids) and the other caller's, in one real store."""

    vault: Vault
    config: Config
    mine: list[str]
    other: list[str]
    dpo: Principal
    legal: Principal

    def artefacts(self, recording_id: str) -> dict[ArtefactKind, str]:
        return {a.kind: a.id for a in self.vault.catalog.artefacts_for(recording_id)}


def add_ai_artefacts(
    vault: Vault, recording_id: str, *, now: datetime, rng: Callable[[int], bytes]
) -> None:
    """A (redacted) transcript and a draft summary, as the AI path would store them."""
    transcript = {"turns": [{"speaker": "customer", "text": "my number is [phone]"}]}
    vault.store_artefact(
        recording_id, ArtefactKind.TRANSCRIPT, [json.dumps(transcript).encode()], now=now, rng=rng
    )
    vault.store_artefact(
        recording_id, ArtefactKind.SUMMARY, [b'{"text": "draft"}'], now=now, rng=rng
    )


@pytest.fixture
def subject(
    vault: Vault,
    config: Config,
    capturer: Capturer,
    make_call: MakeCall,
    now: datetime,
    rng: Callable[[int], bytes],
) -> Subject:
    """Three calls from SUBJECT (three formats, two agents), one from OTHER."""
    mine = []
    for i, caller in enumerate(SUBJECT_FORMATS):
        event = make_call(
            caller=caller,
            agent=("anna", "bjorn", "anna")[i],
            started_at=BEFORE_MOVE + timedelta(hours=i),
            seconds=3.0,
        )
        mine.append(capturer.capture(event, now=now, rng=rng).recording_id)
    other = [capturer.capture(make_call(caller=OTHER, seconds=2.0), now=now, rng=rng).recording_id]
    add_ai_artefacts(vault, mine[0], now=now, rng=rng)
    add_ai_artefacts(vault, other[0], now=now, rng=rng)
    return Subject(
        vault=vault,
        config=config,
        mine=mine,
        other=other,
        dpo=principal_for(config, "dpo1"),
        legal=principal_for(config, "lawyer1"),
    )


def files_under(root: Path) -> list[Path]:
    """Every regular file below ``root`` (db, wal, shm, blobs, checkpoints)."""
    return sorted(p for p in root.rglob("*") if p.is_file())
