"""P09 - "A data subject may request rectification, completion, erasure, transfer and
restriction." (postal register, bank)

How these tests prove it
------------------------
On the eight sample calls in a real store, the DPO (dpo1) acts on requests with the
``callrec subject`` commands:

- **rectification / completion**: ``subject rectify ID --agent … --service-number …``
  corrects the metadata (the team at call time follows the agent); the change is logged
  with old and new value and audited; the audio is not touched (same SHA-256);
- **erasure**: ``subject erase --number …`` crypto-shreds the caller's recording (it can no
  longer be played, its key is gone), gives a receipt, and a second request gives the same
  receipt; for call-06, kept five years by law (``regulated_5y``), the erasure is refused
  with the reason and recorded as pending;
- **transfer** (portability): ``subject export`` writes the machine-readable bundle (WAV +
  JSON; see P08 for its contents);
- **restriction**: ``subject restrict`` stops the agent from playing the call; ``subject
  unrestrict`` lifts it; both audited with the reason.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from storage import subjects
from storage.models import ArtefactKind, State
from tests.promises.conftest import SampleStore


def test_rectification_is_recorded_and_audio_is_immutable(store: SampleStore) -> None:
    rid = store.ids["call-02"]  # bjorn's call, before his move
    audio = store.vault.catalog.artefact_by_kind(rid, ArtefactKind.AUDIO)
    assert audio is not None
    result = store.cli(
        "subject",
        "rectify",
        rid,
        "--agent",
        "dag",
        "--service-number",
        "+47 23 00 00 01",
        "--as",
        "dpo1",
    )
    assert result.exit_code == 0, result.output
    row = store.recording("call-02")
    assert (row.agent_id, row.team_id, row.service_number) == (
        "dag",
        "stockholm-1",
        "+47 23 00 00 01",
    )
    assert [r.field for r in subjects.rectifications(store.vault.catalog, rid)] == [
        "agent_id",
        "team_id",
        "service_number",
    ]
    assert store.vault.catalog.artefact_by_kind(rid, ArtefactKind.AUDIO) == audio
    store.vault.verify_artefact(audio.id)
    denied = store.cli("subject", "rectify", rid, "--agent", "anna", "--as", "siri")
    assert denied.exit_code == 3


def test_erasure_with_receipt_idempotent(store: SampleStore, tmp_path: Path) -> None:
    number = "+4798765432"  # call-02
    first = store.cli("subject", "erase", "--number", number, "--as", "dpo1", "--json")
    assert first.exit_code == 0, first.output
    (row,) = json.loads(first.stdout)
    assert row["status"] == "erased" and row["receipt"]
    assert store.recording("call-02").state is State.DESTROYED
    played = store.play("call-02", "bjorn", tmp_path / "x.wav")
    assert played.exit_code == 3 and not (tmp_path / "x.wav").exists()
    again = store.cli("subject", "erase", "--number", number, "--as", "dpo1", "--json")
    assert json.loads(again.stdout) == [
        {**row, "status": "already_erased", "artefacts_shredded": 0}
    ]


def test_erasure_refused_where_the_law_requires_keeping(store: SampleStore) -> None:
    result = store.cli("subject", "erase", "--number", "934 56 789", "--as", "dpo1", "--json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["status"] == "pending" and "regulated_5y" in row["reason"]
    assert store.recording("call-06").state is State.AVAILABLE
    (pending,) = subjects.pending_erasures(store.vault.catalog)
    assert pending.recording_id == store.ids["call-06"]
    rerun = store.cli("subject", "erase", "--pending", "--as", "dpo1")
    assert rerun.exit_code == 0 and "1 erasure(s) still waiting" in rerun.stdout, rerun.output
    assert store.recording("call-06").state is State.AVAILABLE
    assert store.cli("subject", "erase", "--pending", "--as", "siri").exit_code == 3


def test_transfer_is_a_machine_readable_bundle(store: SampleStore, tmp_path: Path) -> None:
    secret = tmp_path / "pass.txt"
    secret.write_text("portable passphrase")
    out = tmp_path / "portable.bundle"
    result = store.cli(
        "subject",
        "export",
        "--number",
        "+46 70 123 45 67",
        "--as",
        "dpo1",
        "--purpose",
        "dsar",
        "--passphrase-file",
        str(secret),
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    opened = tmp_path / "portable.zip"
    assert (
        store.cli(
            "subject",
            "open-bundle",
            str(out),
            "--passphrase-file",
            str(secret),
            "--out",
            str(opened),
        ).exit_code
        == 0
    )
    with zipfile.ZipFile(opened) as zf:
        meta = json.loads(zf.read("metadata.json"))
        assert [m["recording_id"] for m in meta["recordings"]] == [store.ids["call-03"]]
        assert any(n.endswith(".wav") for n in zf.namelist())


def test_restriction_and_its_lifting(store: SampleStore, tmp_path: Path) -> None:
    number = "+47 912 34 567"  # call-01, anna's
    restricted = store.cli(
        "subject", "restrict", "--number", number, "--as", "dpo1", "--reason", "accuracy contested"
    )
    assert restricted.exit_code == 0, restricted.output
    assert store.play("call-01", "anna", tmp_path / "a.wav").exit_code == 3
    assert store.play("call-01", "siri", tmp_path / "b.wav").exit_code == 3
    lifted = store.cli(
        "subject", "unrestrict", "--number", number, "--as", "dpo1", "--reason", "resolved"
    )
    assert lifted.exit_code == 0, lifted.output
    assert store.play("call-01", "anna", tmp_path / "c.wav").exit_code == 0
    actions = [
        (e.event.action, e.event.reason)
        for e in store.vault.audit.for_recording(store.ids["call-01"])
        if e.event.action.startswith("subject.")
    ]
    assert actions == [
        ("subject.restrict", "accuracy contested"),
        ("subject.unrestrict", "resolved"),
    ]
