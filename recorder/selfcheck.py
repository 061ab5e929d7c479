"""The storage self-check: seal, store, reopen, verify, seek, tamper, scan, shred.

It runs against the configured data dir and keyring (not a scratch copy), so it proves the
real installation works: the pragmas are in force, the keyring opens, a sealed recording
round-trips, a seek decrypts only the segments it needs, a flipped bit is refused, no
plaintext reached the disk, and a shredded key leaves no residue in the database files.
It leaves an audited, destroyed ``selfcheck`` recording behind, which is honest: the
check is itself an access to the store.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from recorder.errors import SelfCheckFailed
from storage.errors import GoneError, IntegrityError
from storage.models import ArtefactKind, AuditEvent, NewRecording, Rng, State
from storage.vault import Vault, new_id

SAMPLE_RATE = 8000
SECONDS = 30
SCAN_PROBES = 8
PROBE_SIZE = 48


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One self-check step and what it showed."""

    name: str
    ok: bool
    detail: str


def synthetic_pcm(seconds: int, rng: Rng) -> bytes:
    """16-bit mono PCM at 8 kHz: a 440 Hz tone with low random noise (no speech, no PII)."""
    noise = rng(seconds * SAMPLE_RATE)
    samples = (
        int(8000 * math.sin(2 * math.pi * 440 * i / SAMPLE_RATE)) + noise[i] - 128
        for i in range(seconds * SAMPLE_RATE)
    )
    return struct.pack(f"<{seconds * SAMPLE_RATE}h", *samples)


def _files(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        if path.is_file():
            yield path


def _occurrences(root: Path, needles: list[bytes]) -> int:
    hits = 0
    for path in _files(root):
        data = path.read_bytes()
        hits += sum(data.count(n) for n in needles)
    return hits


def run_selfcheck(
    vault: Vault,
    home: Path,
    *,
    now: datetime,
    rng: Rng,
    on_step: Callable[[Step], None] | None = None,
) -> list[Step]:
    """Run every step; raise :class:`SelfCheckFailed` at the first failure."""
    steps: list[Step] = []

    def record(name: str, ok: bool, detail: str) -> None:
        step = Step(name=name, ok=ok, detail=detail)
        steps.append(step)
        if on_step is not None:
            on_step(step)
        if not ok:
            raise SelfCheckFailed(f"self-check step failed: {name}: {detail}")

    vault.catalog.assert_pragmas()  # raises PragmaError if any is not in force
    record("catalog pragmas", True, "WAL, synchronous=FULL, secure_delete=ON, foreign_keys=ON")

    recording_id = new_id(rng)
    plaintext = synthetic_pcm(SECONDS, rng)
    with vault.catalog.transaction():
        vault.catalog.insert_recording(
            NewRecording(
                id=recording_id,
                provider="selfcheck",
                provider_id=recording_id,
                started_at=now,
                answered_at=now,
                ended_at=now + timedelta(seconds=SECONDS),
                duration_ms=SECONDS * 1000,
                service_number=None,
                caller_display="withheld",
                caller_digest=None,
                agent_id=None,
                team_id=None,
                channels=1,
                retention_class="buffer_24h",
                expires_at=now + timedelta(hours=24),
                created_at=now,
            )
        )
        artefact = vault.store_artefact(
            recording_id, ArtefactKind.SELFCHECK, io.BytesIO(plaintext), now=now, rng=rng
        )
        vault.catalog.set_recording_state(recording_id, State.AVAILABLE)
        vault.audit.append(
            AuditEvent(
                ts=now,
                actor_id="system",
                actor_role="system",
                action="selfcheck.store",
                outcome="ok",
                recording_id=recording_id,
                artefact=ArtefactKind.SELFCHECK,
            )
        )
    record(
        "seal and store",
        artefact.ciphertext_size > artefact.plaintext_size,
        f"{artefact.plaintext_size:,} bytes of 8 kHz PCM sealed into "
        f"{artefact.ciphertext_size:,} bytes",
    )

    vault.verify_artefact(artefact.id)
    record("reopen and verify", True, "every segment authenticated; SHA-256 matches capture")

    start = (SECONDS // 2) * SAMPLE_RATE * 2 + 1234
    length = SAMPLE_RATE * 2
    with vault.open_artefact(artefact.id) as reader:
        piece = b"".join(reader.read_range(start, length))
        used = reader.segments_decrypted
    record(
        "seek one second",
        piece == plaintext[start : start + length] and used <= 2,
        f"{used} segment(s) decrypted for a 1 s range in the middle",
    )

    with vault.blobs.open(artefact.id) as blob:
        sealed = bytearray(blob.read())
    sealed[len(sealed) // 2] ^= 0x01
    try:
        with vault.open_artefact(artefact.id, ciphertext=io.BytesIO(bytes(sealed))) as reader:
            b"".join(reader.read_range(0))
        refused = False
    except IntegrityError:
        refused = True
    record("tamper refused", refused, "one flipped bit -> opaque integrity error")

    probes = [
        plaintext[o : o + PROBE_SIZE]
        for o in (
            int.from_bytes(rng(4), "big") % (len(plaintext) - PROBE_SIZE)
            for _ in range(SCAN_PROBES)
        )
    ]
    hits = _occurrences(home, probes)
    record("no plaintext at rest", hits == 0, f"{SCAN_PROBES} probes, {hits} hits under {home}")

    wrapped = vault.catalog.get_wrapped_key(artefact.id).wrapped
    vault.shred_artefact(artefact.id, now=now, reason="selfcheck")
    vault.catalog.set_recording_state(recording_id, State.DESTROYED)
    try:
        with vault.open_artefact(artefact.id):
            pass
        gone = False
    except GoneError:
        gone = True
    residue = _occurrences(home, [wrapped])
    record(
        "crypto-shred",
        gone and residue == 0,
        f"key destroyed, reads answer 'gone', {residue} copies of the wrapped key on disk",
    )

    report = vault.audit.verify()
    vault.audit.checkpoint(now)
    record("audit chain", True, f"{report.size} entries verify; signed checkpoint written")
    return steps
