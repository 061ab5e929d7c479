"""Typed audit events: the documentation cannot drift, and A5 (nothing secret enters the log).

- ``docs/audit-events.md`` is exactly what :func:`recorder.audit_events.render_markdown`
  produces, every action has its documentation, and the literal action strings written by
  ``storage/`` (which cannot import the enum) and by the access paths are all documented;
- A5 (RELIABILITY T-AUD): after listing, number searches, plays, downloads, grants and
  refusals with hostile input, the audit log holds 0 caller numbers (in any rendering),
  0 key material (KEKs, peppers, signing seed, grant keys and tokens, as raw, hex or
  base64), and 0 of the canary text given as input.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from recorder.access import Action, principal_for
from recorder.audit_events import (
    EVENTS,
    AuditAction,
    Outcome,
    for_access,
    record,
    render_markdown,
)
from recorder.config import load_config
from recorder.grants import _INFO, issue_grant
from storage.crypto import derive_mac_key
from storage.keyring import FileKeyRing
from storage.vault import Vault
from tests.conftest import NOW
from tests.invariants import number_renderings
from tests.recorder.access.test_listing import EXTRA_USERS
from tests.recorder.conftest import ORG_CHART, canary_pcm, run, write_wav

ROOT = Path(__file__).resolve().parents[3]
LITERAL_ACTION = re.compile(r"""action=\s*"([a-z_]+(?:\.[a-z_]+)+)\"""")


def test_the_doc_is_generated_from_the_enum() -> None:
    doc = (ROOT / "docs" / "audit-events.md").read_text(encoding="utf-8")
    assert doc == render_markdown(), "run: python -m recorder.audit_events > docs/audit-events.md"
    for action in AuditAction:
        assert f"| `{action.value}` |" in doc


def test_every_action_is_documented_with_outcomes() -> None:
    assert set(EVENTS) == set(AuditAction)
    for action, doc in EVENTS.items():
        assert doc.means.endswith(".") and doc.writer and doc.outcomes, action
        assert set(doc.outcomes) <= set(Outcome)


def test_every_access_action_has_an_audit_action() -> None:
    assert {for_access(a) for a in Action} <= set(AuditAction)


def test_literal_action_strings_in_storage_and_the_access_paths_are_documented() -> None:
    files = [*sorted((ROOT / "storage").glob("*.py"))]
    mine = ("capture.py", "selfcheck.py", "playback.py", "grants.py", "listing.py", "download.py")
    files += [ROOT / "recorder" / name for name in mine]
    files += [ROOT / "recorder" / "cli" / "call_cmds.py"]
    found = {m for f in files for m in LITERAL_ACTION.findall(f.read_text(encoding="utf-8"))}
    assert {"artefact.shred", "keys.rotate.done", "recording.capture"} <= found
    assert found <= {a.value for a in AuditAction}


def test_a5_the_audit_log_holds_no_number_no_key_and_no_input_text(tmp_path: Path) -> None:
    config_path = tmp_path / "callrec.toml"
    config_path.write_text(ORG_CHART + EXTRA_USERS)
    env = {
        "CALLREC_HOME": str(tmp_path / "data"),
        "CALLREC_KEYRING": str(tmp_path / "keys" / "keyring.json"),
        "CALLREC_CONFIG": str(config_path),
    }
    assert run(env, "init").exit_code == 0
    numbers = ["+47 912 34 567", "+46 70 123 45 67", "+358 40 765 4321"]
    canary = "CANARY-5f0c2f7e-audit-text"
    ids = []
    for i, number in enumerate(numbers):
        wav = write_wav(tmp_path / f"c{i}.wav", canary_pcm(1.0, seed=i))
        result = run(env, "ingest", str(wav), "--caller", number, "--agent", "anna",
                     "--started-at", "2026-11-17T10:00:00Z", "--source-id", f"c{i}")  # fmt: skip
        assert result.exit_code == 0, result.output
        ids.append(result.stdout.split()[2])
    out = tmp_path / "o.wav"
    attempts = [
        ("calls", "list", "--as", "siri", "--masked", "+4791234***"),
        ("calls", "list", "--as", "dpo1", "--purpose", "dsar", "--number", numbers[0]),
        ("calls", "list", "--as", "siri", "--purpose", "dsar", "--number", numbers[1]),
        ("calls", "list", "--as", "legal1", "--purpose", "legal", "--number", canary),
        ("play", ids[0], "--as", "anna", "--purpose", "quality", "--out", str(out)),
        ("play", canary, "--as", "anna", "--purpose", "quality"),
        ("play", ids[1], "--as", "carla", "--purpose", "marketing"),
        ("play", ids[1], "--as", "carla", "--purpose", canary),
        ("download", ids[2], "--as", "siri", "--purpose", "dispute", "--out", str(out) + "2"),
        ("download", numbers[2], "--as", "siri", "--purpose", "dispute", "--out", str(out) + "3"),
    ]  # fmt: skip
    for args in attempts:
        run(env, *args)
    keyring = FileKeyRing.load(Path(env["CALLREC_KEYRING"]))
    config = load_config(config_path)
    vault = Vault.open(Path(env["CALLREC_HOME"]), keyring)
    try:
        anna = principal_for(config, "anna")
        tokens = [issue_grant(vault, config, anna, rid, now=NOW, purpose="quality") for rid in ids]
        tokens.append(
            issue_grant(
                vault, config, anna, ids[0], now=NOW, purpose="quality", ttl=timedelta(minutes=1)
            )  # fmt: skip
        )
    finally:
        vault.close()
    secrets = [keyring.kek(1), keyring.pepper(1), keyring.audit_signing_seed()]
    secrets.append(derive_mac_key(keyring.kek(1), info=_INFO))
    needles: list[bytes] = []
    for secret in secrets:
        needles += [secret, secret.hex().encode(), base64.b64encode(secret),
                    base64.urlsafe_b64encode(secret).rstrip(b"=")]  # fmt: skip
    needles += [t.encode() for t in tokens] + [t.split(".")[3].encode() for t in tokens]
    for number in numbers:
        needles += number_renderings(number)
    needles.append(canary.encode())
    conn = sqlite3.connect(Path(env["CALLREC_HOME"]) / "catalog.db")
    rows = conn.execute("SELECT * FROM audit_log").fetchall()
    conn.close()
    dump = json.dumps(rows, ensure_ascii=False).encode("utf-8")
    # captures + every attempt but the malformed purpose (a usage error, refused unaudited)
    assert len(rows) == len(ids) + len(attempts) - 1 + len(tokens)
    hits = [n for n in needles if n in dump]
    assert hits == [], f"{len(hits)} secret or number renderings found in the audit log"


def test_record_refuses_what_the_documentation_does_not_explain(vault: Vault) -> None:
    """The feature modules write through ``record``: an undocumented entry is a bug, not a
    silent row the DPO cannot read."""
    before = vault.audit.verify().size
    with pytest.raises(ValueError, match="undocumented audit action"):
        record(vault.audit, ("sys", "system"), "recording.teleport", now=NOW, outcome="ok")
    with pytest.raises(ValueError, match="undocumented outcome"):
        record(vault.audit, ("sys", "system"), AuditAction.QA_SCORE.value, now=NOW, outcome="x")
    assert vault.audit.verify().size == before
    record(vault.audit, ("qa1", "qa_reviewer"), AuditAction.QA_SCORE.value, now=NOW, outcome="ok")
    assert vault.audit.verify().size == before + 1
