"""The full role model: grants as data, default deny, nested teams, purposes (T-RBAC).

- default deny, datasette style: every (role, action) pair *not* in ``GRANTS`` is refused
  even for a call the user is related to in every possible way, with every purpose;
- nested teams: a supervisor of a parent team sees sub-team members' calls at call time;
- admin gets no audio; the DPO exports only for a data-subject request (``dsar``);
- ``marketing`` is refused for every role and action, and cannot be configured (P10);
- B1-lite: random small org charts, calls and attempts, checked against a reference policy
  written here independently of ``recorder.access``;
- B2: guessing other users' recording ids through ``open_playback`` never succeeds.
"""

from __future__ import annotations

import random
import tomllib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recorder.access import (
    GRANTS,
    Action,
    Principal,
    Role,
    Scope,
    StaticAssignments,
    allowed,
    decide,
    ensure_allowed,
    principal_for,
)
from recorder.capture import Capturer
from recorder.config import DEFAULT_PURPOSES, ROLES, Config, parse_config
from recorder.errors import AccessDenied, ConfigError
from recorder.playback import open_playback
from storage.models import Recording, State
from storage.vault import Vault
from tests.recorder.conftest import AFTER_MOVE, BEFORE_MOVE, MakeCall

BASE = datetime(2026, 1, 1, tzinfo=UTC)
PURPOSE_TRIES: tuple[str | None, ...] = (None, *DEFAULT_PURPOSES, "marketing", "unknown_code")


def rec(rid: str, agent: str | None, at: datetime, *, restricted: bool = False) -> Recording:
    """A catalogue row as the access layer sees it (only id, agent, time, flag matter)."""
    return Recording(
        id=rid, provider="test", provider_id=rid, started_at=at, answered_at=at,
        ended_at=at + timedelta(minutes=1), duration_ms=60_000, service_number=None,
        caller_display="+47 9** ** *67", caller_digest=None, agent_id=agent, team_id=None,
        channels=1, retention_class="default", expires_at=None, ai_opted_out=False,
        legal_hold=False, restricted=restricted, state=State.AVAILABLE, created_at=at,
    )  # fmt: skip


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def span(user: str, start: datetime, end: datetime | None = None) -> dict[str, str]:
    out = {"user": user, "from": iso(start)}
    if end is not None:
        out["until"] = iso(end)
    return out


# --- the table itself ---------------------------------------------------------------------


def test_grants_cover_exactly_the_configured_roles() -> None:
    assert {r.value for r in Role} == ROLES
    assert set(GRANTS) == set(Role)


def test_grants_table_is_the_documented_one() -> None:
    """A change to who may do what must be a deliberate edit here too."""
    table = {role.value: {a.value: s.value for a, s in g.items()} for role, g in GRANTS.items()}
    own, team, qa, anyp = "own", "team_at_call_time", "assigned", "any_with_purpose"
    agg, meta, chat = "any_aggregate", "any_metadata", ["chat_list", "chat_view"]
    assert table == {
        "agent": dict.fromkeys(
            ["list", "play", "view_transcript", "view_summary", "approve_summary", *chat], own
        )
        | {"chat_contact": "handler"},
        "supervisor": dict.fromkeys(
            ["list", "play", "download", "view_transcript", "view_summary", "approve_summary",
             *chat],
            team,
        )
        | {"chat_stats": agg},
        "qa_reviewer": dict.fromkeys(["list", "play", "view_transcript", "view_summary"], qa)
        | {"chat_sample": agg, "chat_stats": agg},
        "admin": {"list": meta, "chat_list": meta, "chat_stats": agg},
        "dpo": dict.fromkeys(
            ["list", "export", "view_transcript", "view_summary", "place_hold", "erase", *chat],
            anyp,
        ),
        "legal": dict.fromkeys(
            ["list", "play", "download", "export", "view_transcript", "view_summary", "place_hold",
             *chat],
            anyp,
        ),
    }  # fmt: skip


def test_metadata_scope_grants_nothing_but_listing() -> None:
    for grants in GRANTS.values():
        for action, scope in grants.items():
            if scope is Scope.ANY_METADATA:
                assert action in (Action.LIST, Action.CHAT_LIST)
            if scope is Scope.ANY_AGGREGATE:  # counts and anonymised samples only
                assert action in (Action.CHAT_STATS, Action.CHAT_SAMPLE)


