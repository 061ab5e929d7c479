"""Who may do what to which call: the one place access is decided.

Permissions are data (ARCHITECTURE.md §3): :data:`GRANTS` maps each role to the actions it
may take and the *scope* of calls it may take them on; :data:`PURPOSES` restricts, per
(role, action), the purpose codes that may be given. Everything not in the table is denied
("default deny"), and so is any role or action this module does not know.

Scopes
------
- ``OWN``: calls the principal handled as an agent: the answering agent (``agent_id``) or
  any other agent who took part in a conference or transfer (``Recording.participants``).
- ``TEAM_AT_CALL_TIME``: calls where **any** of those agents was, **at the time of the
  call**, a member of a team the principal led at that time, or of any team nested below it
  (``parent`` in the configuration). Moving an agent later does not move old calls. Any,
  not only the answering agent: a manager may listen to all their subordinates' calls
  (P06), and a transferred call is one of them as much as an answered one.
- ``ASSIGNED``: calls sampled to the QA reviewer, looked up through :class:`Assignments`;
  without an assignment source the answer is "no QA assignments yet".
- ``ANY_WITH_PURPOSE``: any call, but only with one of the purpose codes listed for that
  (role, action) in :data:`PURPOSES` (DPO: ``dsar``; legal: ``legal``).
- ``ANY_METADATA``: any call's *metadata* (admin ``list`` only; never audio or text).
- ``HANDLER``: a chat whose follow-up the principal handles: the advisor who took the
  handover (``agent_id``) and nobody else, not even other advisors of the chat (the
  contact details given in the queue are for the follow-up only; issue 17).
- ``ANY_AGGREGATE``: any unrestricted chat, but only as counts or an anonymised sample
  (no id, no time, redacted text): ``callrec chat stats`` and ``chat sample``.

Chats (issue 17) are recordings of provider ``chat`` with actions of their own:
``chat_list`` and ``chat_view`` (advisors their chats, supervisors their team's at chat
time, the DPO and legal with a purpose), ``chat_contact`` (the handling advisor only),
``chat_sample`` (QA reviewers) and ``chat_stats`` (supervisors, QA, admin).

Restricted recordings are reachable only through ``ANY_WITH_PURPOSE`` (legal, DPO) and
metadata listing. A purpose that is given must be configured (``Config.purposes``) and is
never ``marketing`` (P10). Play/download/export always carry a purpose at the edge
(:func:`recorder.playback.open_playback` requires one); where :data:`PURPOSES` lists a set
for a (role, action), the decision itself requires one of them.

Decisions
---------
- a recording whose catalog row fails its integrity MAC (``Recording.intact`` is False:
  someone edited the database) is denied to everyone, for every action, with the reason
  :data:`INTEGRITY_REASON`; the caller audits the denial like any other;
- the admin manages keys, retention and users: lists metadata, **no audio by default**;
- agents do not download (they listen to their own calls: P05); supervisors may;
- only the DPO (``dsar``) and legal (``legal``) export; only they place holds; only the DPO
  erases (a data-subject request);
- a principal with several roles gets the union of their grants.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from recorder.config import FORBIDDEN_PURPOSES, Config
from recorder.errors import AccessDenied
from storage.models import Recording


class Action(enum.StrEnum):
    """Things a person can do to a recording; each is decided and audited separately."""

    LIST = "list"
    PLAY = "play"
    DOWNLOAD = "download"
    EXPORT = "export"
    VIEW_TRANSCRIPT = "view_transcript"
    VIEW_SUMMARY = "view_summary"
    APPROVE_SUMMARY = "approve_summary"
    PLACE_HOLD = "place_hold"
    ERASE = "erase"
    CHAT_LIST = "chat_list"
    CHAT_VIEW = "chat_view"
    CHAT_CONTACT = "chat_contact"
    CHAT_SAMPLE = "chat_sample"
    CHAT_STATS = "chat_stats"


class Role(enum.StrEnum):
    """The roles of the configuration (``config.ROLES``)."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    QA_REVIEWER = "qa_reviewer"
    ADMIN = "admin"
    DPO = "dpo"
    LEGAL = "legal"


class Scope(enum.StrEnum):
    """Which calls a grant reaches (see the module docstring)."""

    OWN = "own"
    TEAM_AT_CALL_TIME = "team_at_call_time"
    ASSIGNED = "assigned"
    ANY_WITH_PURPOSE = "any_with_purpose"
    ANY_METADATA = "any_metadata"
    HANDLER = "handler"
    ANY_AGGREGATE = "any_aggregate"


_A = Action
_TEXT_AND_AUDIO = (_A.LIST, _A.PLAY, _A.VIEW_TRANSCRIPT, _A.VIEW_SUMMARY)
_CHAT = (_A.CHAT_LIST, _A.CHAT_VIEW)

