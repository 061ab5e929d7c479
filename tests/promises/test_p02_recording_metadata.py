"""P02 - "Each recording carries start time, end time, duration, the service number called,
the employee who took or made the call, and the audio." (postal register)

How these tests prove it
------------------------
The eight sample calls are captured with ``callrec spool run`` into a real store. For each
one we read the stored recording back and compare it with what the phone system reported
in the call's sidecar file:

- **start time**: when the call started ringing and when it was answered (the recording's
  start), both exactly as reported;
- **end time**: when it was hung up, exactly as reported;
- **duration**: equal to hang-up minus answer, *and* equal to the length of the stored
  audio counted sample by sample (not read from a file header);
- **service number**: the number the customer called, as reported;
- **employee**: the agent who took the call, and the team they were in at that moment
  according to the org chart;
- **audio**: the encrypted audio file exists, decrypts (authenticated) to a WAV file that
  Python's own ``wave`` module reads, with the call's channel layout and exactly the
  duration above, and its fingerprint matches the one taken when it was stored.

A last test shows that the duration comes from the audio itself: a file whose header
claims far more audio than it holds is stored with the duration of what it really holds.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from recorder.capture import Capturer
from recorder.config import Config
from recorder.models import CallEvent
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.promises.conftest import SAMPLE_CALLS, SAMPLE_NAMES, SampleStore, read_wav
from tests.recorder.conftest import canary_pcm, write_wav


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_each_sample_recording_carries_times_numbers_employee_and_audio(
    store: SampleStore, name: str
) -> None:
    call = SAMPLE_CALLS[name]
    reported = call.sidecar
    row = store.recording(name)
    assert row.state is State.AVAILABLE

    # Start and end times, as reported by the phone system.
    assert row.started_at == call.started_at
    assert row.answered_at == call.answered_at
    assert row.ended_at == call.ended_at
    # Duration: from the answer to the hang-up.
    assert row.duration_ms == call.answered_ms > 0
    # The service number the customer called.
    assert row.service_number == reported["service_number"]
    # The employee who took the call, and their team at the time of the call.
    assert row.agent_id == reported["agent"]
    assert row.team_id == store.config.team_of(reported["agent"], call.started_at)
    assert row.team_id is not None

    # The audio: one encrypted artefact that decrypts to a WAV of exactly that duration.
    artefact = store.vault.catalog.artefact_by_kind(row.id, ArtefactKind.AUDIO)
    assert artefact is not None and artefact.state is State.AVAILABLE
    stored = store.stored_wav(name)
    assert len(stored) == artefact.plaintext_size
    assert hashlib.sha256(stored).hexdigest() == artefact.plaintext_sha256
    store.vault.verify_artefact(artefact.id)
    pcm = read_wav(stored)
    assert (pcm.rate, pcm.width) == (8000, 2)
    assert pcm.channels == len(reported["channels"]) == row.channels
    assert pcm.duration_ms == row.duration_ms
    assert pcm.frames == call.answered_ms * pcm.rate // 1000

    # The duration is what the source audio really holds after the answer.
    source = read_wav(call.wav)
    assert source.duration_ms - call.answer_offset_ms == row.duration_ms


def test_calls_list_shows_start_duration_and_employee(store: SampleStore) -> None:
    """What a supervisor sees for each call: its start, duration, agent and team."""
    rows = store.listed("siri") + store.listed("sven")
    assert sorted(store.name_of(r["id"]) for r in rows) == list(SAMPLE_NAMES)
    for row in rows:
        name = store.name_of(row["id"])
        call = SAMPLE_CALLS[name]
        assert datetime.fromisoformat(row["started_at"]) == call.started_at, name
        assert row["duration_ms"] == call.answered_ms, name
        assert row["agent"] == call.sidecar["agent"], name
        assert row["team"] == store.recording(name).team_id, name
        assert row["channels"] == len(call.sidecar["channels"]), name


def test_duration_is_counted_from_the_audio_not_from_a_header(
    vault: Vault,
    org: Config,
    tmp_path: Path,
    now: datetime,
    rng: Callable[[int], bytes],
) -> None:
    """A WAV whose header claims 74 hours but holds 4 s is stored as 3 s of talk."""
    wav = write_wav(tmp_path / "streamed.wav", canary_pcm(4.0, seed=11))
    raw = bytearray(wav.read_bytes())
    struct.pack_into("<I", raw, 40, 0xFFFFFFFF)  # data size as a streaming writer leaves it
    wav.write_bytes(bytes(raw))
    start = datetime.fromisoformat("2026-11-20T10:00:00+00:00")
    event = CallEvent(
        source="test",
        source_id="streamed-1",
        audio_path=wav,
        caller="+47 912 34 567",
        service_number="+4722000000",
        agent_id="anna",
        started_at=start,
        answered_at=start + timedelta(seconds=1),
        ended_at=start + timedelta(seconds=4),
        channels=("mixed",),
    )
    result = Capturer(vault, org).capture(event, now=now, rng=rng)
    row = vault.catalog.get_recording(result.recording_id)
    assert row.duration_ms == 3000
    artefact = vault.catalog.artefact_by_kind(row.id, ArtefactKind.AUDIO)
    assert artefact is not None
    with vault.open_artefact(artefact.id) as reader:
        stored = read_wav(reader.read_all())
    assert stored.frames == 3 * 8000
    assert stored.data == canary_pcm(4.0, seed=11)[8000 * 2 :]
