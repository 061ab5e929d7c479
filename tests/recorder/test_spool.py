"""The spool folder: complete pairs captured then removed; bad pairs rejected with a reason."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from recorder.capture import Capturer
from recorder.errors import InvalidEvent
from recorder.ingest.sidecar import parse_sidecar
from recorder.ingest.spool import SpoolAdapter, run_spool
from storage.models import State
from storage.vault import Vault
from tests.recorder.conftest import canary_pcm, write_wav

Rng = Callable[[int], bytes]
CALLER = "+46 70 123 45 67"


def sidecar(source_id: str, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "v": 1,
        "source_id": source_id,
        "caller": CALLER,
        "service_number": "+46 8 000 000",
        "agent": "carla",
        "started_at": "2026-11-17T10:30:00Z",
        "answered_at": "2026-11-17T10:30:01Z",
        "ended_at": "2026-11-17T10:30:04Z",
        "channels": ["mixed"],
        "ai": True,
        "retention_class": None,
        "language": "sv",
    }
    doc.update(extra)
    return doc


def put(spool: Path, name: str, doc: dict[str, Any] | bytes | None, audio: bytes | None) -> None:
    if audio is not None:
        (spool / f"{name}.wav").write_bytes(audio)
    if doc is not None:
        raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        (spool / f"{name}.json").write_bytes(raw)


@pytest.fixture
def wav(tmp_path: Path) -> bytes:
    return write_wav(tmp_path / "src.wav", canary_pcm(4.0, seed=5)).read_bytes()


def clock() -> datetime:
    return datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_one_pass_captures_good_pairs_and_rejects_bad_ones(
    spool: Path, wav: bytes, capturer: Capturer, vault: Vault, rng: Rng
) -> None:
    for i in range(3):
        put(spool, f"good-{i}", sidecar(f"pbx-{i}"), wav)
    put(spool, "bad-audio", sidecar("pbx-bad-audio"), b"PK\x03\x04 not audio at all")
    put(spool, "bad-json", b"{not json", wav)
    put(spool, "bad-time", sidecar("pbx-bad-time", started_at="yesterday"), wav)
    put(spool, "no-sidecar-yet", None, wav)  # the PBX is still writing: leave it alone

    report = run_spool(spool, capturer, now=clock, rng=rng)

    assert len(report.captured) == 3
    assert sorted(report.rejected) == ["bad-audio", "bad-json", "bad-time"]
    assert report.failed == []
    assert sorted(p.name for p in spool.iterdir()) == ["no-sidecar-yet.wav", "rejected"]
    rejected = spool / "rejected"
    for name in report.rejected:
        assert (rejected / f"{name}.wav").is_file()
        assert not (rejected / f"{name}.json").exists()  # the original, with the number, is gone
        kept = (rejected / f"{name}.json.redacted").read_text()
        assert "[number]" in kept or name == "bad-json"
        assert not re.search(r"\d{6,}", kept.replace(" ", "")) and "123 45 67" not in kept
        reason = (rejected / f"{name}.reason.txt").read_text()
        assert reason.startswith(("InvalidAudio", "InvalidEvent"))
        assert not re.search(r"\d{5,}", reason)  # no number, no content
    rows = vault.catalog.list_recordings(state=State.AVAILABLE)
    assert sorted(r.provider_id for r in rows) == ["pbx-0", "pbx-1", "pbx-2"]
    assert {r.caller_display for r in rows} == {"+46701234***"}


def test_a_second_pass_changes_nothing_and_redelivery_is_a_duplicate(
    spool: Path, wav: bytes, capturer: Capturer, vault: Vault, rng: Rng
) -> None:
    put(spool, "a", sidecar("pbx-a"), wav)
    first = run_spool(spool, capturer, now=clock, rng=rng)
    assert len(first.captured) == 1
    empty = run_spool(spool, capturer, now=clock, rng=rng)
    assert (empty.captured, empty.duplicates, empty.rejected) == ([], 0, [])
    put(spool, "a-again", sidecar("pbx-a"), wav)  # the PBX delivers the same call again
    again = run_spool(spool, capturer, now=clock, rng=rng)
    assert again.duplicates == 1 and again.captured == []
    assert len(vault.catalog.list_recordings()) == 1
    assert list(spool.iterdir()) == []


def test_a_failure_that_may_pass_keeps_the_pair(
    spool: Path, wav: bytes, capturer: Capturer, vault: Vault, rng: Rng,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from storage.errors import BlobError

    put(spool, "a", sidecar("pbx-a"), wav)

    def disk_full(*args: object, **kwargs: object) -> object:
        raise BlobError("blob write failed: no space left on device")

    monkeypatch.setattr(vault, "seal", disk_full)
    report = run_spool(spool, capturer, now=clock, rng=rng)
    assert report.failed == ["a"]
    assert sorted(p.name for p in spool.iterdir()) == ["a.json", "a.wav"]
    monkeypatch.undo()
    assert len(run_spool(spool, capturer, now=clock, rng=rng).captured) == 1


def test_adapter_yields_call_events(spool: Path, wav: bytes) -> None:
    put(spool, "a", sidecar("pbx-a", ai=False, channels=["agent", "customer"]), wav)
    put(spool, "broken", b"[]", wav)
    (event,) = list(SpoolAdapter(spool).events())
    assert event.source == "spool" and event.source_id == "pbx-a"
    assert event.ai is False and event.channels == ("agent", "customer")
    assert CALLER not in repr(event)  # the full number never reaches a log through repr


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"v": 2}, "v"),
        ({"source_id": "../../etc/passwd"}, "source_id"),
        ({"source_id": "a" * 500}, "source_id"),
        ({"agent": "anna\u202e"}, "agent"),
        ({"started_at": "2026-11-17T10:30:00"}, "started_at"),
        ({"channels": ["left", "right", "centre"]}, "channels"),
        ({"ai": "yes"}, "ai"),
        ({"agent": "4791234567"}, "agent"),
        ({"participants": ["bjorn", "+4791234567"]}, "participants"),
    ],
)
def test_sidecar_errors_name_the_field_not_the_value(
    tmp_path: Path, patch: dict[str, Any], field: str
) -> None:
    doc = sidecar("pbx-1") | patch
    with pytest.raises(InvalidEvent) as excinfo:
        parse_sidecar(json.dumps(doc).encode(), tmp_path / "x.wav")
    message = str(excinfo.value)
    assert message.startswith(field)
    assert "4791234567" not in message and "passwd" not in message


def test_a_sidecar_left_by_an_interrupted_removal_is_cleaned_up(
    spool: Path, wav: bytes, capturer: Capturer, vault: Vault, rng: Rng
) -> None:
    put(spool, "a", sidecar("pbx-a"), wav)
    assert len(run_spool(spool, capturer, now=clock, rng=rng).captured) == 1
    put(spool, "a", sidecar("pbx-a"), None)  # killed after unlinking the audio
    put(spool, "b", sidecar("pbx-b"), None)  # audio not stored: not ours to delete
    report = run_spool(spool, capturer, now=clock, rng=rng)
    assert report.cleaned == 1
    assert sorted(p.name for p in spool.iterdir()) == ["b.json"]
