"""The AI orchestration on the real store, with the scripted speech engine.

Real parts: the SQLite catalog, the encrypted blobs, the keyring, the audit chain, the
capture path, ``transcribe.redact`` / ``categorize`` / ``summarize``. Only the speech
recognition is the scripted twin, so every edge (opt-out points, missing notice, engine
failure) is exact.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recorder.ai import AI_KINDS, AiPipeline, opt_out, read_audio
from recorder.ai_config import AiSettings
from recorder.wavfmt import HEADER_SIZE, parse_header
from storage import ai_store
from storage.errors import GoneError
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.recorder.ai.checks import card_runs, dbfs, phone_runs, silent_or_tone
from tests.recorder.ai.conftest import AGENT, CARD, CUSTOMER, CaptureAi, script
from transcribe.engine import SAMPLE_RATE, ScriptedEngine
from transcribe.errors import TranscriptionFailed
from transcribe.redact import AUDIO_MARGIN_S

Rng = Callable[[int], bytes]


def _read(vault: Vault, recording_id: str, kind: ArtefactKind) -> bytes:
    artefact = vault.catalog.artefact_by_kind(recording_id, kind)
    assert artefact is not None and artefact.state is State.AVAILABLE, kind
    with vault.open_artefact(artefact.id) as reader:
        return reader.read_all()


def _live_kinds(vault: Vault, recording_id: str) -> set[ArtefactKind]:
    return {a.kind for a in vault.catalog.artefacts_for(recording_id) if a.state is State.AVAILABLE}


def test_writes_four_ai_artefacts_each_under_its_own_key(
    pipeline: AiPipeline, capture_ai: CaptureAi, vault: Vault, now: datetime, rng: Rng
) -> None:
    rid = capture_ai()
    outcome = pipeline.process(rid, now=now, rng=rng)
    assert outcome.done, outcome.reason
    assert _live_kinds(vault, rid) == {ArtefactKind.AUDIO, *AI_KINDS}
    ai = [a for a in vault.catalog.artefacts_for(rid) if a.kind in AI_KINDS]
    wrapped = {vault.catalog.get_wrapped_key(a.id).wrapped for a in ai}
    assert len(wrapped) == 4  # four different data keys
    for a in ai:
        vault.verify_artefact(a.id)  # decrypts and matches the SHA-256 taken when sealed
    run = ai_store.get_run(vault.catalog, rid)
    assert run is not None and run.state == "done" and run.base_class == "standard_6m"


@pytest.mark.parametrize("mode", ["mixed", "separate"])
def test_dual_channel_calls_become_speaker_labelled_turns(
    engine: ScriptedEngine, capture_ai: CaptureAi, vault: Vault, now: datetime, rng: Rng,
    mode: str,
) -> None:  # fmt: skip
    """One mixed pass with speakers from channel energy, or one pass per channel: the same
    agent / customer turns either way."""
    rid = capture_ai()
    AiPipeline(vault, AiSettings(channels=mode), engine).process(rid, now=now, rng=rng)
    speakers_heard = [speaker for _, _, speaker in engine.calls]
    assert speakers_heard == ([None] if mode == "mixed" else ["agent", "customer"])
    transcript = json.loads(_read(vault, rid, ArtefactKind.TRANSCRIPT))
    turns = [(s["speaker"], s["words"][0]["start"]) for s in transcript["segments"]]
    assert turns == [("agent", 0.2), ("customer", 2.4), ("agent", 12.9)]
    said_by = {w["text"]: s["speaker"] for s in transcript["segments"] for w in s["words"]}
    assert said_by["Welcome"] == "agent" and said_by["[card]"] == "customer"


def test_ai_artefacts_carry_the_ai_30d_expiry_and_so_does_the_parent(
    pipeline: AiPipeline, capture_ai: CaptureAi, vault: Vault, now: datetime, rng: Rng
) -> None:
    rid = capture_ai()
    before = vault.catalog.get_recording(rid)
    assert before.retention_class == "standard_6m"
    pipeline.process(rid, now=now, rng=rng)
    rec = vault.catalog.get_recording(rid)
    assert rec.answered_at is not None
    thirty_days = rec.answered_at + timedelta(days=30)
    assert rec.retention_class == "ai_30d" and rec.expires_at == thirty_days
    for a in vault.catalog.artefacts_for(rid):
        assert a.expires_at == thirty_days, a.kind  # derived + the audio itself


def test_a_longer_min_class_keeps_the_parent_and_children_never_outlive_it(
    pipeline: AiPipeline, capture_ai: CaptureAi, vault: Vault, now: datetime, rng: Rng
) -> None:
    rid = capture_ai(retention_class="regulated_5y")
    before = vault.catalog.get_recording(rid)
    pipeline.process(rid, now=now, rng=rng)
    rec = vault.catalog.get_recording(rid)
    assert rec.retention_class == "regulated_5y" and rec.expires_at == before.expires_at
    assert rec.answered_at is not None and rec.expires_at is not None
    for a in vault.catalog.artefacts_for(rid):
        if a.kind in AI_KINDS:
            assert a.expires_at == rec.answered_at + timedelta(days=30)
            assert a.expires_at <= rec.expires_at


def test_no_ai_without_the_notice_and_the_skip_is_audited(
    pipeline: AiPipeline, engine: ScriptedEngine, capture_ai: CaptureAi, vault: Vault,
    now: datetime, rng: Rng,
) -> None:  # fmt: skip
    rid = capture_ai(notice=False)
    assert rid not in ai_store.pending(vault.catalog)
    outcome = pipeline.process(rid, now=now, rng=rng)
    assert not outcome.done and "notice" in outcome.reason
    assert engine.calls == []
    assert _live_kinds(vault, rid) == {ArtefactKind.AUDIO}
    last = vault.audit.for_recording(rid)[-1].event
    assert (last.action, last.outcome) == ("ai.skip", "ok")


def test_a_declined_call_gets_no_ai(
    pipeline: AiPipeline, engine: ScriptedEngine, capture_ai: CaptureAi, now: datetime, rng: Rng
) -> None:
    rid = capture_ai(ai=False)
    assert not pipeline.process(rid, now=now, rng=rng).done
    assert engine.calls == []


def test_stored_transcript_summary_and_categories_hold_no_card_or_phone_number(
    pipeline: AiPipeline, capture_ai: CaptureAi, vault: Vault, now: datetime, rng: Rng
) -> None:
    """T-PCI P2 on the stored artefacts (the scripted call says both, as digit words)."""
    rid = capture_ai()
    outcome = pipeline.process(rid, now=now, rng=rng)
    assert outcome.redacted_spans >= 2
    for kind in (ArtefactKind.TRANSCRIPT, ArtefactKind.SUMMARY, ArtefactKind.CATEGORIES):
        text = _read(vault, rid, kind).decode("utf-8")
        assert card_runs(text) == [], kind
        assert phone_runs(text) == [], kind
    # ... and the oracle does find them in what was said, so the check can fail.
    said = " ".join(w for w, _ in CUSTOMER)
    assert CARD in card_runs(said) and phone_runs(said)


def _span(words: list[tuple[str, float]], first: str, count: int) -> tuple[float, float]:
    index = [w for w, _ in words].index(first)
    return words[index][1], words[index + count - 1][1] + 0.25


@pytest.mark.parametrize("fill", ["tone", "silence"])
def test_redacted_audio_is_silence_or_a_pure_tone_over_each_span(
    capture_ai: CaptureAi, engine: ScriptedEngine, vault: Vault, now: datetime, rng: Rng,
    fill: str,
) -> None:  # fmt: skip
    """T-PCI P1, measured with numpy on the stored redacted audio."""
    pipeline = AiPipeline(vault, AiSettings(redaction_fill=fill), engine)
    rid = capture_ai()
    pipeline.process(rid, now=now, rng=rng)
    fmt, original = read_audio(vault, rid)
    redacted = _read(vault, rid, ArtefactKind.REDACTED_AUDIO)
    rfmt, frames = parse_header(redacted[:HEADER_SIZE])
    assert rfmt == fmt and frames * fmt.frame_size == len(original)  # same format, length
    pcm = np.frombuffer(redacted[HEADER_SIZE:], "<i2").reshape(-1, fmt.channels)
    orig = np.frombuffer(original, "<i2").reshape(-1, fmt.channels)
    card = _span(CUSTOMER, "four", 16)
    phone = _span(CUSTOMER, "nine", 8)
    for start, end in (card, phone):
        a = int((start - AUDIO_MARGIN_S) * fmt.sample_rate)
        b = int((end + AUDIO_MARGIN_S) * fmt.sample_rate)
        for ch in range(fmt.channels):
            stretch = pcm[a:b, ch]
            assert silent_or_tone(stretch, fmt.sample_rate), (fill, start, ch)
            if fill == "silence":
                assert dbfs(stretch) == -np.inf
        assert not silent_or_tone(orig[a:b, 1], fmt.sample_rate)  # the customer was loud
    # The greeting and "my card number is" (recognised, no number) are untouched.
    keep = int((card[0] - 0.7) * fmt.sample_rate)
    assert dbfs(orig[:keep]) > -20 and np.array_equal(pcm[:keep], orig[:keep])


def test_full_opt_out_leaves_no_ai_artefact_readable(
    pipeline: AiPipeline, capture_ai: CaptureAi, vault: Vault, now: datetime, rng: Rng
) -> None:
    rid = capture_ai()
    pipeline.process(rid, now=now, rng=rng)
    ai_ids = [a.id for a in vault.catalog.artefacts_for(rid) if a.kind in AI_KINDS]
    result = opt_out(vault, rid, at_ms=None, now=now, actor_id="anna", actor_role="agent")
    assert result.shredded == 4 and not result.pending_again
    for artefact_id in ai_ids:
        with pytest.raises(GoneError):
            with vault.open_artefact(artefact_id):
                pass
        assert not vault.blobs.path(artefact_id).exists()  # type: ignore[attr-defined]
    rec = vault.catalog.get_recording(rid)
    assert rec.ai_opted_out and rec.retention_class == "standard_6m"
    assert _live_kinds(vault, rid) == {ArtefactKind.AUDIO}
    audio = vault.catalog.artefact_by_kind(rid, ArtefactKind.AUDIO)
    assert audio is not None and audio.expires_at == rec.expires_at
    assert rid not in ai_store.pending(vault.catalog)
    assert not pipeline.process(rid, now=now, rng=rng).done
    actions = [e.event.action for e in vault.audit.for_recording(rid)]
    assert actions.count("artefact.shred") == 4 and "ai.optout" in actions


def test_mid_call_opt_out_in_the_sidecar_covers_nothing_after_it(
    pipeline: AiPipeline, engine: ScriptedEngine, capture_ai: CaptureAi, vault: Vault,
    now: datetime, rng: Rng,
) -> None:  # fmt: skip
    rid = capture_ai(optout_at_ms=5_000)
    outcome = pipeline.process(rid, now=now, rng=rng)
    assert outcome.done and outcome.covered_ms == 5_000
    assert [n for n, _, _ in engine.calls] == [5 * SAMPLE_RATE] * 2  # both channels, cut
    transcript = json.loads(_read(vault, rid, ArtefactKind.TRANSCRIPT))
    ends = [w["end"] for s in transcript["segments"] for w in s["words"]]
    assert ends and max(ends) <= 5.0
    redacted = _read(vault, rid, ArtefactKind.REDACTED_AUDIO)
    fmt, frames = parse_header(redacted[:HEADER_SIZE])
    assert frames == 5 * fmt.sample_rate


def test_opt_out_after_the_run_shreds_and_reruns_on_the_cut_audio_only(
    pipeline: AiPipeline, capture_ai: CaptureAi, vault: Vault, now: datetime, rng: Rng
) -> None:
    rid = capture_ai()
    pipeline.process(rid, now=now, rng=rng)
    first = {a.id for a in vault.catalog.artefacts_for(rid) if a.kind in AI_KINDS}
    result = opt_out(vault, rid, at_ms=6_000, now=now, actor_id="anna", actor_role="agent")
    assert result.shredded == 4 and result.pending_again
    assert vault.catalog.get_recording(rid).retention_class == "standard_6m"
    assert ai_store.pending(vault.catalog) == [rid]
    again = pipeline.process(rid, now=now, rng=rng)
    assert again.done and again.covered_ms == 6_000
    second = {a.id for a in vault.catalog.artefacts_for(rid) if a.state is State.AVAILABLE}
    assert not first & second
    # A later point never widens an earlier one.
    later = opt_out(vault, rid, at_ms=9_000, now=now, actor_id="anna", actor_role="agent")
    assert later.at_ms == 6_000 and later.shredded == 0


@pytest.fixture
def writes() -> Iterator[list[str]]:
    """Every file opened for writing by this process while the fixture is active."""
    seen: list[str] = []
    active = threading.Event()
    active.set()

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if not active.is_set() or event != "open" or not args or args[0] is None:
            return
        path, mode = args[0], args[1]
        flags = args[2] if len(args) > 2 else 0
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & 0o3  # O_WRONLY | O_RDWR
        )
        if writing and isinstance(path, str | bytes | Path):
            seen.append(str(path))

    sys.addaudithook(hook)  # hooks cannot be removed; the event switch turns it off
    try:
        yield seen
    finally:
        active.clear()


def test_no_plaintext_file_is_ever_written(
    pipeline: AiPipeline, capture_ai: CaptureAi, vault: Vault, home: Path, tmp_path: Path,
    now: datetime, rng: Rng, writes: list[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Watch every file this process opens for writing (data dir, tmp, anywhere), give it a
    private temp dir to watch too, and scan both afterwards for any plaintext of the call."""
    rid = capture_ai()
    _, pcm = read_audio(vault, rid)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    assert tempfile.gettempdir() == str(tmp)
    writes.clear()
    assert pipeline.process(rid, now=now, rng=rng).done
    blobs = (home / "blobs").resolve()
    db = (home / "catalog.db").resolve()
    assert writes, "the watch saw nothing: it could not fail"
    for written in writes:
        p = Path(written).resolve()
        assert p.is_relative_to(blobs) or p.name.startswith(db.name), written
    assert list(tmp.iterdir()) == []
    windows = (pcm[i : i + 48] for i in range(0, len(pcm) - 48, 4 * 48))
    needles = [w for w in windows if len(set(w)) > 24][:32]  # loud, distinctive PCM
    assert len(needles) == 32
    needles += [b"Nordbank", b"on its way", b"Welcome", b"card number is"]
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert [n for n in needles if n in data] == [], path


