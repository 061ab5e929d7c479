"""The callrec configuration file: org chart (users, roles, teams over time) and defaults.

One TOML file, validated at start with errors that name the field (never a value that
could be personal data). Team membership and leadership are *intervals*, because access
follows the org chart **at call time**: moving an agent to another team later does not
move their old calls.

::

    default_region = "NO"            # for numbers without a country code
    [[users]]
    id = "anna"
    name = "Anna Berg"
    roles = ["agent"]
    [[teams]]
    id = "oslo-1"
    name = "Oslo customer service"
    leaders = [{ user = "siri", from = "2026-01-01T00:00:00Z" }]
    members = [{ user = "anna", from = "2026-01-01T00:00:00Z", until = "2026-12-01T00:00:00Z" }]

``from`` is inclusive, ``until`` exclusive and optional (open-ended).

Teams may nest: ``parent = "oslo"`` makes a team a sub-team, and whoever leads a team
also leads (for access) every team below it, at the time of the call. The parent link is
static; a cycle or an unknown parent is a :class:`ConfigError`.

Purpose codes (``purposes = ["quality", "dispute", "training", "dsar", "legal"]`` by
default) are the reasons a person may give for touching a recording; every audio access
carries one. ``marketing`` can never be configured (P10).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from recorder.errors import ConfigError
from recorder.timeutil import parse_utc

ROLES = frozenset({"agent", "supervisor", "qa_reviewer", "admin", "dpo", "legal"})
REGIONS = frozenset({"NO", "SE", "FI", "DK", "IS"})
#: The purpose codes when the file sets none.
DEFAULT_PURPOSES = ("quality", "dispute", "training", "dsar", "legal")
#: Purposes that no configuration may enable and no role may use (P10).
FORBIDDEN_PURPOSES = frozenset({"marketing"})
_PURPOSE_CODE = re.compile(r"[a-z][a-z_]{1,31}")


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    """A person who uses callrec, with their roles."""

    id: str
    name: str
    roles: frozenset[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    """``user`` held a place in a team from ``start`` (inclusive) to ``end`` (exclusive)."""

    user: str
    start: datetime
    end: datetime | None

    def covers(self, at: datetime) -> bool:
        """True if ``at`` falls within the span."""
        return self.start <= at and (self.end is None or at < self.end)


@dataclass(frozen=True, slots=True, kw_only=True)
class Team:
    """A team with its leaders and members over time."""

    id: str
    name: str
    leaders: tuple[Span, ...]
    members: tuple[Span, ...]
    parent: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """The validated configuration."""

    default_region: str
    users: Mapping[str, User]
    teams: Mapping[str, Team]
    purposes: frozenset[str] = frozenset(DEFAULT_PURPOSES)
    #: The whole parsed TOML document, so a feature module can validate its own table
    #: (``[retention]``, ``[ai]``, ``[qa]``, ``[providers]`` ...) without this module
    #: knowing every feature. Read it through :meth:`section`.
    document: Mapping[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Any]:
        """The top-level table ``[name]`` (empty if absent); :class:`ConfigError` if not a table."""
        value = self.document.get(name, {})
        if not isinstance(value, Mapping):
            raise ConfigError(f"[{name}] must be a table")
        return value

    def user(self, user_id: str) -> User:
        """The user, or :class:`ConfigError` if unknown."""
        try:
            return self.users[user_id]
        except KeyError:
            raise ConfigError("unknown user (not in the configuration)") from None

    def team_of(self, agent_id: str | None, at: datetime) -> str | None:
        """The team ``agent_id`` was a member of at ``at`` (first match), or None."""
        if agent_id is None:
            return None
        for team in self.teams.values():
            if any(s.user == agent_id and s.covers(at) for s in team.members):
                return team.id
        return None

    def led_at(self, user_id: str, team_id: str, at: datetime) -> bool:
        """True if ``user_id`` led ``team_id`` at ``at``."""
        team = self.teams.get(team_id)
        return team is not None and any(s.user == user_id and s.covers(at) for s in team.leaders)

    def teams_of(self, agent_id: str | None, at: datetime) -> tuple[str, ...]:
        """Every team ``agent_id`` was a member of at ``at`` (in configuration order)."""
        if agent_id is None:
            return ()
        return tuple(
            team.id
            for team in self.teams.values()
            if any(s.user == agent_id and s.covers(at) for s in team.members)
        )

    def ancestors(self, team_id: str) -> tuple[str, ...]:
        """``team_id`` and every team above it, nearest first (cycle-safe)."""
        chain: list[str] = []
        current: str | None = team_id
        while current is not None and current not in chain and current in self.teams:
            chain.append(current)
            current = self.teams[current].parent
        return tuple(chain)


def _str(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: '{key}' must be a non-empty string")
    return value


def _spans(raw: Any, where: str, users: Mapping[str, User]) -> tuple[Span, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where} must be a list of {{ user, from, until }} tables")
    spans = []
    for i, item in enumerate(raw):
        here = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{here} must be a table")
        user = _str(item, "user", here)
        if user not in users:
            raise ConfigError(f"{here}: user is not defined in [[users]]")
        start = parse_utc(_str(item, "from", here), f"{here}.from", ConfigError)
        until = item.get("until")
        end = None if until is None else parse_utc(str(until), f"{here}.until", ConfigError)
        if end is not None and end <= start:
            raise ConfigError(f"{here}: 'until' must be after 'from'")
        spans.append(Span(user=user, start=start, end=end))
    return tuple(spans)


def parse_config(data: Mapping[str, Any]) -> Config:
    """Validate a parsed TOML document into a :class:`Config`."""
    region = data.get("default_region", "NO")
    if not isinstance(region, str) or len(region) != 2 or not region.isupper():
        raise ConfigError("default_region must be a two-letter region code such as NO")
    users: dict[str, User] = {}
    for i, raw in enumerate(data.get("users", [])):
        where = f"users[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where} must be a table")
        uid = _str(raw, "id", where)
        roles = raw.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise ConfigError(f"{where}: 'roles' must be a list of strings")
        unknown = set(roles) - ROLES
        if unknown:
            raise ConfigError(f"{where}: unknown role(s) {sorted(unknown)}; known: {sorted(ROLES)}")
        if uid in users:
            raise ConfigError(f"{where}: duplicate user id")
        users[uid] = User(id=uid, name=_str(raw, "name", where, uid), roles=frozenset(roles))
    teams: dict[str, Team] = {}
    for i, raw in enumerate(data.get("teams", [])):
        where = f"teams[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where} must be a table")
        tid = _str(raw, "id", where)
        if tid in teams:
            raise ConfigError(f"{where}: duplicate team id")
        teams[tid] = Team(
            id=tid,
            name=_str(raw, "name", where, tid),
            leaders=_spans(raw.get("leaders"), f"{where}.leaders", users),
            members=_spans(raw.get("members"), f"{where}.members", users),
            parent=_parent(raw, where),
        )
    _check_team_tree(teams)
    return Config(
        default_region=region,
        users=users,
        teams=teams,
        purposes=_purposes(data.get("purposes")),
        document=dict(data),
    )


def _parent(raw: Mapping[str, Any], where: str) -> str | None:
    if raw.get("parent") is None:
        return None
    return _str(raw, "parent", where)


def _check_team_tree(teams: Mapping[str, Team]) -> None:
    """Every parent exists and no team is (indirectly) its own parent."""
    for i, team in enumerate(teams.values()):
        if team.parent is not None and team.parent not in teams:
            raise ConfigError(f"teams[{i}].parent: team is not defined in [[teams]]")
    for i, team in enumerate(teams.values()):
        seen = {team.id}
        current = team.parent
        while current is not None:
            if current in seen:
                raise ConfigError(f"teams[{i}].parent: teams form a cycle ({team.id!r})")
            seen.add(current)
            current = teams[current].parent


def _purposes(raw: Any) -> frozenset[str]:
    if raw is None:
        return frozenset(DEFAULT_PURPOSES)
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise ConfigError("purposes must be a list of purpose codes")
    for i, code in enumerate(raw):
        if not _PURPOSE_CODE.fullmatch(code):
            raise ConfigError(f"purposes[{i}]: expected a lower-case code such as quality")
        if code in FORBIDDEN_PURPOSES:
            raise ConfigError(f"purposes[{i}]: {code!r} may never be a purpose (P10)")
    return frozenset(raw)


def load_config(path: Path) -> Config:
    """Read and validate the TOML file at ``path``."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file is not valid TOML: {path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from None
    return parse_config(data)


EMPTY = Config(default_region="NO", users={}, teams={})
