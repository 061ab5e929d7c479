"""When the audit chain is checkpointed, and what ``verify`` may expect from that.

Signed checkpoints are what catch a truncated tail: entries after the newest checkpoint
are protected by the hash chain only, so whoever can write the database could delete
them, and could delete the checkpoint rows *and* the checkpoint file too, leaving what
looked like a young store with "0 signed checkpoints". So checkpoints are not left to
the operator (:class:`CheckpointPolicy`):

- **every N entries, automatically**: :class:`~storage.audit.AuditLog` counts the entries
  it appends and, after the transaction that holds them commits, signs a checkpoint as
  soon as N entries lie beyond the last one (its time is the newest entry's, so no clock
  is needed). Capture, playback, the sweep and every other writer are covered alike.
- **every M minutes, from the long-running processes**: ``serve`` and ``worker`` run a
  checkpointer thread, the retention sweep checkpoints after each pass
  (:func:`maybe_checkpoint` with the real time): nothing appended waits longer than M
  minutes for its signature while they run.
- **what verify expects**: a store may hold at most :attr:`CheckpointPolicy.max_tail`
  entries beyond its newest checkpoint (N, plus one large transaction and a crash's
  worth of slack). More is reported as :class:`~storage.errors.AuditChainBroken`
  ("entries beyond the checkpoint policy"): checkpoints were deleted, or the store was
  copied in from elsewhere. Deleting checkpoints therefore only goes unnoticed together
  with deleting everything but the last ``max_tail`` entries - and every recording's
  capture entry with them, which ``fsck`` does notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from storage.errors import AuditChainBroken

if TYPE_CHECKING:
    from storage.audit import AuditLog
    from storage.models import Checkpoint


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckpointPolicy:
    """Checkpoint every ``every_entries`` entries and every ``every_seconds`` seconds."""

    every_entries: int = 1000
    every_seconds: float = 900.0

    def __post_init__(self) -> None:
        if self.every_entries < 1 or self.every_seconds <= 0:
            raise ValueError("checkpoint policy values must be positive")

    @property
    def max_tail(self) -> int:
        """Entries ``verify`` accepts beyond the newest checkpoint (module docstring)."""
        return 4 * self.every_entries


DEFAULT_POLICY = CheckpointPolicy()


def tail(audit: AuditLog) -> tuple[int, int, Checkpoint | None]:
    """``(entries, entries beyond the newest checkpoint, that checkpoint)``."""
    size, _ = audit.head()
    checkpoints = audit.checkpoints()
    last = checkpoints[-1] if checkpoints else None
    return size, size - (last.size if last is not None else 0), last


def maybe_checkpoint(audit: AuditLog, *, now: datetime) -> Checkpoint | None:
    """Sign a checkpoint if the log's policy says one is due at ``now``; the new one, or
    None (also for a log without a policy or without a signing seed and file)."""
    policy = audit.policy
    if policy is None or not audit.can_checkpoint:
        return None
    _, beyond, last = tail(audit)
    if beyond == 0:
        return None
    old = last is None or now - last.ts >= timedelta(seconds=policy.every_seconds)
    if beyond >= policy.every_entries or old:
        return audit.checkpoint(now)
    return None


def check_coverage(size: int, checkpoints: list[Checkpoint], policy: CheckpointPolicy) -> None:
    """:class:`AuditChainBroken` if more than ``max_tail`` entries lie beyond the newest
    checkpoint (the seq of the first uncovered entry is reported)."""
    covered = checkpoints[-1].size if checkpoints else 0
    if size - covered > policy.max_tail:
        raise AuditChainBroken(
            covered + 1,
            f"{size - covered} entries beyond the last signed checkpoint, the policy allows "
            f"{policy.max_tail} (checkpoints deleted?)",
        )
