"""The job queue under retention: finished jobs purged, a data subject's jobs erased.

One job: decide when rows of ``<home>/jobs.sqlite3`` go. A job's payload holds the
caller's masked display and keyed lookup digest, so a ``done`` or ``failed`` job is
personal data with no purpose left once its recording is stored (or given up on):

- :func:`purge_finished` deletes finished jobs older than ``[retention]
  finished_jobs_days`` (default 7: long enough to read ``callrec jobs list --state
  failed``); the retention sweep runs it (``callrec retention sweep``, and every pass of
  ``serve``/``worker``);
- :func:`erase_jobs` deletes the jobs of erased recordings (by provider id and by the
  caller's lookup digest) when a data subject's calls are erased, at once or when a
  pending erasure completes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from recorder.config import Config
from recorder.errors import ConfigError
from storage.jobs import JobStore, jobs_path
from storage.models import Recording

DEFAULT_DAYS = 7


def job_retention(config: Config) -> timedelta:
    """``[retention] finished_jobs_days`` (1 to 366; default 7)."""
    value = config.section("retention").get("finished_jobs_days", DEFAULT_DAYS)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 366:
        raise ConfigError("retention.finished_jobs_days: expected 1 to 366")
    return timedelta(days=value)


def purge_finished(home: Path, config: Config, *, now: datetime) -> int:
    """Delete finished jobs past their retention; how many (0 without a job queue)."""
    path = jobs_path(home)
    if not path.exists():
        return 0
    store = JobStore.open(path)
    try:
        return store.purge_finished(before=now - job_retention(config))
    finally:
        store.close()


def erase_jobs(home: Path, recordings: Sequence[Recording]) -> int:
    """Delete the jobs of these (erased) recordings; how many."""
    path = jobs_path(home)
    if not path.exists() or not recordings:
        return 0
    keys = [(r.provider, r.provider_id) for r in recordings]
    digests = sorted({r.caller_digest.digest for r in recordings if r.caller_digest})
    store = JobStore.open(path)
    try:
        return store.erase(keys=keys, digests=digests)
    finally:
        store.close()
