"""P11: Personal data is not transferred outside the EU/EEA: processing, including AI, runs
where the operator runs callrec.

A call is captured into a real store, then ``callrec ai run --pending`` runs in a fresh
process that cannot reach any network: every socket connection, name lookup or datagram is
refused by a Python audit hook (and, where the machine allows it, the process also runs in a
network namespace with no interfaces, ``unshare -n``). Transcription, redaction, topics and
the draft summary all complete, with the model loaded from the local directory and no
``HF_*`` variable set to hold the library back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from recorder.capture import Capturer
from recorder.config import Config
from recorder.ingest.sidecar import parse_sidecar
from storage.models import ArtefactKind, State
from storage.vault import Vault
from tests.recorder.ai.real import AI_SAMPLES, ROOT, SAMPLE_CONFIG

NO_NETWORK = r"""
import sys
NET = ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
       "socket.sendto", "socket.sendmsg", "socket.bind")
def deny(event, args):
    if event in NET:
        print("NETWORK ATTEMPT " + event, file=sys.stderr, flush=True)
        raise OSError("network access denied (P11 test)")
sys.addaudithook(deny)
from recorder.cli import main
sys.argv = ["callrec", *sys.argv[1:]]
main()
"""


def _unshare_works() -> bool:
    try:
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def test_ai_runs_with_networking_denied(
    vault: Vault, org: Config, home: Path, keyring_path: Path, now: datetime,
    rng: Callable[[int], bytes],
) -> None:  # fmt: skip
    event = parse_sidecar((AI_SAMPLES / "ai-03.json").read_bytes(), AI_SAMPLES / "ai-03.wav")
    rid = Capturer(vault, org).capture(event, now=now, rng=rng).recording_id
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE"))}
    env |= {"CALLREC_HOME": str(home), "CALLREC_KEYRING": str(keyring_path),
            "CALLREC_CONFIG": str(SAMPLE_CONFIG), "PYTHONPATH": str(ROOT)}  # fmt: skip
    command = [sys.executable, "-c", NO_NETWORK, "ai", "run", "--pending", "--json"]
    if _unshare_works():
        command = ["unshare", "-n", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert "NETWORK ATTEMPT" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 0, result.stderr[-2000:]
    (outcome,) = json.loads(result.stdout)
    assert outcome["id"] == rid and outcome["done"] and outcome["model"] == "tiny.en"
    live = {a.kind for a in vault.catalog.artefacts_for(rid) if a.state is State.AVAILABLE}
    assert {ArtefactKind.TRANSCRIPT, ArtefactKind.SUMMARY} <= live


def test_the_guard_would_catch_a_connection(tmp_path: Path) -> None:
    """The same guard refuses a real connection attempt, so the test above can fail."""
    probe = NO_NETWORK.split("from recorder.cli")[0] + (
        "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode != 0 and "NETWORK ATTEMPT socket." in result.stderr