# --- default deny -------------------------------------------------------------------------


def _related_config(user: str) -> Config:
    """``user`` is the agent of the call, a member and the leader of its team."""
    return parse_config(
        {
            "users": [{"id": user, "roles": []}],
            "teams": [{"id": "t", "leaders": [span(user, BASE)], "members": [span(user, BASE)]}],
        }
    )


UNGRANTED = [(role, action) for role in Role for action in Action if action not in GRANTS[role]]


@pytest.mark.parametrize(("role", "action"), UNGRANTED, ids=lambda v: str(v))
def test_default_deny_for_every_pair_not_granted(role: Role, action: Action) -> None:
    config = _related_config("u")
    principal = Principal(user_id="u", roles=frozenset({role.value}))
    assignments = StaticAssignments(pairs=frozenset({("u", "c1")}))
    for restricted in (False, True):
        call = rec("c1", "u", BASE + timedelta(days=3), restricted=restricted)
        for purpose in PURPOSE_TRIES:
            decision = allowed(
                config, principal, action, call, purpose=purpose, assignments=assignments
            )
            assert not decision.allowed, (role, action, purpose)
            with pytest.raises(AccessDenied):
                ensure_allowed(
                    config, principal, action, call, purpose=purpose, assignments=assignments
                )


def test_the_same_related_user_is_allowed_what_is_granted() -> None:
    """The control for the test above: the setup really relates the user to the call."""
    config = _related_config("u")
    call = rec("c1", "u", BASE + timedelta(days=3))
    assignments = StaticAssignments(pairs=frozenset({("u", "c1")}))
    purpose_for = {Role.DPO: "dsar", Role.LEGAL: "legal"}
    for role, grants in GRANTS.items():
        principal = Principal(user_id="u", roles=frozenset({role.value}))
        for action in grants:
            purpose = purpose_for.get(role, "quality")
            decision = allowed(
                config, principal, action, call, purpose=purpose, assignments=assignments
            )
            assert decision.allowed, (role, action, decision.reason)


def test_unknown_roles_actions_and_no_roles_are_denied() -> None:
    config = _related_config("u")
    call = rec("c1", "u", BASE + timedelta(days=3))
    for roles in (frozenset({"superuser"}), frozenset({"Agent"}), frozenset()):
        principal = Principal(user_id="u", roles=roles)
        assert not allowed(config, principal, Action.LIST, call, purpose="quality").allowed
    agent = Principal(user_id="u", roles=frozenset({"agent"}))
    decision = allowed(config, agent, "delete", call, purpose="quality")
    assert (decision.allowed, decision.reason) == (False, "default deny: unknown action")


# --- nested teams -------------------------------------------------------------------------

NESTED = """
[[users]]
id = "anna"
roles = ["agent"]
[[users]]
id = "bjorn"
roles = ["agent"]
[[users]]
id = "olav"
roles = ["agent"]
[[users]]
id = "head"
roles = ["supervisor"]
[[users]]
id = "siri"
roles = ["supervisor"]
[[users]]
id = "sven"
roles = ["supervisor"]

[[teams]]
id = "oslo"
leaders = [{ user = "head", from = "2026-01-01T00:00:00Z" }]
members = [{ user = "olav", from = "2026-01-01T00:00:00Z" }]
[[teams]]
id = "oslo-1"
parent = "oslo"
leaders = [{ user = "siri", from = "2026-01-01T00:00:00Z" }]
members = [
  { user = "anna", from = "2026-01-01T00:00:00Z" },
  { user = "bjorn", from = "2026-01-01T00:00:00Z", until = "2026-11-18T00:00:00Z" },
]
[[teams]]
id = "oslo-1a"
parent = "oslo-1"
members = []
[[teams]]
id = "stockholm"
leaders = [{ user = "sven", from = "2026-01-01T00:00:00Z" }]
members = [{ user = "bjorn", from = "2026-11-18T00:00:00Z" }]
"""


