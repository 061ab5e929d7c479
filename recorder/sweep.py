"""The retention sweep: destroy what is due, skip what is held, one resumable pass.

One job: act on :mod:`recorder.retention`'s decisions. A pass (:func:`sweep`)::

    holds.applied    standing holds flag calls captured since they were placed
    blobs.drained    ciphertext of keys destroyed by a killed earlier pass is deleted
    recordings       due recordings (own expiry passed), page by page: each not blocked
                     (hold, restriction, MIN class) loses every artefact and is marked
                     destroyed, one transaction per page (crypto-shred + audit receipts)
    artefacts        artefacts due on their own expiry (a transcript at 30 days under a
                     6-month call); an audio artefact takes its whole recording with it
    rejected         spool ``rejected/`` files older than the 24-hour buffer are deleted
    checkpoint       the audit chain is signed if the policy says it is due
                     (``storage.audit_policy``: every N entries, every M minutes)

Idempotent and resumable: every page commits on its own, destroyed rows are never due
again, and blobs are queued in the same transaction as their keys' destruction, so a
sweeper killed at any point (``step`` hook, RELIABILITY R3) leaves nothing that the next
pass does not finish, and destroys nothing twice. Receipts carry actor ``retention`` and
the class name as reason, never a number.

A recording or artefact whose catalog row fails its integrity MAC is never destroyed: it
is counted as blocked and one ``catalog.integrity`` entry is audited per pass (an edited
``expires_at`` that pushes a row *out* of the due set is found by ``callrec fsck``, I9,
which reads every row).

Released holds need nothing special: the rows they kept are still due, so the next pass
destroys them. :func:`run_periodic` runs passes on an interval for ``serve``/``worker``.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from recorder.audit_events import AuditAction, record
from recorder.ingest.spool import REJECTED, open_spool
from recorder.policy import CLASSES
from recorder.retention import (
    HOLD_REASON,
    INTEGRITY_REASON,
    RetentionClass,
    destruction_blocked,
    expiry,
)
from storage import holds
from storage import retention_store as store
from storage.audit_policy import maybe_checkpoint
from storage.errors import BlobError
from storage.models import Artefact, ArtefactKind, Recording, State
from storage.vault import Vault

log = logging.getLogger(__name__)

Step = Callable[[str], None]
Progress = Callable[[int, int], None]
ACTOR = "retention"
ROLE = "system"
BUFFER_CLASS = "buffer_24h"


def _no_step(name: str) -> None:
    """Default step hook: does nothing."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepReport:
    """What one pass did (or, with ``dry_run``, would do)."""

    now: datetime
    dry_run: bool
    recordings_destroyed: int
    artefacts_destroyed: int
    #: Recordings with something due but kept, by reason ("legal hold", "regulated_5y (MIN)").
    blocked: Mapping[str, int] = field(default_factory=dict)
    holds_applied: int = 0
    blobs_deleted: int = 0
    rejected_deleted: int = 0

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (``--json``)."""
        return {
            "now": self.now.isoformat(),
            "dry_run": self.dry_run,
            "recordings_destroyed": self.recordings_destroyed,
            "artefacts_destroyed": self.artefacts_destroyed,
            "blocked": dict(self.blocked),
            "holds_applied": self.holds_applied,
            "blobs_deleted": self.blobs_deleted,
            "rejected_deleted": self.rejected_deleted,
        }


def _reason_kind(reason: str) -> str:
    """A blocked reason without its date, for counting ("regulated_5y keeps until …")."""
    return reason.split(" keeps until ", 1)[0] + (" (MIN)" if " keeps until " in reason else "")


class _Pass:
    def __init__(
        self,
        vault: Vault,
        classes: Mapping[str, RetentionClass],
        now: datetime,
        *,
        batch: int,
        step: Step,
        dry_run: bool,
        progress: Progress | None,
        actor: str,
    ) -> None:
        self.vault, self.catalog = vault, vault.catalog
        self.classes, self.now, self.batch, self.step = classes, now, batch, step
        self.dry_run, self.progress, self.actor = dry_run, progress, actor
        self.blocked: dict[str, str] = {}  # recording id -> reason kind (counted once)
        self.recordings = self.artefacts = self.blobs = 0
        self.gone: set[str] = set()  # recordings destroyed (or, dry run, would be) this pass

    def drain_blobs(self) -> None:
        while ids := store.queued_blobs(self.catalog, self.batch):
            for artefact_id in ids:
                try:
                    self.vault.blobs.delete(artefact_id)
                except BlobError:  # the key is gone: noise; fsck --repair removes it
                    log.warning("could not delete blob %s; fsck will remove it", artefact_id)
            self.blobs += len(ids)
            store.blobs_deleted(self.catalog, ids)
            self.step("blobs.deleted")

    def commit(self, doomed: list[store.Doomed], recordings: list[tuple[str, str]]) -> None:
        if self.dry_run:
            self.artefacts += len(doomed)
            self.recordings += len(recordings)
            return
        store.destroy(
            self.catalog,
            self.vault.audit,
            artefacts=doomed,
            recordings=recordings,
            now=self.now,
            actor_id=self.actor,
            actor_role=ROLE,
            step=self.step,
        )
        self.artefacts += len(doomed)
        self.recordings += len(recordings)
        self.step("page.committed")
        self.drain_blobs()

    def whole(self, recs: Sequence[Recording]) -> None:
        """Destroy ``recs`` with every live artefact of theirs."""
        if not recs:
            return
        reasons = {r.id: r.retention_class for r in recs if r.id not in self.gone}
        self.gone.update(reasons)
        arts = store.live_artefacts(self.catalog, list(reasons))
        doomed = [store.Doomed(artefact=a, reason=reasons[a.recording_id]) for a in arts]
        self.commit(doomed, list(reasons.items()))

    def _keep(self, rec: Recording, art: Artefact | None) -> bool:
        reason = destruction_blocked(rec, art, classes=self.classes, now=self.now)
        if reason == INTEGRITY_REASON and rec.id not in self.blocked and not self.dry_run:
            table = "artefacts" if rec.intact else "recordings"
            record(self.vault.audit, (self.actor, ROLE), AuditAction.INTEGRITY, now=self.now,
                   outcome="denied", recording_id=rec.id, reason=reason,
                   detail={"table": table})  # fmt: skip
        if reason is None and self.dry_run and not rec.legal_hold:
            # a dry run does not flag calls captured under a standing hold: ask directly
            reason = HOLD_REASON if holds.is_covered(self.catalog, rec.id) else None
        if reason is not None:
            self.blocked.setdefault(rec.id, _reason_kind(reason))
            return True
        return False

    def recordings_due(self) -> None:
        after = store.START
        while page := store.due_recordings(self.catalog, self.now, after=after, limit=self.batch):
            after = store.position(page[-1].expires_at, page[-1].id)
            self.step("page.loaded")
            self.whole([r for r in page if not self._keep(r, None)])
            if self.progress is not None:
                self.progress(self.recordings, 0)

    def artefacts_due(self) -> None:
        after = store.START
        protected = sorted(n for n, c in self.classes.items() if c.kind == "min")
        while page := store.due_artefacts(
            self.catalog, self.now, after=after, limit=self.batch, protected=protected
        ):
            after = store.position(page[-1].expires_at, page[-1].id)
            self.step("page.loaded")
            recs = store.recordings_by_id(self.catalog, list({a.recording_id for a in page}))
            whole: dict[str, Recording] = {}
            doomed: list[store.Doomed] = []
            for art in page:
                if art.recording_id in self.gone:
                    continue  # dry run: already counted with its recording
                rec = recs[art.recording_id]
                if rec.state is not State.DESTROYED and self._keep(rec, art):
                    continue
                if art.kind is ArtefactKind.AUDIO or rec.state is State.DESTROYED:
                    whole[rec.id] = rec  # no artefact outlives its parent (I8)
                elif rec.id not in whole:
                    doomed.append(store.Doomed(artefact=art, reason=f"{art.kind} expiry"))
            doomed = [d for d in doomed if d.artefact.recording_id not in whole]
            self.commit(doomed, [])
            self.whole(list(whole.values()))


def purge_rejected(spools: Sequence[Path], *, now: datetime, keep: timedelta) -> int:
    """Delete entries of each spool's ``rejected/`` last modified before ``now - keep``.

    ``rejected/`` holds the PBX's plaintext audio of pairs capture refused; it may not
    outlive the 24-hour buffer the policy promises (P12). Returns how many were deleted.
    Each entry is removed itself (a symlink, never its target); a ``rejected/`` that is a
    symlink refuses the spool (:class:`ConfigError`); a directory inside is left alone.
    """
    cutoff = (now - keep).timestamp() * 1e9
    deleted = 0
    for spool in spools:
        if not spool.is_dir():
            continue
        with open_spool(spool) as root:
            if root.lstat(REJECTED) is None:
                continue
            with root.subdir(REJECTED) as folder:
                for entry in folder.entries():
                    if entry.kind == "directory":
                        log.warning("spool rejected/ holds a directory; not deleted")
                    elif entry.mtime_ns <= cutoff and folder.unlink(entry.name):
                        deleted += 1
    return deleted


def _buffer(classes: Mapping[str, RetentionClass]) -> timedelta:
    cls = classes.get(BUFFER_CLASS, CLASSES[BUFFER_CLASS])
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    return expiry(cls, epoch) - epoch


def sweep(
    vault: Vault,
    *,
    classes: Mapping[str, RetentionClass],
    now: datetime,
    audit_actor: str = ACTOR,
    batch: int = 500,
    step: Step = _no_step,
    dry_run: bool = False,
    progress: Progress | None = None,
    spools: Sequence[Path] = (),
) -> SweepReport:
    """One retention pass over ``vault`` at ``now`` (see the module docstring)."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    run = _Pass(
        vault,
        classes,
        now,
        batch=batch,
        step=step,
        dry_run=dry_run,
        progress=progress,
        actor=audit_actor,
    )
    applied = 0
    if not dry_run:
        applied = holds.apply_standing(vault.catalog)
        step("holds.applied")
        run.drain_blobs()
        step("blobs.drained")
    run.recordings_due()
    step("recordings.done")
    run.artefacts_due()
    step("artefacts.done")
    rejected = 0 if dry_run else purge_rejected(spools, now=now, keep=_buffer(classes))
    if not dry_run:  # the sweep's receipts are signed at once when the policy says so
        maybe_checkpoint(vault.audit, now=now)
    report = SweepReport(
        now=now,
        dry_run=dry_run,
        recordings_destroyed=run.recordings,
        artefacts_destroyed=run.artefacts,
        blocked=dict(Counter(run.blocked.values())),
        holds_applied=applied,
        blobs_deleted=run.blobs,
        rejected_deleted=rejected,
    )
    log.info(
        "retention sweep: %d recordings, %d artefacts destroyed; %d blocked",
        report.recordings_destroyed,
        report.artefacts_destroyed,
        sum(report.blocked.values()),
    )
    return report


