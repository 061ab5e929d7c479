"""Export bundles (P08): complete, byte-identical, masked, verified before release, expiring."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from recorder import bundle
from recorder.access import Principal, principal_for
from recorder.errors import AccessDenied, BundleError, BundleExpired
from recorder.playback import open_playback
from recorder.subject_export import export
from storage.blobs import FileBlobStore
from storage.models import ArtefactKind
from tests.invariants import check_invariants
from tests.recorder.subject.conftest import PASS, SUBJECT, SUBJECT_LEAKS, Subject


def _export(
    s: Subject,
    out: Path,
    now: datetime,
    rng: Callable[[int], bytes],
    *,
    who: Principal | None = None,
    purpose: str = "dsar",
    lock: bundle.Lock = PASS,
    days: int = 30,
) -> None:
    export(
        s.vault,
        s.config,
        who or s.dpo,
        SUBJECT,
        out,
        purpose=purpose,
        lock=lock,
        expires_at=now + timedelta(days=days),
        now=now,
        rng=rng,
    )


def _open(
    path: Path, tmp_path: Path, now: datetime, unlock: bundle.Unlock = PASS
) -> zipfile.ZipFile:
    out = tmp_path / "opened.zip"
    out.unlink(missing_ok=True)
    bundle.open_bundle(path, out, unlock=unlock, now=now)
    return zipfile.ZipFile(io.BytesIO(out.read_bytes()))


def _plain(s: Subject, artefact_id: str) -> bytes:
    with s.vault.open_artefact(artefact_id) as reader:
        return reader.read_all()


def _blob(s: Subject, recording_id: str) -> Path:
    blobs = s.vault.blobs
    assert isinstance(blobs, FileBlobStore)
    return blobs.path(s.artefacts(recording_id)[ArtefactKind.AUDIO])


def test_export_is_complete_byte_identical_and_masked(
    subject: Subject,
    tmp_path: Path,
    now: datetime,
    rng: Callable[[int], bytes],
    home: Path,
    keyring_path: Path,
) -> None:
    s = subject
    # some accesses for the consultation report: an allowed play and a refused one
    open_playback(
        s.vault, s.config, principal_for(s.config, "anna"), s.mine[0], purpose="quality", now=now
    )
    with pytest.raises(AccessDenied):
        open_playback(
            s.vault,
            s.config,
            principal_for(s.config, "carla"),
            s.mine[0],
            purpose="quality",
            now=now,
        )
    out = tmp_path / "subject.bundle"
    _export(s, out, now, rng)
    raw = out.read_bytes()
    zf = _open(out, tmp_path, now)
    names = zf.namelist()
    wavs = sorted(n for n in names if n.startswith("audio/"))
    assert len(wavs) == len(s.mine) == 3
    expected = sorted(_plain(s, s.artefacts(rid)[ArtefactKind.AUDIO]) for rid in s.mine)
    assert sorted(zf.read(n) for n in wavs) == expected
    assert [n for n in names if n.startswith("transcripts/")] != []
    assert not [n for n in names if n.startswith("summaries/")]  # a draft is not exported
    meta = json.loads(zf.read("metadata.json"))["recordings"]
    assert sorted(r["recording_id"] for r in meta) == sorted(s.mine)
    assert {r["caller"] for r in meta} == {"+4791234***"}
    consultations = json.loads(zf.read("consultations.json"))["consultations"]
    plays = [c for c in consultations if c["action"] == "recording.play"]
    assert [(c["outcome"], c["purpose"], c["role"]) for c in plays] == [
        ("allowed", "quality", "agent"),
        ("denied", "quality", "agent"),
    ]
    everything = raw + b"".join(zf.read(n) for n in names)
    for leak in SUBJECT_LEAKS:
        assert leak.encode() not in everything
    for person in ("anna", "carla", "dpo1"):  # employee identities withheld
        assert person.encode() not in zf.read("consultations.json") + zf.read("metadata.json")
    # I7 leak scan over the store, the bundle and the opened zip (the audio is in the zip
    # on purpose, so no PCM canaries here)
    check_invariants(
        home,
        keyring_path,
        canaries=[],
        numbers=[SUBJECT],
        extra_files=[out, tmp_path / "opened.zip"],
    )
    exported = [e for e in s.vault.audit.entries() if e.event.action.startswith("subject.export")]
    assert [e.event.outcome for e in exported] == ["allowed"] * 3 + ["ok"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
def test_damaged_audio_means_no_bundle_at_all(
    subject: Subject, tmp_path: Path, now: datetime, rng: Callable[[int], bytes], damage: str
) -> None:
    s = subject
    blob = _blob(s, s.mine[2])
    data = blob.read_bytes()
    if damage == "truncate":
        blob.write_bytes(data[: len(data) - 100])
    elif damage == "flip":
        blob.write_bytes(data[:200] + bytes([data[200] ^ 1]) + data[201:])
    else:
        blob.unlink()
    out = tmp_path / "subject.bundle"
    with pytest.raises(BundleError, match="no bundle written"):
        _export(s, out, now, rng)
    assert sorted(p.name for p in tmp_path.iterdir() if "bundle" in p.name) == []
    (last,) = list(s.vault.audit.entries(s.vault.audit.head()[0]))
    assert (last.event.action, last.event.outcome) == ("subject.export.bundle", "error")


def test_expired_bundle_is_refused(
    subject: Subject, tmp_path: Path, now: datetime, rng: Callable[[int], bytes]
) -> None:
    out = tmp_path / "subject.bundle"
    _export(subject, out, now, rng, days=7)
    _open(out, tmp_path, now + timedelta(days=6, hours=23))
    with pytest.raises(BundleExpired):
        _open(out, tmp_path, now + timedelta(days=7))
    # moving the expiry in the (public) header breaks authentication
    raw = out.read_bytes()
    expiry = (now + timedelta(days=7)).isoformat().encode()
    later = (now + timedelta(days=70)).isoformat().encode()
    assert raw.count(expiry) == 1 and len(later) == len(expiry)
    out.write_bytes(raw.replace(expiry, later))
    with pytest.raises(BundleError, match="wrong passphrase or key"):
        _open(out, tmp_path, now + timedelta(days=8))


def test_wrong_passphrase_or_key_is_refused(
    subject: Subject, tmp_path: Path, now: datetime, rng: Callable[[int], bytes]
) -> None:
    out = tmp_path / "subject.bundle"
    _export(subject, out, now, rng)
    with pytest.raises(BundleError, match="wrong passphrase"):
        _open(out, tmp_path, now, bundle.Passphrase(secret=b"correct horse battery!"))
    assert not (tmp_path / "opened.zip").exists()
    bundle.write_keypair(tmp_path / "a.key", tmp_path / "a.pub", rng=rng)
    bundle.write_keypair(tmp_path / "b.key", tmp_path / "b.pub", rng=rng)
    sealed = tmp_path / "recipient.bundle"
    _export(subject, sealed, now, rng, lock=bundle.read_recipient(tmp_path / "a.pub"))
    zf = _open(sealed, tmp_path, now, bundle.read_identity(tmp_path / "a.key"))
    assert len([n for n in zf.namelist() if n.startswith("audio/")]) == 3
    with pytest.raises(BundleError):
        _open(sealed, tmp_path, now, bundle.read_identity(tmp_path / "b.key"))
    with pytest.raises(BundleError, match="locked to a recipient key"):
        _open(sealed, tmp_path, now, PASS)


def test_truncated_bundle_is_refused(
    subject: Subject, tmp_path: Path, now: datetime, rng: Callable[[int], bytes]
) -> None:
    out = tmp_path / "subject.bundle"
    _export(subject, out, now, rng)
    out.write_bytes(out.read_bytes()[:-1])
    with pytest.raises(BundleError, match="truncated"):
        _open(out, tmp_path, now)
    assert not (tmp_path / "opened.zip").exists()


def test_only_dpo_and_legal_export(
    subject: Subject, tmp_path: Path, now: datetime, rng: Callable[[int], bytes]
) -> None:
    s = subject
    for user, purpose in (
        ("anna", "dsar"),
        ("siri", "dsar"),
        ("admin1", "dsar"),
        ("dpo1", "legal"),
        ("lawyer1", "dsar"),
        ("dpo1", "quality"),
    ):
        with pytest.raises(AccessDenied):
            _export(
                s,
                tmp_path / "x.bundle",
                now,
                rng,
                who=principal_for(s.config, user),
                purpose=purpose,
            )
        assert not (tmp_path / "x.bundle").exists()
    _export(s, tmp_path / "legal.bundle", now, rng, who=s.legal, purpose="legal")
    assert (tmp_path / "legal.bundle").exists()
