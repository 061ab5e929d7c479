"""Capture on the real store: masking, answered-part audio, idempotency, nothing half-stored."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from recorder.capture import Capturer
from recorder.config import Config
from recorder.errors import InvalidAudio, InvalidEvent
from recorder.wavfmt import HEADER_SIZE, parse_header
from storage.keyring import FileKeyRing
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.recorder.conftest import AFTER_MOVE, BEFORE_MOVE, MakeCall, canary_pcm

Rng = Callable[[int], bytes]


def _audio(vault: Vault, recording_id: str) -> bytes:
    artefact = vault.catalog.artefact_by_kind(recording_id, ArtefactKind.AUDIO)
    assert artefact is not None
    with vault.open_artefact(artefact.id) as reader:
        return reader.read_all()


def _nothing_stored(vault: Vault) -> None:
    assert vault.catalog.list_recordings() == []
    assert list(vault.blobs.names()) == []
    assert vault.blobs.stray_temps() == []


def test_capture_masks_trims_and_catalogues(
    capturer: Capturer, vault: Vault, make_call: MakeCall, now: datetime, rng: Rng
) -> None:
    event = make_call(seconds=6.0, answer_after=1.5, hang_up_at=5.0, seed=3)
    result = capturer.capture(event, now=now, rng=rng)
    assert not result.duplicate
    assert result.caller_display == "+4791234***"
    row = vault.catalog.get_recording(result.recording_id)
    assert row.state is State.AVAILABLE
    assert row.caller_display == "+4791234***"
    assert row.caller_digest is not None
    assert row.duration_ms == 3500  # from decoded samples between answer and hang-up
    assert row.team_id == "oslo-1"
    assert row.agent_id == "anna"
    assert row.retention_class == "standard_6m"
    stored = _audio(vault, result.recording_id)
    fmt, frames = parse_header(stored[:HEADER_SIZE])
    assert (fmt.sample_rate, fmt.channels, frames) == (8000, 1, 28_000)
    source = canary_pcm(6.0, seed=3)
    assert stored[HEADER_SIZE:] == source[24_000:80_000]  # 1.5 s .. 5.0 s at 16,000 B/s


def test_team_is_the_one_at_call_time(
    capturer: Capturer, vault: Vault, make_call: MakeCall, now: datetime, rng: Rng
) -> None:
    before = capturer.capture(make_call(agent="bjorn", started_at=BEFORE_MOVE), now=now, rng=rng)
    after = capturer.capture(make_call(agent="bjorn", started_at=AFTER_MOVE), now=now, rng=rng)
    assert vault.catalog.get_recording(before.recording_id).team_id == "oslo-1"
    assert vault.catalog.get_recording(after.recording_id).team_id == "stockholm-1"


def test_dual_channel_stays_two_channels(
    capturer: Capturer, vault: Vault, make_call: MakeCall, now: datetime, rng: Rng
) -> None:
    result = capturer.capture(make_call(channels=2), now=now, rng=rng)
    fmt, _ = parse_header(_audio(vault, result.recording_id)[:HEADER_SIZE])
    assert fmt.channels == 2
    assert vault.catalog.get_recording(result.recording_id).channels == 2


def test_second_delivery_is_stored_once(
    capturer: Capturer, vault: Vault, make_call: MakeCall, now: datetime, rng: Rng
) -> None:
    event = make_call(source_id="RE" + "a" * 32)
    first = capturer.capture(event, now=now, rng=rng)
    again = [capturer.capture(event, now=now, rng=rng) for _ in range(3)]
    assert all(r.duplicate and r.recording_id == first.recording_id for r in again)
    assert len(vault.catalog.list_recordings()) == 1
    assert len(list(vault.blobs.names())) == 1
    captures = [e for e in vault.audit.entries() if e.event.action == "recording.capture"]
    assert len(captures) == 1


def test_racing_workers_store_one_recording(
    home: Path, keyring_path: Path, vault: Vault, config: Config, make_call: MakeCall, now: datetime
) -> None:
    event = make_call(source_id="racing-call")
    results = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker(seed: int) -> None:
        import random

        own = Vault.open(home, FileKeyRing.load(keyring_path))
        try:
            barrier.wait()
            results.append(
                Capturer(own, config).capture(event, now=now, rng=random.Random(seed).randbytes)
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({r.recording_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    assert len(vault.catalog.list_recordings()) == 1
    assert len(list(vault.blobs.names())) == 1


def test_bad_audio_stores_nothing(
    capturer: Capturer, vault: Vault, make_call: MakeCall, now: datetime, rng: Rng
) -> None:
    event = make_call()
    event.audio_path.write_bytes(b"%PDF-1.7\n" + b"\x00" * 500)
    with pytest.raises(InvalidAudio):
        capturer.capture(event, now=now, rng=rng)
    _nothing_stored(vault)


@pytest.mark.parametrize("field", ["retention_class", "times"])
def test_bad_metadata_stores_nothing(
    capturer: Capturer, vault: Vault, make_call: MakeCall, now: datetime, rng: Rng, field: str
) -> None:
    if field == "retention_class":
        event = make_call(retention_class="forever")
    else:
        event = make_call(answer_after=4.0, hang_up_at=2.0)
    with pytest.raises(InvalidEvent):
        capturer.capture(event, now=now, rng=rng)
    _nothing_stored(vault)


def test_withheld_caller_keeps_no_digits(
    capturer: Capturer, vault: Vault, make_call: MakeCall, now: datetime, rng: Rng
) -> None:
    result = capturer.capture(make_call(caller="anonymous"), now=now, rng=rng)
    row = vault.catalog.get_recording(result.recording_id)
    assert row.caller_display == "withheld"
    assert row.caller_digest is None


def test_capture_is_audited_without_personal_data(
    capturer: Capturer, vault: Vault, make_call: MakeCall, now: datetime, rng: Rng
) -> None:
    result = capturer.capture(make_call(), now=now, rng=rng)
    (entry,) = vault.audit.for_recording(result.recording_id)
    assert entry.event.action == "recording.capture"
    text = repr(entry)
    assert "912" not in text and "***" not in text
    vault.audit.verify()


def test_audio_shorter_than_the_call_is_stored_and_the_shortfall_audited(
    capturer: Capturer, vault: Vault, make_call: MakeCall, now: datetime, rng: Rng
) -> None:
    event = make_call(seconds=4.0, answer_after=1.0, hang_up_at=60.0)
    result = capturer.capture(event, now=now, rng=rng)
    assert vault.catalog.get_recording(result.recording_id).duration_ms == 3000  # the real audio
    (entry,) = vault.audit.for_recording(result.recording_id)
    assert entry.event.detail["audio_shortfall_ms"] == 56_000
    normal = capturer.capture(make_call(), now=now, rng=rng)
    (entry,) = vault.audit.for_recording(normal.recording_id)
    assert "audio_shortfall_ms" not in entry.event.detail
