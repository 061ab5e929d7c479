"""R3: the sweeper killed at random points converges on the next run, exactly once.

A forked child opens the store as a fresh process would and runs the sweep with a step
hook that calls ``os._exit`` at the k-th step: between pages, between a commit and the
blob deletions, and *inside* the shredding transaction (nothing is rolled back politely;
SQLite recovers from the WAL on the next open). Kills repeat at random points until a
pass completes; then every due, unblocked artefact is destroyed with exactly one receipt,
held and MIN rows are intact, the audit chain verifies and ``check_invariants`` holds.
"""

from __future__ import annotations

import multiprocessing
import os
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from recorder.retention import default_classes
from recorder.sweep import sweep
from storage.errors import GoneError
from storage.keyring import FileKeyRing
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.invariants import check_invariants
from tests.recorder.retention.helpers import add_call

C = default_classes()
KILLED = 17


def _child(home: Path, keyring_path: Path, at: datetime, kill_at: int) -> None:
    calls = 0

    def step(name: str) -> None:
        nonlocal calls
        calls += 1
        if calls == kill_at:
            os._exit(KILLED)

    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    sweep(vault, classes=C, now=at, batch=3, step=step)
    vault.close()
    os._exit(0)


def _run_killed(home: Path, keyring_path: Path, at: datetime, kill_at: int) -> int:
    ctx = multiprocessing.get_context("fork")
    proc = ctx.Process(target=_child, args=(home, keyring_path, at, kill_at))
    proc.start()
    proc.join(60)
    assert proc.exitcode is not None, "sweeper child hung"
    return proc.exitcode


def test_sweeper_killed_at_random_points_converges(
    home: Path, keyring_path: Path, now: datetime, rng: Callable[[int], bytes]
) -> None:
    vault = Vault.open(home, FileKeyRing.create(keyring_path, rng))
    due: list[str] = []
    kept: list[str] = []
    with vault.catalog.transaction():
        for i in range(24):
            derived = [(ArtefactKind.TRANSCRIPT, C["ai_30d"])] if i % 2 else []
            due.append(add_call(vault, start=now, cls=C["ai_30d"], rng=rng, derived=derived))
        for _ in range(4):
            kept.append(add_call(vault, start=now, cls=C["regulated_5y"], rng=rng))
        for _ in range(4):
            rid = add_call(vault, start=now, cls=C["buffer_24h"], rng=rng)
            vault.catalog.set_recording_flags(rid, legal_hold=True)
            kept.append(rid)
    doomed = {a.id for r in due for a in vault.catalog.artefacts_for(r)}
    vault.close()

    at = now + timedelta(days=31)
    pick = random.Random(8)
    kills = 0
    for _ in range(60):
        code = _run_killed(home, keyring_path, at, pick.randint(1, 25))
        assert code in (0, KILLED)
        if code == 0:
            break
        kills += 1
    assert kills >= 3, "the random kill points should have interrupted several passes"

    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    try:
        final = sweep(vault, classes=C, now=at)  # a clean run after the last pass
        assert final.recordings_destroyed == 0 and final.artefacts_destroyed == 0
        assert {vault.catalog.get_recording(r).state for r in due} == {State.DESTROYED}
        for rid in kept:
            assert vault.catalog.get_recording(rid).state is State.AVAILABLE
            for art in vault.catalog.artefacts_for(rid):
                vault.verify_artefact(art.id)
        for art_id in doomed:
            try:
                vault.catalog.get_wrapped_key(art_id)
                raise AssertionError("a due artefact kept its key")
            except GoneError:
                pass
            assert not vault.blobs.exists(art_id)
        receipts = Counter(
            e.event.artefact
            for e in vault.audit.entries()
            if e.event.action == "artefact.shred" and e.event.recording_id in set(due)
        )
        assert sum(receipts.values()) == len(doomed)  # exactly one receipt per artefact
        destroyed = [e for e in vault.audit.entries() if e.event.action == "recording.destroy"]
        assert len(destroyed) == len(due) == len({e.event.recording_id for e in destroyed})
        vault.audit.verify()
    finally:
        vault.close()
    check_invariants(home, keyring_path, canaries=[], numbers=[])
