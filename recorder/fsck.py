"""Recorder invariants on top of the storage ones (``callrec fsck``).

Adds what needs the recorder's policy knowledge:

- no ``pending`` recording is visible: capture commits a call all at once, so a pending
  row means a partial capture leaked (D1);
- I7 every caller display is ``withheld`` or the masked shape ``+<digits>***``: a full
  number in the catalog would be a masking bug, and fsck says so (by recording id only).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from recorder.models import WITHHELD
from storage.fsck import DEFAULT_GRACE, Finding, FsckReport
from storage.fsck import fsck as storage_fsck
from storage.models import State
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
) -> FsckReport:
    """Storage invariants (I1-I4, I6) plus pending rows and caller displays (I7)."""
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
    return report
