"""Recorder invariants on top of the storage ones (``callrec fsck``).

Adds what needs the recorder's policy knowledge or the data dir itself:

- no ``pending`` recording is visible: capture commits a call all at once, so a pending
  row means a partial capture leaked (D1);
- I7 every caller display is ``withheld`` or the masked shape ``+<digits>***``; with
  ``home``, no file name in the data dir and no job payload or error in the job queue is
  number-shaped either (the catalog's text columns are scanned by ``storage.fsck``);
- I3 (with ``home``) nothing in the data dir is a symlink, FIFO, socket or device: callrec
  only ever creates directories and regular files there, and follows no link it finds.

Findings name ids, tables and paths relative to the data dir, never a value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from recorder.models import WITHHELD
from storage.fsck import DEFAULT_GRACE, Finding, FsckReport
from storage.fsck import fsck as storage_fsck
from storage.jobs import NUMBER_KEYS, JobStore, jobs_path
from storage.models import State
from storage.numbershape import number_shaped
from storage.safedir import kind_of
from storage.vault import Vault

MASKED = re.compile(r"\+[0-9]{1,12}\*\*\*")


def fsck(
    vault: Vault,
    *,
    repair: bool = False,
    now: datetime | None = None,
    grace: timedelta = DEFAULT_GRACE,
    verify_content: bool = True,
    progress: Callable[[int, int], None] | None = None,
    home: Path | None = None,
) -> FsckReport:
    """Storage invariants (I1-I4, I6, I7, I9) plus pending rows, caller displays and,
    with ``home`` (the data dir), its file names, odd entries and the job queue."""
    report = storage_fsck(
        vault, repair=repair, now=now, grace=grace, verify_content=verify_content,
        progress=progress,
    )  # fmt: skip
    for recording in vault.catalog.list_recordings():
        if recording.state is State.PENDING:
            report.findings.append(
                Finding(invariant="D1", subject=recording.id, problem="pending recording visible")
            )
        display = recording.caller_display
        if display != WITHHELD and not MASKED.fullmatch(display):
            report.findings.append(
                Finding(invariant="I7", subject=recording.id, problem="caller display not masked")
            )
    if home is not None:
        report.findings.extend(data_dir_findings(home))
        report.findings.extend(job_findings(home))
    return report


def _walk(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """Every entry under ``root`` as ``lstat`` sees it; symlinked directories not entered."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in (*dirs, *files):
            path = Path(folder) / name
            try:
                yield path, path.lstat()
            except FileNotFoundError:
                continue


def data_dir_findings(home: Path) -> list[Finding]:
    """I7 file names and I3 odd entries of the data dir (see the module docstring)."""
    found = []
    for path, info in _walk(home):
        rel = path.relative_to(home)
        kind = kind_of(info.st_mode)
        if number_shaped(path.name):
            found.append(Finding(invariant="I7", subject=str(rel.parent / "[name]"),
                                 problem="a file name is number-shaped"))  # fmt: skip
        if kind not in ("regular", "directory"):
            problem = f"not a regular file ({kind}) in the data dir"
            found.append(Finding(invariant="I3", subject=str(rel), problem=problem))
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            if key not in NUMBER_KEYS:
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def job_findings(home: Path) -> list[Finding]:
    """I7 over the job queue: payload strings (the service number aside) and errors."""
    path = jobs_path(home)
    if not path.exists():
        return []
    store = JobStore.open(path)
    try:
        jobs = store.list(limit=10_000_000)
    finally:
        store.close()
    return [
        Finding(invariant="I7", subject=f"job/{job.id}", problem="holds a number-shaped value")
        for job in jobs
        if any(number_shaped(text) for text in _strings(job.payload))
        or (job.last_error is not None and number_shaped(job.last_error))
    ]
