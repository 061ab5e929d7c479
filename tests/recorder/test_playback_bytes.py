"""``Playback.read_bytes``: any byte range of the WAV file ``wav_chunks`` yields (HTTP Range).

The slice is byte-identical to the same slice of the whole file for every kind of range
(inside the header, across header and audio, one byte, the last byte, all of it); a range
outside the file is a programming error; the catalog is read before the iterator exists, so
draining it touches only the blob; and an iterator abandoned early releases the blob.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import datetime

import pytest

from recorder.access import principal_for
from recorder.capture import Capturer
from recorder.config import Config
from recorder.playback import open_playback
from storage.vault import Vault
from tests.recorder.conftest import MakeCall


def _playback(capturer: Capturer, make_call: MakeCall, config: Config, now: datetime,
              rng: Callable[[int], bytes]) -> object:  # fmt: skip
    rid = capturer.capture(make_call(seconds=20.0, channels=2), now=now, rng=rng).recording_id
    return open_playback(
        capturer.vault, config, principal_for(config, "anna"), rid, purpose="quality", now=now
    )


def test_every_slice_is_the_same_bytes_as_the_whole_file(
    capturer: Capturer, make_call: MakeCall, config: Config, now: datetime,
    rng: Callable[[int], bytes],
) -> None:  # fmt: skip
    playback = _playback(capturer, make_call, config, now, rng)
    whole = b"".join(playback.wav_chunks())  # type: ignore[attr-defined]
    size = playback.size  # type: ignore[attr-defined]
    assert size == len(whole)
    draw = random.Random(4)
    ranges = [(0, 0), (0, 43), (10, 60), (44, 44), (size - 1, size - 1), (0, size - 1)]
    ranges += [(65_530, 65_545), (131_071, 131_073)]  # across 64 KiB segment edges
    ranges += [tuple(sorted((draw.randrange(size), draw.randrange(size)))) for _ in range(40)]
    for first, last in ranges:
        got = b"".join(playback.read_bytes(first, last))  # type: ignore[attr-defined]
        assert got == whole[first : last + 1], (first, last)
    for first, last in ((-1, 3), (5, 4), (0, size)):
        with pytest.raises(ValueError):
            playback.read_bytes(first, last)  # type: ignore[attr-defined]


def test_the_catalog_is_read_up_front_and_an_abandoned_range_lets_go(
    capturer: Capturer, make_call: MakeCall, config: Config, now: datetime,
    rng: Callable[[int], bytes], vault: Vault,
) -> None:  # fmt: skip
    playback = _playback(capturer, make_call, config, now, rng)
    chunks = playback.read_bytes(44, playback.size - 1)  # type: ignore[attr-defined]
    got: list[bytes] = []
    # another thread: SQLite would refuse any catalog use here (check_same_thread)
    thread = threading.Thread(target=lambda: got.extend(chunks))
    thread.start()
    thread.join()
    assert sum(map(len, got)) == playback.size - 44  # type: ignore[attr-defined]
    early = playback.read_bytes(0, playback.size - 1)  # type: ignore[attr-defined]
    assert next(early)[:4] == b"RIFF"
    early.close()
    early.close()  # idempotent
    with pytest.raises(StopIteration):
        next(early)
