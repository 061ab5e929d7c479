"""Chat access decisions as audit entries, and which chats an aggregate reading may count.

:func:`audit_decision` is the one way the chat modules record a decision (staff views,
stats, samples).

Shared by :mod:`recorder.chat.stats` and :mod:`recorder.chat.sample`: each chat is decided
with :func:`recorder.access.allowed` (scope ``any_aggregate``: any unrestricted chat), and a
principal whose roles grant the action on none of them while chats exist is refused and
audited as such, with the first refusal's reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from recorder.access import GRANTS, Action, Principal, Role, allowed
from recorder.audit_events import access_event, for_access
from recorder.config import Config
from recorder.errors import AccessDenied
from storage import chats
from storage.models import ArtefactKind, Recording, State
from storage.vault import Vault


def readable(
    vault: Vault,
    config: Config,
    principal: Principal,
    action: Action,
    *,
    now: datetime,
    since: datetime | None,
    until: datetime | None,
    live_only: bool,
) -> list[tuple[chats.ChatRow, Recording, datetime]]:
    """The chats ``principal`` may read ``action``-wise, with their recording and start."""
    granted = any(action in GRANTS[r] for r in Role if r.value in principal.roles)
    if not granted:
        deny(
            vault,
            principal,
            action,
            now=now,
            reason="default deny: no grant for their role(s) and this action",
        )
    out: list[tuple[chats.ChatRow, Recording, datetime]] = []
    refusal: str | None = None
    for chat, state, started in chats.all_chats(vault.catalog, since=since, until=until):
        if live_only and state is not State.AVAILABLE:
            continue
        rec = vault.catalog.get_recording(chat.recording_id)
        decision = allowed(config, principal, action, rec)
        if decision.allowed:
            out.append((chat, rec, started))
        elif refusal is None and not rec.restricted:
            refusal = decision.reason
    if not out and refusal is not None:
        deny(vault, principal, action, now=now, reason=refusal)
    return out


def audit_decision(
    vault: Vault,
    principal: Principal,
    action: Action,
    *,
    now: datetime,
    ok: bool,
    reason: str,
    purpose: str | None = None,
    recording_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """The one audit entry of a chat access decision (allowed or denied)."""
    vault.audit.append(
        access_event(
            for_access(action), principal, ts=now, allowed=ok, reason=reason, purpose=purpose,
            recording_id=recording_id,
            artefact=None if recording_id is None else str(ArtefactKind.CHAT), detail=detail,
        )
    )  # fmt: skip


def deny(vault: Vault, principal: Principal, action: Action, *, now: datetime, reason: str) -> None:
    """Audit the refusal and raise :class:`AccessDenied`."""
    audit_decision(vault, principal, action, now=now, ok=False, reason=reason)
    raise AccessDenied(reason)


def allow(
    vault: Vault, principal: Principal, action: Action, *, now: datetime, detail: dict[str, Any]
) -> None:
    """Audit an allowed aggregate reading with its counts."""
    audit_decision(vault, principal, action, now=now, ok=True,
                   reason="aggregate of the chats they may count", detail=detail)  # fmt: skip
