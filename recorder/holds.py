"""Placing and releasing legal holds: who may, on what, and the audit trail (issue 8).

One job: the policy around :mod:`storage.holds`. A hold targets one recording, every
call of a caller (``--number``: turned into the keyed lookup digest here, the number
itself is dropped at once) or every call taken by an agent; the chats of a contact e-mail
or customer id are held one by one (:func:`chat_targets`). Only roles granted
``place_hold`` in :mod:`recorder.access` may place or release one (``legal`` with purpose
``legal``, ``dpo`` with ``dsar``); every attempt, allowed or denied, is audited in the
same transaction as the change. Held recordings are never destroyed (the sweep and
erasure both ask :func:`recorder.retention.destruction_blocked`); releasing re-queues
what is due, since the sweep finds it due again on its next pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from recorder.access import GRANTS, Action, Principal, Role, allowed
from recorder.audit_events import record
from recorder.chat.subjects import SubjectKey, chat_ids
from recorder.config import Config
from recorder.errors import AccessDenied, InvalidEvent
from recorder.fieldrules import check_text
from recorder.masking import digest_for_lookup
from storage import holds
from storage.errors import NotFoundError
from storage.models import Recording, Rng, State
from storage.vault import Vault, new_id

MAX_REASON = 500
_PURPOSE = {Role.LEGAL: "legal", Role.DPO: "dsar"}


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldTarget:
    """What a hold covers. ``label`` is log-safe (an id, a masked number, an agent id)."""

    kind: str  # "recording" | "caller" | "agent"
    value: str
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldOutcome:
    """What placing or releasing did."""

    target: HoldTarget
    holds: int  # holds placed (1) or released (0..n)
    recordings: int  # recordings now covered (place) or freed (release)


def target_for(
    vault: Vault,
    config: Config,
    *,
    recording: str | None = None,
    number: str | None = None,
    agent: str | None = None,
) -> HoldTarget:
    """Exactly one of ``recording``/``number``/``agent`` as a :class:`HoldTarget`."""
    given = [x for x in (recording, number, agent) if x is not None]
    if len(given) != 1:
        raise InvalidEvent("target: give exactly one of --recording, --number, --agent")
    if recording is not None:
        vault.catalog.get_recording(recording)  # NotFoundError if unknown
        return HoldTarget(kind="recording", value=recording, label=recording)
    if agent is not None:
        if not agent or len(agent) > 128:
            raise InvalidEvent("agent: expected an agent id")
        if agent not in config.users:
            # a typo would otherwise hold nothing while looking like it worked; people who
            # left stay in the org chart (their membership spans end), so they still match
            raise InvalidEvent("agent: no such user in the org chart")
        return HoldTarget(kind="agent", value=agent, label=agent)
    keyring = vault.keyring
    version = keyring.active_pepper_version()
    digest = digest_for_lookup(
        number or "",
        pepper=keyring.pepper(version),
        pepper_version=version,
        default_region=config.default_region,
    )
    if digest is None:
        raise InvalidEvent("number: not a phone number that calls can be found by")
    return HoldTarget(kind="caller", value=digest.digest, label="caller (by lookup digest)")


def chat_targets(vault: Vault, key: SubjectKey) -> list[HoldTarget]:
    """The chats of a contact e-mail or customer id, one recording target each.

    A hold by e-mail or customer id covers the chats stored so far (each held as a
    recording); a ``--number`` hold is standing and also covers later chats whose contact
    number matches. :class:`InvalidEvent` when there is no such chat (a hold that covers
    nothing would look like it worked).
    """
    ids = chat_ids(vault, key)
    if not ids:
        raise InvalidEvent("no chats are stored under that e-mail or customer id")
    return [HoldTarget(kind="recording", value=rid, label=rid) for rid in ids]


def check_reason(reason: str) -> str:
    """A hold reason: 1-500 characters, nothing number-shaped (``recorder.fieldrules``)."""
    return check_text(reason, "reason", max_chars=MAX_REASON)


def _covered(vault: Vault, target: HoldTarget) -> list[Recording]:
    catalog = vault.catalog
    if target.kind == "recording":
        return [catalog.get_recording(target.value)]
    if target.kind == "caller":
        found = catalog.recordings_by_digest(target.value)
    else:
        found = [r for r in catalog.list_recordings() if r.agent_id == target.value]
    return [r for r in found if r.state is not State.DESTROYED]


def _decide(
    config: Config, principal: Principal, covered: list[Recording]
) -> tuple[bool, str, str | None]:
    """(allowed, reason, purpose): the role's grant, checked on every covered call."""
    for role, purpose in _PURPOSE.items():
        if role.value not in principal.roles or Action.PLACE_HOLD not in GRANTS[role]:
            continue
        decisions = [
            allowed(config, principal, Action.PLACE_HOLD, r, purpose=purpose) for r in covered
        ]
        refused = [d for d in decisions if not d.allowed]
        if not refused:
            return True, "may place and release legal holds", purpose
        return False, refused[0].reason, purpose
    return False, "default deny: no grant for their role(s) and this action", None


