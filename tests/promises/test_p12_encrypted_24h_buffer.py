"""P12 - "An encrypted audio file of every call is kept for 24 hours." (bank)

How these tests prove it
------------------------
Sample calls are ingested with ``callrec ingest --class buffer_24h`` into a real store.

- For 24 hours the call is kept and it is kept *encrypted*: the stored file decrypts to
  the phone system's audio byte for byte, and the audio's own bytes appear in no file
  of the store (a raw scan for windows of the PCM).
- One second before 24 hours after the answer, ``callrec retention sweep`` (run by the
  CLI at that moment) leaves it alone; at 24 hours it crypto-shreds it: key gone, file
  gone, a receipt in the audit log.
- A DST switch in the night does not make it 23 or 25 hours: the deadline is exactly
  24 elapsed hours (all arithmetic in UTC).
- The phone system's ``rejected/`` spool folder, the one place callrec leaves plaintext
  audio (files it refused to capture), is emptied of files older than 24 hours by the
  same sweep (``--spool``).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

import recorder.cli.app as cli_app
from recorder.cli import cli
from recorder.retention import default_classes, expiry
from storage.keyring import FileKeyRing
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.promises.conftest import SAMPLE_CALLS, SAMPLE_CONFIG, read_wav
from tests.storage.helpers import count_hits, files_under

C = default_classes()
ORIGINAL_CONTEXT = cli_app.Context
CALL = SAMPLE_CALLS["call-03"]


def _cli(home: Path, keyring: Path, at: datetime, monkeypatch: pytest.MonkeyPatch,
         rng: Any, *args: str) -> Any:  # fmt: skip
    """``callrec ARGS`` with the CLI's clock set to ``at``."""

    class AtContext(ORIGINAL_CONTEXT):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, "now": lambda: at, "rng": rng})

    monkeypatch.setattr(cli_app, "Context", AtContext)
    base = ["--home", str(home), "--keyring", str(keyring), "--config", str(SAMPLE_CONFIG)]
    return CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)


def test_kept_encrypted_for_24_hours_then_destroyed(
    home: Path, keyring_path: Path, monkeypatch: pytest.MonkeyPatch, rng: Any, tmp_path: Path
) -> None:
    answered = CALL.answered_at
    run = lambda at, *a: _cli(home, keyring_path, at, monkeypatch, rng, *a)  # noqa: E731
    assert run(answered, "init").exit_code == 0
    stored = run(
        answered, "ingest", str(CALL.wav), "--caller", CALL.sidecar["caller"], "--agent",
        CALL.sidecar["agent"], "--started-at", CALL.sidecar["started_at"], "--answered-at",
        CALL.sidecar["answered_at"], "--ended-at", CALL.sidecar["ended_at"],
        "--class", "buffer_24h",
    )  # fmt: skip
    assert stored.exit_code == 0, stored.output
    rid = stored.output.split("recording ")[1].split()[0]

    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    try:
        audio = vault.catalog.artefact_by_kind(rid, ArtefactKind.AUDIO)
        assert audio is not None and audio.expires_at == answered + timedelta(hours=24)
        with vault.open_artefact(audio.id) as reader:
            plain = read_wav(reader.read_all())
        original = read_wav(CALL.wav)
        offset = CALL.answer_offset_ms
        assert plain.data == original.slice_ms(offset, offset + plain.duration_ms)
        windows = [plain.data[i : i + 48] for i in range(0, len(plain.data) - 48, 997)]
        windows = [w for w in windows if len(set(w)) > 16]  # speech, not silence
        assert len(windows) > 10
        assert count_hits(files_under(home), windows) == 0  # encrypted at rest
    finally:
        vault.close()

    early = run(answered + timedelta(hours=24) - timedelta(seconds=1), "retention", "sweep")
    assert "destroyed 0 recording(s)" in early.output
    due = run(answered + timedelta(hours=24), "retention", "sweep")
    assert "destroyed 1 recording(s)" in due.output

    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    try:
        assert vault.catalog.get_recording(rid).state is State.DESTROYED
        assert not vault.blobs.exists(audio.id)
        shreds = [e.event for e in vault.audit.for_recording(rid)
                  if e.event.action == "artefact.shred"]  # fmt: skip
        assert [(e.actor_id, e.reason) for e in shreds] == [("retention", "buffer_24h")]
    finally:
        vault.close()


@pytest.mark.parametrize("zone", ["Europe/Oslo", "Europe/Helsinki"])
def test_a_dst_night_is_still_exactly_24_hours(zone: str) -> None:
    tz = ZoneInfo(zone)
    for local in (
        datetime(2026, 3, 28, 23, 30, tzinfo=tz),
        datetime(2026, 10, 24, 23, 30, tzinfo=tz),
    ):
        deadline = expiry(C["buffer_24h"], local)
        assert deadline - local.astimezone(UTC) == timedelta(hours=24)
        # the local wall clock shows 23:30 +/- one hour the next day: elapsed time rules
        assert deadline.astimezone(tz).hour in (22, 0)


def test_rejected_plaintext_in_the_spool_is_deleted_after_24_hours(
    home: Path, keyring_path: Path, monkeypatch: pytest.MonkeyPatch, rng: Any, tmp_path: Path
) -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    run = lambda at, *a: _cli(home, keyring_path, at, monkeypatch, rng, *a)  # noqa: E731
    assert run(now, "init").exit_code == 0
    rejected = tmp_path / "spool" / "rejected"
    rejected.mkdir(parents=True)
    old, young = rejected / "bad-1.wav", rejected / "bad-2.wav"
    for path, age in ((old, timedelta(hours=24, minutes=1)), (young, timedelta(hours=2))):
        path.write_bytes(CALL.wav.read_bytes())
        stamp = (now - age).timestamp()
        os.utime(path, (stamp, stamp))
    result = run(now, "retention", "sweep", "--spool", str(tmp_path / "spool"), "--json")
    assert result.exit_code == 0, result.output
    assert not old.exists() and young.exists()