#: The grants table: role -> action -> scope. Absent means denied.
GRANTS: Mapping[Role, Mapping[Action, Scope]] = MappingProxyType(
    {
        Role.AGENT: MappingProxyType(
            {a: Scope.OWN for a in (*_TEXT_AND_AUDIO, _A.APPROVE_SUMMARY, *_CHAT)}
            | {_A.CHAT_CONTACT: Scope.HANDLER}
        ),
        Role.SUPERVISOR: MappingProxyType(
            {
                a: Scope.TEAM_AT_CALL_TIME
                for a in (*_TEXT_AND_AUDIO, _A.DOWNLOAD, _A.APPROVE_SUMMARY, *_CHAT)
            }
            | {_A.CHAT_STATS: Scope.ANY_AGGREGATE}
        ),
        Role.QA_REVIEWER: MappingProxyType(
            {a: Scope.ASSIGNED for a in _TEXT_AND_AUDIO}
            | {a: Scope.ANY_AGGREGATE for a in (_A.CHAT_SAMPLE, _A.CHAT_STATS)}
        ),
        Role.ADMIN: MappingProxyType(
            {_A.LIST: Scope.ANY_METADATA, _A.CHAT_LIST: Scope.ANY_METADATA}
            | {_A.CHAT_STATS: Scope.ANY_AGGREGATE}
        ),
        Role.DPO: MappingProxyType(
            {
                a: Scope.ANY_WITH_PURPOSE
                for a in (
                    _A.LIST,
                    _A.EXPORT,
                    _A.VIEW_TRANSCRIPT,
                    _A.VIEW_SUMMARY,
                    _A.PLACE_HOLD,
                    _A.ERASE,
                    *_CHAT,
                )
            }  # fmt: skip
        ),
        Role.LEGAL: MappingProxyType(
            {
                a: Scope.ANY_WITH_PURPOSE
                for a in (*_TEXT_AND_AUDIO, _A.DOWNLOAD, _A.EXPORT, _A.PLACE_HOLD, *_CHAT)
            }
        ),
    }
)

#: Purpose codes allowed per (role, action) where it matters; a listed pair *requires* one.
PURPOSES: Mapping[tuple[Role, Action], frozenset[str]] = MappingProxyType(
    {
        (Role.QA_REVIEWER, _A.PLAY): frozenset({"quality", "training"}),
        **{(Role.DPO, a): frozenset({"dsar"}) for a in GRANTS[Role.DPO]},
        **{(Role.LEGAL, a): frozenset({"legal"}) for a in GRANTS[Role.LEGAL]},
    }
)


#: Why a recording whose catalog row was edited behind callrec's back is denied.
INTEGRITY_REASON = "recording metadata failed its integrity check"

#: Who may look calls up by a caller's full number (via the lookup digest), and with which
#: purpose: a data-subject request (DPO) or a legal matter. Everyone else filters only on
#: what they can already see (agent, team, dates, the masked display).
NUMBER_SEARCH: Mapping[Role, frozenset[str]] = MappingProxyType(
    {Role.DPO: frozenset({"dsar"}), Role.LEGAL: frozenset({"legal"})}
)