def _audit(
    vault: Vault,
    principal: Principal,
    action: str,
    target: HoldTarget,
    *,
    now: datetime,
    outcome: str,
    reason: str,
    purpose: str | None,
    count: int,
) -> None:
    record(
        vault.audit, principal, action, now=now, outcome=outcome,
        recording_id=target.value if target.kind == "recording" else None,
        purpose=purpose, reason=reason,
        detail={"target": target.kind, "recordings": count}
        | ({"agent": target.value} if target.kind == "agent" else {}),
    )  # fmt: skip


def _authorise(
    vault: Vault,
    config: Config,
    principal: Principal,
    action: str,
    target: HoldTarget,
    now: datetime,
) -> str | None:
    covered = _covered(vault, target)
    ok, why, purpose = _decide(config, principal, covered)
    if not ok:
        _audit(
            vault, principal, action, target, now=now, outcome="denied", reason=why,
            purpose=purpose, count=len(covered),
        )  # fmt: skip
        raise AccessDenied(why)
    return purpose


def place_hold(
    vault: Vault,
    config: Config,
    principal: Principal,
    target: HoldTarget,
    *,
    reason: str,
    now: datetime,
    rng: Rng,
) -> HoldOutcome:
    """Place a standing hold on ``target`` (audited; :class:`AccessDenied` if not allowed)."""
    text = check_reason(reason)
    purpose = _authorise(vault, config, principal, "hold.place", target, now)
    with vault.catalog.transaction():
        count = holds.place(
            vault.catalog,
            hold_id=new_id(rng),
            target=target.kind,
            value=target.value,
            reason=text,
            now=now,
            placed_by=principal.user_id,
        )
        _audit(
            vault, principal, "hold.place", target, now=now, outcome="ok", reason=text,
            purpose=purpose, count=count,
        )  # fmt: skip
    return HoldOutcome(target=target, holds=1, recordings=count)


def release_hold(
    vault: Vault,
    config: Config,
    principal: Principal,
    target: HoldTarget,
    *,
    reason: str,
    now: datetime,
) -> HoldOutcome:
    """Release every active hold on ``target``; what is due goes at the next sweep.

    Releasing what is not held is a no-op (audited, 0 holds). ``recordings`` counts the
    calls no longer held by anything.
    """
    text = check_reason(reason)
    purpose = _authorise(vault, config, principal, "hold.release", target, now)
    with vault.catalog.transaction():
        before = _held_ids(vault, target)
        released = holds.release(
            vault.catalog,
            target=target.kind,
            value=target.value,
            now=now,
            released_by=principal.user_id,
            reason=text,
        )
        freed = len(before - _held_ids(vault, target))
        _audit(
            vault, principal, "hold.release", target, now=now, outcome="ok", reason=text,
            purpose=purpose, count=freed,
        )  # fmt: skip
    return HoldOutcome(target=target, holds=len(released), recordings=freed)


def _held_ids(vault: Vault, target: HoldTarget) -> set[str]:
    try:
        return {r.id for r in _covered(vault, target) if r.legal_hold}
    except NotFoundError:
        return set()
