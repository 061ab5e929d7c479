"""Data-subject rights (GDPR Art. 15-18, issue 8): find, export, erase, restrict, rectify.

One job: orchestrate a request about one caller, identified by their full number (or, for
chats, a contact e-mail or customer id: :class:`recorder.chat.subjects.SubjectKey`), which
exists only in memory here: it is turned into its keyed lookup digest (one per pepper
version still in the catalog) and dropped. Every request is decided and audited; no
audit entry, error or file name carries the number.

Who may do what (``recorder.access``): the DPO (purpose ``dsar``) finds, exports, erases,
restricts, lifts restrictions and rectifies; legal (purpose ``legal``) finds and exports,
which is how a lawful disclosure to an authority is made and recorded (P22). Everyone
else is refused, and the refusal is audited.

- **find**: every recording of the caller, tombstones included (so a DPO can tell "erased
  on D" from "never had any").
- **export**: in :mod:`recorder.subject_export` (the bundle, verified before release).
- **erase**: per recording, refused (and recorded as *pending*, audited with the reason)
  while a legal hold, a MIN retention class or a restriction applies; otherwise every
  artefact is crypto-shredded, the row becomes a tombstone and one receipt is audited.
  Idempotent: a second request changes nothing and points at the first receipt.
  :func:`run_pending_erasures` finishes what became possible (a hold lifted, a MIN period
  ran out): ``callrec subject erase --pending`` calls it (a periodic sweep may too).
- **restrict / unrestrict** (Art. 18): the ``restricted`` flag; ``recorder.access`` then
  denies play to everyone but legal with a purpose, AI skips the call, and nothing
  destroys it while the flag is set.
- **rectify** (Art. 16): agent (and with it the team at call time) and service number;
  each change is logged with old and new value and audited (field names only). Audio is
  immutable.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recorder.access import GRANTS, PURPOSES, Action, Principal, Role, Scope
from recorder.audit_events import record
from recorder.chat.subjects import SubjectKey, chat_ids
from recorder.config import FORBIDDEN_PURPOSES, Config
from recorder.errors import AccessDenied, InvalidEvent
from recorder.fieldrules import check_text
from recorder.masking import digest_for_lookup
from recorder.retention import HOLD_REASON, destruction_blocked, load_classes
from storage import holds as hold_store
from storage import subjects
from storage.errors import GoneError
from storage.models import Artefact, Recording, Rng, State
from storage.vault import Vault, new_id

RECORDING_ID = re.compile(r"[0-9a-f]{32}")
_REASON_MAX = 200
_SERVICE_NUMBER = re.compile(r"\+?[0-9][0-9 ]{1,30}")
ERASE_REASON = "data-subject erasure"


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ErasureOutcome:
    """What an erasure request did to one recording."""

    recording_id: str
    status: str  # "erased" | "already_erased" | "pending"
    receipt: str | None
    reason: str | None  # why it is pending
    artefacts: int  # artefacts shredded by this call


# -- permissions -----------------------------------------------------------------------------


def audit(
    vault: Vault,
    principal: Principal,
    action: str,
    *,
    now: datetime,
    outcome: str,
    recording_id: str | None = None,
    purpose: str | None = None,
    reason: str | None = None,
    artefact: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one data-subject audit entry (no number ever: the caller is the digest)."""
    record(
        vault.audit, principal, action, now=now, outcome=outcome, recording_id=recording_id,
        artefact=artefact, purpose=purpose, reason=reason, detail=detail,
    )  # fmt: skip


