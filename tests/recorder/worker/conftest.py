"""Fixtures for the worker tests: the fake provider, settings pointing at it, a job store,
a controllable clock and a factory of workers over the real store."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from recorder.audio import AudioLimits
from recorder.capture import Capturer
from recorder.config import Config
from recorder.fetch import Fetcher, ProviderMedia
from recorder.models import MaskedNumber
from recorder.providers import Endpoint, FetchSettings, TelnyxAccess, TwilioAccess
from recorder.wavfmt import PcmFormat, wav_header
from recorder.worker import Worker, WorkerParts
from storage.blobs import FileBlobStore
from storage.fsutil import REAL_OPS, FsOps
from storage.jobs import JobStore, jobs_path
from storage.keyring import FileKeyRing
from storage.vault import Vault
from tests.conftest import NOW
from tests.recorder.conftest import canary_pcm
from tests.recorder.fake_provider import ACCOUNT, TELNYX_KEY, TOKEN, FakeProvider, fake_provider

CALLER = "+47 912 34 567"
MASKED = {"display": "+4791234***", "digest": "ab" * 32, "pepper_version": 1}


def resolver(host: str, port: int) -> list[str]:
    """The test DNS: every fake provider name is 127.0.0.1 (the fake server)."""
    if host in ("api.twilio.test", "api.telnyx.test", "media.telnyx.test", "localhost"):
        return ["127.0.0.1"]
    raise AssertionError(f"unexpected resolution of {host}")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = NOW) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.at += timedelta(seconds=seconds)


def wav(seconds: float = 2.0, seed: int = 7) -> bytes:
    """A canonical 8 kHz mono 16-bit WAV of seeded noise."""
    pcm = canary_pcm(seconds, seed=seed)
    return wav_header(PcmFormat(sample_rate=8000, channels=1), len(pcm) // 2) + pcm


def twilio_id(n: int) -> str:
    """A valid, distinct Twilio recording SID."""
    return "RE" + f"{n:032x}"


def telnyx_id(n: int) -> str:
    """A valid, distinct Telnyx recording UUID."""
    return str(uuid.UUID(int=n + 1))


def payload(provider: str, rid: str, *, call_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A version-1 job payload as the web adapters write it."""
    body: dict[str, Any] = {
        "v": 1,
        "provider": provider,
        "recording_id": rid,
        "call_id": call_id or ("CA" + "0" * 32 if provider == "twilio" else "leg-1"),
        "account_id": ACCOUNT if provider == "twilio" else None,
        "started_at": "2026-11-23T11:00:00+00:00",
        "answered_at": "2026-11-23T11:00:00+00:00",
        "ended_at": "2026-11-23T11:00:02+00:00",
        "duration_s": 2,
        "channels": 1,
        "masked_caller": MASKED,
        "service_number": "+4722000000",
        "agent_id": "anna",
        "media_formats": ["wav"],
    }
    body.update(extra)
    return body


def make_settings(fake: FakeProvider, **overrides: Any) -> FetchSettings:
    """Settings pointing at the fake provider (loopback allowed explicitly)."""
    settings = FetchSettings(
        twilio=TwilioAccess(
            base=Endpoint("api.twilio.test", fake.port),
            account_sid=ACCOUNT,
            username=ACCOUNT,
            password=TOKEN,
        ),
        telnyx=TelnyxAccess(base=Endpoint("api.telnyx.test", fake.port), api_key=TELNYX_KEY),
        extra_hosts=frozenset({Endpoint("media.telnyx.test", fake.port)}),
        ca_file=fake.ca_file,
        connect_timeout=2.0,
        read_timeout=2.0,
        max_attempts=4,
        backoff_seconds=1.0,
        backoff_max_seconds=8.0,
        lease_seconds=60.0,
        allow_loopback_for_tests=True,
    )
    return replace(settings, **overrides)


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[FakeProvider]:
    """A running fake provider."""
    with fake_provider(tmp_path) as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    """The worker's clock."""
    return Clock()


@pytest.fixture
def jobs(home: Path, vault: Vault) -> Iterator[JobStore]:
    """The job store next to the real store (``vault`` creates the keyring)."""
    store = JobStore.open(jobs_path(home))
    try:
        yield store
    finally:
        store.close()


@dataclass
class Workers:
    """Builds workers over the store at ``home`` with the fake provider."""

    home: Path
    keyring_path: Path
    config: Config
    fake: FakeProvider
    clock: Clock
    rng: Callable[[int], bytes]

    def __call__(
        self,
        worker_id: str = "w1",
        *,
        ops: FsOps = REAL_OPS,
        settings: FetchSettings | None = None,
        media: Callable[[Fetcher], ProviderMedia] = ProviderMedia,
        clock: Clock | None = None,
        step: Callable[[str], None] | None = None,
    ) -> Worker:
        settings = settings or make_settings(self.fake)
        limits = AudioLimits(
            max_bytes=settings.max_bytes, max_seconds=settings.max_duration_seconds
        )

        def open_parts() -> WorkerParts:
            keyring = FileKeyRing.load(self.keyring_path)
            vault = Vault.open(self.home, keyring)
            if ops is not REAL_OPS:
                vault = Vault(
                    catalog=vault.catalog,
                    blobs=FileBlobStore(self.home / "blobs", ops=ops),
                    keyring=vault.keyring,
                    audit=vault.audit,
                )
            return WorkerParts(
                jobs=JobStore.open(jobs_path(self.home)),
                capturer=Capturer(vault, self.config, limits=limits),
            )

        return Worker(
            open_parts=open_parts,
            settings=settings,
            media=media(Fetcher(settings, resolver=resolver)),
            now=clock or self.clock,
            rng=self.rng,
            worker_id=worker_id,
            step=step,
        )


@pytest.fixture
def workers(
    home: Path,
    keyring_path: Path,
    vault: Vault,
    config: Config,
    provider: FakeProvider,
    clock: Clock,
    rng: Callable[[int], bytes],
) -> Workers:
    """A worker factory (the ``vault`` fixture has created the keyring and the store)."""
    return Workers(home, keyring_path, config, provider, clock, rng)


__all__ = ["CALLER", "MASKED", "MaskedNumber"]