def run_periodic(
    stop: threading.Event,
    interval: timedelta,
    *,
    open_vault: Callable[[], Vault],
    classes: Mapping[str, RetentionClass],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    spools: Sequence[Path] = (),
    on_report: Callable[[SweepReport], None] | None = None,
    after_pass: Callable[[Vault, datetime], object] | None = None,
) -> int:
    """Run :func:`sweep` every ``interval`` until ``stop`` is set; the number of passes.

    For ``serve``/``worker`` (in a thread): opens its own vault per pass (SQLite
    connections are per thread), logs and survives a failed pass (the next one resumes
    it), and waits on ``stop`` so shutdown is immediate. ``clock`` is the only clock read.
    ``after_pass`` runs on the same vault after each sweep: the worker finishes pending
    data-subject erasures there whose hold or restriction has lifted.
    """
    passes = 0
    while not stop.is_set():
        try:
            vault = open_vault()
            try:
                now = clock()
                report = sweep(vault, classes=classes, now=now, spools=spools)
                if after_pass is not None:
                    after_pass(vault, now)
            finally:
                vault.close()
            if on_report is not None:
                on_report(report)
        except Exception as exc:  # noqa: BLE001 - a failed pass must not stop the loop
            log.error("retention sweep failed: %s", type(exc).__name__)
        passes += 1
        stop.wait(interval.total_seconds())
    return passes


__all__ = ["SweepReport", "purge_rejected", "run_periodic", "sweep"]
