"""P08 - "A data subject may check their own recording (listen to it / receive it)."
(postal register)

How these tests prove it
------------------------
The eight sample calls are captured into a real store. The caller of call-01 (+47 912 34
567) asks for their recordings. Using the ``callrec`` command line as the DPO would:

- ``callrec subject find --number … --as dpo1`` finds exactly that caller's call, whatever
  format the number is typed in, and nobody else's;
- ``callrec subject export … --passphrase-file F --out B`` writes an encrypted bundle;
  ``callrec subject open-bundle B --passphrase-file F --out Z`` (what the caller runs, or
  the DPO's test) turns it into a zip holding the call's audio **byte for byte** as
  recorded (the same WAV the store decrypts, and the phone system's answered audio sample
  for sample), the metadata with the masked number only, and the consultation report
  (dates and purposes of each access, staff identities withheld);
- the bundle never contains the full number; the export is in the audit log;
- an agent asking for the same export is refused (exit 3), and nothing is written.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.promises.conftest import SAMPLE_CALLS, SampleStore, read_wav

NUMBER = "+47 912 34 567"


def _passphrase(tmp_path: Path) -> Path:
    path = tmp_path / "pass.txt"
    path.write_text("a long shared passphrase\n")
    return path


def test_the_dpo_finds_the_callers_recordings(store: SampleStore) -> None:
    for typed in (NUMBER, "+4791234567", "0047 91234567", "912 34 567"):
        result = store.cli("subject", "find", "--number", typed, "--as", "dpo1", "--json")
        assert result.exit_code == 0, result.output
        rows = json.loads(result.stdout)
        assert [store.name_of(r["id"]) for r in rows] == ["call-01"]
        assert rows[0]["caller"] == "+4791234***"


def test_the_caller_receives_their_recording(store: SampleStore, tmp_path: Path) -> None:
    played = store.play("call-01", "anna", tmp_path / "anna.wav")  # one access to report
    assert played.exit_code == 0, played.output
    secret = _passphrase(tmp_path)
    bundle = tmp_path / "subject.bundle"
    result = store.cli(
        "subject",
        "export",
        "--number",
        NUMBER,
        "--as",
        "dpo1",
        "--purpose",
        "dsar",
        "--passphrase-file",
        str(secret),
        "--out",
        str(bundle),
        "--expires",
        "30d",
    )
    assert result.exit_code == 0, result.output
    opened = tmp_path / "subject.zip"
    result = store.cli(
        "subject",
        "open-bundle",
        str(bundle),
        "--passphrase-file",
        str(secret),
        "--out",
        str(opened),
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(opened) as zf:
        names = zf.namelist()
        (wav_name,) = [n for n in names if n.startswith("audio/")]
        wav = zf.read(wav_name)
        meta = json.loads(zf.read("metadata.json"))["recordings"]
        consultations = json.loads(zf.read("consultations.json"))["consultations"]
        everything = b"".join(zf.read(n) for n in names)
    assert wav == store.stored_wav("call-01")
    call = SAMPLE_CALLS["call-01"]
    source = read_wav(call.wav)
    got = read_wav(wav)
    assert got.data == source.slice_ms(
        call.answer_offset_ms, call.answer_offset_ms + call.answered_ms
    )
    assert [(m["recording_id"], m["caller"]) for m in meta] == [
        (store.ids["call-01"], "+4791234***")
    ]
    plays = [c for c in consultations if c["action"] == "recording.play"]
    assert [(c["purpose"], c["role"], "actor" in c) for c in plays] == [("quality", "agent", False)]
    for leak in (b"4791234567", b"91234567", b"anna"):
        assert leak not in everything
        assert leak not in bundle.read_bytes()
    exported = [
        e.event
        for e in store.vault.audit.for_recording(store.ids["call-01"])
        if e.event.action == "subject.export"
    ]
    assert [(e.actor_id, e.purpose, e.outcome) for e in exported] == [("dpo1", "dsar", "allowed")]


def test_an_agent_cannot_export(store: SampleStore, tmp_path: Path) -> None:
    bundle = tmp_path / "x.bundle"
    result = store.cli(
        "subject",
        "export",
        "--number",
        NUMBER,
        "--as",
        "anna",
        "--purpose",
        "dsar",
        "--passphrase-file",
        str(_passphrase(tmp_path)),
        "--out",
        str(bundle),
    )
    assert result.exit_code == 3, result.output
    assert not bundle.exists()


def test_the_consultation_report_withholds_staff(store: SampleStore, tmp_path: Path) -> None:
    assert store.play("call-01", "siri", tmp_path / "s.wav", purpose="dispute").exit_code == 0
    assert store.play("call-01", "carla", tmp_path / "c.wav").exit_code == 3
    result = store.cli("subject", "consultations", "--number", NUMBER, "--as", "dpo1", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["action"], r["purpose"], r["outcome"], r["role"]) for r in rows] == [
        ("recording.play", "dispute", "allowed", "supervisor"),
        ("recording.play", "quality", "denied", "agent"),
    ]
    assert "siri" not in result.stdout and "carla" not in result.stdout
    internal = store.cli(
        "subject", "consultations", "--number", NUMBER, "--as", "dpo1", "--json", "--show-actors"
    )
    assert [r["actor"] for r in json.loads(internal.stdout)] == ["siri", "carla"]
