"""Benchmark: time to first audio byte for a seek into a 10-hour recording vs a full decrypt.

Usage: ``python bench/playback.py [--hours 10] [--seeks 20] [--seek-ms 1000] [--json]``

What is measured, in one run on one machine:

1. **Set-up (reported, not the point).** A fresh store in a temp dir (key ring outside the
   data dir), and one recording of ``--hours`` of 8 kHz 16-bit mono PCM (10 h = 576 MB),
   generated as a stream of cycled 1-second blocks (tones with a slow envelope plus
   seeded noise) and never held whole in memory. It goes through the product's own write
   path: ``Vault.seal`` of the canonical WAV (``wav_header`` + PCM chunks), then one
   transaction with the recording row, ``Vault.register`` and the capture audit entry, as
   ``Capturer.capture`` does (the capturer itself would decode the WAV into memory).
2. **Seeks.** ``--seeks`` requests at seeded random offsets, each for ``--seek-ms`` of
   audio, by the agent who handled the call, with a real org chart: ``open_playback``
   (purpose check, access decision, audit entry *committed*, header read) then the first
   PCM chunk of ``Playback.wav_chunks()`` after the WAV header. That is the time to first
   audio byte; the open and first-chunk parts are reported too. The rest of the range is
   then drained, and the segments the audio reader decrypted are counted (goal <= 2 per
   seek; the header read in ``open_playback`` is one more segment, reported separately).
3. **Full decrypt.** ``SealedReader.read_range(0)`` over the whole artefact, streamed and
   discarded (time only), in the same run on the same store.

The ciphertext was just written, so reads come from the page cache: this measures the
format and the code path, not the disk. Goal: p95 time to first byte <= 50 ms.
Always exits 0: this reports, CI does not time anything.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import struct
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recorder.access import principal_for  # noqa: E402
from recorder.config import Config, parse_config  # noqa: E402
from recorder.playback import open_playback  # noqa: E402
from recorder.wavfmt import HEADER_SIZE, PcmFormat, wav_header  # noqa: E402
from storage import crypto  # noqa: E402
from storage.keyring import FileKeyRing  # noqa: E402
from storage.models import ArtefactKind, AuditEvent, NewRecording, State  # noqa: E402
from storage.vault import Vault, new_id  # noqa: E402

RATE = 8000
FMT = PcmFormat(sample_rate=RATE, channels=1)
GOAL_MS = 50.0
GOAL_SEGMENTS = 2
BLOCKS_PER_CHUNK = 16  # 16 s of audio (256 KB) per chunk handed to the sealer
AGENT = "anna"
ORG_CHART = f"""
default_region = "NO"

