"""P11 - "Personal data is not transferred outside the EU/EEA: processing, including AI, runs
where the operator runs callrec." (postal register)

How these tests prove it
------------------------
The one place callrec opens outbound connections is the worker that downloads a
recording from the telephony provider the operator chose. So we run that worker for real,
configured the way an operator would (the ``[providers]`` table of the TOML file,
credentials in environment variables, the system resolver), against a fake provider on
127.0.0.1 that speaks Twilio's and Telnyx's real APIs over TLS, and we watch the process
at the socket layer: every ``connect``, every ``create_connection`` and every DNS lookup
is recorded by patching the ``socket`` module, and anything not to the provider is
refused and recorded.

Both providers' recordings are fetched, the Twilio caller is looked up, the provider-side
copies are deleted after capture, and a Telnyx storage link pointing elsewhere is
offered. Every connection went to the configured provider hosts and nowhere else; the
only names looked up were those hosts; storing, masking and encrypting made no
connection at all. As a control, the same recorder does see (and stops) a connection to
an address outside the list, so a leak would fail the test.
"""

from __future__ import annotations

import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from recorder.config import parse_config
from recorder.settings import Paths
from recorder.worker import build_worker
from storage.jobs import JobStore, jobs_path
from storage.keyring import FileKeyRing
from storage.vault import Vault
from tests.conftest import NOW
from tests.recorder.conftest import ORG_CHART
from tests.recorder.fake_provider import ACCOUNT, TELNYX_KEY, TOKEN, FakeProvider, fake_provider
from tests.recorder.worker.conftest import payload, telnyx_id, twilio_id, wav
from tests.recorder.worker.netguard import guard

HOSTS = ("api.twilio.test", "api.telnyx.test", "media.telnyx.test")
NAMES = dict.fromkeys(HOSTS, "127.0.0.1")


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[FakeProvider]:
    with fake_provider(tmp_path) as fake:
        yield fake


def _config_text(fake: FakeProvider) -> str:
    return (
        ORG_CHART
        + f"""
[providers]
allowed_hosts = ["media.telnyx.test:{fake.port}"]   # Telnyx's storage host
ca_file = "{fake.ca_file}"
allow_loopback_for_tests = true
delete_after_capture = true
max_attempts = 2

[providers.twilio]
api_base = "https://api.twilio.test:{fake.port}"
account_sid = "{ACCOUNT}"

[providers.telnyx]
api_base = "https://api.telnyx.test:{fake.port}"
"""
    )


def test_the_worker_only_talks_to_the_configured_providers(
    provider: FakeProvider, tmp_path: Path, rng: object
) -> None:
    home, keyring_path = tmp_path / "data", tmp_path / "keys" / "keyring.json"
    keyring = FileKeyRing.create(keyring_path, rng)  # type: ignore[arg-type]
    Vault.open(home, keyring).close()
    config = parse_config(tomllib.loads(_config_text(provider)))
    environ = {"CALLREC_TWILIO_AUTH_TOKEN": TOKEN, "CALLREC_TELNYX_API_KEY": TELNYX_KEY}
    tw, tx, elsewhere = twilio_id(1), telnyx_id(1), telnyx_id(2)
    call = "CA" + "7" * 32
    provider.add(tw, wav(seed=1))
    provider.add(tx, wav(seed=2))
    provider.callers[call] = "+4791234567"
    jobs = JobStore.open(jobs_path(home))
    try:
        jobs.enqueue(provider="twilio", recording_id=tw, now=NOW,
                     payload=payload("twilio", tw, call_id=call, masked_caller=None))  # fmt: skip
        jobs.enqueue(provider="telnyx", recording_id=tx, payload=payload("telnyx", tx), now=NOW)
        with guard({("127.0.0.1", provider.port)}, NAMES) as net:
            worker = build_worker(
                Paths(home=home, keyring=keyring_path),
                config,
                now=lambda: NOW,
                rng=rng,  # type: ignore[arg-type]
                worker_id="p11",
                environ=environ,
            )
            try:
                outcomes = [worker.run_once(), worker.run_once()]
                # a Telnyx storage link to a host the operator never allowed
                provider.add(elsewhere, wav(seed=3))
                provider.media_host = "storage.elsewhere.test"
                jobs.enqueue(provider="telnyx", recording_id=elsewhere,
                             payload=payload("telnyx", elsewhere), now=NOW)  # fmt: skip
                refused = worker.run_once()
            finally:
                worker.close()
        counts = jobs.counts()
    finally:
        jobs.close()
    assert [r.outcome for r in outcomes if r] == ["done", "done"]
    assert refused is not None and refused.outcome == "failed"
    assert counts["done"] == 2 and counts["failed"] == 1
    assert sorted(provider.deleted) == sorted([tw, tx])  # the provider copies are gone
    # every connection went to the provider, and there were some (the test can see them)
    assert net.outside == []
    assert len(net.connects) >= 7  # 2 media, call lookup, 2 Telnyx API, 2 deletes
    assert set(net.lookups) <= set(HOSTS)
    assert "storage.elsewhere.test" not in net.lookups


def test_the_recorder_would_catch_a_leak(provider: FakeProvider) -> None:
    """Control: a connection outside the list is seen (and stopped) at the socket layer."""
    with guard({("127.0.0.1", provider.port)}, NAMES) as net:
        with socket.socket() as sock, pytest.raises(OSError, match="netguard"):
            sock.connect(("10.255.255.1", 443))
        with pytest.raises(OSError, match="netguard"):
            socket.create_connection(("192.0.2.1", 443), timeout=0.1)
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("example.org", 443)
    assert net.outside == [("10.255.255.1", 443), ("192.0.2.1", 443)]
    assert net.lookups == ["example.org"]