def test_a_parent_team_leader_sees_sub_team_calls_at_call_time() -> None:
    config = parse_config(tomllib.loads(NESTED))

    def may(user: str, agent: str, at: datetime) -> bool:
        call = rec("c", agent, at)
        return allowed(config, principal_for(config, user), Action.PLAY, call).allowed

    assert may("head", "anna", BEFORE_MOVE) and may("head", "anna", AFTER_MOVE)
    assert may("head", "bjorn", BEFORE_MOVE)  # in oslo-1 (below oslo) then
    assert not may("head", "bjorn", AFTER_MOVE)  # moved away: only later calls move
    assert may("sven", "bjorn", AFTER_MOVE) and not may("sven", "bjorn", BEFORE_MOVE)
    assert may("head", "olav", BEFORE_MOVE)  # direct member
    assert not may("siri", "olav", BEFORE_MOVE)  # nesting goes down, never up
    assert may("siri", "anna", BEFORE_MOVE)


def test_leadership_is_also_taken_at_call_time() -> None:
    data = tomllib.loads(NESTED)
    data["teams"][0]["leaders"] = [span("head", AFTER_MOVE - timedelta(hours=1))]
    config = parse_config(data)
    head = principal_for(config, "head")
    assert not allowed(config, head, Action.PLAY, rec("c", "anna", BEFORE_MOVE)).allowed
    assert allowed(config, head, Action.PLAY, rec("c", "anna", AFTER_MOVE)).allowed


@pytest.mark.parametrize(
    ("parents", "message"),
    [
        ({"a": "a"}, "cycle"),
        ({"a": "b", "b": "a"}, "cycle"),
        ({"a": "b", "b": "c", "c": "a"}, "cycle"),
        ({"a": "nowhere"}, "not defined"),
    ],
)
def test_team_cycles_and_unknown_parents_are_config_errors(
    parents: dict[str, str], message: str
) -> None:
    teams = [{"id": t, "parent": parents.get(t)} for t in ("a", "b", "c")]
    with pytest.raises(ConfigError, match=message):
        parse_config({"teams": [{k: v for k, v in t.items() if v is not None} for t in teams]})


# --- roles and purposes -------------------------------------------------------------------


def _everyone_config() -> Config:
    return parse_config(
        {
            "users": [{"id": r, "roles": [r]} for r in sorted(ROLES)]
            + [{"id": "all", "roles": sorted(ROLES)}],
            "teams": [
                {
                    "id": "t",
                    "leaders": [span("supervisor", BASE), span("all", BASE)],
                    "members": [span("agent", BASE), span("all", BASE)],
                }
            ],
        }
    )


def test_admin_lists_metadata_but_gets_no_audio_or_text() -> None:
    config = _everyone_config()
    admin = principal_for(config, "admin")
    call = rec("c", "agent", BASE + timedelta(days=1))
    assert allowed(config, admin, Action.LIST, call).allowed
    assert allowed(config, admin, Action.CHAT_LIST, call).allowed
    assert allowed(config, admin, Action.CHAT_STATS, call).allowed  # counts only
    for action in set(Action) - {Action.LIST, Action.CHAT_LIST, Action.CHAT_STATS}:
        for purpose in PURPOSE_TRIES:
            assert not allowed(config, admin, action, call, purpose=purpose).allowed, action


def test_dpo_exports_only_for_a_data_subject_request() -> None:
    config = _everyone_config()
    dpo = principal_for(config, "dpo")
    for restricted in (False, True):
        call = rec("c", "agent", BASE + timedelta(days=1), restricted=restricted)
        assert allowed(config, dpo, Action.EXPORT, call, purpose="dsar").allowed
        missing = allowed(config, dpo, Action.EXPORT, call)
        assert (missing.allowed, missing.reason) == (False, "a purpose code is required")
        for purpose in set(DEFAULT_PURPOSES) - {"dsar"}:
            assert not allowed(config, dpo, Action.EXPORT, call, purpose=purpose).allowed
        assert not allowed(config, dpo, Action.PLAY, call, purpose="dsar").allowed


