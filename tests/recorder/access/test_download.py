"""``callrec download``: a separately audited action that writes a WAV atomically.

- audited as ``recording.download`` (not ``play``), committed before the first byte;
- written 0600 via temp + rename in the target directory; never overwrites without
  ``--force``; a refusal, an audit failure or a ciphertext that fails authentication
  half-way leaves no file and no temp file behind.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from recorder.access import Action, Principal, principal_for
from recorder.capture import Capturer
from recorder.config import Config
from recorder.download import download, write_atomically
from recorder.errors import AccessDenied, InvalidEvent
from recorder.playback import open_playback
from recorder.wavfmt import HEADER_SIZE, parse_header
from storage.blobs import FileBlobStore
from storage.errors import AuditError, IntegrityError
from storage.models import ArtefactKind
from storage.vault import Vault
from tests.recorder.conftest import BEFORE_MOVE, MakeCall, canary_pcm, run, write_wav

Rng = Callable[[int], bytes]


def _call(capturer: Capturer, make_call: MakeCall, now: datetime, rng: Rng, **kw: object) -> str:
    event = make_call(started_at=BEFORE_MOVE, **kw)
    return capturer.capture(event, now=now, rng=rng).recording_id


def _only(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_a_supervisor_downloads_exactly_what_play_gives_and_it_is_audited_as_download(
    capturer: Capturer, vault: Vault, config: Config, make_call: MakeCall, now: datetime,
    rng: Rng, tmp_path: Path,
) -> None:  # fmt: skip
    rid = _call(capturer, make_call, now, rng, seconds=10.0, answer_after=0.0, seed=4)
    siri = principal_for(config, "siri")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    before = vault.audit.head()[0]
    done = download(vault, config, siri, rid, out_dir / "call.wav", purpose="dispute", now=now,
                    start_ms=2000, duration_ms=3000)  # fmt: skip
    data = (out_dir / "call.wav").read_bytes()
    assert stat.S_IMODE(os.stat(out_dir / "call.wav").st_mode) == 0o600
    assert _only(out_dir) == ["call.wav"]
    assert parse_header(data[:HEADER_SIZE])[1] == 3 * 8000 and done.duration_ms == 3000
    assert data[HEADER_SIZE:] == canary_pcm(10.0, seed=4)[2 * 16000 : 5 * 16000]
    play = open_playback(vault, config, siri, rid, purpose="dispute", now=now,
                         start_ms=2000, duration_ms=3000)  # fmt: skip
    assert b"".join(play.wav_chunks()) == data
    entries = [e.event for e in vault.audit.entries(before + 1)]
    assert [(e.action, e.outcome, e.purpose) for e in entries] == [
        ("recording.download", "allowed", "dispute"),
        ("recording.play", "allowed", "dispute"),
    ]
    assert entries[0].detail == {"start_ms": 2000, "duration_ms": 3000}


def test_refused_downloads_leave_no_file(
    capturer: Capturer, vault: Vault, config: Config, make_call: MakeCall, now: datetime,
    rng: Rng, tmp_path: Path,
) -> None:  # fmt: skip
    rid = _call(capturer, make_call, now, rng)
    before = vault.audit.head()[0]
    for user, purpose in (("anna", "quality"), ("carla", "quality"), ("admin1", "quality"),
                          ("siri", "marketing")):  # fmt: skip
        with pytest.raises(AccessDenied):
            download(vault, config, principal_for(config, user), rid, tmp_path / "x.wav",
                     purpose=purpose, now=now)  # fmt: skip
    assert not (tmp_path / "x.wav").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    outcomes = [(e.event.action, e.event.outcome) for e in vault.audit.entries(before + 1)]
    assert outcomes == [("recording.download", "denied")] * 4


def test_a1_no_file_when_the_audit_store_fails(
    capturer: Capturer, vault: Vault, config: Config, make_call: MakeCall, now: datetime,
    rng: Rng, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    rid = _call(capturer, make_call, now, rng)

    def broken(event: object) -> None:
        raise AuditError("audit store unavailable")

    monkeypatch.setattr(vault.audit, "append", broken)
    with pytest.raises(AuditError):
        download(vault, config, principal_for(config, "siri"), rid, tmp_path / "x.wav",
                 purpose="quality", now=now)  # fmt: skip
    assert not [name for name in _only(tmp_path) if name.startswith((".tmp-", "x.wav"))]


def test_authentication_failure_half_way_leaves_no_partial_file(
    capturer: Capturer, vault: Vault, config: Config, make_call: MakeCall, now: datetime,
    rng: Rng, tmp_path: Path,
) -> None:  # fmt: skip
    rid = _call(capturer, make_call, now, rng, seconds=30.0, answer_after=0.0)
    artefact = vault.catalog.artefact_by_kind(rid, ArtefactKind.AUDIO)
    assert artefact is not None and isinstance(vault.blobs, FileBlobStore)
    blob = vault.blobs.path(artefact.id)
    raw = bytearray(blob.read_bytes())
    raw[-100] ^= 1  # the last segment: the header and early segments still authenticate
    os.chmod(blob, 0o600)
    blob.write_bytes(bytes(raw))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(IntegrityError):
        download(vault, config, principal_for(config, "siri"), rid, out_dir / "x.wav",
                 purpose="quality", now=now)  # fmt: skip
    assert _only(out_dir) == []


def test_an_existing_file_is_refused_before_any_decision(
    capturer: Capturer, vault: Vault, config: Config, make_call: MakeCall, now: datetime,
    rng: Rng, tmp_path: Path,
) -> None:  # fmt: skip
    rid = _call(capturer, make_call, now, rng)
    (tmp_path / "x.wav").write_bytes(b"keep")
    before = vault.audit.head()[0]
    with pytest.raises(InvalidEvent, match="--force"):
        download(vault, config, principal_for(config, "siri"), rid, tmp_path / "x.wav",
                 purpose="quality", now=now)  # fmt: skip
    assert (tmp_path / "x.wav").read_bytes() == b"keep" and vault.audit.head()[0] == before


def test_write_atomically_never_overwrites_without_force(tmp_path: Path) -> None:
    target = tmp_path / "a.wav"
    target.write_bytes(b"old")

    def chunks() -> Iterator[bytes]:
        yield b"new"

    with pytest.raises(FileExistsError):
        write_atomically(target, chunks())
    assert target.read_bytes() == b"old" and _only(tmp_path) == ["a.wav"]
    assert write_atomically(target, chunks(), force=True) == 3
    assert target.read_bytes() == b"new" and _only(tmp_path) == ["a.wav"]

    def failing() -> Iterator[bytes]:
        yield b"part"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_atomically(tmp_path / "b.wav", failing())
    assert _only(tmp_path) == ["a.wav"]


def test_cli_download(env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, "init").exit_code == 0
    wav = write_wav(tmp_path / "in.wav", canary_pcm(4.0, seed=2))
    ingest = run(env, "ingest", str(wav), "--caller", "+47 912 34 567", "--agent", "anna",
                 "--started-at", "2026-11-17T10:00:00Z")  # fmt: skip
    assert ingest.exit_code == 0, ingest.output
    rid = ingest.stdout.split()[2]
    out = tmp_path / "call.wav"
    args = ("download", rid, "--purpose", "quality", "--out", str(out))
    denied = run(env, *args, "--as", "anna")
    assert denied.exit_code == 3 and not out.exists()
    ok = run(env, *args, "--as", "siri", "--start", "1", "--duration", "2s")
    assert ok.exit_code == 0, ok.output
    assert parse_header(out.read_bytes()[:HEADER_SIZE])[1] == 2 * 8000
    again = run(env, *args, "--as", "siri")
    assert again.exit_code == 1 and "--force" in again.stderr
    forced = run(env, *args, "--as", "siri", "--force")
    assert forced.exit_code == 0 and parse_header(out.read_bytes()[:HEADER_SIZE])[1] == 4 * 8000
    no_dir = run(env, "download", rid, "--purpose", "quality", "--as", "siri",
                 "--out", str(tmp_path / "nope" / "x.wav"))  # fmt: skip
    assert no_dir.exit_code == 1
    helptext = run(env, "download", "--help").stdout
    assert "Examples" in helptext and "--force" in helptext
    conn = sqlite3.connect(Path(env["CALLREC_HOME"]) / "catalog.db")
    actions = conn.execute(
        "SELECT action, outcome, actor_id FROM audit_log WHERE action LIKE 'recording.d%'"
    ).fetchall()
    conn.close()
    assert actions == [
        ("recording.download", "denied", "anna"),
        ("recording.download", "allowed", "siri"),
        ("recording.download", "allowed", "siri"),
    ]


@pytest.mark.parametrize(("action", "user", "purpose"), [
    (Action.DOWNLOAD, "siri", "quality"), (Action.EXPORT, "legal", "legal"),
])  # fmt: skip
def test_a1_download_and_export_decrypt_nothing_when_the_audit_store_fails(
    capturer: Capturer, vault: Vault, config: Config, make_call: MakeCall, now: datetime,
    rng: Rng, monkeypatch: pytest.MonkeyPatch, action: Action, user: str, purpose: str,
) -> None:  # fmt: skip
    rid = _call(capturer, make_call, now, rng)
    who = Principal(user_id=user, roles=frozenset({"legal"})) if user == "legal" else (
        principal_for(config, user)
    )  # fmt: skip
    assert open_playback(vault, config, who, rid, purpose=purpose, now=now, action=action)

    def broken(event: object) -> None:
        raise AuditError("audit store unavailable")

    opened: list[object] = []
    original = vault.open_artefact
    monkeypatch.setattr(vault.audit, "append", broken)
    monkeypatch.setattr(
        vault, "open_artefact", lambda *a, **k: opened.append(a) or original(*a, **k)
    )
    with pytest.raises(AuditError):
        open_playback(vault, config, who, rid, purpose=purpose, now=now, action=action)
    assert opened == []  # not even the WAV header was decrypted


@pytest.mark.parametrize("offset", ["nan", "inf", "1e400", "9" * 400])
def test_cli_download_rejects_offsets_that_are_not_finite(
    env: dict[str, str], tmp_path: Path, offset: str
) -> None:
    """'nan' and 'inf' parse as floats; they were a ValueError/OverflowError traceback."""
    assert run(env, "init").exit_code == 0
    out = tmp_path / "call.wav"
    for option in ("--start", "--duration"):
        result = run(env, "download", "0" * 32, "--as", "siri", "--purpose", "quality",
                     "--out", str(out), option, offset)  # fmt: skip
        assert result.exit_code == 1 and f"error: {option}" in result.stderr
        assert "[hh:]mm:ss" in result.stderr and not out.exists()