def test_transcript_text_never_reaches_logs_or_the_audit_log(
    capture_ai: CaptureAi, vault: Vault, settings: AiSettings, now: datetime, rng: Rng,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    def failing(*args: Any) -> Any:
        raise TranscriptionFailed("speech engine failed on 15.0 s of audio (RuntimeError)")

    caplog.set_level(logging.DEBUG)
    rid_ok = capture_ai()
    rid_bad = capture_ai()
    AiPipeline(vault, settings, ScriptedEngine(script)).process(rid_ok, now=now, rng=rng)
    bad = AiPipeline(vault, settings, ScriptedEngine(failing)).process(rid_bad, now=now, rng=rng)
    assert not bad.done and "TranscriptionFailed" in bad.reason
    assert _live_kinds(vault, rid_bad) == {ArtefactKind.AUDIO}
    audit = json.dumps([repr(e.event) for e in vault.audit.entries()])
    said = " ".join(w for w, _ in AGENT + CUSTOMER)
    for phrase in ("Nordbank", "how can I help", "card number is", "my phone is", "its way"):
        assert phrase in said  # the needle is real ...
        assert phrase not in caplog.text and phrase not in audit, phrase  # ... and absent
    assert "ai.run" in audit


def test_pending_lists_only_calls_ai_may_process(
    pipeline: AiPipeline, capture_ai: CaptureAi, vault: Vault, now: datetime, rng: Rng
) -> None:
    told = capture_ai()
    capture_ai(notice=False)
    capture_ai(ai=False)
    capture_ai(optout_at_ms=0)
    assert ai_store.pending(vault.catalog) == [told]
    outcomes = pipeline.run_pending(now=lambda: now, rng=rng)
    assert [o.recording_id for o in outcomes] == [told] and outcomes[0].done
    assert ai_store.pending(vault.catalog) == []


def test_a_shorter_max_class_is_never_lengthened_by_ai(
    pipeline: AiPipeline, capture_ai: CaptureAi, vault: Vault, now: datetime, rng: Rng
) -> None:
    """A 24-hour buffer call stays a 24-hour call, and its AI output goes with it."""
    rid = capture_ai(retention_class="buffer_24h")
    pipeline.process(rid, now=now, rng=rng)
    rec = vault.catalog.get_recording(rid)
    assert rec.answered_at is not None and rec.retention_class == "buffer_24h"
    assert rec.expires_at == rec.answered_at + timedelta(hours=24)
    for a in vault.catalog.artefacts_for(rid):
        assert a.expires_at == rec.expires_at, a.kind


def test_a_language_the_model_does_not_know_is_skipped_not_failed(
    pipeline: AiPipeline, capture_ai: CaptureAi, vault: Vault, now: datetime, rng: Rng
) -> None:
    rid = capture_ai(language="sv")  # the scripted engine, like tiny.en, knows only English
    outcome = pipeline.process(rid, now=now, rng=rng)
    assert not outcome.done and "language" in outcome.reason
    assert _live_kinds(vault, rid) == {ArtefactKind.AUDIO}
    assert rid in ai_store.pending(vault.catalog)  # a multilingual model can take it later
    last = vault.audit.for_recording(rid)[-1].event
    assert (last.action, last.outcome) == ("ai.skip", "ok")
