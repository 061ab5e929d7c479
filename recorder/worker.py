"""The worker: lease a job, fetch the provider's media, capture it, record the outcome.

One job: drive one queued webhook delivery to exactly one stored recording, or to a
visible ``failed`` job, and nothing in between (issue 5, RELIABILITY G3/G4/D4).

- **At least once in, exactly once effect.** Jobs are leased with an expiry, so a worker
  that dies mid-job releases it; the next worker starts over. Capture is idempotent on
  (provider, recording id) and a race between two workers ends in one recording (the
  loser's sealed blob is discarded before it was ever visible), so a retry never stores
  a second copy. A job whose recording is already stored completes at once.
- **Outcomes.** ``done``; ``queued`` again with exponential backoff and jitter
  (``backoff_seconds × 2^(attempt-1)``, capped, times a factor in [0.5, 1) drawn from the
  ``rng`` passed in) for transient faults: a retryable :class:`FetchError` (5xx, 429,
  reset, timeout, short body, wrong type) or a storage error (disk full, I/O error); or
  ``failed`` at once for a permanent one (other 4xx, policy refusal, oversize, undecodable
  or over-long audio, malformed payload), and after ``max_attempts`` leases whatever
  the cause, including a worker that died each time.
- **No full number.** The payload carries the caller masked at ingest; for Twilio, whose
  recording callback has no caller, the call is looked up at the provider and the number
  masked in memory at once. ``last_error`` is a short, digit-stripped reason.

Time and randomness come in (``now`` is a clock function, ``rng`` the randomness source);
only the CLI passes the real ones. Connections are opened lazily by the thread that first
runs the worker (SQLite connections belong to their thread).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from recorder.audio import AudioLimits
from recorder.capture import Capturer, Step
from recorder.config import Config
from recorder.errors import ConfigError, FetchError, InvalidAudio, InvalidEvent
from recorder.fetch import Fetcher, MediaFile, ProviderMedia, Resolver, system_resolver
from recorder.masking import mask
from recorder.models import CallEvent, MaskedNumber
from recorder.providers import FetchSettings, fetch_settings
from recorder.settings import Paths
from recorder.timeutil import parse_utc
from storage.audit_policy import maybe_checkpoint
from storage.errors import LeaseLost, StorageError
from storage.jobs import Job, JobStore, jobs_path
from storage.keyring import FileKeyRing
from storage.models import LookupDigest, Rng, State
from storage.vault import Vault

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Outcome = Literal["done", "duplicate", "retry", "failed", "lost"]

_DISPLAY = re.compile(r"\+[0-9]{1,12}\*{3}")
_DIGEST = re.compile(r"[0-9a-f]{32,128}")
_PATTERNS = {
    "twilio": re.compile(r"RE[0-9a-f]{32}"),
    "telnyx": re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
}
#: How often the running worker asks whether an audit checkpoint is due.
CHECKPOINT_CHECK = timedelta(seconds=30)
_AGENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@\-]{0,63}")
_SERVICE = re.compile(r"\+?[0-9]{2,15}")


def _no_step(name: str) -> None:
    """Default step hook: does nothing."""


class _Permanent(Exception):
    """A job that can never succeed: fail it now (message is log-safe)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """What :meth:`Worker.run_once` did with one job."""

    job_id: int
    outcome: Outcome
    recording_id: str | None = None
    error: str | None = None


@dataclass(slots=True)
class WorkerParts:
    """The connections a worker uses; opened on the worker's own thread."""

    jobs: JobStore
    capturer: Capturer

    def close(self) -> None:
        """Close the job store and the vault."""
        try:
            self.jobs.close()
        finally:
            self.capturer.vault.close()


def backoff(settings: FetchSettings, attempt: int, rng: Rng) -> timedelta:
    """Delay before attempt ``attempt + 1``: exponential, capped, with jitter in [0.5, 1)."""
    base = min(settings.backoff_max_seconds, settings.backoff_seconds * 2 ** max(0, attempt - 1))
    jitter = 0.5 + int.from_bytes(rng(4), "big") / 2**33
    return timedelta(seconds=base * jitter)


