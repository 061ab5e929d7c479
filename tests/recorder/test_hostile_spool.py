"""Hostile surroundings (H1): symlinks and non-regular files in a spool, its rejected/ folder
and the data dir. Nothing outside is read, written or deleted; every item is rejected with a
reason or reported, none is skipped for ever.

Every case plants the real thing (symlinks to the keyring, FIFOs, a unix socket, a
directory, a sparse 1.5 GB sidecar) and runs the real spool pass, sweep and vault.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import resource
import socket
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from recorder.capture import Capturer
from recorder.errors import ConfigError
from recorder.ingest.spool import ORPHAN_AGE, run_spool
from recorder.logredact import NumberRedactingFilter
from recorder.retention import default_classes
from recorder.sweep import purge_rejected, sweep
from storage.errors import AuditError, BlobError, NotFoundError
from storage.models import ArtefactKind
from storage.safedir import kind_of
from storage.vault import Vault
from tests.recorder.conftest import canary_pcm, write_wav

Rng = Callable[[int], bytes]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CALLER = "+47 912 34 567"


def clock() -> datetime:
    return NOW


def sidecar(source_id: str, **extra: Any) -> bytes:
    doc = {
        "v": 1,
        "source_id": source_id,
        "caller": CALLER,
        "agent": "anna",
        "started_at": "2026-11-20T09:00:00Z",
        "answered_at": "2026-11-20T09:00:01Z",
        "ended_at": "2026-11-20T09:00:03Z",
    } | extra
    return json.dumps(doc).encode()


@pytest.fixture
def wav(tmp_path: Path) -> bytes:
    return write_wav(tmp_path / "src.wav", canary_pcm(3.0, seed=11)).read_bytes()


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the spool whose files must stay untouched."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def snapshot(*roots: Path) -> dict[str, tuple[bytes, int]]:
    """Content and mtime of every file under ``roots`` (to prove nothing changed)."""
    found = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                found[str(path)] = (path.read_bytes(), path.stat().st_mtime_ns)
    return found


def age(path: Path, delta: timedelta) -> None:
    """Set ``path``'s mtime (not following a symlink) to ``NOW - delta``."""
    at = (NOW - delta).timestamp()
    os.utime(path, (at, at), follow_symlinks=False)


# -- rejected/ -----------------------------------------------------------------------------


@pytest.mark.parametrize("planted", ["x.reason.txt", "x.json.redacted", "x.wav"])
def test_a_symlink_in_rejected_is_replaced_never_written_through(
    spool: Path, vault: Vault, capturer: Capturer, keyring_path: Path, rng: Rng, planted: str
) -> None:
    (spool / "rejected").mkdir()
    (spool / "rejected" / planted).symlink_to(keyring_path)
    before = keyring_path.read_bytes()
    (spool / "x.wav").write_bytes(b"PK\x03\x04 not audio")
    (spool / "x.json").write_bytes(sidecar("pbx-x"))
    report = run_spool(spool, capturer, now=clock, rng=rng)
    assert report.rejected == ["x"]
    assert keyring_path.read_bytes() == before  # the keyring still opens every recording
    written = spool / "rejected" / planted
    assert not written.is_symlink() and written.is_file()
    assert (spool / "rejected" / "x.reason.txt").read_text().startswith("InvalidAudio")


def test_a_symlinked_rejected_folder_refuses_the_spool_and_the_sweep(
    spool: Path, vault: Vault, capturer: Capturer, keyring_path: Path, rng: Rng
) -> None:
    (spool / "rejected").symlink_to(keyring_path.parent, target_is_directory=True)
    age(keyring_path, timedelta(days=3))  # "older than 24 h" for the purge
    before = snapshot(keyring_path.parent)
    (spool / "x.wav").write_bytes(b"not audio")
    (spool / "x.json").write_bytes(sidecar("pbx-x"))
    with pytest.raises(ConfigError, match="rejected/ is a symlink"):
        run_spool(spool, capturer, now=clock, rng=rng)
    with pytest.raises(ConfigError, match="rejected/ is a symlink"):
        sweep(vault, classes=default_classes(), now=NOW, spools=[spool])
    with pytest.raises(ConfigError):
        purge_rejected([spool], now=NOW, keep=timedelta(hours=24))
    assert snapshot(keyring_path.parent) == before  # the keyring was not deleted
    assert sorted(p.name for p in spool.iterdir()) == ["rejected", "x.json", "x.wav"]


def test_purge_removes_links_in_rejected_never_their_targets(
    spool: Path, outside: Path, tmp_path: Path
) -> None:
    victim = outside / "victim.txt"
    victim.write_text("keep me")
    folder = spool / "rejected"
    folder.mkdir()
    (folder / "old.wav").write_bytes(b"old plaintext")
    (folder / "link.wav").symlink_to(victim)
    os.mkfifo(folder / "pipe.wav")
    (folder / "sub").mkdir()
    for entry in folder.iterdir():
        age(entry, timedelta(days=2))
    age(victim, timedelta(days=2))
    assert purge_rejected([spool], now=NOW, keep=timedelta(hours=24)) == 3
    assert victim.read_text() == "keep me"
    assert sorted(p.name for p in folder.iterdir()) == ["sub"]  # a directory is left alone