class Assignments(Protocol):
    """Where QA sampling records which calls were drawn for which reviewer."""

    def is_assigned(self, reviewer_id: str, recording_id: str) -> bool:
        """True if ``recording_id`` was sampled to ``reviewer_id``."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class StaticAssignments:
    """An in-memory :class:`Assignments`: a set of (reviewer id, recording id) pairs."""

    pairs: frozenset[tuple[str, str]]

    def is_assigned(self, reviewer_id: str, recording_id: str) -> bool:
        """True if the pair is in the set."""
        return (reviewer_id, recording_id) in self.pairs


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """The person acting (``--as USER`` until real login exists)."""

    user_id: str
    roles: frozenset[str]

    @property
    def role(self) -> str:
        """The role recorded in the audit log: the most specific one held."""
        for role in ("supervisor", "agent"):
            if role in self.roles:
                return role
        return sorted(self.roles)[0] if self.roles else "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """An access decision and why (the reason is audited; it holds no personal data)."""

    allowed: bool
    reason: str


def principal_for(config: Config, user_id: str) -> Principal:
    """The principal for a configured user id (ConfigError if unknown)."""
    user = config.user(user_id)
    return Principal(user_id=user.id, roles=user.roles)


def agents_of(call: Recording) -> tuple[str, ...]:
    """Every agent of the call: the answering agent first, then the other participants."""
    first = () if call.agent_id is None else (call.agent_id,)
    return first + tuple(p for p in call.participants if p != call.agent_id)


def _deny(reason: str) -> Decision:
    return Decision(allowed=False, reason=reason)


def _in_scope(
    config: Config,
    principal: Principal,
    scope: Scope,
    call: Recording,
    assignments: Assignments | None,
) -> Decision:
    if scope is Scope.ANY_METADATA:
        return Decision(allowed=True, reason="metadata of any call")
    if scope is Scope.ANY_WITH_PURPOSE:
        return Decision(allowed=True, reason="any call, with a permitted purpose")
    if call.restricted:
        return _deny("recording is restricted")
    if scope is Scope.ANY_AGGREGATE:
        return Decision(allowed=True, reason="any chat, counted or sampled without ids")
    if scope is Scope.HANDLER:
        if call.agent_id is not None and call.agent_id == principal.user_id:
            return Decision(allowed=True, reason="they handle the follow-up")
        return _deny("not the advisor handling the follow-up")
    if scope is Scope.OWN:
        if call.agent_id is not None and call.agent_id == principal.user_id:
            return Decision(allowed=True, reason="own call")
        if principal.user_id in call.participants:
            return Decision(allowed=True, reason="own call (took part)")
        return _deny("not their own call")
    if scope is Scope.TEAM_AT_CALL_TIME:
        at = call.started_at
        for agent in agents_of(call):
            for team in config.teams_of(agent, at):
                for led in config.ancestors(team):
                    if config.led_at(principal.user_id, led, at):
                        return Decision(
                            allowed=True, reason="agent was in a team they led at call time"
                        )
        return _deny("agent was not in their team at call time")
    # Scope.ASSIGNED
    if assignments is None:
        return _deny("no QA assignments yet")
    if assignments.is_assigned(principal.user_id, call.id):
        return Decision(allowed=True, reason="call sampled to them for review")
    return _deny("call not sampled to them")


def _purpose_ok(role: Role, action: Action, purpose: str | None) -> Decision | None:
    wanted = PURPOSES.get((role, action))
    if wanted is None:
        return None
    if purpose is None:
        return _deny("a purpose code is required")
    if purpose not in wanted:
        return _deny("purpose not permitted for this role and action")
    return None


def allowed(
    config: Config,
    principal: Principal,
    action: Action | str,
    call: Recording,
    *,
    purpose: str | None = None,
    assignments: Assignments | None = None,
) -> Decision:
    """Decide whether ``principal`` may perform ``action`` on ``call``. Default deny.

    The union of the principal's roles' grants: allowed if any role allows; otherwise the
    reason of the first role (most specific first) that had a grant for the action.
    """
    try:
        act = Action(action)
    except ValueError:
        return _deny("default deny: unknown action")
    if not call.intact:
        return _deny(INTEGRITY_REASON)
    if purpose is not None:
        if purpose in FORBIDDEN_PURPOSES:
            return _deny("purpose is never permitted")
        if purpose not in config.purposes:
            return _deny("purpose not configured")
    refusals: list[Decision] = []
    for role in _roles_in_order(principal):
        scope = GRANTS[role].get(act)
        if scope is None:
            continue
        refused = _purpose_ok(role, act, purpose)
        decision = refused or _in_scope(config, principal, scope, call, assignments)
        if decision.allowed:
            return decision
        refusals.append(decision)
    if refusals:
        return refusals[0]
    return _deny("default deny: no grant for their role(s) and this action")


def may_search(config: Config, principal: Principal, purpose: str | None) -> Decision:
    """May ``principal`` search calls by a caller's number for ``purpose``? Default deny."""
    if purpose is not None and (purpose in FORBIDDEN_PURPOSES or purpose not in config.purposes):
        return _deny("purpose not permitted")
    roles = [role for role in _roles_in_order(principal) if role in NUMBER_SEARCH]
    if not roles:
        return _deny("searching by number is for the DPO and legal only")
    if purpose is None:
        return _deny("a purpose code is required")
    if any(purpose in NUMBER_SEARCH[role] for role in roles):
        return Decision(allowed=True, reason="number search with a permitted purpose")
    return _deny("purpose not permitted for this role and action")


#: The original name (capture-spine milestone): same function, same defaults.
decide = allowed

_ROLE_ORDER = (
    Role.SUPERVISOR, Role.AGENT, Role.QA_REVIEWER, Role.LEGAL, Role.DPO, Role.ADMIN,
)  # fmt: skip


def _roles_in_order(principal: Principal) -> list[Role]:
    return [role for role in _ROLE_ORDER if role.value in principal.roles]


def ensure_allowed(
    config: Config,
    principal: Principal,
    action: Action | str,
    call: Recording,
    *,
    purpose: str | None = None,
    assignments: Assignments | None = None,
) -> None:
    """Raise :class:`AccessDenied` unless :func:`allowed` allows it."""
    decision = allowed(config, principal, action, call, purpose=purpose, assignments=assignments)
    if not decision.allowed:
        raise AccessDenied(decision.reason)