def _masked(raw: Any) -> MaskedNumber | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise _Permanent("payload masked_caller: not an object")
    display, digest, version = raw.get("display"), raw.get("digest"), raw.get("pepper_version")
    if display == "withheld" and digest is None:
        return MaskedNumber(display="withheld", digest=None)
    if not isinstance(display, str) or not _DISPLAY.fullmatch(display):
        raise _Permanent("payload masked_caller.display: not a masked number")
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise _Permanent("payload masked_caller.digest: malformed")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _Permanent("payload masked_caller.pepper_version: malformed")
    return MaskedNumber(display=display, digest=LookupDigest(pepper_version=version, digest=digest))


def _time(payload: Mapping[str, Any], key: str) -> datetime | None:
    value = payload.get(key)
    if value is None:
        return None
    try:
        return parse_utc(value, f"payload {key}", InvalidEvent)
    except InvalidEvent as exc:
        raise _Permanent(str(exc)) from None


def _text(payload: Mapping[str, Any], key: str, pattern: re.Pattern[str]) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _Permanent(f"payload {key}: malformed")
    return value


class Worker:
    """Processes jobs one at a time; several workers may share one store (G4)."""

    def __init__(
        self,
        *,
        open_parts: Callable[[], WorkerParts],
        settings: FetchSettings,
        media: ProviderMedia,
        now: Clock,
        rng: Rng,
        worker_id: str,
        default_region: str = "NO",
        step: Step | None = None,
    ) -> None:
        """``step`` is called with each named point of a job (the crash tests' hook):
        ``worker.leased``, ``worker.fetched``, the capture steps, ``worker.completed``."""
        self._open_parts = open_parts
        self._step: Step = step or _no_step
        self._parts: WorkerParts | None = None
        self.settings = settings
        self.media = media
        self._now = now
        self._rng = rng
        self.worker_id = worker_id
        self._region = default_region
        self._checked = datetime.min.replace(tzinfo=UTC)  # last checkpoint check

    @property
    def parts(self) -> WorkerParts:
        """The open connections (opened on first use, on the calling thread)."""
        if self._parts is None:
            self._parts = self._open_parts()
        return self._parts

    def close(self) -> None:
        """Close the connections, if open."""
        parts, self._parts = self._parts, None
        if parts is not None:
            parts.close()

    # -- one job ------------------------------------------------------------------------

    def run_once(self) -> Result | None:
        """Lease and process one due job; None when nothing is due."""
        jobs = self.parts.jobs
        lease_for = timedelta(seconds=self.settings.lease_seconds)
        job = jobs.lease(worker=self.worker_id, now=self._now(), lease_for=lease_for)
        if job is None:
            return None
        self._step("worker.leased")
        try:
            if job.attempts > self.settings.max_attempts:
                raise _Permanent(f"gave up after {job.attempts - 1} attempts (worker lost each)")
            if job.payload_error is not None:
                raise _Permanent(job.payload_error)
            recording_id, duplicate = self._process(job)
        except LeaseLost:
            log.warning("job %d: lease lost to another worker", job.id)
            return Result(job_id=job.id, outcome="lost")
        except _Permanent as exc:
            return self._fail(job, str(exc))
        except FetchError as exc:
            if not exc.retryable:
                return self._fail(job, str(exc))
            return self._retry(job, str(exc))
        except (InvalidAudio, InvalidEvent, ConfigError) as exc:
            return self._fail(job, str(exc))
        except StorageError as exc:  # disk full, I/O error, busy database: transient
            return self._retry(job, f"storage: {type(exc).__name__}: {exc}")
        except OSError as exc:  # the in-memory media file (memory limits): transient
            return self._retry(job, f"local I/O: {exc.strerror or type(exc).__name__}")
        except Exception as exc:  # noqa: BLE001 - a bug on one job must not kill the worker
            log.error("job %d: unexpected %s", job.id, type(exc).__name__)
            return self._retry(job, f"unexpected {type(exc).__name__}")
        try:
            jobs.complete(job.id, worker=self.worker_id, now=self._now())
        except LeaseLost:
            log.warning("job %d: lease lost after capture (the recording is stored)", job.id)
            return Result(job_id=job.id, outcome="lost", recording_id=recording_id)
        self._step("worker.completed")
        outcome: Outcome = "duplicate" if duplicate else "done"
        return Result(job_id=job.id, outcome=outcome, recording_id=recording_id)

    def _retry(self, job: Job, error: str) -> Result:
        if job.attempts >= self.settings.max_attempts:
            return self._fail(job, f"gave up after {job.attempts} attempts: {error}")
        now = self._now()
        at = now + backoff(self.settings, job.attempts, self._rng)
        log.info("job %d: attempt %d failed, retrying: %s", job.id, job.attempts, error)
        try:
            self.parts.jobs.retry(job.id, worker=self.worker_id, now=now, error=error, at=at)
        except LeaseLost:
            return Result(job_id=job.id, outcome="lost", error=error)
        return Result(job_id=job.id, outcome="retry", error=error)

    def _fail(self, job: Job, error: str) -> Result:
        log.warning("job %d failed: %s", job.id, error)
        try:
            self.parts.jobs.fail(job.id, worker=self.worker_id, now=self._now(), error=error)
        except LeaseLost:
            return Result(job_id=job.id, outcome="lost", error=error)
        return Result(job_id=job.id, outcome="failed", error=error)

    def _process(self, job: Job) -> tuple[str, bool]:
        payload = job.payload
        provider = job.provider
        pattern = _PATTERNS.get(provider)
        if pattern is None or not pattern.fullmatch(job.recording_id):
            raise _Permanent("job provider or recording id not recognised")
        if (
            payload.get("provider", provider) != provider
            or payload.get("recording_id", job.recording_id) != job.recording_id
        ):
            raise _Permanent("payload does not match its job")
        capturer = self.parts.capturer
        found = capturer.vault.catalog.find_recording(provider, job.recording_id)
        if found is not None and found.state is not State.PENDING:
            self._delete_copy(job)  # an earlier attempt may have died before deleting it
            return found.id, True  # stored by an earlier attempt or another worker
        account = payload.get("account_id")
        twilio = self.settings.twilio
        if (
            provider == "twilio"
            and twilio is not None
            and account not in (None, twilio.account_sid)
        ):
            raise _Permanent("recording belongs to another Twilio account")
        formats = payload.get("media_formats") or ["wav"]
        if not isinstance(formats, list) or not all(f in ("wav", "mp3") for f in formats):
            raise _Permanent("payload media_formats: malformed")
        masked = _masked(payload.get("masked_caller"))
        with MediaFile() as media:
            self.media.download(provider, job.recording_id, media, formats=formats)
            self._step("worker.fetched")
            if masked is None and provider == "twilio":
                masked = self._twilio_caller(payload)
            event = self._event(job, media, masked)
            captured = capturer.capture(event, now=self._now(), rng=self._rng, step=self._step)
        self._delete_copy(job)
        return captured.recording_id, captured.duplicate

    def _delete_copy(self, job: Job) -> None:
        """With ``delete_after_capture``: DELETE the provider's copy (stored durably by now)."""
        if not self.settings.delete_after_capture:
            return
        try:
            self.media.delete(job.provider, job.recording_id)
        except FetchError as exc:  # the recording is stored; the provider copy stays
            log.warning("job %d: provider copy not deleted: %s", job.id, exc)

    def _twilio_caller(self, payload: Mapping[str, Any]) -> MaskedNumber | None:
        call_id = payload.get("call_id")
        if not isinstance(call_id, str):
            return None
        try:
            raw = self.media.twilio_caller(call_id)
        except FetchError as exc:
            if exc.retryable:
                raise
            log.warning("caller of a Twilio call not available (%s): stored as withheld", exc)
            raw = None
        keyring = self.parts.capturer.vault.keyring
        version = keyring.active_pepper_version()
        return mask(
            raw, pepper=keyring.pepper(version), pepper_version=version, default_region=self._region
        )

    def _event(self, job: Job, media: MediaFile, masked: MaskedNumber | None) -> CallEvent:
        payload = job.payload
        started = _time(payload, "started_at") or job.created_at
        answered = _time(payload, "answered_at")
        ended = _time(payload, "ended_at")
        if ended is not None and ended < (answered or started):
            ended = None  # inconsistent provider times: keep the audio as it is
        return CallEvent(
            source=job.provider,
            source_id=job.recording_id,
            audio_path=media.path,
            caller=None,
            masked_caller=masked or MaskedNumber(display="withheld", digest=None),
            service_number=_text(payload, "service_number", _SERVICE),
            agent_id=_text(payload, "agent_id", _AGENT),
            ai_notice=payload.get("ai_notice") is True,
            started_at=started,
            answered_at=answered,
            ended_at=ended,
        )

    # -- the loop -----------------------------------------------------------------------

    def _checkpoint(self) -> None:
        """Sign the audit chain when the policy says so (``storage.audit_policy``): the
        worker is one of the long-running processes that keep the "every M minutes" part."""
        now = self._now()
        if self._parts is None or now - self._checked < CHECKPOINT_CHECK:
            return
        self._checked = now
        audit = self._parts.capturer.vault.audit
        try:
            maybe_checkpoint(audit, now=now)
        except StorageError as exc:
            log.warning("worker: audit checkpoint not written: %s", type(exc).__name__)

    def run(self, stop_event: threading.Event, poll_interval: float = 0.5) -> int:
        """Process jobs until ``stop_event`` is set; sleep ``poll_interval`` when idle.

        Returns how many jobs were handled. An unexpected error in one job is logged and
        the loop goes on (the job's lease expires and it is retried).
        """
        handled = 0
        try:
            while not stop_event.is_set():
                try:
                    result = self.run_once()
                except StorageError as exc:
                    log.error("worker: job store unavailable: %s", exc)
                    self.close()  # reopened on the next pass
                    result = None
                except Exception as exc:  # noqa: BLE001 - the lease expires; the job is retried
                    log.error("worker: unexpected %s; carrying on", type(exc).__name__)
                    self.close()
                    result = None
                self._checkpoint()
                if result is None:
                    stop_event.wait(poll_interval)
                else:
                    handled += 1
        finally:
            self.close()
        return handled


def build_worker(
    paths: Paths,
    config: Config,
    *,
    now: Clock,
    rng: Rng,
    worker_id: str,
    environ: Mapping[str, str] | None = None,
    resolver: Resolver = system_resolver,
) -> Worker:
    """A worker over the data dir and keyring of ``paths`` and the ``[providers]`` table.

    Nothing is opened until the worker first runs (on its own thread).
    """
    settings = fetch_settings(config, environ)
    limits = AudioLimits(max_bytes=settings.max_bytes, max_seconds=settings.max_duration_seconds)

    def open_parts() -> WorkerParts:
        keyring = FileKeyRing.load(paths.keyring)
        jobs = JobStore.open(jobs_path(paths.home))
        try:
            vault = Vault.open(paths.home, keyring)
        except BaseException:
            jobs.close()
            raise
        return WorkerParts(jobs=jobs, capturer=Capturer(vault, config, limits=limits))

    return Worker(
        open_parts=open_parts,
        settings=settings,
        media=ProviderMedia(Fetcher(settings, resolver=resolver)),
        now=now,
        rng=rng,
        worker_id=worker_id,
        default_region=config.default_region,
    )