def test_only_dpo_and_legal_export() -> None:
    config = _everyone_config()
    call = rec("c", "agent", BASE + timedelta(days=1))
    exporters = {
        user
        for user in config.users
        if user != "all"
        for purpose in PURPOSE_TRIES
        if allowed(
            config, principal_for(config, user), Action.EXPORT, call, purpose=purpose
        ).allowed
    }
    assert exporters == {"dpo", "legal"}


def test_legal_plays_restricted_recordings_with_a_purpose_and_others_do_not() -> None:
    config = _everyone_config()
    call = rec("c", "agent", BASE + timedelta(days=1), restricted=True)
    legal = principal_for(config, "legal")
    assert allowed(config, legal, Action.PLAY, call, purpose="legal").allowed
    assert not allowed(config, legal, Action.PLAY, call).allowed
    for user in ("agent", "supervisor"):
        decision = allowed(
            config, principal_for(config, user), Action.PLAY, call, purpose="quality"
        )
        assert (decision.allowed, decision.reason) == (False, "recording is restricted")


def test_p10_marketing_is_refused_for_every_role_and_action() -> None:
    config = _everyone_config()
    call = rec("c", "all", BASE + timedelta(days=1))
    assignments = StaticAssignments(pairs=frozenset({("all", "c"), ("qa_reviewer", "c")}))
    for user in config.users:
        for action in Action:
            decision = allowed(
                config, principal_for(config, user), action, call,
                purpose="marketing", assignments=assignments,
            )  # fmt: skip
            assert not decision.allowed, (user, action)


@pytest.mark.parametrize("purposes", [["quality", "marketing"], ["Marketing"], [""], "quality"])
def test_p10_marketing_cannot_be_configured(purposes: Any) -> None:
    with pytest.raises(ConfigError, match="purposes"):
        parse_config({"purposes": purposes})


def test_purposes_are_configurable() -> None:
    config = parse_config(
        {
            "purposes": ["quality", "coaching"],
            "users": [{"id": "a", "roles": ["agent"]}],
        }
    )
    agent = principal_for(config, "a")
    call = rec("c", "a", BASE)
    assert allowed(config, agent, Action.PLAY, call, purpose="coaching").allowed
    dispute = allowed(config, agent, Action.PLAY, call, purpose="dispute")
    assert (dispute.allowed, dispute.reason) == (False, "purpose not configured")


def test_qa_reviewer_sees_only_assigned_calls() -> None:
    config = _everyone_config()
    qa = principal_for(config, "qa_reviewer")
    call, other = rec("c1", "agent", BASE), rec("c2", "agent", BASE)
    none_yet = allowed(config, qa, Action.PLAY, call, purpose="quality")
    assert (none_yet.allowed, none_yet.reason) == (False, "no QA assignments yet")
    assignments = StaticAssignments(pairs=frozenset({("qa_reviewer", "c1")}))
    assert allowed(
        config, qa, Action.PLAY, call, purpose="quality", assignments=assignments
    ).allowed
    assert not allowed(
        config, qa, Action.PLAY, other, purpose="quality", assignments=assignments
    ).allowed
    assert not allowed(
        config, qa, Action.PLAY, call, purpose="dispute", assignments=assignments
    ).allowed


def test_several_roles_get_the_union() -> None:
    config = _everyone_config()
    both = Principal(user_id="all", roles=frozenset({"agent", "dpo"}))
    call = rec("c", "all", BASE + timedelta(days=1))
    assert allowed(config, both, Action.PLAY, call, purpose="quality").allowed  # as agent
    assert allowed(config, both, Action.EXPORT, call, purpose="dsar").allowed  # as dpo
    assert decide(config, both, Action.LIST, call).allowed


# --- B1-lite: random org charts against a reference policy ---------------------------------

CHAT_ACTIONS = {"chat_list", "chat_view"}
AGENT_ACTIONS = {"list", "play", "view_transcript", "view_summary", "approve_summary",
                 *CHAT_ACTIONS}  # fmt: skip
SUPERVISOR_ACTIONS = AGENT_ACTIONS | {"download"}
QA_ACTIONS = {"list", "play", "view_transcript", "view_summary"}
DPO_ACTIONS = {"list", "export", "view_transcript", "view_summary", "place_hold", "erase",
               *CHAT_ACTIONS}  # fmt: skip
