"""Automatic audit checkpoints and the policy ``verify`` enforces (H6, audit tail).

Before issue 13 only ``callrec audit checkpoint``, the demo and selfcheck signed the chain:
a store could hold thousands of entries with no checkpoint, and deleting the checkpoint
rows together with the checkpoint file passed as "0 signed checkpoints".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recorder.retention import default_classes
from recorder.sweep import sweep
from storage.audit_policy import CheckpointPolicy, maybe_checkpoint, tail
from storage.errors import AuditChainBroken
from storage.keyring import FileKeyRing
from storage.models import AuditEvent
from storage.vault import CHECKPOINTS_NAME, DB_NAME, Vault
from tests.recorder.conftest import run

Rng = Callable[[int], bytes]
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SMALL = CheckpointPolicy(every_entries=10, every_seconds=600)


@pytest.fixture
def small_vault(vault: Vault) -> Iterator[Vault]:
    vault.audit.policy = SMALL
    yield vault


def event(i: int) -> AuditEvent:
    return AuditEvent(ts=T0 + timedelta(seconds=i), actor_id="anna", actor_role="agent",
                      action="recording.list", outcome="allowed", detail={"count": i})  # fmt: skip


def test_every_n_entries_a_checkpoint_is_signed_automatically(small_vault: Vault) -> None:
    for i in range(95):
        small_vault.audit.append(event(i))
    size, beyond, last = tail(small_vault.audit)
    assert size == 95 and beyond < SMALL.every_entries
    assert last is not None and last.ts == T0 + timedelta(seconds=89)  # the newest entry's time
    assert len(small_vault.audit.checkpoints()) == 9
    assert small_vault.audit.verify().checkpoints_checked == 9


def test_entries_appended_inside_a_transaction_are_checkpointed_after_its_commit(
    small_vault: Vault,
) -> None:
    with small_vault.catalog.transaction():
        for i in range(25):
            small_vault.audit.append(event(i))
        assert small_vault.audit.checkpoints() == []  # never inside the transaction
    assert tail(small_vault.audit)[1] == 0


def test_every_m_minutes_the_long_running_processes_sign_what_is_new(small_vault: Vault) -> None:
    small_vault.audit.append(event(0))
    first = maybe_checkpoint(small_vault.audit, now=T0)
    assert first is not None  # the first entries are signed at once
    small_vault.audit.append(event(1))
    assert maybe_checkpoint(small_vault.audit, now=T0 + timedelta(seconds=599)) is None
    later = maybe_checkpoint(small_vault.audit, now=T0 + timedelta(seconds=600))
    assert later is not None and later.size == 2
    assert maybe_checkpoint(small_vault.audit, now=T0 + timedelta(hours=5)) is None  # nothing new


def test_the_sweep_signs_its_receipts(small_vault: Vault) -> None:
    small_vault.audit.append(event(0))
    sweep(small_vault, classes=default_classes(), now=T0)
    assert tail(small_vault.audit)[1] == 0


def _delete_checkpoints(home: Path) -> None:
    """What an attacker with write access does: drop the trigger, delete rows and file."""
    conn = sqlite3.connect(home / DB_NAME)
    with conn:
        conn.execute("DROP TRIGGER audit_checkpoint_no_delete")
        conn.execute("DELETE FROM audit_checkpoint")
    conn.close()
    (home / CHECKPOINTS_NAME).unlink()


def test_deleting_every_checkpoint_and_the_file_fails_verify(
    small_vault: Vault, home: Path
) -> None:
    for i in range(60):
        small_vault.audit.append(event(i))
    assert small_vault.audit.verify().checkpoints_checked == 6
    _delete_checkpoints(home)
    with pytest.raises(AuditChainBroken, match="beyond the last signed checkpoint") as caught:
        small_vault.audit.verify()
    assert caught.value.seq == 1


def test_deleting_the_newest_checkpoints_and_a_long_tail_fails_verify(
    small_vault: Vault, home: Path
) -> None:
    for i in range(100):
        small_vault.audit.append(event(i))
    conn = sqlite3.connect(home / DB_NAME)
    with conn:  # roll the witness table back to the first checkpoint ...
        conn.execute("DROP TRIGGER audit_checkpoint_no_delete")
        conn.execute("DELETE FROM audit_checkpoint WHERE n > 1")
    conn.close()
    path = home / CHECKPOINTS_NAME  # ... and the file with it
    path.write_bytes(path.read_bytes().split(b"\n")[0] + b"\n")
    with pytest.raises(AuditChainBroken, match="beyond the last signed checkpoint"):
        small_vault.audit.verify()  # 90 entries beyond it, the policy allows 40


def test_a_young_store_within_the_policy_verifies(small_vault: Vault) -> None:
    for i in range(5):
        small_vault.audit.append(event(i))
    assert small_vault.audit.verify().size == 5


def test_cli_audit_verify_fails_when_checkpoints_were_deleted(
    env: dict[str, str], tmp_path: Path, rng: Rng
) -> None:
    home = Path(env["CALLREC_HOME"])
    assert run(env, "init").exit_code == 0
    vault = Vault.open(home, FileKeyRing.load(Path(env["CALLREC_KEYRING"])))
    try:
        for i in range(4100):  # past the default policy's tolerance (4,000)
            vault.audit.append(event(i))
    finally:
        vault.close()
    assert run(env, "audit", "verify").exit_code == 0  # checkpointed as it grew
    _delete_checkpoints(home)
    result = run(env, "audit", "verify")
    assert result.exit_code == 1
    assert "beyond the last signed checkpoint" in result.output