[[users]]
id = "{AGENT}"
roles = ["agent"]
"""


class CountingVault(Vault):
    """The real vault, remembering every reader it opens (to count decrypted segments)."""

    readers: list[crypto.SealedReader]

    @contextmanager
    def open_artefact(
        self, artefact_id: str, *, ciphertext: BinaryIO | None = None
    ) -> Iterator[crypto.SealedReader]:
        with super().open_artefact(artefact_id, ciphertext=ciphertext) as reader:
            self.readers.append(reader)
            yield reader


def open_store(root: Path) -> CountingVault:
    keyring = FileKeyRing.create(root / "keys" / "keyring.json", os.urandom)
    plain = Vault.open(root / "data", keyring)
    vault = CountingVault(
        catalog=plain.catalog, blobs=plain.blobs, keyring=plain.keyring, audit=plain.audit
    )
    vault.readers = []
    return vault


def pcm_blocks(seed: int) -> list[bytes]:
    """Ten 1-second blocks of speech-band tones with an envelope, plus seeded noise."""
    draw = random.Random(seed)
    blocks = []
    for b in range(10):
        f1, f2 = 180 + 37 * b, 900 + 113 * b
        samples = (
            max(-32768, min(32767, int(
                9000 * math.sin(2 * math.pi * f1 * t / RATE) * (0.5 + 0.5 * math.sin(t / 900))
                + 3000 * math.sin(2 * math.pi * f2 * t / RATE)
                + draw.gauss(0.0, 800.0)
            )))
            for t in range(RATE)
        )  # fmt: skip
        blocks.append(struct.pack(f"<{RATE}h", *samples))
    return blocks


def wav_stream(frames: int, seed: int) -> Iterator[bytes]:
    """The canonical WAV of ``frames`` frames, in chunks of at most 16 s: O(1) memory."""
    yield wav_header(FMT, frames)
    blocks = pcm_blocks(seed)
    remaining = frames * FMT.frame_size
    i = 0
    while remaining > 0:
        chunk = b"".join(blocks[(i + k) % len(blocks)] for k in range(BLOCKS_PER_CHUNK))
        chunk = chunk[:remaining]
        yield chunk
        remaining -= len(chunk)
        i += BLOCKS_PER_CHUNK


def store_recording(vault: Vault, frames: int, seed: int) -> tuple[str, str, float]:
    """Seal and register one recording; (recording id, artefact id, seconds to store)."""
    now = datetime.now(UTC)
    started = now - timedelta(milliseconds=frames * 1000 // RATE)
    recording_id = new_id(os.urandom)
    begin = time.perf_counter()
    sealed = vault.seal(recording_id, ArtefactKind.AUDIO, wav_stream(frames, seed), rng=os.urandom)
    duration_ms = frames * 1000 // RATE
    row = NewRecording(
        id=recording_id,
        provider="bench",
        provider_id=f"bench-{recording_id[:8]}",
        started_at=started,
        answered_at=started,
        ended_at=now,
        duration_ms=duration_ms,
        service_number=None,
        caller_display="+4791234***",
        caller_digest=None,
        agent_id=AGENT,
        team_id=None,
        channels=1,
        retention_class="standard",
        expires_at=None,
        created_at=now,
    )
    try:
        with vault.catalog.transaction():
            vault.catalog.insert_recording(row)
            artefact = vault.register(sealed, now=now)
            vault.audit.append(
                AuditEvent(
                    ts=now,
                    actor_id="ingest:bench",
                    actor_role="system",
                    action="recording.capture",
                    outcome="ok",
                    recording_id=recording_id,
                    artefact=ArtefactKind.AUDIO,
                    detail={"source": "bench", "duration_ms": duration_ms, "channels": 1},
                )
            )
            vault.catalog.set_recording_state(recording_id, State.AVAILABLE)
    except BaseException:
        vault.discard(sealed)
        raise
    return recording_id, artefact.id, time.perf_counter() - begin


def one_seek(
    vault: CountingVault, config: Config, recording_id: str, start_ms: int, seek_ms: int
) -> dict[str, Any]:
    """Time one seek to its first PCM byte, then drain it and count segments."""
    principal = principal_for(config, AGENT)
    vault.readers.clear()
    begin = time.perf_counter()
    playback = open_playback(
        vault, config, principal, recording_id,
        purpose="quality", now=datetime.now(UTC), start_ms=start_ms, duration_ms=seek_ms,
    )  # fmt: skip
    opened = time.perf_counter()
    chunks = playback.wav_chunks()
    header = next(chunks)
    first = next(chunks)
    first_byte = time.perf_counter()
    assert len(header) == HEADER_SIZE and first
    size = len(first) + sum(len(c) for c in chunks)
    assert size == playback.frames * FMT.frame_size, size
    header_reader, audio_reader = vault.readers
    return {
        "start_ms": start_ms,
        "ttfb_ms": (first_byte - begin) * 1000,
        "open_ms": (opened - begin) * 1000,
        "first_chunk_ms": (first_byte - opened) * 1000,
        "segments": audio_reader.segments_decrypted,
        "header_segments": header_reader.segments_decrypted,
    }


def full_decrypt(vault: Vault, artefact_id: str) -> tuple[float, int]:
    """Seconds to stream-decrypt the whole artefact (plaintext discarded) and its size."""
    begin = time.perf_counter()
    size = 0
    with vault.open_artefact(artefact_id) as reader:
        for chunk in reader.read_range(0):
            size += len(chunk)
    return time.perf_counter() - begin, size


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure is a measured seek)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def run(hours: float, seeks: int, seek_ms: int, seed: int) -> dict[str, Any]:
    frames = int(hours * 3600 * RATE)
    duration_ms = frames * 1000 // RATE
    config = parse_config(tomllib.loads(ORG_CHART))
    draw = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="callrec-bench-playback-") as tmp:
        vault = open_store(Path(tmp))
        try:
            recording_id, artefact_id, store_s = store_recording(vault, frames, seed)
            ciphertext = vault.catalog.get_artefact(artefact_id).ciphertext_size
            offsets = [draw.randrange(0, max(1, duration_ms - seek_ms)) for _ in range(seeks)]
            results = [one_seek(vault, config, recording_id, at, seek_ms) for at in offsets]
            full_s, plaintext = full_decrypt(vault, artefact_id)
            audited = sum(
                e.event.action == "recording.play" for e in vault.audit.for_recording(recording_id)
            )
        finally:
            vault.close()
    assert plaintext == HEADER_SIZE + frames * FMT.frame_size
    assert audited == seeks
    ttfb = [r["ttfb_ms"] for r in results]
    segments = [r["segments"] for r in results]
    p50 = statistics.median(ttfb)
    return {
        "hours": hours,
        "plaintext_bytes": plaintext,
        "ciphertext_bytes": ciphertext,
        "store_s": store_s,
        "seeks": seeks,
        "seek_ms": seek_ms,
        "ttfb_ms": {"p50": p50, "p95": percentile(ttfb, 0.95), "max": max(ttfb)},
        "open_ms_p50": statistics.median(r["open_ms"] for r in results),
        "first_chunk_ms_p50": statistics.median(r["first_chunk_ms"] for r in results),
        "segments_per_seek": {"min": min(segments), "max": max(segments)},
        "header_segments_per_seek": max(r["header_segments"] for r in results),
        "full_decrypt_s": full_s,
        "full_decrypt_mb_s": plaintext / full_s / 1e6,
        "ratio_full_vs_p50_ttfb": full_s * 1000 / p50,
        "goal_ms": GOAL_MS,
        "goal_segments": GOAL_SEGMENTS,
        "goal_met": percentile(ttfb, 0.95) <= GOAL_MS and max(segments) <= GOAL_SEGMENTS,
        "runs": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=10.0, help="length of the recording")
    parser.add_argument("--seeks", type=int, default=20, help="random seeks to time")
    parser.add_argument("--seek-ms", type=int, default=1000, help="audio requested per seek")
    parser.add_argument("--seed", type=int, default=20261123, help="offsets and noise")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args()
    if args.hours <= 0 or args.seeks < 1 or args.seek_ms < 1:
        parser.error("--hours, --seeks and --seek-ms must be positive")
    r = run(args.hours, args.seeks, args.seek_ms, args.seed)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    t = r["ttfb_ms"]
    print(f"Recording: {r['hours']:g} h of 8 kHz 16-bit mono, "
          f"{r['plaintext_bytes'] / 1e6:.1f} MB PCM, {r['ciphertext_bytes'] / 1e6:.1f} MB sealed, "
          f"stored in {r['store_s']:.1f} s")  # fmt: skip
    print(f"{r['seeks']} seeks of {r['seek_ms']} ms at random offsets (open_playback, audit "
          "committed, first PCM chunk of wav_chunks):")  # fmt: skip
    print(f"   time to first audio byte   p50 {t['p50']:7.2f} ms   p95 {t['p95']:7.2f} ms   "
          f"max {t['max']:7.2f} ms")  # fmt: skip
    print(f"     .. open_playback p50 {r['open_ms_p50']:.2f} ms, first chunk p50 "
          f"{r['first_chunk_ms_p50']:.2f} ms")  # fmt: skip
    s = r["segments_per_seek"]
    print(f"   segments decrypted / seek  {s['min']}..{s['max']} for the audio "
          f"(+{r['header_segments_per_seek']} for the header read in open_playback)")  # fmt: skip
    print(f"Full decrypt (read_range(0), streamed): {r['full_decrypt_s'] * 1000:.0f} ms "
          f"({r['full_decrypt_mb_s']:.0f} MB/s)")  # fmt: skip
    print(f"Ratio full decrypt / p50 time to first byte: {r['ratio_full_vs_p50_ttfb']:.0f}x")
    verdict = "met" if r["goal_met"] else "NOT met"
    print(f"Goal p95 <= {GOAL_MS:.0f} ms and <= {GOAL_SEGMENTS} segments per seek: {verdict}")


if __name__ == "__main__":
    main()
