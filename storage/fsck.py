"""Storage invariants, checked (and optionally repaired) after a crash or on demand.

Covers the storage half of RELIABILITY.md's invariants:

- I1 every ``available`` artefact fully decrypts, authenticates and matches the SHA-256
  taken at capture;
- I2 no ``available`` artefact lacks its wrapped key or its blob; no key lacks its row;
- I4 (structural) every blob is our ciphertext: with content verification it must
  authenticate; in ``--quick`` mode it must at least carry the CRX1 header and its key id;
- I3 no orphan ciphertext files and no temp files (``repair`` removes them: a blob with no
  committed row was never acknowledged to anyone);
- I6 the audit chain verifies end to end with gap-free sequence numbers.

The recorder adds the scans that need policy knowledge (plaintext canaries, full numbers).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from storage import crypto
from storage.errors import GoneError, NotFoundError, StorageError
from storage.models import State
from storage.vault import Vault


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One broken invariant: which, about what id, and a short fixed phrase."""

    invariant: str
    subject: str
    problem: str
    repaired: bool = False


@dataclass(slots=True, kw_only=True)
class FsckReport:
    """Everything fsck looked at and found."""

    artefacts_checked: int = 0
    blobs_seen: int = 0
    audit_entries: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is broken (repaired findings count as fixed)."""
        return all(f.repaired for f in self.findings)


def _is_our_ciphertext(vault: Vault, artefact_id: str) -> bool:
    """Cheap I4 check for ``--quick``: the blob carries our header and its own key id."""
    try:
        with vault.blobs.open(artefact_id) as stream:
            return crypto.read_key_id(stream) == str(uuid.UUID(artefact_id))
    except StorageError:
        return False


DEFAULT_GRACE = timedelta(hours=1)


def fsck(
    vault: Vault,
    *,
    repair: bool = False,
    now: datetime | None = None,
    grace: timedelta = DEFAULT_GRACE,
    verify_content: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> FsckReport:
    """Check I1-I4 and I6; with ``repair``, remove temps and orphan blobs (I3 only).

    Repair removes only leftovers last written before ``now - grace``: a younger orphan
    may be a capture in progress in another process (sealed, not yet committed), and
    deleting it would leave that recording without audio. Right after a crash, with no
    writer running, ``grace=timedelta(0)`` removes everything.
    """
    if repair and now is None:
        raise ValueError("repair needs now= (the grace period is measured from it)")
    cutoff = None if now is None else now - grace
    report = FsckReport()
    artefacts = vault.catalog.all_artefacts()
    available = {a.id: a for a in artefacts if a.state is State.AVAILABLE}
    known = {a.id for a in artefacts}

    temps = vault.blobs.stray_temps()
    removed = vault.blobs.remove_stray_temps(older_than=cutoff) if repair else 0
    left = set(vault.blobs.stray_temps()) if repair and removed != len(temps) else set()
    for temp in temps:
        young = temp in left
        report.findings.append(
            Finding(
                invariant="I3",
                subject=temp,
                problem="temp file left (younger than the grace period)" if young
                else "temp file left",
                repaired=repair and not young,
            )
        )  # fmt: skip

    for name in list(vault.blobs.names()):
        report.blobs_seen += 1
        if name in available:
            continue
        problem = "blob of a destroyed artefact" if name in known else "orphan blob"
        young = cutoff is not None and vault.blobs.modified_at(name) >= cutoff
        if young:
            problem += " (younger than the grace period: may be a capture in progress)"
        elif repair:
            vault.blobs.delete(name)
        report.findings.append(
            Finding(invariant="I3", subject=name, problem=problem, repaired=repair and not young)
        )

    for orphan in vault.catalog.orphan_keys():
        report.findings.append(Finding(invariant="I2", subject=orphan, problem="key without row"))

    total = len(available)
    for done, artefact in enumerate(available.values(), start=1):
        report.artefacts_checked += 1
        try:
            vault.catalog.get_wrapped_key(artefact.id)
        except GoneError:
            report.findings.append(
                Finding(invariant="I2", subject=artefact.id, problem="available without key")
            )
            continue
        if not vault.blobs.exists(artefact.id):
            report.findings.append(
                Finding(invariant="I2", subject=artefact.id, problem="available without blob")
            )
            continue
        if verify_content:
            try:
                vault.verify_artefact(artefact.id)
            except (NotFoundError, StorageError):
                report.findings.append(
                    Finding(invariant="I1", subject=artefact.id, problem="does not authenticate")
                )
        elif not _is_our_ciphertext(vault, artefact.id):
            report.findings.append(
                Finding(invariant="I4", subject=artefact.id, problem="blob is not CRX1 ciphertext")
            )
        if progress is not None:
            progress(done, total)

    try:
        result = vault.audit.verify()
        report.audit_entries = result.size
    except StorageError as exc:
        report.findings.append(Finding(invariant="I6", subject="audit", problem=str(exc)))
    return report
