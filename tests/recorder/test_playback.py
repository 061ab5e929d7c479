"""First playback rule: own calls, the team's calls at call time, audit before audio (A1)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from recorder.access import Action, decide, principal_for
from recorder.capture import Capturer
from recorder.config import Config
from recorder.errors import AccessDenied, InvalidEvent
from recorder.playback import open_playback
from recorder.wavfmt import HEADER_SIZE, parse_header
from storage.errors import AuditError
from storage.vault import Vault
from tests.recorder.conftest import AFTER_MOVE, BEFORE_MOVE, MakeCall, canary_pcm

Rng = Callable[[int], bytes]


def _store(capturer: Capturer, make_call: MakeCall, now: datetime, rng: Rng, **kw: object) -> str:
    return capturer.capture(make_call(**kw), now=now, rng=rng).recording_id


def _audit_rows(home: Path) -> list[tuple[str, str, str | None]]:
    """What another process sees committed in the audit log."""
    conn = sqlite3.connect(home / "catalog.db")
    try:
        return conn.execute(
            "SELECT actor_id, outcome, reason FROM audit_log ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("user", "agent", "started_at", "allowed"),
    [
        ("anna", "anna", BEFORE_MOVE, True),  # own call
        ("bjorn", "anna", BEFORE_MOVE, False),  # a colleague's call
        ("siri", "anna", BEFORE_MOVE, True),  # her team
        ("siri", "bjorn", BEFORE_MOVE, True),  # bjorn was in her team then
        ("siri", "bjorn", AFTER_MOVE, False),  # ... but not any more
        ("sven", "bjorn", AFTER_MOVE, True),  # bjorn's new team
        ("sven", "bjorn", BEFORE_MOVE, False),  # not his team at call time
        ("sven", "anna", BEFORE_MOVE, False),
        ("admin1", "anna", BEFORE_MOVE, False),  # admins manage, they do not listen
    ],
)
def test_first_playback_rule(
    capturer: Capturer,
    vault: Vault,
    config: Config,
    make_call: MakeCall,
    now: datetime,
    rng: Rng,
    user: str,
    agent: str,
    started_at: datetime,
    allowed: bool,
) -> None:
    call_id = _store(capturer, make_call, now, rng, agent=agent, started_at=started_at)
    principal = principal_for(config, user)
    recording = vault.catalog.get_recording(call_id)
    assert decide(config, principal, Action.PLAY, recording).allowed is allowed
    before = len(list(vault.audit.entries()))
    if allowed:
        playback = open_playback(vault, config, principal, call_id, purpose="quality", now=now)
        assert b"".join(playback.wav_chunks())[:4] == b"RIFF"
    else:
        with pytest.raises(AccessDenied):
            open_playback(vault, config, principal, call_id, purpose="quality", now=now)
    entries = list(vault.audit.entries())[before:]
    assert len(entries) == 1
    assert entries[0].event.outcome == ("allowed" if allowed else "denied")
    assert entries[0].event.purpose == "quality"
    assert entries[0].event.actor_id == user


def test_audit_is_committed_before_the_first_byte(
    capturer: Capturer, vault: Vault, config: Config, home: Path, make_call: MakeCall,
    now: datetime, rng: Rng,
) -> None:  # fmt: skip
    call_id = _store(capturer, make_call, now, rng)
    playback = open_playback(
        vault, config, principal_for(config, "anna"), call_id, purpose="dispute", now=now
    )
    assert _audit_rows(home)[-1][:2] == ("anna", "allowed")  # committed, seen by another reader
    assert next(iter(playback.wav_chunks()))[:4] == b"RIFF"


def test_a1_no_audio_when_the_audit_store_fails(
    capturer: Capturer, vault: Vault, config: Config, make_call: MakeCall, now: datetime,
    rng: Rng, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    call_id = _store(capturer, make_call, now, rng)

    def broken(event: object) -> None:
        raise AuditError("audit store unavailable")

    monkeypatch.setattr(vault.audit, "append", broken)
    opened = []
    original = vault.open_artefact
    monkeypatch.setattr(
        vault, "open_artefact", lambda *a, **k: opened.append(a) or original(*a, **k)
    )
    with pytest.raises(AuditError):
        open_playback(
            vault, config, principal_for(config, "anna"), call_id, purpose="quality", now=now
        )
    assert opened == []  # not even the header was decrypted


def test_range_playback_returns_exactly_that_range(
    capturer: Capturer, vault: Vault, config: Config, make_call: MakeCall, now: datetime, rng: Rng
) -> None:
    call_id = _store(capturer, make_call, now, rng, seconds=20.0, answer_after=0.0, seed=11)
    playback = open_playback(
        vault, config, principal_for(config, "anna"), call_id, purpose="quality", now=now,
        start_ms=12_000, duration_ms=2_500,
    )  # fmt: skip
    wav = b"".join(playback.wav_chunks())
    fmt, frames = parse_header(wav[:HEADER_SIZE])
    assert frames == 20_000 and playback.duration_ms == 2_500
    assert wav[HEADER_SIZE:] == canary_pcm(20.0, seed=11)[12 * 16000 : 12 * 16000 + 40_000]


def test_unknown_and_hostile_ids_are_denied_and_audited(
    capturer: Capturer, vault: Vault, config: Config, now: datetime
) -> None:
    anna = principal_for(config, "anna")
    for hostile in ["0" * 32, "../../etc/passwd", "x" * 10_000, "'; DROP TABLE recordings;--"]:
        with pytest.raises(AccessDenied):
            open_playback(vault, config, anna, hostile, purpose="quality", now=now)
    outcomes = [e.event.outcome for e in vault.audit.entries()]
    assert outcomes == ["denied"] * 4
    vault.audit.verify()


def test_purpose_is_required_to_be_a_code(
    capturer: Capturer, vault: Vault, config: Config, make_call: MakeCall, now: datetime, rng: Rng
) -> None:
    call_id = _store(capturer, make_call, now, rng)
    with pytest.raises(InvalidEvent):
        open_playback(vault, config, principal_for(config, "anna"), call_id, purpose="", now=now)