# -- the spool folder itself -----------------------------------------------------------------


@pytest.mark.parametrize("which", ["audio", "sidecar", "both"])
def test_symlinks_out_of_the_spool_are_never_followed(
    spool: Path, outside: Path, vault: Vault, capturer: Capturer, rng: Rng, wav: bytes,
    which: str,
) -> None:  # fmt: skip
    secret = outside / "secret.wav"
    secret.write_bytes(wav)
    meta = outside / "meta.json"
    meta.write_bytes(sidecar("pbx-secret"))
    before = snapshot(outside)
    if which in ("audio", "both"):
        (spool / "link.wav").symlink_to(secret)
    else:
        (spool / "link.wav").write_bytes(wav)
    if which in ("sidecar", "both"):
        (spool / "link.json").symlink_to(meta)
    else:
        (spool / "link.json").write_bytes(sidecar("pbx-link"))
    report = run_spool(spool, capturer, now=clock, rng=rng)
    assert report.rejected == ["link"] and report.captured == []
    assert vault.catalog.list_recordings() == []  # /elsewhere/secret.wav was not stored
    assert snapshot(outside) == before
    reason = (spool / "rejected" / "link.reason.txt").read_text()
    assert "not a regular file (symlink)" in reason
    assert sorted(p.name for p in spool.iterdir()) == ["rejected"]


def test_fifos_sockets_and_lone_oddities_are_moved_with_a_reason(
    spool: Path, vault: Vault, capturer: Capturer, rng: Rng, tmp_path: Path
) -> None:
    os.mkfifo(spool / "pipe.wav")
    (spool / "pipe.json").write_bytes(sidecar("pbx-pipe"))
    os.mkfifo(spool / "lone.mp3")  # no sidecar: would wait for one for ever
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    os.chdir(spool)  # a unix socket path must be short
    try:
        server.bind("sock.json")
    finally:
        os.chdir(tmp_path)
    (spool / "sock.wav").write_bytes(b"RIFF")
    try:
        report = run_spool(spool, capturer, now=clock, rng=rng)
    finally:
        server.close()
    assert sorted(report.rejected) == ["lone", "pipe", "sock"]
    assert sorted(p.name for p in spool.iterdir()) == ["rejected"]
    rejected = spool / "rejected"
    for name, kind in (("pipe", "fifo"), ("lone", "fifo"), ("sock", "socket")):
        assert f"not a regular file ({kind})" in (rejected / f"{name}.reason.txt").read_text()
    kept = (rejected / "pipe.json.redacted").read_text()  # the sidecar, redacted
    assert "912" not in kept and "[number]" in kept
    assert stat.S_ISFIFO((rejected / "pipe.wav").lstat().st_mode)  # moved, never opened


def test_a_directory_named_like_audio_is_reported_on_every_pass(
    spool: Path, vault: Vault, capturer: Capturer, rng: Rng
) -> None:
    (spool / "odd.wav").mkdir()
    (spool / "odd.json").write_bytes(sidecar("pbx-odd"))
    for _ in range(2):
        report = run_spool(spool, capturer, now=clock, rng=rng)
        assert report.refused == [("odd.wav", "a directory, not a file")]
    assert not (spool / "odd.json").exists()  # its sidecar went to rejected/, redacted
    assert (spool / "rejected" / "odd.json.redacted").is_file()


def test_a_huge_sidecar_is_rejected_unread(
    spool: Path, vault: Vault, capturer: Capturer, rng: Rng, wav: bytes
) -> None:
    big = spool / "big.json"
    with big.open("wb") as out:  # sparse: 1.5 GB on paper, no disk used
        out.write(b'{"v": 1, "caller": "' + CALLER.encode() + b'", "pad": "')
        out.truncate(1_500_000_000)
    (spool / "big.wav").write_bytes(wav)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, only ever grows
    report = run_spool(spool, capturer, now=clock, rng=rng)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
    assert grown < 64 * 1024, f"peak RSS grew {grown} KiB: the sidecar was read"
    assert report.rejected == ["big"]
    rejected = spool / "rejected"
    assert "larger than 64 KiB" in (rejected / "big.reason.txt").read_text()
    kept = (rejected / "big.json.redacted").read_bytes()
    assert len(kept) <= 2 * 64 * 1024 and b"912" not in kept  # only its first 64 KiB, redacted


