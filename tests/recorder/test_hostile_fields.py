"""Hostile metadata on the spool and CLI paths (H4, H5) and the two shared rules behind
every path: the bounded JSON reader and the number-shape rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from recorder.capture import Capturer
from recorder.ingest.spool import run_spool
from storage import safejson
from storage.errors import MalformedJson
from storage.numbershape import number_shaped
from storage.vault import Vault
from tests.recorder.conftest import canary_pcm, run, write_wav

Rng = Callable[[int], bytes]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

#: JSON bombs, shared by the spool, upload and Telnyx tests.
BOMBS = {
    "30,000 nested [": b"[" * 30_000,
    "30,000 nested {": b'{"a":' * 6_000 + b"1" + b"}" * 6_000,
    "5,000-digit integer": b'{"v": 1, "n": ' + b"7" * 5_000 + b"}",
    "huge exponent": b'{"v": 1e99999}',
    "NaN": b'{"v": NaN}',
    "not UTF-8": b'{"v": "\xff"}',
    "lone surrogate": b'{"v": "\xed\xa0\x80"}',
    "UTF-16": '{"v": 1}'.encode("utf-16"),
}


def sidecar(source_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "source_id": source_id,
        "caller": "+47 912 34 567",
        "agent": "anna",
        "started_at": "2026-11-20T09:00:00Z",
    } | extra


@pytest.fixture
def wav(tmp_path: Path) -> bytes:
    return write_wav(tmp_path / "src.wav", canary_pcm(2.0, seed=4)).read_bytes()


def put(spool: Path, name: str, doc: dict[str, Any] | bytes, wav: bytes) -> None:
    (spool / f"{name}.wav").write_bytes(wav)
    (spool / f"{name}.json").write_bytes(
        doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    )


def test_json_bombs_in_sidecars_are_rejected_not_retried_for_ever(
    spool: Path, wav: bytes, capturer: Capturer, rng: Rng
) -> None:
    for i, doc in enumerate(BOMBS.values()):
        put(spool, f"bomb-{i}", doc, wav)
    first = run_spool(spool, capturer, now=lambda: NOW, rng=rng)
    assert sorted(first.rejected) == sorted(f"bomb-{i}" for i in range(len(BOMBS)))
    assert first.failed == []
    for i in range(len(BOMBS)):
        reason = (spool / "rejected" / f"bomb-{i}.reason.txt").read_text()
        assert reason.startswith("InvalidEvent: sidecar: malformed")
    second = run_spool(spool, capturer, now=lambda: NOW, rng=rng)
    assert (second.rejected, second.failed) == ([], [])


@pytest.mark.parametrize(
    ("field", "value"),
    [("source_id", "4791234567"), ("source_id", "pbx.4791234567"), ("agent", "47-91-23-45-67"),
     ("participants", ["91234567"]), ("language", "91234567")],
)  # fmt: skip
def test_a_number_in_a_spool_field_rejects_the_pair(
    spool: Path, wav: bytes, capturer: Capturer, vault: Vault, rng: Rng, field: str, value: Any
) -> None:
    put(spool, "x", sidecar("pbx-x") | {field: value}, wav)
    report = run_spool(spool, capturer, now=lambda: NOW, rng=rng)
    assert report.rejected == ["x"]
    reason = (spool / "rejected" / "x.reason.txt").read_text()
    assert reason.startswith(f"InvalidEvent: {field}") and "4791" not in reason
    assert vault.catalog.list_recordings() == []


@pytest.mark.parametrize("caller", ["sip:" + "9" * 80 + "@pbx", 4791234567, None, "anonymous"])
def test_an_unusable_spool_caller_is_withheld_and_the_call_kept(
    spool: Path, wav: bytes, capturer: Capturer, vault: Vault, rng: Rng, caller: Any
) -> None:
    put(spool, "c", sidecar("pbx-c", caller=caller), wav)
    report = run_spool(spool, capturer, now=lambda: NOW, rng=rng)
    assert [c.caller_display for c in report.captured] == ["withheld"]


@pytest.mark.parametrize(
    ("option", "value"),
    [("--source-id", "4791234567"), ("--source-id", "call-4791234567"), ("--agent", "4791234567")],
)
def test_cli_ingest_refuses_a_number_in_an_id(
    env: dict[str, str], tmp_path: Path, option: str, value: str
) -> None:
    assert run(env, "init").exit_code == 0
    wav_file = write_wav(tmp_path / "call.wav", canary_pcm(2.0, seed=6))
    args = ["ingest", str(wav_file), "--agent", "anna", option, value]
    result = run(env, *args)
    assert result.exit_code == 1, result.output
    assert "looks like a phone number" in result.output and value not in result.output


def test_cli_ingest_withholds_a_long_caller(env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, "init").exit_code == 0
    wav_file = write_wav(tmp_path / "call.wav", canary_pcm(2.0, seed=6))
    result = run(env, "ingest", str(wav_file), "--agent", "anna", "--caller", "9" * 70)
    assert result.exit_code == 0 and "caller withheld" in result.output


# -- the shared rules ---------------------------------------------------------------------

SHAPED = [
    "4791234567", "+47 912 34 567", "0047-912-34-567", "(0)8-123 456 78", "tel:+4791234567",
    "pbx-4791234567", "4791234568-bad", "rec_91234567", "x.4791234567.y", "a1 91234567",
    "id5-4791234567", "１２３４５６７８９", "%2B4791234567", "1700000000.42",
]  # fmt: skip
NOT_SHAPED = [
    "anna", "pbx1-5f1e0c2a9b", "RE0123456789abcdef0123456789abcdef",
    "00000000-0000-0000-0000-000000000007", "3f2a9b1c-1234-5678-9012-def012345678",
    "sha256-1234567890abcdef", "+4791234***", "2026-11-23T12:00:00Z",
    "regulated_5y keeps until 2031-03-01", "seq 123456", "v3:leg-7c1d9e0a-b2f3-4d5e",
]  # fmt: skip


@pytest.mark.parametrize("text", SHAPED)
def test_number_shaped_values(text: str) -> None:
    assert number_shaped(text)


@pytest.mark.parametrize("text", NOT_SHAPED)
def test_ids_dates_and_masked_displays_are_not_number_shaped(text: str) -> None:
    assert not number_shaped(text)


@pytest.mark.parametrize("raw", [*BOMBS.values(), b"1" * 70_000, "[1]".encode("utf-32")])
def test_the_bounded_reader_refuses_every_bomb(raw: bytes) -> None:
    with pytest.raises(MalformedJson):
        safejson.loads(raw)


def test_the_bounded_reader_is_linear_on_unterminated_strings() -> None:
    # quadratic in a naive "skip the strings" scan: 20,000 escaped quotes, never closed
    with pytest.raises(MalformedJson, match="not valid JSON"):
        safejson.loads(b'"' + b'\\"' * 20_000)


def test_the_bounded_reader_reads_ordinary_documents() -> None:
    doc = {"v": 1, "a": [1, 2.5, None, True, "[[[{"], "deep": [[[[[[[[[[1]]]]]]]]]]}
    assert safejson.loads(json.dumps(doc).encode()) == doc
    assert safejson.loads("[" * 32 + "]" * 32) == safejson.loads(b"[" * 32 + b"]" * 32)


def test_fsck_scans_every_text_column_and_the_job_queue(
    capturer: Capturer, vault: Vault, home: Path, spool: Path, wav: bytes, rng: Rng
) -> None:
    import sqlite3

    from recorder.fsck import fsck
    from storage.jobs import JobStore, jobs_path

    put(spool, "ok", sidecar("pbx-ok"), wav)
    run_spool(spool, capturer, now=lambda: NOW, rng=rng)
    assert [f for f in fsck(vault, home=home).findings if f.invariant == "I7"] == []
    conn = sqlite3.connect(home / "catalog.db")
    with conn:  # numbers planted behind callrec's back, in columns it never checked before
        conn.execute("UPDATE recordings SET provider_id = 'x-4791234567', "
                     "ai_language = '91234567'")  # fmt: skip
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET reason = 'call +47 912 34 567' WHERE seq = 1")
    conn.close()
    store = JobStore.open(jobs_path(home))
    try:
        store.enqueue(provider="twilio", recording_id="RE" + "a" * 32, now=NOW,
                      payload={"v": 1, "note": "fine"})  # fmt: skip
    finally:
        store.close()
    conn = sqlite3.connect(jobs_path(home))
    with conn:
        conn.execute('UPDATE jobs SET payload = \'{"v": 1, "note": "4791234567"}\'')
    conn.close()
    subjects = {f.subject for f in fsck(vault, home=home).findings if f.invariant == "I7"}
    assert {s.split("/")[0] for s in subjects} == {
        "recordings.provider_id", "recordings.ai_language", "audit_log.reason", "job",
    }  # fmt: skip