def may(config: Config, principal: Principal, action: Action, purpose: str) -> str | None:
    """Why ``principal`` may not take a subject-rights ``action`` with ``purpose`` (or None).

    These actions reach any recording of the subject, so only grants of scope
    ``ANY_WITH_PURPOSE`` count, with one of the purposes listed for that role and action.
    """
    if purpose in FORBIDDEN_PURPOSES:
        return "purpose is never permitted"
    if purpose not in config.purposes:
        return "purpose not configured"
    refusal = "only the DPO (purpose dsar) or legal (purpose legal) may act on a data subject"
    for role_name in sorted(principal.roles):
        try:
            role = Role(role_name)
        except ValueError:
            continue
        if GRANTS[role].get(action) is not Scope.ANY_WITH_PURPOSE:
            continue
        if purpose in PURPOSES.get((role, action), frozenset({purpose})):
            return None
        refusal = "purpose not permitted for this role and action"
    return refusal


def ensure(
    vault: Vault,
    config: Config,
    principal: Principal,
    action: Action,
    purpose: str,
    *,
    now: datetime,
    audit_action: str,
) -> None:
    refused = may(config, principal, action, purpose)
    if refused is not None:
        audit(
            vault,
            principal,
            audit_action,
            now=now,
            outcome="denied",
            purpose=purpose,
            reason=refused,
        )
        raise AccessDenied(refused)


def _ensure_dpo(vault: Vault, principal: Principal, *, now: datetime, audit_action: str) -> None:
    """Restriction and rectification are the DPO's (no Action of their own in the table)."""
    if Role.DPO.value not in principal.roles:
        reason = "only the DPO may restrict or rectify recordings"
        audit(
            vault, principal, audit_action, now=now, outcome="denied", purpose="dsar", reason=reason
        )
        raise AccessDenied(reason)


def _check_reason(reason: str) -> str:
    return check_text(reason, "reason", max_chars=_REASON_MAX)


# -- find ------------------------------------------------------------------------------------


def subject_digests(vault: Vault, number: str, *, default_region: str) -> list[tuple[int, str]]:
    """The caller's lookup digest under every pepper version in use (and the active one).

    :class:`InvalidEvent` when the number is not one callrec would have kept (withheld).
    """
    keyring = vault.keyring
    versions = set(subjects.digest_versions(vault.catalog))
    versions.add(keyring.active_pepper_version())
    digests: list[tuple[int, str]] = []
    for version in sorted(versions):
        digest = digest_for_lookup(
            number,
            pepper=keyring.pepper(version),
            pepper_version=version,
            default_region=default_region,
        )
        if digest is None:
            raise InvalidEvent("--number: not a phone number callrec can look up")
        digests.append((version, digest.digest))
    return digests


def recordings_of(vault: Vault, config: Config, number: str | SubjectKey) -> list[Recording]:
    """Every recording of the subject, oldest first: calls and chats by the number's
    lookup digest, chats also by a contact e-mail or customer id (issue 17)."""
    key = number if isinstance(number, SubjectKey) else SubjectKey(number=number)
    ids: list[str] = []
    if key.number is not None:
        digests = subject_digests(vault, key.number, default_region=config.default_region)
        ids = subjects.recording_ids_by_digests(vault.catalog, digests)
    ids += [rid for rid in chat_ids(vault, key) if rid not in ids]
    found = [vault.catalog.get_recording(rid) for rid in ids]
    return sorted(found, key=lambda r: (r.started_at, r.id))


def find(
    vault: Vault,
    config: Config,
    principal: Principal,
    number: str | SubjectKey,
    *,
    purpose: str,
    now: datetime,
) -> list[Recording]:
    """Every recording of the caller (tombstones included), oldest first; audited."""
    ensure(vault, config, principal, Action.LIST, purpose, now=now, audit_action="subject.find")
    found = recordings_of(vault, config, number)
    audit(
        vault,
        principal,
        "subject.find",
        now=now,
        outcome="allowed",
        purpose=purpose,
        detail={"count": len(found)},
    )
    return found


# -- erase -----------------------------------------------------------------------------------


