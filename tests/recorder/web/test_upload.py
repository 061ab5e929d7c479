"""The generic signed upload: streamed, sealed while it arrives, captured only if genuine."""

from __future__ import annotations

import contextlib
import errno
import os
import random
import struct
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from recorder.capture import Capturer
from recorder.wavfmt import PcmFormat, wav_header
from recorder.web.app import AppDeps
from storage.blobs import FileBlobStore
from storage.fsutil import REAL_OPS, FsOps
from storage.keyring import FileKeyRing
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.invariants import check_invariants, pcm_canaries
from tests.recorder.web.harness import NOW, Web, multipart, running, upload_request

CALLER = "+47 912 34 567"
BOUNDARY = "callrec-7f3a9b"


def pcm(seconds: float, seed: int) -> bytes:
    draw = random.Random(seed)
    count = int(seconds * 8000)
    return struct.pack(f"<{count}h", *(draw.randint(-20000, 20000) for _ in range(count)))


def wav(samples: bytes) -> bytes:
    fmt = PcmFormat(sample_rate=8000, channels=1)
    return wav_header(fmt, len(samples) // fmt.frame_size) + samples


def metadata(source_id: str, **extra: Any) -> dict[str, Any]:
    start = NOW - timedelta(minutes=5)
    return {
        "v": 1,
        "source_id": source_id,
        "caller": CALLER,
        "service_number": "+4722000000",
        "agent": "anna",
        "started_at": start.isoformat(),
        "answered_at": (start + timedelta(seconds=1)).isoformat(),
        "ended_at": (start + timedelta(seconds=5)).isoformat(),
    } | extra


def post(
    web: Web, meta: dict[str, Any] | bytes, audio: bytes, **kw: Any
) -> tuple[int, dict[str, Any]]:
    body = multipart(meta, audio, BOUNDARY)
    headers = upload_request(body, BOUNDARY, **kw)
    reply = web.request("POST", "/hooks/upload", body, headers)
    return reply.status, reply.body


def open_vault(web: Web) -> Vault:
    return Vault.open(web.home, FileKeyRing.load(web.keyring))


def leftovers(web: Web) -> list[Path]:
    blobs = web.home / "blobs"
    return [p for p in blobs.rglob("*") if p.is_file()] if blobs.exists() else []


def test_upload_is_captured_and_acked_after_commit(web: Web) -> None:
    samples = pcm(6.0, seed=1)
    status, body = post(web, metadata("pbx1-100.1"), wav(samples), msg_id="msg_a")
    assert status == 200, body
    assert body["duplicate"] is False and body["duration_ms"] == 4000
    vault = open_vault(web)
    try:
        rec = vault.catalog.get_recording(body["recording_id"])
        assert rec.state is State.AVAILABLE and rec.provider == "upload"
        assert rec.caller_display == "+4791234***"
        assert rec.answered_at == NOW - timedelta(minutes=5, seconds=-1)
        assert rec.ended_at == NOW - timedelta(minutes=5, seconds=-5)
        audio = vault.catalog.artefact_by_kind(rec.id, ArtefactKind.AUDIO)
        assert audio is not None
        with vault.open_artefact(audio.id) as reader:
            stored = b"".join(reader.read_range(0))
        assert stored[44:] == samples[8000 * 2 : 8000 * 2 * 5]  # answer .. hang-up
        # only the one recording's blob is left: the staging blob was discarded
        assert [p.stem for p in leftovers(web)] == [audio.id]
    finally:
        vault.close()
    check_invariants(web.home, web.keyring, canaries=pcm_canaries(samples), numbers=[CALLER])


def test_retried_upload_is_the_same_recording(web: Web) -> None:
    audio = wav(pcm(3.0, seed=2))
    first = post(web, metadata("pbx1-100.2"), audio, msg_id="msg_b")
    again = post(web, metadata("pbx1-100.2"), audio, msg_id="msg_b")
    assert first[0] == again[0] == 200
    assert again[1]["duplicate"] is True
    assert again[1]["recording_id"] == first[1]["recording_id"]
    assert len(leftovers(web)) == 1


def test_bad_signature_stores_nothing(web: Web) -> None:
    samples = pcm(3.0, seed=3)
    body = multipart(metadata("pbx1-100.3"), wav(samples), BOUNDARY)
    headers = upload_request(body, BOUNDARY)
    tampered = body[:-200] + bytes([body[-200] ^ 1]) + body[-199:]
    assert web.request("POST", "/hooks/upload", tampered, headers).status == 401
    wrong_key = upload_request(body, BOUNDARY, secret="whsec_" + "QUJD" * 8)
    assert web.request("POST", "/hooks/upload", body, wrong_key).status == 401
    stale = upload_request(body, BOUNDARY, at=NOW - timedelta(seconds=301))
    assert web.request("POST", "/hooks/upload", body, stale).status == 401
    assert leftovers(web) == []
    check_invariants(web.home, web.keyring, canaries=pcm_canaries(samples), numbers=[CALLER])


def test_bad_audio_or_metadata_is_4xx_and_leaves_nothing(web: Web) -> None:
    good = wav(pcm(2.0, seed=4))
    assert post(web, metadata("pbx1-100.4"), b"%PDF-1.7 not audio" * 100)[0] == 422
    assert post(web, metadata("pbx1-100.5"), b"RIFF\xff\xff\xff\xffWAVE")[0] == 422
    assert post(web, b"{not json", good)[0] == 400
    assert post(web, metadata("../../etc/passwd"), good)[0] == 400
    assert post(web, metadata("pbx1-100.6", v=2), good)[0] == 400
    only_meta = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
        f'{{"v": 1}}\r\n--{BOUNDARY}--\r\n'
    ).encode()
    assert (
        web.request("POST", "/hooks/upload", only_meta, upload_request(only_meta, BOUNDARY)).status
        == 400
    )
    extra_part = multipart(metadata("pbx1-100.7"), good, BOUNDARY).replace(
        b'name="audio"', b'name="payload"'
    )
    assert (
        web.request(
            "POST", "/hooks/upload", extra_part, upload_request(extra_part, BOUNDARY)
        ).status
        == 400
    )
    not_multipart = upload_request(good, BOUNDARY)
    not_multipart[0] = ("Content-Type", "audio/wav")
    assert web.request("POST", "/hooks/upload", good, not_multipart).status == 400
    assert leftovers(web) == []
    vault = open_vault(web)
    try:
        assert vault.catalog.list_recordings() == []
    finally:
        vault.close()


