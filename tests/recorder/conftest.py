"""Fixtures for the recorder: an org chart with a team move, and synthetic calls."""

from __future__ import annotations

import random
import struct
import tomllib
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from recorder.capture import Capturer
from recorder.cli import cli
from recorder.config import Config, parse_config
from recorder.models import CallEvent
from recorder.wavfmt import PcmFormat, wav_header
from storage.vault import Vault

ORG_CHART = """
default_region = "NO"

[[users]]
id = "anna"
roles = ["agent"]
[[users]]
id = "bjorn"
roles = ["agent"]
[[users]]
id = "carla"
roles = ["agent"]
[[users]]
id = "siri"
roles = ["supervisor"]
[[users]]
id = "sven"
roles = ["supervisor"]
[[users]]
id = "admin1"
roles = ["admin"]

[[teams]]
id = "oslo-1"
leaders = [{ user = "siri", from = "2026-01-01T00:00:00Z" }]
members = [
  { user = "anna", from = "2026-01-01T00:00:00Z" },
  { user = "bjorn", from = "2026-01-01T00:00:00Z", until = "2026-11-18T00:00:00Z" },
]

[[teams]]
id = "stockholm-1"
leaders = [{ user = "sven", from = "2026-01-01T00:00:00Z" }]
members = [
  { user = "carla", from = "2026-01-01T00:00:00Z" },
  { user = "bjorn", from = "2026-11-18T00:00:00Z" },
]
"""

#: Before and after bjorn's move from oslo-1 to stockholm-1.
BEFORE_MOVE = datetime.fromisoformat("2026-11-17T10:00:00+00:00")
AFTER_MOVE = datetime.fromisoformat("2026-11-19T10:00:00+00:00")

MakeCall = Callable[..., CallEvent]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Environment for running the CLI on a fresh store with the test org chart."""
    config = tmp_path / "callrec.toml"
    config.write_text(ORG_CHART)
    return {
        "CALLREC_HOME": str(tmp_path / "data"),
        "CALLREC_KEYRING": str(tmp_path / "keys" / "keyring.json"),
        "CALLREC_CONFIG": str(config),
    }


def run(env: dict[str, str], *args: str) -> Result:
    """Invoke ``callrec ARGS`` in-process with ``env``."""
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    """An empty spool folder (as the PBX would write into)."""
    folder = tmp_path / "spool"
    folder.mkdir()
    return folder


@pytest.fixture
def config() -> Config:
    """The org chart: siri leads anna and (until 18 Nov) bjorn; sven leads carla and bjorn."""
    return parse_config(tomllib.loads(ORG_CHART))


@pytest.fixture
def capturer(vault: Vault, config: Config) -> Capturer:
    """Capture on the real store."""
    return Capturer(vault, config)


def canary_pcm(seconds: float, *, rate: int = 8000, channels: int = 1, seed: int = 7) -> bytes:
    """Distinctive 16-bit PCM (seeded noise): any 48-byte window is a canary for I4 scans."""
    draw = random.Random(seed)
    count = int(seconds * rate) * channels
    return struct.pack(f"<{count}h", *(draw.randint(-20000, 20000) for _ in range(count)))


def write_wav(path: Path, pcm: bytes, *, rate: int = 8000, channels: int = 1) -> Path:
    """A canonical 16-bit PCM WAV file."""
    fmt = PcmFormat(sample_rate=rate, channels=channels)
    path.write_bytes(wav_header(fmt, len(pcm) // fmt.frame_size) + pcm)
    return path


@pytest.fixture
def make_call(tmp_path: Path) -> MakeCall:
    """Build a call: a WAV of ``seconds`` plus its event (answer and hang-up inside it)."""
    counter = iter(range(1, 10_000))

    def make(
        *,
        caller: str | None = "+47 912 34 567",
        agent: str = "anna",
        started_at: datetime = BEFORE_MOVE,
        seconds: float = 6.0,
        answer_after: float = 1.0,
        hang_up_at: float | None = None,
        channels: int = 1,
        source_id: str | None = None,
        seed: int | None = None,
        ai: bool = True,
        retention_class: str | None = None,
    ) -> CallEvent:
        n = next(counter)
        pcm = canary_pcm(seconds, channels=channels, seed=seed if seed is not None else n)
        audio = write_wav(tmp_path / f"call-{n}.wav", pcm, channels=channels)
        ended = started_at + timedelta(seconds=hang_up_at if hang_up_at is not None else seconds)
        return CallEvent(
            source="test",
            source_id=source_id or f"call-{n}",
            audio_path=audio,
            caller=caller,
            service_number="+4722000000",
            agent_id=agent,
            started_at=started_at,
            answered_at=started_at + timedelta(seconds=answer_after),
            ended_at=ended,
            channels=("agent", "customer") if channels == 2 else ("mixed",),
            ai=ai,
            retention_class=retention_class,
        )

    return make
