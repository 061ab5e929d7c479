"""Shared set-up for the promise tests: the committed sample calls in a real store.

Every promise test works on the real thing: the eight espeak-ng sample calls from
``samples/spool`` (copied, never moved), captured by ``callrec spool run`` into a real
store (SQLite catalog, encrypted blob files, file keyring outside the data dir, hash-chained
audit log), with the demo org chart ``samples/callrec.toml``. The command line is run
in-process with click's ``CliRunner``; its clock and randomness are the fixed ones from
``tests/conftest.py``, so every run is the same run.
"""

from __future__ import annotations

import io
import json
import shutil
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

import recorder.cli.app as cli_app
from recorder.cli import cli
from recorder.config import Config, load_config
from storage.models import ArtefactKind, AuditEntry, Recording
from storage.vault import Vault

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SAMPLE_SPOOL = SAMPLES / "spool"
SAMPLE_CONFIG = SAMPLES / "callrec.toml"
SAMPLE_NAMES = tuple(f"call-{i:02d}" for i in range(1, 9))
WAV_HEADER_SIZE = 44

CliRun = Callable[..., Result]


@dataclass(frozen=True, slots=True)
class SampleCall:
    """One committed sample call: its sidecar (what the PBX said) and its source WAV."""

    name: str
    sidecar: dict[str, Any]
    wav: Path

    def _time(self, key: str) -> datetime:
        return datetime.fromisoformat(self.sidecar[key])

    @property
    def started_at(self) -> datetime:
        return self._time("started_at")

    @property
    def answered_at(self) -> datetime:
        return self._time("answered_at")

    @property
    def ended_at(self) -> datetime:
        return self._time("ended_at")

    @property
    def answered_ms(self) -> int:
        """Talk time: from the answer to the hang-up, in milliseconds."""
        return int((self.ended_at - self.answered_at).total_seconds() * 1000)

    @property
    def answer_offset_ms(self) -> int:
        """How far into the source file the call was answered."""
        return int((self.answered_at - self.started_at).total_seconds() * 1000)


def load_sample(name: str) -> SampleCall:
    sidecar = json.loads((SAMPLE_SPOOL / f"{name}.json").read_text(encoding="utf-8"))
    return SampleCall(name=name, sidecar=sidecar, wav=SAMPLE_SPOOL / f"{name}.wav")


SAMPLE_CALLS = {name: load_sample(name) for name in SAMPLE_NAMES}


@dataclass(frozen=True, slots=True)
class Pcm:
    """A WAV read with Python's own ``wave`` module (an independent parser)."""

    rate: int
    channels: int
    width: int
    frames: int
    data: bytes

    @property
    def duration_ms(self) -> int:
        return self.frames * 1000 // self.rate

    @property
    def frame_size(self) -> int:
        return self.channels * self.width

    def slice_ms(self, start_ms: int, end_ms: int) -> bytes:
        first = start_ms * self.rate // 1000
        last = end_ms * self.rate // 1000
        return self.data[first * self.frame_size : last * self.frame_size]

    def samples(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Samples as floats, shape (frames, channels)."""
        return np.frombuffer(self.data, dtype="<i2").reshape(-1, self.channels).astype(float)


def read_wav(source: Path | bytes) -> Pcm:
    handle = wave.open(str(source)) if isinstance(source, Path) else wave.open(io.BytesIO(source))
    with handle as w:
        frames = w.getnframes()
        return Pcm(
            rate=w.getframerate(),
            channels=w.getnchannels(),
            width=w.getsampwidth(),
            frames=frames,
            data=w.readframes(frames),
        )


@dataclass(slots=True)
class SampleStore:
    """The sample calls, captured into a real store, and a way to drive the CLI on it."""

    vault: Vault
    config: Config
    home: Path
    keyring: Path
    ids: dict[str, str]
    cli: CliRun

    def recording(self, name: str) -> Recording:
        return self.vault.catalog.get_recording(self.ids[name])

    def name_of(self, recording_id: str) -> str:
        (name,) = [n for n, i in self.ids.items() if i == recording_id]
        return name

    def stored_wav(self, name: str) -> bytes:
        """The stored audio of a sample call, decrypted (the WAV exactly as sealed)."""
        artefact = self.vault.catalog.artefact_by_kind(self.ids[name], ArtefactKind.AUDIO)
        assert artefact is not None, f"{name}: no audio artefact"
        with self.vault.open_artefact(artefact.id) as reader:
            return reader.read_all()

    def listed(self, user: str) -> list[dict[str, Any]]:
        """``callrec calls list --as USER --json``, parsed."""
        result = self.cli("calls", "list", "--as", user, "--json")
        assert result.exit_code == 0, result.output
        rows: list[dict[str, Any]] = json.loads(result.stdout)
        return rows

    def listed_names(self, user: str) -> set[str]:
        return {self.name_of(row["id"]) for row in self.listed(user)}

    def play(self, name: str, user: str, out: Path, purpose: str = "quality") -> Result:
        """``callrec play ID --as USER --purpose PURPOSE --out FILE``."""
        return self.cli(
            "play", self.ids[name], "--as", user, "--purpose", purpose, "--out", str(out)
        )

    def audit_since(self, seq: int) -> list[AuditEntry]:
        """Audit entries written after entry number ``seq``."""
        return list(self.vault.audit.entries(seq + 1))

    def audit_size(self) -> int:
        return self.vault.audit.head()[0]


@pytest.fixture
def org() -> Config:
    """The demo org chart: siri leads oslo-1, sven stockholm-1; bjorn moves on 18 Nov."""
    return load_config(SAMPLE_CONFIG)


@pytest.fixture
def cli_run(
    home: Path,
    keyring_path: Path,
    now: datetime,
    rng: Callable[[int], bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> CliRun:
    """Run ``callrec --home H --keyring K --config samples/callrec.toml ARGS...`` in-process.

    The CLI edge normally reads the wall clock and the system random source; here its
    context gets the fixed ``now`` and the seeded ``rng`` instead.
    """

    class FixedContext(cli_app.Context):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, "now": lambda: now, "rng": rng})

    monkeypatch.setattr(cli_app, "Context", FixedContext)
    base = ["--home", str(home), "--keyring", str(keyring_path), "--config", str(SAMPLE_CONFIG)]

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)

    return run


def copy_spool(target: Path) -> Path:
    """A copy of the sample spool (the spool adapter removes what it captures)."""
    target.mkdir(parents=True, exist_ok=True)
    for item in sorted(SAMPLE_SPOOL.iterdir()):
        shutil.copyfile(item, target / item.name)
    return target


@pytest.fixture
def store(
    vault: Vault, org: Config, cli_run: CliRun, home: Path, keyring_path: Path, tmp_path: Path
) -> Iterator[SampleStore]:
    """The eight sample calls captured with ``callrec spool run`` into the ``vault`` store."""
    spool = copy_spool(tmp_path / "spool")
    result = cli_run("spool", "run", str(spool))
    assert result.exit_code == 0, result.output
    assert "8 captured, 0 already stored, 0 rejected" in result.stdout, result.output
    ids = {}
    for name, call in SAMPLE_CALLS.items():
        found = vault.catalog.find_recording("spool", call.sidecar["source_id"])
        assert found is not None, f"{name} was not captured"
        ids[name] = found.id
    yield SampleStore(
        vault=vault, config=org, home=home, keyring=keyring_path, ids=ids, cli=cli_run
    )