def test_our_binary_signer_matches_the_standardwebhooks_package() -> None:
    from tests.recorder.web.harness import UPLOAD_SECRET, reference_signature, standard_signature

    text = multipart(metadata("pbx1-1"), b"RIFF text-only audio stand-in", BOUNDARY).decode()
    ours = standard_signature(text.encode(), msg_id="msg_x", secret=UPLOAD_SECRET, at=NOW)
    assert ours == reference_signature(text, msg_id="msg_x", secret=UPLOAD_SECRET, at=NOW)


def failing_ops(kind: str, nth: int, code: int) -> FsOps:
    """Real file operations, except the ``nth`` call of ``kind`` fails with ``code``."""
    calls = {"n": 0}
    real = getattr(os, kind)

    def op(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == nth:
            raise OSError(code, os.strerror(code))
        return real(*args)

    return replace(REAL_OPS, **{kind: op})


@pytest.mark.parametrize(
    ("kind", "nth", "code"),
    [  # an upload makes two blobs: staging (3 writes), then the recording's (1 write)
        ("write", 1, errno.ENOSPC),  # staging blob, first write
        ("write", 3, errno.EIO),  # staging blob, last write
        ("fsync", 2, errno.EIO),  # staging blob file
        ("rename", 1, errno.ENOSPC),  # staging blob
        ("write", 4, errno.ENOSPC),  # the recording's blob
        ("fsync", 5, errno.EIO),  # the recording's blob file
        ("rename", 2, errno.EIO),  # the recording's blob
        ("fsync", 6, errno.EIO),  # the recording's directory, after the rename
    ],
)
def test_d4_disk_errors_answer_503_and_leave_nothing(
    tmp_path: Path, kind: str, nth: int, code: int
) -> None:
    """An I/O error at any step of an upload is a 503 (the PBX retries), nothing of the
    call is visible or left on disk, and the retry with a healthy disk stores it once."""
    samples = pcm(6.0, seed=9)
    ops = {"value": failing_ops(kind, nth, code)}

    def wrap(deps: AppDeps) -> AppDeps:
        @contextlib.contextmanager
        def open_vault() -> Iterator[tuple[Vault, Capturer]]:
            with deps.open_vault() as (vault, capturer):
                faulty = Vault(
                    catalog=vault.catalog,
                    blobs=FileBlobStore(web_home / "blobs", ops=ops["value"]),
                    keyring=vault.keyring,
                    audit=vault.audit,
                )
                yield faulty, Capturer(faulty, capturer.config)

        return replace(deps, open_vault=open_vault)

    web_home = tmp_path / "data"
    with running(tmp_path, wrap_deps=wrap) as web:
        status, body = post(web, metadata("pbx1-d4"), wav(samples))
        assert status == 503, body
        assert leftovers(web) == []
        vault = open_vault(web)
        try:
            assert vault.catalog.list_recordings() == []
        finally:
            vault.close()
        ops["value"] = REAL_OPS
        status, body = post(web, metadata("pbx1-d4"), wav(samples))
        assert (status, body["duplicate"]) == (200, False)
        assert len(leftovers(web)) == 1
    check_invariants(web.home, web.keyring, canaries=pcm_canaries(samples), numbers=[CALLER])