def test_a_sidecar_whose_audio_never_came_is_rejected_after_an_hour(
    spool: Path, vault: Vault, capturer: Capturer, rng: Rng
) -> None:
    (spool / "young.json").write_bytes(sidecar("pbx-young"))
    (spool / "old.json").write_bytes(sidecar("pbx-old"))
    age(spool / "young.json", ORPHAN_AGE - timedelta(minutes=1))
    age(spool / "old.json", ORPHAN_AGE + timedelta(minutes=1))
    report = run_spool(spool, capturer, now=clock, rng=rng)
    assert report.rejected == ["old"]
    assert sorted(p.name for p in spool.iterdir()) == ["rejected", "young.json"]
    assert "without an audio file" in (spool / "rejected" / "old.reason.txt").read_text()


def test_a_number_in_a_file_name_is_neither_logged_nor_kept(
    spool: Path, vault: Vault, capturer: Capturer, rng: Rng, caplog: pytest.LogCaptureFixture
) -> None:
    (spool / "4791234568-bad.wav").write_bytes(b"not audio")
    (spool / "4791234568-bad.json").write_bytes(sidecar("pbx-bad"))
    caplog.handler.addFilter(NumberRedactingFilter())
    with caplog.at_level(logging.WARNING):
        report = run_spool(spool, capturer, now=clock, rng=rng)
    assert report.rejected == ["4791234568-bad"]
    assert "4791234568" not in caplog.text and "[number]-bad" in caplog.text
    names = [p.name for p in (spool / "rejected").iterdir()]
    digest = hashlib.sha256(b"4791234568-bad").hexdigest()[:16]
    assert sorted(names) == sorted(f"item-{digest}{s}" for s in
                                   (".reason.txt", ".json.redacted", ".wav"))  # fmt: skip


def test_every_kind_of_entry_is_classified() -> None:
    assert [kind_of(m) for m in (stat.S_IFREG, stat.S_IFLNK, stat.S_IFDIR, stat.S_IFIFO,
                                 stat.S_IFSOCK, stat.S_IFCHR, stat.S_IFBLK)] == [
        "regular", "symlink", "directory", "fifo", "socket", "device", "device"
    ]  # fmt: skip


# -- the data dir ---------------------------------------------------------------------------


@pytest.fixture
def stored(vault: Vault, rng: Rng) -> Iterator[str]:
    sealed = vault.seal("a" * 32, ArtefactKind.AUDIO, [b"ciphertext please"], rng=rng)
    yield sealed.artefact_id


def test_a_symlinked_checkpoint_file_is_never_written_through(
    vault: Vault, home: Path, keyring_path: Path
) -> None:
    (home / "audit-checkpoints.jsonl").symlink_to(keyring_path)
    before = keyring_path.read_bytes()
    with pytest.raises(AuditError):
        vault.audit.checkpoint(NOW)
    with pytest.raises(AuditError):
        vault.audit.checkpoints()
    assert keyring_path.read_bytes() == before


def test_symlinked_blobs_and_shards_are_refused(
    vault: Vault, home: Path, outside: Path, stored: str
) -> None:
    shard = home / "blobs" / stored[:2]
    blob = shard / f"{stored}.crx"
    copy = outside / blob.name
    copy.write_bytes(blob.read_bytes())
    blob.unlink()
    blob.symlink_to(copy)  # a blob that is a symlink
    with pytest.raises(BlobError, match="cannot open blob"):
        vault.blobs.open(stored)
    assert not vault.blobs.exists(stored)
    blob.unlink()
    os.mkfifo(blob)  # a blob that is a FIFO: refused, never waited on
    with pytest.raises(BlobError, match="not a regular file"):
        vault.blobs.open(stored)
    blob.unlink()
    shard.rmdir()
    shard.symlink_to(outside, target_is_directory=True)  # a shard that is a symlink
    for call in (vault.blobs.open, vault.blobs.delete, vault.blobs.size):
        with pytest.raises(BlobError, match="not a plain directory"):
            call(stored)
    assert copy.exists()  # nothing outside was deleted
    assert list(vault.blobs.names()) == []
    with pytest.raises(NotFoundError):
        vault.blobs.open("b" * 32)


def test_fsck_reports_odd_entries_and_number_shaped_names_in_the_data_dir(
    vault: Vault, home: Path, keyring_path: Path, stored: str
) -> None:
    from recorder.fsck import fsck

    (home / "blobs" / "link.crx").symlink_to(keyring_path)
    os.mkfifo(home / "pipe")
    (home / "4791234567.wav").write_bytes(b"left here by hand")
    findings = {(f.invariant, f.subject, f.problem) for f in fsck(vault, home=home).findings}
    assert ("I3", "blobs/link.crx", "not a regular file (symlink) in the data dir") in findings
    assert ("I3", "pipe", "not a regular file (fifo) in the data dir") in findings
    assert ("I7", "[name]", "a file name is number-shaped") in findings
    assert not any("4791234567" in str(f) for f in findings)  # findings never name it
