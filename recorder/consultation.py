"""The data-subject consultation report: who looked at my recordings, when, and why.

One job: turn audit entries into the report a data subject receives with an access
request. Under Art. 15 GDPR the subject is entitled to the *dates and purposes* of every
consultation of their data, but not, as a rule, to the identity of the employees who
consulted it (CJEU C-579/21, *Pankki S*, 22 June 2023). So by default each actor is shown
by role only, and any detail value equal to an actor id is withheld too; the DPO's
internal view (``withhold_actors=False``) keeps the ids.

A consultation is any audit entry about the recording made by a person (not the
``system`` role: capture, sweeps, shredding are processing, not consultation), allowed or
denied: a refused attempt is part of the story too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.audit import AuditLog
from storage.models import AuditEntry

WITHHELD = "(withheld)"
SYSTEM_ROLE = "system"


@dataclass(frozen=True, slots=True, kw_only=True)
class Consultation:
    """One access to one recording, as the data subject sees it."""

    recording_id: str
    at: datetime
    action: str
    purpose: str | None
    outcome: str
    role: str
    actor: str | None  # None when withheld


def audit_rows(entries: list[AuditEntry], *, withhold_actors: bool) -> list[dict[str, Any]]:
    """Entries as flat dicts; with ``withhold_actors`` every actor id becomes its role.

    Detail values equal to an actor id are withheld too, so an id cannot leak through a
    detail field that happens to name a person. (The same view ``callrec audit show``
    prints.)
    """
    actors = {e.event.actor_id for e in entries}
    rows: list[dict[str, Any]] = []
    for entry in entries:
        event = entry.event
        detail = dict(event.detail)
        if withhold_actors:
            detail = {k: WITHHELD if v in actors else v for k, v in detail.items()}
        rows.append(
            {
                "seq": entry.seq,
                "ts": event.ts.isoformat(),
                "actor": event.actor_role if withhold_actors else event.actor_id,
                "role": event.actor_role,
                "action": event.action,
                "outcome": event.outcome,
                "purpose": event.purpose,
                "reason": event.reason,
                "artefact": event.artefact,
                "detail": detail,
            }
        )
    return rows


def consultations(
    audit: AuditLog, recording_ids: Iterable[str], *, withhold_actors: bool = True
) -> list[Consultation]:
    """Every consultation of the given recordings, in audit-chain order per recording."""
    found: list[Consultation] = []
    for recording_id in recording_ids:
        for entry in audit.for_recording(recording_id):
            event = entry.event
            if event.actor_role == SYSTEM_ROLE:
                continue
            found.append(
                Consultation(
                    recording_id=recording_id,
                    at=event.ts,
                    action=event.action,
                    purpose=event.purpose,
                    outcome=event.outcome,
                    role=event.actor_role,
                    actor=None if withhold_actors else event.actor_id,
                )
            )
    return found


def as_dicts(items: Iterable[Consultation]) -> list[dict[str, Any]]:
    """JSON-ready rows (``actor`` appears only when it was not withheld)."""
    rows: list[dict[str, Any]] = []
    for c in items:
        row: dict[str, Any] = {
            "recording_id": c.recording_id,
            "at": c.at.isoformat(),
            "action": c.action,
            "purpose": c.purpose,
            "outcome": c.outcome,
            "role": c.role,
        }
        if c.actor is not None:
            row["actor"] = c.actor
        rows.append(row)
    return rows
