"""Who may do what to which call: the one place access is decided.

Default deny. The rule in force now (the capture-spine milestone):

- an ``agent`` may list and play calls where they were the agent;
- a ``supervisor`` may list and play calls whose agent was a member of a team the
  supervisor led, both **at the time of the call** (the org chart's intervals decide;
  moving an agent later does not move old calls);
- everybody else is denied, with a reason.

The full role model (QA sampling, admin, DPO, legal, purpose codes per action) grows here,
behind the same :func:`decide` / :func:`ensure_allowed` pair, so callers never change.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from recorder.config import Config
from recorder.errors import AccessDenied
from storage.models import Recording


class Action(enum.StrEnum):
    """Things a person can do to a recording; each is decided and audited separately."""

    LIST = "list"
    PLAY = "play"
    DOWNLOAD = "download"


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


def decide(config: Config, principal: Principal, action: Action, call: Recording) -> Decision:
    """Decide whether ``principal`` may perform ``action`` on ``call``. Default deny."""
    if action not in (Action.LIST, Action.PLAY, Action.DOWNLOAD):
        return Decision(allowed=False, reason="action not granted to any role")
    if "agent" in principal.roles and call.agent_id == principal.user_id:
        return Decision(allowed=True, reason="own call")
    if "supervisor" in principal.roles and call.agent_id is not None:
        team = config.team_of(call.agent_id, call.started_at)
        if team is not None and config.led_at(principal.user_id, team, call.started_at):
            return Decision(allowed=True, reason="agent was in a team they led at call time")
        return Decision(allowed=False, reason="agent was not in their team at call time")
    if "agent" in principal.roles:
        return Decision(allowed=False, reason="not their own call")
    return Decision(allowed=False, reason="role has no access to recordings")


def ensure_allowed(config: Config, principal: Principal, action: Action, call: Recording) -> None:
    """Raise :class:`AccessDenied` unless :func:`decide` allows it."""
    decision = decide(config, principal, action, call)
    if not decision.allowed:
        raise AccessDenied(decision.reason)