def erasure_blocked(
    vault: Vault, recording: Recording, config: Config, *, now: datetime
) -> str | None:
    """Why the recording may not be destroyed now (None: it may): a legal hold, a
    restriction or an unexpired MIN class (``recorder.retention.destruction_blocked``).

    A standing hold on the caller or agent covers calls captured after it was placed even
    before the next sweep flags them, so the holds table is asked directly as well.
    """
    if hold_store.is_covered(vault.catalog, recording.id):
        return HOLD_REASON
    return destruction_blocked(recording, None, classes=load_classes(config), now=now)


def receipt_id(rng: Rng) -> str:
    """A random receipt id as a canonical UUID (``3f2a91bc-...``): log-safe, since the
    audit log refuses number-shaped text and a bare hex id can hold a long digit run by
    chance, while the UUID form is an id by rule (``storage.numbershape``)."""
    return group(new_id(rng))


def group(hex_id: str) -> str:
    """A 32-hex id in its canonical UUID form ``8-4-4-4-12``."""
    return str(uuid.UUID(hex=hex_id))


def _live_artefacts(vault: Vault, recording_id: str) -> list[Artefact]:
    return [a for a in vault.catalog.artefacts_for(recording_id) if a.state is not State.DESTROYED]


def erase_recording(
    vault: Vault,
    config: Config,
    actor: Principal,
    recording: Recording,
    *,
    now: datetime,
    rng: Rng,
) -> ErasureOutcome:
    """Erase one recording whose request was decided already (a DPO's subject erasure, a
    customer deleting their bot chat with its secret, the DPO closing a chat deletion
    request): receipt, tombstone, or pending under a hold, restriction or MIN class."""
    existing = subjects.get_erasure(vault.catalog, recording.id)
    if existing is not None and existing.state == "done":
        return ErasureOutcome(
            recording_id=recording.id,
            status="already_erased",
            receipt=existing.receipt,
            reason=None,
            artefacts=0,
        )
    live = _live_artefacts(vault, recording.id)
    blocked = erasure_blocked(vault, recording, config, now=now) if live else None
    if blocked is not None:
        with vault.catalog.transaction():
            subjects.record_pending(
                vault.catalog, recording.id, now=now, by=actor.user_id, reason=blocked
            )
            audit(
                vault,
                actor,
                "subject.erase",
                now=now,
                outcome="denied",
                recording_id=recording.id,
                purpose="dsar",
                reason=blocked,
                detail={"pending": True},
            )
        return ErasureOutcome(
            recording_id=recording.id, status="pending", receipt=None, reason=blocked, artefacts=0
        )
    shredded = 0
    for artefact in live:
        if vault.shred_artefact(
            artefact.id, now=now, reason=ERASE_REASON, actor_id=actor.user_id, actor_role=actor.role
        ):
            shredded += 1
    receipt = receipt_id(rng)
    with vault.catalog.transaction():
        subjects.tombstone(vault.catalog, recording.id)
        requested_by = existing.requested_by if existing is not None else actor.user_id
        subjects.record_done(
            vault.catalog,
            recording.id,
            now=now,
            by=requested_by,
            receipt=receipt,
            artefacts=shredded,
        )
        audit(
            vault,
            actor,
            "subject.erase",
            now=now,
            outcome="ok",
            recording_id=recording.id,
            purpose="dsar",
            reason=ERASE_REASON,
            detail={"receipt": receipt, "artefacts_shredded": shredded},
        )
    vault.catalog.checkpoint()
    return ErasureOutcome(
        recording_id=recording.id, status="erased", receipt=receipt, reason=None, artefacts=shredded
    )


def erase(
    vault: Vault,
    config: Config,
    principal: Principal,
    number: str | SubjectKey,
    *,
    now: datetime,
    rng: Rng,
) -> list[ErasureOutcome]:
    """Erase every recording of the caller that may be erased; the rest become pending."""
    ensure(vault, config, principal, Action.ERASE, "dsar", now=now, audit_action="subject.erase")
    found = recordings_of(vault, config, number)
    audit(
        vault,
        principal,
        "subject.erase.request",
        now=now,
        outcome="allowed",
        purpose="dsar",
        detail={"count": len(found)},
    )
    return [erase_recording(vault, config, principal, rec, now=now, rng=rng) for rec in found]


