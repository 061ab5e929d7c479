"""Benchmark provider media fetch and the worker's job path.

Usage: ``python bench/fetch.py [--mb 16] [--jobs 20] [--json]``

What is measured, in one run on one machine, against the fake provider of the tests
(HTTPS on 127.0.0.1 with a ``trustme`` CA):

* fetch: ``ProviderMedia.download`` of a ``--mb`` MiB WAV (policy checks, pinning, TLS,
  size cap, into an anonymous memfd), best of 3. Baseline: a bare ``http.client``
  HTTPS GET of the same URL into a ``bytearray`` (no checks), best of 3;
* job: ``Worker.run_once`` over ``--jobs`` queued 60 s calls (lease, fetch, decode,
  seal, catalog, audit, complete). Baseline: ``Capturer.capture`` of the same audio
  from a local file (the spool path), per call.

Reports MB/s, calls/s and the ratios (goal: fetch ≥ 0.5 of the bare GET). Always exits
0: this reports, CI does not time anything.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import ssl
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recorder.capture import Capturer  # noqa: E402
from recorder.config import EMPTY  # noqa: E402
from recorder.fetch import Fetcher, MediaFile, ProviderMedia  # noqa: E402
from recorder.models import CallEvent, MaskedNumber  # noqa: E402
from recorder.wavfmt import PcmFormat, wav_header  # noqa: E402
from recorder.worker import Worker, WorkerParts  # noqa: E402
from storage.jobs import JobStore, jobs_path  # noqa: E402
from storage.keyring import FileKeyRing  # noqa: E402
from storage.vault import Vault  # noqa: E402
from tests.recorder.fake_provider import ACCOUNT, TOKEN, fake_provider  # noqa: E402
from tests.recorder.worker.conftest import make_settings, payload, resolver  # noqa: E402

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _wav(seconds: float, seed: int) -> bytes:
    rnd = random.Random(seed)
    pcm = rnd.randbytes(int(seconds * 8000) * 2)
    return wav_header(PcmFormat(sample_rate=8000, channels=1), len(pcm) // 2) + pcm


def _best(fn: Any, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, fake_provider(Path(tmp)) as fake:
        tmp_path = Path(tmp)
        big = "RE" + "b" * 32
        audio = _wav(args.mb * 1024 * 1024 / 16000, seed=1)
        fake.add(big, audio)
        settings = make_settings(fake)
        media = ProviderMedia(Fetcher(settings, resolver=resolver))

        def ours() -> None:
            with MediaFile() as sink:
                media.download("twilio", big, sink, formats=["wav"])

        context = ssl.create_default_context(cafile=str(fake.ca_file))
        path = f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{big}.wav"
        import base64

        auth = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()

        def bare() -> None:
            conn = http.client.HTTPSConnection("localhost", fake.port, context=context)
            conn.request("GET", path, headers={"Authorization": auth})
            body = bytearray()
            response = conn.getresponse()
            while chunk := response.read1(65536):
                body += chunk
            conn.close()

        fetch_s, bare_s = _best(ours), _best(bare)

        # the job path
        home, keyring_path = tmp_path / "data", tmp_path / "keys" / "keyring.json"
        keyring = FileKeyRing.create(keyring_path, random.Random(2).randbytes)
        Vault.open(home, keyring).close()
        jobs = JobStore.open(jobs_path(home))
        for n in range(args.jobs):
            rid = "RE" + f"{n:032x}"
            fake.add(rid, _wav(60, seed=100 + n))
            jobs.enqueue(provider="twilio", recording_id=rid, payload=payload("twilio", rid),
                         now=NOW)  # fmt: skip

        def parts() -> WorkerParts:
            vault = Vault.open(home, FileKeyRing.load(keyring_path))
            return WorkerParts(jobs=JobStore.open(jobs_path(home)), capturer=Capturer(vault, EMPTY))

        worker = Worker(open_parts=parts, settings=settings, media=media, now=lambda: NOW,
                        rng=random.Random(3).randbytes, worker_id="bench")  # fmt: skip
        start = time.perf_counter()
        while worker.run_once() is not None:
            pass
        job_s = (time.perf_counter() - start) / args.jobs
        worker.close()
        jobs.close()

        local = tmp_path / "local.wav"
        local.write_bytes(_wav(60, seed=7))
        vault = Vault.open(home, FileKeyRing.load(keyring_path))
        capturer = Capturer(vault, EMPTY)
        rng = random.Random(4).randbytes
        start = time.perf_counter()
        for n in range(args.jobs):
            capturer.capture(
                CallEvent(source="bench", source_id=f"b{n}", audio_path=local, caller=None,
                          masked_caller=MaskedNumber(display="withheld", digest=None),
                          service_number=None, agent_id=None, started_at=NOW,
                          answered_at=NOW, ended_at=None),
                now=NOW, rng=rng,
            )  # fmt: skip
        capture_s = (time.perf_counter() - start) / args.jobs
        vault.close()

    mb = len(audio) / 1e6
    report = {
        "fetch_mb_s": round(mb / fetch_s, 1),
        "bare_get_mb_s": round(mb / bare_s, 1),
        "fetch_ratio": round(bare_s / fetch_s, 2),
        "job_calls_s": round(1 / job_s, 1),
        "local_capture_calls_s": round(1 / capture_s, 1),
        "job_ratio": round(capture_s / job_s, 2),
    }
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
