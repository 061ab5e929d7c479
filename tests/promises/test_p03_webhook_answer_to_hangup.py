"""P03 for calls delivered by webhook - "Recording starts when the call is answered and
ends when it is hung up." (postal register)

How these tests prove it
------------------------
A provider (Twilio, Telnyx) records from the answer and tells us, in its signed callback,
when the recording started and how long it ran (Twilio: ``RecordingStartTime`` +
``RecordingDuration``; Telnyx: ``recording_started_at`` / ``recording_ended_at``). The
whole real path runs: a signed callback over HTTP to the callrec server, the job it
commits, the worker fetching the media from a fake provider on 127.0.0.1 that speaks the
provider's real API, and capture into the encrypted store. The stored recording must say
it was answered when the provider's recording started and hung up when it ended, its
duration must be the audio's real length, and its sound must be the provider's audio.

A PBX that uploads its own file (the signed generic upload) sends the answer and hang-up
times with it; there only the audio between the two is kept, to the sample.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recorder.wavfmt import PcmFormat, wav_header
from recorder.worker import Worker
from storage.keyring import FileKeyRing
from storage.models import ArtefactKind, Recording
from storage.vault import Vault
from tests.recorder.fake_provider import ACCOUNT, FakeProvider, fake_provider
from tests.recorder.web.harness import (
    BOUNDARY_DEFAULT,
    Web,
    multipart,
    running,
    telnyx_event,
    twilio_params,
    upload_request,
    worker_for,
)

RATE = 8000
STARTED = datetime(2026, 11, 23, 11, 57, 3, tzinfo=UTC)


def pcm(seconds: float, seed: int) -> bytes:
    draw = random.Random(seed)
    count = int(seconds * RATE)
    return struct.pack(f"<{count}h", *(draw.randint(-20000, 20000) for _ in range(count)))


def wav(samples: bytes) -> bytes:
    return wav_header(PcmFormat(sample_rate=RATE, channels=1), len(samples) // 2) + samples


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Web, FakeProvider, Worker]]:
    """Server + fake provider + one real worker over the same store."""
    with fake_provider(tmp_path) as fake, running(tmp_path) as web:
        worker = worker_for(web, fake, "p03")
        try:
            yield web, fake, worker
        finally:
            worker.close()


def stored(web: Web, provider: str, provider_id: str) -> tuple[Recording, bytes]:
    vault = Vault.open(web.home, FileKeyRing.load(web.keyring))
    try:
        rec = vault.catalog.find_recording(provider, provider_id)
        assert rec is not None
        audio = vault.catalog.artefact_by_kind(rec.id, ArtefactKind.AUDIO)
        assert audio is not None
        with vault.open_artefact(audio.id) as reader:
            return rec, b"".join(reader.read_range(0))
    finally:
        vault.close()


def test_p03_twilio_recording_runs_from_answer_to_hangup(
    stack: tuple[Web, FakeProvider, Worker],
) -> None:
    web, fake, worker = stack
    recording, call = "RE" + "3c" * 16, "CA" + "3d" * 16
    samples = pcm(7.0, seed=1)
    fake.add(recording, wav(samples))
    fake.callers[call] = "+4791234567"
    params = twilio_params(recording, call, ACCOUNT, duration=7, start=STARTED)
    reply = web.twilio(params, query="agent=anna&service=%2B4722000000")
    assert reply.body["job"] == "queued"
    assert worker.run_once()
    rec, audio = stored(web, "twilio", recording)
    assert rec.answered_at == STARTED  # the provider started recording at the answer
    assert rec.ended_at == STARTED + timedelta(seconds=7)  # ... and stopped at the hang-up
    assert rec.duration_ms == 7000
    assert audio[44:] == samples
    assert rec.caller_display == "+4791234***"
    assert (rec.agent_id, rec.service_number) == ("anna", "+4722000000")


def test_p03_telnyx_recording_runs_from_answer_to_hangup(
    stack: tuple[Web, FakeProvider, Worker],
) -> None:
    web, fake, worker = stack
    recording = "7e1d2c3b-4a59-4867-9a8b-7c6d5e4f3a2b"
    samples = pcm(5.0, seed=2)
    fake.add(recording, wav(samples))
    event = telnyx_event(recording, caller="+47 912 34 567", start=STARTED, seconds=5)
    assert web.telnyx(event, query="agent=anna").body["job"] == "queued"
    assert worker.run_once()
    rec, audio = stored(web, "telnyx", recording)
    assert (rec.answered_at, rec.ended_at) == (STARTED, STARTED + timedelta(seconds=5))
    assert rec.duration_ms == 5000 and audio[44:] == samples
    assert rec.caller_display == "+4791234***"


def test_p03_uploaded_call_keeps_only_answer_to_hangup(
    stack: tuple[Web, FakeProvider, Worker],
) -> None:
    web, _, _ = stack
    samples = pcm(9.0, seed=3)  # 2 s ringing, 5 s conversation, 2 s after the hang-up
    meta = {
        "v": 1,
        "source_id": "pbx1-p03",
        "caller": "+47 912 34 567",
        "agent": "anna",
        "started_at": STARTED.isoformat(),
        "answered_at": (STARTED + timedelta(seconds=2)).isoformat(),
        "ended_at": (STARTED + timedelta(seconds=7)).isoformat(),
    }
    body = multipart(meta, wav(samples), BOUNDARY_DEFAULT)
    reply = web.request("POST", "/hooks/upload", body, upload_request(body, BOUNDARY_DEFAULT))
    assert reply.status == 200, reply.body
    rec, audio = stored(web, "upload", "pbx1-p03")
    assert rec.answered_at == STARTED + timedelta(seconds=2)
    assert rec.ended_at == STARTED + timedelta(seconds=7)
    assert rec.duration_ms == 5000
    assert audio[44:] == samples[2 * RATE * 2 : 7 * RATE * 2]