LEGAL_ACTIONS = {"list", "play", "download", "export", "view_transcript", "view_summary",
                 "place_hold", *CHAT_ACTIONS}  # fmt: skip
#: Counts and anonymised samples of chats (issue 17), per role; never a restricted chat.
AGGREGATE_ACTIONS = {"supervisor": {"chat_stats"}, "qa_reviewer": {"chat_sample", "chat_stats"},
                     "admin": {"chat_stats"}}  # fmt: skip


def reference_allows(
    org: dict[str, Any], user: str, action: str, call: Recording, purpose: str | None,
    assigned: set[tuple[str, str]],
) -> bool:  # fmt: skip
    """The policy, stated plainly, from the raw org chart dicts (not ``recorder.access``)."""
    if purpose == "marketing" or (purpose is not None and purpose not in DEFAULT_PURPOSES):
        return False
    roles = next(u["roles"] for u in org["users"] if u["id"] == user)
    at, agent = call.started_at, call.agent_id

    def holds(spans: list[dict[str, str]], who: str | None) -> bool:
        for s in spans:
            start = datetime.fromisoformat(s["from"].replace("Z", "+00:00"))
            end = s.get("until")
            if (
                s["user"] == who
                and start <= at
                and (end is None or at < datetime.fromisoformat(end.replace("Z", "+00:00")))
            ):
                return True
        return False

    # Teams led at call time, then everything below them (downward fixed point).
    under = {t["id"] for t in org["teams"] if holds(t.get("leaders", []), user)}
    grew = True
    while grew:
        more = {t["id"] for t in org["teams"] if t.get("parent") in under}
        grew = not more <= under
        under |= more
    supervised = any(t["id"] in under and holds(t.get("members", []), agent) for t in org["teams"])
    ok = False
    if "agent" in roles and action in AGENT_ACTIONS:
        ok |= not call.restricted and agent is not None and agent == user
    if "supervisor" in roles and action in SUPERVISOR_ACTIONS:
        ok |= not call.restricted and agent is not None and supervised
    if "qa_reviewer" in roles and action in QA_ACTIONS:
        purpose_ok = action != "play" or purpose in ("quality", "training")
        ok |= not call.restricted and (user, call.id) in assigned and purpose_ok
    if "admin" in roles and action in ("list", "chat_list"):
        ok = True
    if "agent" in roles and action == "chat_contact":  # the advisor handling the follow-up
        ok |= not call.restricted and agent is not None and agent == user
    if any(action in AGGREGATE_ACTIONS.get(r, set()) for r in roles):
        ok |= not call.restricted
    if "dpo" in roles and action in DPO_ACTIONS and purpose == "dsar":
        ok = True
    if "legal" in roles and action in LEGAL_ACTIONS and purpose == "legal":
        ok = True
    return ok


@st.composite
def org_charts(draw: st.DrawFn) -> dict[str, Any]:
    hours = st.integers(min_value=0, max_value=48)
    agents = [f"a{i}" for i in range(draw(st.sampled_from([1, 3, 6, 20])))]
    leaders = ["s0", "s1", "s2", "x"]  # x is both agent and supervisor
    users = [{"id": a, "roles": ["agent"]} for a in agents]
    users += [{"id": s, "roles": ["supervisor"]} for s in leaders[:3]]
    users += [{"id": "x", "roles": ["agent", "supervisor"]}]
    users += [{"id": r, "roles": [r]} for r in ("qa_reviewer", "admin", "dpo", "legal")]

    def spans(people: list[str], n: int) -> list[dict[str, str]]:
        out = []
        for _ in range(n):
            start = draw(hours)
            end = draw(st.one_of(st.none(), st.integers(start + 1, 60)))
            who = draw(st.sampled_from(people))
            out.append(span(who, BASE + timedelta(hours=start),
                            None if end is None else BASE + timedelta(hours=end)))  # fmt: skip
        return out

    teams: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 5))):
        team: dict[str, Any] = {
            "id": f"t{i}",
            "leaders": spans(leaders, draw(st.integers(0, 2)) if i else 2),
            "members": spans([*agents, "x"], draw(st.integers(0, 8))),
        }
        if i and draw(st.integers(0, 3)):  # mostly nested
            team["parent"] = f"t{draw(st.integers(0, i - 1))}"
        teams.append(team)
    return {"users": users, "teams": teams}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(org=org_charts(), data=st.data())
