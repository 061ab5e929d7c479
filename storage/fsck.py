"""Storage invariants, checked (and optionally repaired) after a crash or on demand.

Covers the storage half of RELIABILITY.md's invariants:

- I1 every ``available`` artefact fully decrypts, authenticates and matches the SHA-256
  taken at capture;
- I2 no ``available`` artefact lacks its wrapped key or its blob; no key lacks its row;
- I4 (structural) every blob is our ciphertext: with content verification it must
  authenticate; in ``--quick`` mode it must at least carry the CRX1 header and its key id;
- I3 no orphan ciphertext files and no temp files (``repair`` removes them: a blob with no
  committed row was never acknowledged to anyone);
- I6 the audit chain verifies end to end with gap-free sequence numbers;
- I7 (storage half) no text column of the catalog holds a number-shaped value
  (:func:`storage.numbershape.number_shaped`; JSON columns are scanned value by value;
  only the columns made to hold the company's own service number are exempt);
- I9 every row an access or retention decision reads carries its integrity MAC
  (:mod:`storage.guard`): a mismatch means the database was edited outside callrec.

The recorder adds the scans that need policy knowledge (plaintext canaries, full numbers).
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from storage import crypto, safejson, sealing
from storage.catalog import Catalog
from storage.errors import GoneError, MalformedJson, NotFoundError, StorageError
from storage.models import State
from storage.numbershape import number_shaped
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
    for table, key in sealing.tampered(vault.catalog):
        report.findings.append(
            Finding(invariant="I9", subject=f"{table}/{key}",
                    problem="row failed its integrity check (edited outside callrec)")
        )  # fmt: skip
    report.findings.extend(numbers_in_text(vault.catalog))
    return report


#: (table, column) pairs made to hold a number: the company line that was called.
NUMBER_COLUMNS = frozenset(
    {("recordings", "service_number"), ("subject_rectifications", "old_value"),
     ("subject_rectifications", "new_value")}
)  # fmt: skip
#: (table, column) pairs made to hold a truncated IP prefix (a chat's ``/24`` or ``/48``):
#: a value that is such a network passes; anything else there is scanned like free text.
PREFIX_COLUMNS = frozenset({("chats", "ip_prefix")})
_MAX_PREFIX = {4: 24, 6: 48}


def _ip_prefix(text: str) -> bool:
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError:
        return False
    return "/" in text and net.prefixlen <= _MAX_PREFIX[net.version]


#: (table, column) pairs holding JSON: scanned value by value (numbers there are counts).
JSON_COLUMNS = frozenset(
    {("audit_log", "detail"), ("qa_samples", "params"), ("qa_scorecards", "scores")}
)


#: A hex digest (hash, MAC, lookup digest): 32+ hex characters, never a phone number
#: (E.164 has at most 15 digits), even when all its characters happen to be digits.
_DIGEST = re.compile(r"[0-9a-f]{32,128}")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def numbers_in_text(catalog: Catalog) -> list[Finding]:
    """I7 over the catalog: every text value of every table that is number-shaped.

    ``recordings.caller_display`` is checked too (a masked display passes the rule); the
    recorder adds the stricter "masked shape or withheld" check on it.
    """
    found = []
    tables = catalog.rows("listing tables", "SELECT name FROM sqlite_master WHERE type = 'table'")
    for table in sorted(str(t["name"]) for t in tables):
        info = catalog.rows("reading a schema", f"PRAGMA table_info({table})")
        columns = [str(c["name"]) for c in info if str(c["type"]).upper() == "TEXT"]
        keys = [str(c["name"]) for c in sorted(info, key=lambda c: c["pk"]) if c["pk"]]
        key_sql = " || '/' || ".join(keys) if keys else "rowid"
        for column in columns:
            if (table, column) in NUMBER_COLUMNS:
                continue
            rows = catalog.rows(
                "scanning text",
                f"SELECT {key_sql} AS r, {column} AS v FROM {table} "  # noqa: S608 - schema
                f"WHERE {column} IS NOT NULL",
            )
            for row in rows:
                texts = [row["v"]] if isinstance(row["v"], str) else []
                if (table, column) in JSON_COLUMNS and texts:
                    try:
                        texts = _strings(safejson.loads(texts[0]))
                    except MalformedJson:
                        pass
                if (table, column) in PREFIX_COLUMNS:
                    texts = [t for t in texts if not _ip_prefix(t)]
                if any(number_shaped(t) and not _DIGEST.fullmatch(t) for t in texts):
                    found.append(Finding(invariant="I7", subject=f"{table}.{column}/{row['r']}",
                                         problem="holds a number-shaped value"))  # fmt: skip
    return found
