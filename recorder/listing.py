"""Listing calls: what a user may see, narrowed by filters, and audited.

One job: the flow behind ``callrec calls list`` (and the web list later). Access comes
first: a call is shown only if :func:`recorder.access.allowed` lets the user ``list`` it;
the filters then narrow that set, never widen it.

Filters
-------
- ``agent``: calls where the user took part as an agent (answering agent or participant).
- ``team``: calls where any agent of the call was, at call time, in that team or a team
  nested below it (the same "team at call time" rule as access).
- ``since`` / ``until``: call start in ``[since, until)``; a bare date ``YYYY-MM-DD`` means
  midnight UTC for ``since`` and the *end* of that day for ``until``.
- ``topic``: calls the AI path put in that topic (P15), read from the call's encrypted
  categories artefact, only for calls the user may list; calls without AI output have none.
- ``masked``: a piece of the masked display (``+4791234***``), spaces ignored; it never
  touches the lookup digest. A pattern without ``*`` and with 7+ digits is refused: that
  is a full number, and full numbers go through ``number``.
- ``number``: the caller's full number, looked up through the keyed lookup digest only
  (every pepper version), and only for the roles and purposes in
  :data:`recorder.access.NUMBER_SEARCH` (DPO ``dsar``, legal ``legal``). The number never
  leaves request memory: the audit entry (``recording.search``) says a search ran and how
  many calls it found, not what was searched for.

Every listing writes one audit entry (``recording.list`` or ``recording.search``) with the
*names* of the filters used, never their values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from recorder.access import Action, Assignments, Principal, agents_of, allowed, may_search
from recorder.audit_events import AuditAction, access_event
from recorder.config import Config
from recorder.errors import AccessDenied, InvalidEvent
from recorder.masking import digest_for_lookup
from recorder.models import CHAT_PROVIDER
from recorder.qa_views import read_json, topics_of
from recorder.timeutil import parse_utc
from storage.errors import KeyringError
from storage.models import ArtefactKind, Recording, State
from storage.vault import Vault

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MASKED = re.compile(r"[+0-9*]{1,20}")
_DIGIT = re.compile(r"\d")
CATEGORIES = ArtefactKind.CATEGORIES


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFilter:
    """The filters of a listing; ``None`` means "do not filter on this"."""

    agent: str | None = None
    team: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    masked: str | None = None
    number: str | None = field(default=None, repr=False)
    topic: str | None = None

    def names(self) -> str:
        """The names of the filters in use, comma-separated (what the audit log gets)."""
        used = [
            name
            for name in ("agent", "team", "since", "until", "masked", "number", "topic")
            if getattr(self, name) is not None
        ]
        return ",".join(used)


def parse_when(value: str | None, option: str, *, end: bool) -> datetime | None:
    """``YYYY-MM-DD`` (midnight UTC; with ``end`` the next midnight) or ISO-8601 with offset."""
    if value is None:
        return None
    text = value.strip()
    if _DAY.fullmatch(text):
        try:
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise InvalidEvent(f"{option}: not a real date") from None
        return day + timedelta(days=1) if end else day
    return parse_utc(text, option, InvalidEvent)


def masked_pattern(value: str | None) -> str | None:
    """A ``--masked`` pattern, normalised (spaces and dashes dropped) and checked."""
    if value is None:
        return None
    text = value.replace(" ", "").replace("-", "")
    if not _MASKED.fullmatch(text):
        raise InvalidEvent("--masked: expected digits, + and * only (e.g. 234***)")
    if "*" not in text and len(_DIGIT.findall(text)) >= 7:
        raise InvalidEvent("--masked: looks like a full number; use --number (DPO/legal)")
    return text


def matches(config: Config, call: Recording, wanted: CallFilter) -> bool:
    """True if ``call`` passes every filter except ``number`` (applied by the lookup)."""
    if wanted.agent is not None and wanted.agent not in agents_of(call):
        return False
    if wanted.team is not None and not _in_team(config, call, wanted.team):
        return False
    if wanted.since is not None and call.started_at < wanted.since:
        return False
    if wanted.until is not None and call.started_at >= wanted.until:
        return False
    return wanted.masked is None or wanted.masked in call.caller_display


def _in_team(config: Config, call: Recording, team: str) -> bool:
    at = call.started_at
    return any(
        team in config.ancestors(member_of)
        for agent in agents_of(call)
        for member_of in config.teams_of(agent, at)
    )


def _by_number(vault: Vault, config: Config, number: str) -> list[Recording]:
    """Every stored call whose caller digest matches ``number`` under any pepper version."""
    keyring = vault.keyring
    found: dict[str, Recording] = {}
    for version in range(1, keyring.active_pepper_version() + 1):
        try:
            pepper = keyring.pepper(version)
        except KeyringError:
            continue
        digest = digest_for_lookup(
            number, pepper=pepper, pepper_version=version, default_region=config.default_region
        )
        if digest is None:
            continue
        for call in vault.catalog.recordings_by_digest(digest.digest):
            if call.caller_digest is not None and call.caller_digest.pepper_version == version:
                found[call.id] = call
    return list(found.values())


def list_calls(
    vault: Vault,
    config: Config,
    principal: Principal,
    wanted: CallFilter,
    *,
    now: datetime,
    purpose: str | None = None,
    assignments: Assignments | None = None,
) -> list[Recording]:
    """The available calls ``principal`` may list that pass ``wanted``, oldest first; audited.

    A number search by a user who may not search is audited as denied and raises
    :class:`AccessDenied`.
    """
    action = AuditAction.LIST
    if wanted.number is not None:
        action = AuditAction.SEARCH
        decision = may_search(config, principal, purpose)
        if not decision.allowed:
            vault.audit.append(
                access_event(
                    action,
                    principal,
                    ts=now,
                    allowed=False,
                    reason=decision.reason,
                    purpose=purpose,
                    detail={"filters": wanted.names()},
                )  # fmt: skip
            )
            raise AccessDenied(decision.reason)
        candidates = _by_number(vault, config, wanted.number)
    else:
        candidates = vault.catalog.list_recordings(state=State.AVAILABLE)
    rows = [
        call
        for call in candidates
        if call.state is State.AVAILABLE
        and call.provider != CHAT_PROVIDER  # chats are listed by `callrec chat list`
        and matches(config, call, wanted)
        and allowed(
            config, principal, Action.LIST, call, purpose=purpose, assignments=assignments
        ).allowed
    ]
    if wanted.topic is not None:
        rows = [r for r in rows if wanted.topic in topics_of(read_json(vault, r, CATEGORIES))]
    rows.sort(key=lambda r: (r.started_at, r.id))
    vault.audit.append(
        access_event(
            action,
            principal,
            ts=now,
            allowed=True,
            reason="calls they may list" if action is AuditAction.LIST else "number search",
            purpose=purpose,
            detail={"count": len(rows), "filters": wanted.names()},
        )  # fmt: skip
    )
    return rows