def test_b1_lite_decisions_equal_the_reference_policy(
    org: dict[str, Any], data: st.DataObject
) -> None:
    config = parse_config(org)
    user_ids = [u["id"] for u in org["users"]]
    members = sorted({s["user"] for t in org["teams"] for s in t["members"]}) or ["x"]
    calls = [
        rec(
            f"c{i}",
            data.draw(st.one_of(st.sampled_from(members), st.none(), st.sampled_from(user_ids))),
            BASE + timedelta(hours=data.draw(st.integers(0, 60))),
            restricted=data.draw(st.booleans()),
        )
        for i in range(data.draw(st.integers(1, 8)))
    ]
    assigned = {("qa_reviewer", c.id) for c in calls if data.draw(st.booleans(), label="assigned")}
    assignments = StaticAssignments(pairs=frozenset(assigned)) if assigned else None
    leaders = ["s0", "s1", "s2", "x"]
    for _ in range(40):
        user = data.draw(st.one_of(st.sampled_from(leaders), st.sampled_from(user_ids)))
        action = data.draw(st.sampled_from(list(Action)))
        call = data.draw(st.sampled_from(calls))
        purpose = data.draw(st.sampled_from(PURPOSE_TRIES))
        got = allowed(
            config, principal_for(config, user), action, call,
            purpose=purpose, assignments=assignments,
        )  # fmt: skip
        want = reference_allows(org, user, action.value, call, purpose, assigned)
        assert got.allowed is want, (user, action, call.id, purpose, got.reason)


# --- B2: guessing ids ---------------------------------------------------------------------


def _attempts(
    vault: Vault, config: Config, principal: Principal, ids: Iterable[str], now: datetime,
    purpose: str = "quality",
) -> int:  # fmt: skip
    successes = 0
    for rid in ids:
        try:
            playback = open_playback(vault, config, principal, rid, purpose=purpose, now=now)
        except AccessDenied:
            continue
        successes += 1
        assert b"".join(playback.wav_chunks())[:4] == b"RIFF"
    return successes


def test_b2_guessing_other_users_recording_ids_never_succeeds(
    capturer: Capturer, vault: Vault, config: Config, make_call: MakeCall, now: datetime,
    rng: Callable[[int], bytes],
) -> None:  # fmt: skip
    theirs = [
        capturer.capture(make_call(agent=agent, started_at=at), now=now, rng=rng).recording_id
        for agent, at in (("anna", BEFORE_MOVE), ("bjorn", BEFORE_MOVE), ("bjorn", AFTER_MOVE))
    ]
    draw = random.Random(6)
    guesses = [draw.randbytes(16).hex() for _ in range(200)]
    for rid in theirs:
        guesses += [rid, rid.upper(), rid[:-1], rid + "0", f" {rid}"]
        guesses += [rid[:i] + format(int(rid[i], 16) ^ 1, "x") + rid[i + 1 :] for i in range(32)]
    carla = principal_for(config, "carla")  # an agent with no calls of her own
    before = len(list(vault.audit.entries()))
    assert _attempts(vault, config, carla, guesses, now) == 0
    for principal in (
        principal_for(config, "admin1"),
        principal_for(config, "sven"),  # leads bjorn only after the move
        Principal(user_id="q1", roles=frozenset({"qa_reviewer"})),  # nothing sampled to q1
        Principal(user_id="d1", roles=frozenset({"dpo"})),  # no play grant at all
    ):
        assert _attempts(vault, config, principal, [*theirs[:2], *guesses[:50]], now) == 0
    # every attempt was audited once, and the controls do succeed
    assert len(list(vault.audit.entries())) - before == len(guesses) + 4 * 52
    assert _attempts(vault, config, principal_for(config, "anna"), theirs[:1], now) == 1
    assert (
        _attempts(vault, config, principal_for(config, "anna"), theirs[:1], now, "marketing") == 0
    )
