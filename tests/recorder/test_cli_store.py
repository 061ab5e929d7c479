"""The storage commands as an operator uses them: init, demo, keys, audit, fsck."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from recorder.cli import cli
from storage.keyring import FileKeyRing
from storage.models import ArtefactKind, State
from storage.vault import Vault, new_id
from tests.storage.helpers import add_recording


def run(home: Path, keyring: Path, *args: str) -> Result:
    runner = CliRunner()
    return runner.invoke(
        cli, ["--home", str(home), "--keyring", str(keyring), *args], catch_exceptions=False
    )


@pytest.fixture
def initialised(home: Path, keyring_path: Path) -> tuple[Path, Path]:
    result = run(home, keyring_path, "init")
    assert result.exit_code == 0, result.output
    return home, keyring_path


def test_init_creates_a_private_keyring_outside_the_data_dir(
    initialised: tuple[Path, Path],
) -> None:
    home, keyring = initialised
    assert keyring.is_file()
    assert keyring.stat().st_mode & 0o777 == 0o600
    assert home not in keyring.parents
    assert (home / "catalog.db").is_file()
    again = run(home, keyring, "init")
    assert again.exit_code == 0
    assert "Already initialised" in again.output


def test_default_keyring_lives_beside_not_inside_the_data_dir(tmp_path: Path) -> None:
    env = {"CALLREC_HOME": str(tmp_path / "store")}
    result = CliRunner().invoke(cli, ["init"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    keyrings = list(tmp_path.rglob("keyring.json"))
    assert len(keyrings) == 1
    assert (tmp_path / "store") not in keyrings[0].parents


def test_world_readable_keyring_is_refused(initialised: tuple[Path, Path]) -> None:
    home, keyring = initialised
    keyring.chmod(0o644)
    result = run(home, keyring, "selfcheck")
    assert result.exit_code == 1
    assert "chmod 600" in result.output


def test_missing_keyring_says_how_to_fix_it(home: Path, keyring_path: Path) -> None:
    result = run(home, keyring_path, "fsck")
    assert result.exit_code == 1
    assert "callrec init" in result.output


def test_selfcheck_runs_every_step(home: Path, keyring_path: Path) -> None:
    assert run(home, keyring_path, "init").exit_code == 0
    result = run(home, keyring_path, "selfcheck")
    assert result.exit_code == 0, result.output
    for step in ("seal and store", "seek one second", "tamper refused", "crypto-shred"):
        assert step in result.output
    assert "FAILED" not in result.output
    verify = run(home, keyring_path, "audit", "verify", "--json")
    assert verify.exit_code == 0
    report = json.loads(verify.output)
    assert report["size"] >= 2
    assert report["checkpoints_checked"] >= 1


def test_fsck_finds_and_repairs_orphans(initialised: tuple[Path, Path]) -> None:
    home, keyring = initialised
    assert run(home, keyring, "selfcheck").exit_code == 0
    clean = run(home, keyring, "fsck")
    assert clean.exit_code == 0, clean.output
    orphan = home / "blobs" / "ab" / ("ab" + "0" * 30 + ".crx")
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"leftover ciphertext")
    broken = run(home, keyring, "fsck", "--json")
    assert broken.exit_code == 1
    findings = json.loads(broken.stdout)["findings"]
    assert any(f["invariant"] == "I3" for f in findings)
    fresh = run(home, keyring, "fsck", "--repair")  # default grace: may be a live capture
    assert fresh.exit_code == 1 and orphan.exists()
    assert run(home, keyring, "fsck", "--repair", "--grace", "0").exit_code == 0
    assert run(home, keyring, "fsck").exit_code == 0
    assert not orphan.exists()


def test_audit_verify_detects_an_edit(initialised: tuple[Path, Path]) -> None:
    home, keyring = initialised
    assert run(home, keyring, "selfcheck").exit_code == 0
    conn = sqlite3.connect(home / "catalog.db")
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        conn.execute(f'DROP TRIGGER "{name}"')
    conn.execute("UPDATE audit_log SET actor_id = 'mallory' WHERE seq = 2")
    conn.commit()
    conn.close()
    result = run(home, keyring, "audit", "verify")
    assert result.exit_code == 1
    assert "entry 2" in result.output


def test_keys_rotate_rewraps_everything(
    initialised: tuple[Path, Path], now: datetime, rng: Callable[[int], bytes]
) -> None:
    home, keyring = initialised
    vault = Vault.open(home, FileKeyRing.load(keyring))
    for _ in range(3):
        recording_id = new_id(rng)
        add_recording(vault, recording_id, now)
        vault.store_artefact(
            recording_id, ArtefactKind.AUDIO, io.BytesIO(rng(5000)), now=now, rng=rng
        )
        vault.catalog.set_recording_state(recording_id, State.AVAILABLE)
    vault.close()
    rotated = run(home, keyring, "keys", "rotate")
    assert rotated.exit_code == 0, rotated.output
    assert "KEK version 2" in rotated.output
    status = json.loads(run(home, keyring, "keys", "status", "--json").output)
    assert status["active"] == 2
    assert status["keys"] == {"2": 3}
    assert run(home, keyring, "fsck").exit_code == 0


def test_console_script_is_installed_and_teaches(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("callrec")
    result = subprocess.run(
        [str(exe), "--help"], capture_output=True, text=True, check=True, env=dict(os.environ)
    )
    assert "callrec init" in result.stdout
    assert "--keyring" in result.stdout
