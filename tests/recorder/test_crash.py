"""D1: crash at every named capture step, restart, recover, fsck (RELIABILITY.md T-CRASH).

A forked child runs one spool pass over a few pairs and ``os._exit(137)``\\ s at the k-th
occurrence of one step: a capture step (``Capturer.capture``'s hook), a spool step
(``run_spool``'s hook) or a step inside the durable blob write (``FsOps`` injected into the
child's ``FileBlobStore``). The parent then checks what a restarted process sees *before*
recovery (no partial recording, exactly the committed ones, at most the one expected piece
of debris), recovers the way production does (``fsck --repair``, then the next spool pass
re-delivers what is left) and checks every pair is stored exactly once, decrypts to the
answered part of its audio, and that the invariants hold
(:func:`tests.invariants.check_invariants`).

A SIGKILL variant runs the spool pass in a real subprocess and kills it at a random
moment (after a seeded number of steps plus a seeded sub-3 ms delay).
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
import tomllib
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import pytest

from recorder.capture import Capturer
from recorder.config import Config, parse_config
from recorder.ingest.spool import REJECTED, SpoolReport, run_spool
from recorder.wavfmt import HEADER_SIZE
from storage.blobs import TEMP_PREFIX, FileBlobStore
from storage.fsck import fsck
from storage.fsutil import REAL_OPS, FsOps
from storage.keyring import FileKeyRing
from storage.models import ArtefactKind, State
from storage.vault import BLOBS_DIR, Vault
from tests.invariants import check_invariants, pcm_canaries
from tests.recorder.conftest import ORG_CHART, canary_pcm, write_wav

ROOT = Path(__file__).resolve().parents[2]
CRASH = 137
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CALL_START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
SECONDS = 2.0
RATE = 8000
REPS = 100 if os.environ.get("RUN_EXTENDED") == "1" else 10

CAPTURE_STEPS = (
    "decoded",
    "masked",
    "sealed",
    "tx.begin",
    "recording.inserted",
    "artefact.inserted",
    "audited",
    "available",
    "committed",
)
SPOOL_STEPS = ("spool.captured", "spool.removed")
BLOB_STEPS = (
    "blob.temp_opened",  # right after the O_EXCL temp file is created
    "blob.first_write",  # right after the first write of ciphertext into it
    "blob.file_fsync",  # at fsync(file), before it runs
    "blob.renamed",  # right after rename(temp -> final), before fsync(dir)
    "blob.dir_fsync",  # at fsync(dir), before it runs
)
ALL_STEPS = CAPTURE_STEPS + SPOOL_STEPS + BLOB_STEPS

#: Steps at which the k-th call is already committed when the process dies.
COMMITTED_AT = frozenset({"committed", "spool.captured", "spool.removed"})
#: Steps after which the k-th pair is still in the spool although committed (re-delivered).
REDELIVERED_AT = frozenset({"committed", "spool.captured"})
_ORPHAN, _TEMP = "orphan blob", "temp file left"
#: The one piece of debris fsck (no repair) must find right after a crash at each step.
DEBRIS: dict[str, str | None] = {
    "decoded": None,
    "masked": None,
    "sealed": _ORPHAN,
    "tx.begin": _ORPHAN,
    "recording.inserted": _ORPHAN,
    "artefact.inserted": _ORPHAN,
    "audited": _ORPHAN,
    "available": _ORPHAN,
    "committed": None,
    "spool.captured": None,
    "spool.removed": None,
    "blob.temp_opened": _TEMP,
    "blob.first_write": _TEMP,
    "blob.file_fsync": _TEMP,
    "blob.renamed": _ORPHAN,
    "blob.dir_fsync": _ORPHAN,
}

#: Callers on the sidecars: Nordic numbers in several formats, and withheld ones.
CALLERS: tuple[str | None, ...] = (
    "+47 912 34 567",
    "0046 70 123 45 67",
    "+358 (0)40 765 4321",
    "tel:+45-20-12-34-56",
    "+3546111234",
    "anonymous",
    None,
)
CANARY_NUMBERS = [c for c in CALLERS if c is not None and c[-1].isdigit()]

Hook = Callable[[str], None]


def org_chart() -> Config:
    return parse_config(tomllib.loads(ORG_CHART))


@dataclass(frozen=True, slots=True, kw_only=True)
class Pair:
    """One spool pair as written by the PBX, and what capture must keep of it."""

    name: str
    source_id: str
    caller: str | None
    pcm: bytes
    channels: int
    answer_ms: int
    end_ms: int | None

    def expected(self) -> bytes:
        """The answered part of the audio: what the stored recording must decrypt to."""
        per_ms = RATE // 1000 * 2 * self.channels
        end = len(self.pcm) if self.end_ms is None else self.end_ms * per_ms
        return self.pcm[self.answer_ms * per_ms : end]


def make_pairs(rnd: random.Random, count: int) -> list[Pair]:
    pairs = []
    for i in range(count):
        channels = rnd.choice((1, 1, 2))
        pairs.append(
            Pair(
                name=f"call-{i:02d}",
                source_id=f"pbx1-x{rnd.randrange(16**8):08x}.{i}",  # not number-shaped
                caller=rnd.choice(CALLERS),
                pcm=canary_pcm(SECONDS, channels=channels, seed=rnd.randrange(1 << 30)),
                channels=channels,
                answer_ms=rnd.choice((0, 250, 500)),
                end_ms=rnd.choice((None, 1750, 2000)),
            )
        )
    return pairs


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_spool(spool: Path, pairs: list[Pair]) -> None:
    """Audio first, sidecar last (as the PBX does); sidecar mtimes fix the pass order."""
    spool.mkdir(parents=True, exist_ok=True)
    for i, pair in enumerate(pairs):
        write_wav(spool / f"{pair.name}.wav", pair.pcm, rate=RATE, channels=pair.channels)
        started = CALL_START + timedelta(minutes=i)
        sidecar = {
            "v": 1,
            "source_id": pair.source_id,
            "caller": pair.caller,
            "service_number": "+47 22 00 00 00",
            "agent": "anna",
            "started_at": _iso(started),
            "answered_at": _iso(started + timedelta(milliseconds=pair.answer_ms)),
            "ended_at": None
            if pair.end_ms is None
            else _iso(started + timedelta(milliseconds=pair.end_ms)),
            "channels": ["agent", "customer"] if pair.channels == 2 else ["mixed"],
            "ai": True,
            "retention_class": None,
            "language": "nb",
        }
        path = spool / f"{pair.name}.json"
        path.write_text(json.dumps(sidecar), encoding="utf-8")
        stamp = 1_700_000_000_000_000_000 + i * 1_000_000
        os.utime(path, ns=(stamp, stamp))


def blob_ops(hit: Hook) -> FsOps:
    """Real file-system calls that report the blob-write steps to ``hit`` (which may exit)."""
    temps: set[int] = set()
    unwritten: set[int] = set()
    renamed = False

    def open_(path: str, flags: int, mode: int) -> int:
        fd = REAL_OPS.open(path, flags, mode)
        if os.path.basename(path).startswith(TEMP_PREFIX):
            temps.add(fd)
            unwritten.add(fd)
            hit("blob.temp_opened")
        return fd

    def write(fd: int, data: bytes) -> int:
        written = REAL_OPS.write(fd, data)
        if fd in unwritten:
            unwritten.discard(fd)
            hit("blob.first_write")
        return written

    def fsync(fd: int) -> None:
        nonlocal renamed
        if fd in temps:
            hit("blob.file_fsync")
        elif renamed:
            renamed = False
            hit("blob.dir_fsync")
        REAL_OPS.fsync(fd)

    def close(fd: int) -> None:
        temps.discard(fd)
        unwritten.discard(fd)
        REAL_OPS.close(fd)

    def rename(src: str, dst: str) -> None:
        nonlocal renamed
        REAL_OPS.rename(src, dst)
        renamed = True
        hit("blob.renamed")

    return FsOps(
        open=open_,
        write=write,
        fsync=fsync,
        close=close,
        rename=rename,
        link=REAL_OPS.link,
        unlink=REAL_OPS.unlink,
    )


def spool_pass(vault: Vault, spool: Path, *, seed: int, step: Hook | None = None) -> SpoolReport:
    return run_spool(
        spool,
        Capturer(vault, org_chart()),
        now=lambda: NOW,
        rng=random.Random(seed).randbytes,
        step=step,
    )


def _child(home: Path, keyring_path: Path, spool: Path, step: str, k: int, seed: int) -> NoReturn:
    """The crashing process: never returns into pytest."""
    code = 1
    try:
        hits = 0

        def crash_at(name: str) -> None:
            nonlocal hits
            if name == step:
                hits += 1
                if hits == k:
                    os._exit(CRASH)

        vault = Vault.open(home, FileKeyRing.load(keyring_path))
        hook: Hook | None = crash_at
        if step in BLOB_STEPS:
            vault.blobs = FileBlobStore(home / BLOBS_DIR, ops=blob_ops(crash_at))
            hook = None
        report = spool_pass(vault, spool, seed=seed, step=hook)
        vault.close()
        code = 3 if report.failed or report.rejected else 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _audio(vault: Vault, recording_id: str) -> bytes:
    artefact = vault.catalog.artefact_by_kind(recording_id, ArtefactKind.AUDIO)
    assert artefact is not None and artefact.state is State.AVAILABLE
    vault.verify_artefact(artefact.id)
    with vault.open_artefact(artefact.id) as reader:
        return reader.read_all()


def assert_complete(vault: Vault, pairs: list[Pair]) -> dict[str, str]:
    """Every visible recording is whole and is one of ``pairs``; returns source id -> id."""
    by_source = {p.source_id: p for p in pairs}
    seen: dict[str, str] = {}
    for rec in vault.catalog.list_recordings():
        assert rec.state is State.AVAILABLE, "a partial recording is visible"
        assert rec.provider == "spool"
        assert rec.provider_id not in seen, "a pair was stored twice"
        pair = by_source[rec.provider_id]
        stored = _audio(vault, rec.id)
        assert stored[HEADER_SIZE:] == pair.expected()
        seen[rec.provider_id] = rec.id
    captures = [e for e in vault.audit.entries() if e.event.action == "recording.capture"]
    assert sorted(e.event.recording_id or "" for e in captures) == sorted(seen.values())
    return seen


def after_crash(home: Path, keyring_path: Path, pairs: list[Pair]) -> tuple[int, list[str]]:
    """What a restarted process sees before recovery: (recordings visible, fsck debris)."""
    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    try:
        visible = assert_complete(vault, pairs)
        report = fsck(vault, repair=False)
    finally:
        vault.close()
    assert all(f.invariant == "I3" for f in report.findings), report.findings
    return len(visible), [f.problem for f in report.findings]


def recover(
    home: Path, keyring_path: Path, spool: Path, pairs: list[Pair], seed: int
) -> SpoolReport:
    """Restart: fsck --repair, then the next spool pass; then everything is stored once."""
    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    try:
        assert fsck(vault, repair=True, now=datetime.now(UTC), grace=timedelta(0)).ok
        report = spool_pass(vault, spool, seed=seed)
        assert report.failed == [] and report.rejected == []
        stored = assert_complete(vault, pairs)
        assert set(stored) == {p.source_id for p in pairs}
    finally:
        vault.close()
    leftovers = sorted(p.name for p in spool.iterdir() if p.name != REJECTED)
    assert leftovers == [], "spool not drained"
    rejected = spool / REJECTED
    assert not rejected.exists() or list(rejected.iterdir()) == []
    check_invariants(
        home,
        keyring_path,
        canaries=[c for p in pairs for c in pcm_canaries(p.pcm)],
        numbers=CANARY_NUMBERS,
    )
    return report


def _fresh(tmp: Path, seed: int) -> tuple[Path, Path, Path]:
    home, keyring_path, spool = tmp / "data", tmp / "keys" / "keyring.json", tmp / "spool"
    FileKeyRing.create(keyring_path, random.Random(seed).randbytes)
    return home, keyring_path, spool


def _plan(step: str) -> list[tuple[int, int]]:
    """(pairs, k) per repetition, seeded per step; the first always crashes on the 1st call."""
    rnd = random.Random(f"D1/{step}")
    plan = [(rnd.randint(1, 3), 1)]
    while len(plan) < REPS:
        count = rnd.randint(1, 4)
        plan.append((count, rnd.randint(1, count)))
    return plan


def test_every_named_step_is_reached_once_per_call(tmp_path: Path) -> None:
    """Guards the crash tests against a renamed or dropped step (they would crash nowhere)."""
    home, keyring_path, spool = _fresh(tmp_path, 1)
    pairs = make_pairs(random.Random(1), 3)
    write_spool(spool, pairs)
    seen: list[str] = []
    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    try:
        vault.blobs = FileBlobStore(home / BLOBS_DIR, ops=blob_ops(seen.append))
        report = spool_pass(vault, spool, seed=2, step=seen.append)
    finally:
        vault.close()
    assert len(report.captured) == 3
    per_call = [
        "decoded",
        "masked",
        *BLOB_STEPS,
        *CAPTURE_STEPS[2:],
        *SPOOL_STEPS,
    ]
    assert seen == per_call * 3
    assert set(DEBRIS) == set(ALL_STEPS)


@pytest.mark.parametrize("step", ALL_STEPS)
def test_crash_at_step_leaves_nothing_partial(tmp_path: Path, step: str) -> None:
    for rep, (count, k) in enumerate(_plan(step)):
        tmp = tmp_path / f"rep{rep}"
        home, keyring_path, spool = _fresh(tmp, rep)
        pairs = make_pairs(random.Random(f"{step}/{rep}"), count)
        write_spool(spool, pairs)

        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            _child(home, keyring_path, spool, step, k, seed=1000 + rep)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status), f"rep {rep}: child died abnormally ({status})"
        assert os.WEXITSTATUS(status) == CRASH, f"rep {rep}: step {step} #{k} never reached"

        committed = k if step in COMMITTED_AT else k - 1
        visible, debris = after_crash(home, keyring_path, pairs)
        assert visible == committed, f"rep {rep}: {visible} visible, {committed} committed"
        expected = DEBRIS[step]
        assert debris == ([] if expected is None else [expected]), f"rep {rep}"

        report = recover(home, keyring_path, spool, pairs, seed=2000 + rep)
        assert len(report.captured) == count - committed
        assert report.duplicates == (1 if step in REDELIVERED_AT else 0)


# -- a real SIGKILL at a random moment ---------------------------------------------------


def kill_child_main() -> None:
    """Entry point of the SIGKILL subprocess: one spool pass, printing each step."""
    home, keyring_path, spool = (Path(a) for a in sys.argv[1:4])
    seed = int(sys.argv[4])

    def announce(name: str) -> None:
        sys.stdout.write(name + "\n")
        sys.stdout.flush()

    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    announce("ready")
    report = spool_pass(vault, spool, seed=seed, step=announce)
    vault.close()
    sys.exit(3 if report.failed or report.rejected else 0)


KILL_RUNS = 12 if os.environ.get("RUN_EXTENDED") == "1" else 4
KILL_PAIRS = 6
STEPS_PER_PAIR = len(CAPTURE_STEPS) + len(SPOOL_STEPS)


def _kill_at_random(cmd: list[str], rnd: random.Random, errors: Path) -> int:
    """Run ``cmd``; SIGKILL it a seeded moment into its spool pass; return its exit code."""
    target = 1 + rnd.randint(1, (KILL_PAIRS - 1) * STEPS_PER_PAIR)  # "ready" + N steps
    delay = rnd.uniform(0, 0.003)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with errors.open("wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, cwd=ROOT, env=env)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + 60
    lines = 0
    try:
        while lines < target:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "child made no progress within 60 s"
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                break  # the child exited before the chosen moment
            lines += chunk.count(b"\n")
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_sigkill_at_random_moments_recovers(tmp_path: Path) -> None:
    rnd = random.Random(20261123)
    killed = 0
    for run in range(KILL_RUNS):
        tmp = tmp_path / f"run{run}"
        home, keyring_path, spool = _fresh(tmp, run)
        pairs = make_pairs(rnd, KILL_PAIRS)
        write_spool(spool, pairs)
        cmd = [
            sys.executable,
            "-c",
            "from tests.recorder.test_crash import kill_child_main; kill_child_main()",
            str(home),
            str(keyring_path),
            str(spool),
            str(3000 + run),
        ]
        code = _kill_at_random(cmd, rnd, tmp / "child.err")
        assert code in (-signal.SIGKILL, 0), (tmp / "child.err").read_text()
        killed += code == -signal.SIGKILL

        visible, debris = after_crash(home, keyring_path, pairs)
        assert len(debris) <= 1, debris  # at most the one capture in flight
        report = recover(home, keyring_path, spool, pairs, seed=4000 + run)
        assert len(report.captured) == KILL_PAIRS - visible
        assert report.duplicates <= 1
    assert killed >= 1, "no run was killed mid-pass"
