"""The AI sample calls (``samples/ai``) through the REAL pipeline, once per test process.

``ai_sample_store`` captures the seven espeak-ng calls from their spool sidecars (AI notice
given; ai-05 opts out mid-call) into a real store with the demo org chart, and runs the
real path on them: faster-whisper ``tiny.en`` (int8, 2 threads), redaction, topics, draft
summaries, sealing. The run is shared by ``tests/recorder/ai`` and ``tests/promises``
(cached in this module, so pytest runs the whisper work once, ~15 s on 2 cores).

While the pipeline runs, every file this process opens for writing is recorded (Python
audit hook), so the plaintext and model-directory tests can check *all* writes.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recorder.ai import AiOutcome, AiPipeline
from recorder.ai_config import AiSettings
from recorder.capture import Capturer
from recorder.config import Config, load_config
from recorder.ingest.sidecar import parse_sidecar
from storage.keyring import FileKeyRing
from storage.models import ArtefactKind, State
from storage.vault import Vault
from transcribe.engine import WhisperEngine

ROOT = Path(__file__).resolve().parents[3]
AI_SAMPLES = ROOT / "samples" / "ai"
SAMPLE_CONFIG = ROOT / "samples" / "callrec.toml"
EXPECTED: dict[str, dict[str, Any]] = {
    c["file"].removesuffix(".wav"): c
    for c in json.loads((AI_SAMPLES / "expected.json").read_text("utf-8"))["calls"]
}
NAMES = tuple(sorted(EXPECTED))
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class _WriteWatch:
    """A process-wide audit hook (hooks cannot be removed) that records write-opens."""

    def __init__(self) -> None:
        self.sink: list[str] | None = None
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        sink = self.sink
        if sink is None or event != "open" or not args or args[0] is None:
            return
        path, mode = args[0], args[1] if len(args) > 1 else None
        flags = args[2] if len(args) > 2 else 0
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and bool(flags & 0o3)
        )
        if writing and isinstance(path, str | bytes | Path):
            sink.append(str(path))


_WATCH: _WriteWatch | None = None


def watch() -> _WriteWatch:
    """The process's write watch (installed on first use)."""
    global _WATCH
    if _WATCH is None:
        _WATCH = _WriteWatch()
    return _WATCH


def file_digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` (to prove nothing in it changed)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@dataclass(slots=True)
class AiSampleStore:
    """The processed AI sample calls and what was observed while processing them."""

    vault: Vault
    config: Config
    home: Path
    keyring: Path
    ids: dict[str, str]
    outcomes: dict[str, AiOutcome]
    model_dir: Path
    model_before: dict[str, str]
    model_after: dict[str, str]
    writes: list[str] = field(default_factory=list)
    tmp_dir: Path = Path()
    tmp_after: list[str] = field(default_factory=list)


_STORE: AiSampleStore | None = None


def ai_sample_store(make_dir: Callable[[str], Path]) -> AiSampleStore:
    """Build (once per process) the store of processed AI sample calls."""
    global _STORE
    if _STORE is not None:
        return _STORE
    base = make_dir("ai-samples")
    home, keys = base / "data", base / "keys" / "keyring.json"
    rng = random.Random(2026).randbytes
    vault = Vault.open(home, FileKeyRing.create(keys, rng))
    config = load_config(SAMPLE_CONFIG)
    capturer = Capturer(vault, config)
    ids = {}
    for name in NAMES:
        event = parse_sidecar((AI_SAMPLES / f"{name}.json").read_bytes(),
                              AI_SAMPLES / f"{name}.wav")  # fmt: skip
        ids[name] = capturer.capture(event, now=NOW, rng=rng).recording_id
    engine = WhisperEngine(cpu_threads=2)
    engine.load()  # loading reads the model; the watch covers the processing
    model_before = file_digests(engine.model_path)
    tmp_dir = base / "tmp"
    tmp_dir.mkdir()
    saved_tempdir = tempfile.tempdir
    tempfile.tempdir = str(tmp_dir)
    writes: list[str] = []
    watch().sink = writes
    try:
        pipeline = AiPipeline(vault, AiSettings(), engine)
        outcomes = {name: pipeline.process(ids[name], now=NOW, rng=rng) for name in NAMES}
    finally:
        watch().sink = None
        tempfile.tempdir = saved_tempdir
    _STORE = AiSampleStore(
        vault=vault,
        config=config,
        home=home,
        keyring=keys,
        ids=ids,
        outcomes=outcomes,
        model_dir=engine.model_path,
        model_before=model_before,
        model_after=file_digests(engine.model_path),
        writes=writes,
        tmp_dir=tmp_dir,
        tmp_after=sorted(str(p) for p in tmp_dir.rglob("*")),
    )
    return _STORE


def cli_args(store: AiSampleStore) -> list[str]:
    """``callrec`` global options that point at the shared store."""
    return ["--home", str(store.home), "--keyring", str(store.keyring),
            "--config", str(SAMPLE_CONFIG)]  # fmt: skip


def read_artefact(store: AiSampleStore, name: str, kind: ArtefactKind) -> bytes:
    """The decrypted live artefact of ``kind`` of sample call ``name``."""
    artefact = store.vault.catalog.artefact_by_kind(store.ids[name], kind)
    if artefact is None or artefact.state is not State.AVAILABLE:
        raise AssertionError(f"{name}: no live {kind}")
    with store.vault.open_artefact(artefact.id) as reader:
        return reader.read_all()