def erased_recordings(vault: Vault, outcomes: list[ErasureOutcome]) -> list[Recording]:
    """The recordings an erasure pass erased (now, or earlier), for erasing their jobs."""
    done = [o.recording_id for o in outcomes if o.status in ("erased", "already_erased")]
    return [vault.catalog.get_recording(rid) for rid in done]


def run_pending_erasures(
    vault: Vault, config: Config, *, now: datetime, rng: Rng, actor: Principal | None = None
) -> list[ErasureOutcome]:
    """Finish every pending erasure that is no longer blocked (idempotent, resumable)."""
    who = actor or Principal(user_id="erasure-queue", roles=frozenset({"system"}))
    outcomes: list[ErasureOutcome] = []
    for pending in subjects.pending_erasures(vault.catalog):
        recording = vault.catalog.get_recording(pending.recording_id)
        blocked = erasure_blocked(vault, recording, config, now=now)
        if blocked is not None and blocked == pending.blocked_reason:
            continue  # still blocked for the same reason: already recorded and audited
        outcomes.append(erase_recording(vault, config, who, recording, now=now, rng=rng))
    return outcomes


# -- restrict / unrestrict -------------------------------------------------------------------


def set_restriction(
    vault: Vault,
    config: Config,
    principal: Principal,
    number: str | SubjectKey,
    *,
    restricted: bool,
    reason: str,
    now: datetime,
) -> list[str]:
    """Restrict (or lift the restriction on) every live recording of the caller.

    Returns the ids whose flag changed; each change is audited with the reason.
    """
    action = "subject.restrict" if restricted else "subject.unrestrict"
    _ensure_dpo(vault, principal, now=now, audit_action=action)
    text = _check_reason(reason)
    changed: list[str] = []
    for recording in recordings_of(vault, config, number):
        if recording.state is State.DESTROYED or recording.restricted == restricted:
            continue
        with vault.catalog.transaction():
            vault.catalog.set_recording_flags(recording.id, restricted=restricted)
            audit(
                vault,
                principal,
                action,
                now=now,
                outcome="ok",
                recording_id=recording.id,
                purpose="dsar",
                reason=text,
            )
        changed.append(recording.id)
    return changed


# -- rectify ---------------------------------------------------------------------------------


def rectify(
    vault: Vault,
    config: Config,
    principal: Principal,
    recording_id: str,
    *,
    agent: str | None,
    service_number: str | None,
    now: datetime,
) -> list[subjects.Rectification]:
    """Correct a recording's agent (and so its team at call time) and/or service number."""
    _ensure_dpo(vault, principal, now=now, audit_action="recording.rectify")
    if not RECORDING_ID.fullmatch(recording_id):
        raise InvalidEvent("ID: expected a recording id (32 hex characters)")
    if agent is None and service_number is None:
        raise InvalidEvent("give --agent and/or --service-number")
    recording = vault.catalog.get_recording(recording_id)
    if recording.state is State.DESTROYED:
        raise GoneError("recording was destroyed")
    changes: dict[str, str | None] = {}
    if agent is not None:
        config.user(agent)  # ConfigError for an unknown user
        changes["agent_id"] = agent
        changes["team_id"] = config.team_of(agent, recording.started_at)
    if service_number is not None:
        if not _SERVICE_NUMBER.fullmatch(service_number.strip()):
            raise InvalidEvent("--service-number: expected digits, spaces and a leading +")
        changes["service_number"] = service_number.strip()
    with vault.catalog.transaction():
        done = subjects.rectify(vault.catalog, recording_id, changes, now=now, by=principal.user_id)
        audit(
            vault,
            principal,
            "recording.rectify",
            now=now,
            outcome="ok",
            recording_id=recording_id,
            purpose="dsar",
            detail={"fields": ",".join(r.field for r in done) or "none"},
        )
    return done
