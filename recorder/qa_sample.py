"""QA sampling: draw a seeded, replayable sample of calls and assign it to a reviewer.

Who may draw
------------
A **supervisor** draws from the calls of the teams they led at call time (nested teams
included: the same scope as their ``list`` grant), and an **admin** from every call (the
admin's metadata scope; the admin still cannot listen). Other roles are refused, audited.
A supervisor naming a ``team`` they never led (nor any team above it) is refused, audited.

The population
--------------
Available, unrestricted calls that the drawer may list, started in ``[since, until)``,
whose team at call time is ``team`` or below it, and not handled by the reviewer
themselves (nobody reviews their own calls). It is taken in (started_at, id) order.

The draw (deterministic and replayable)
---------------------------------------
``k = ceil(N × rate)`` calls (a 5 % sample of 400 is 20; of 10 it is 1, never 0: a sample
that rounds to nothing would silently skip a small team). Each call gets the rank
``SHA-256("callrec-qa-v1:{seed}:{recording id}")`` and the ``k`` lowest ranks are drawn, in
rank order. This depends only on the seed and the ids, not on Python's ``random`` (whose
algorithms may change between versions) nor on the order calls were read. The seed, the
rate, the scope, the population size, a SHA-256 over the sorted population ids and one over
the draw are recorded in ``qa_samples``, and the draw itself in ``qa_assignments``.
:func:`replay_sample` recomputes the population as it stood at ``drawn_at`` (calls
captured later are ignored) and proves the same draw comes out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from recorder.access import Action, Principal, allowed
from recorder.config import Config
from recorder.errors import AccessDenied, QaError
from recorder.models import CHAT_PROVIDER
from recorder.qa import QA_ROLE, audit_step, qa_id
from storage.models import Recording, Rng, State
from storage.qa import QaStore, Sample
from storage.vault import Vault

DRAW_ROLES = frozenset({"supervisor", "admin"})
MAX_SEED = 2**63 - 1
_RATE = re.compile(r"\s*(\d{1,3}(?:\.\d{1,2})?)\s*%?\s*")


def parse_rate(text: str) -> int:
    """``"5%"``, ``"5"``, ``"0.5%"``, ``"12.25%"`` → basis points (500, 50, 1225); (0, 100 %]."""
    match = _RATE.fullmatch(text)
    if match is None:
        raise QaError("rate: expected a percentage such as 5% (at most two decimals)")
    try:
        bp = int(Decimal(match.group(1)) * 100)
    except InvalidOperation:
        raise QaError("rate: expected a percentage such as 5%") from None
    if not 1 <= bp <= 10_000:
        raise QaError("rate: must be more than 0% and at most 100%")
    return bp


def draw_size(population: int, rate_bp: int) -> int:
    """``ceil(population × rate)``: how many calls a rate draws from a population."""
    return -(-population * rate_bp // 10_000)


def _rank(seed: int, recording_id: str) -> bytes:
    return hashlib.sha256(f"callrec-qa-v1:{seed}:{recording_id}".encode()).digest()


def draw(recording_ids: Sequence[str], rate_bp: int, seed: int) -> list[str]:
    """The seeded draw: the ``draw_size`` ids of lowest rank, in rank order (pure)."""
    ranked = sorted(set(recording_ids), key=lambda rid: (_rank(seed, rid), rid))
    return ranked[: draw_size(len(ranked), rate_bp)]


def _digest(ids: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class SampleRequest:
    """What to draw: for whom, how much, from where, with which seed."""

    reviewer: str
    rate_bp: int
    seed: int
    team: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SampleResult:
    """A recorded draw: the sample row, the ids drawn, and how many were newly assigned."""

    sample: Sample
    drawn: tuple[str, ...]
    newly_assigned: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayResult:
    """Replaying a sample: whether the population and the draw came out the same."""

    sample: Sample
    population_matches: bool
    draw_matches: bool
    drawn: tuple[str, ...]

    @property
    def reproduced(self) -> bool:
        """True if the replay reproduced the recorded draw exactly."""
        return self.population_matches and self.draw_matches


def _drawer(principal: Principal) -> Principal:
    return Principal(user_id=principal.user_id, roles=principal.roles & DRAW_ROLES)


def _in_team(config: Config, recording: Recording, team: str) -> bool:
    teams = (
        (recording.team_id,)
        if recording.team_id
        else config.teams_of(recording.agent_id, recording.started_at)
    )
    return any(team in config.ancestors(t) for t in teams)


def _ever_led(config: Config, user_id: str, team: str) -> bool:
    for t in config.ancestors(team):
        if any(s.user == user_id for s in config.teams[t].leaders):
            return True
    return False


def population(
    vault: Vault,
    config: Config,
    drawer: Principal,
    request: SampleRequest,
    *,
    as_of: datetime | None = None,
) -> list[Recording]:
    """The calls a draw picks from (module docstring), oldest first.

    ``as_of`` (replay): calls captured up to then, including those destroyed since.
    """
    who = _drawer(drawer)
    found = []
    for rec in vault.catalog.list_recordings():
        if as_of is None and rec.state is not State.AVAILABLE:
            continue
        if as_of is not None and (rec.state is State.PENDING or rec.created_at > as_of):
            continue
        if rec.restricted or rec.agent_id == request.reviewer or rec.provider == CHAT_PROVIDER:
            continue
        if request.since is not None and rec.started_at < request.since:
            continue
        if request.until is not None and rec.started_at >= request.until:
            continue
        if request.team is not None and not _in_team(config, rec, request.team):
            continue
        if not allowed(config, who, Action.LIST, rec).allowed:
            continue
        found.append(rec)
    return found


def _params(request: SampleRequest, drawn: Sequence[str]) -> dict[str, str | None]:
    return {
        "team": request.team,
        "since": None if request.since is None else request.since.isoformat(),
        "until": None if request.until is None else request.until.isoformat(),
        "draw_sha256": _digest(drawn),
    }


def _check_drawer(
    vault: Vault, config: Config, principal: Principal, request: SampleRequest, now: datetime
) -> None:
    roles = principal.roles & DRAW_ROLES
    reason = None
    if not roles:
        reason = "only supervisors and admins draw QA samples"
    elif (
        request.team is not None
        and "admin" not in roles
        and not _ever_led(config, principal.user_id, request.team)
    ):
        reason = "not a team they led"
    if reason is not None:
        audit_step(
            vault, principal, "qa.sample", now=now, outcome="denied", reason=reason,
            detail={"reviewer": request.reviewer, "team": request.team},
        )  # fmt: skip
        raise AccessDenied(reason)


def draw_sample(
    vault: Vault,
    config: Config,
    principal: Principal,
    request: SampleRequest,
    *,
    now: datetime,
    rng: Rng,
) -> SampleResult:
    """Draw, record and audit a sample for ``request.reviewer`` (one audit entry)."""
    if not 0 <= request.seed <= MAX_SEED:
        raise QaError(f"seed: must be a whole number from 0 to {MAX_SEED}")
    if not 1 <= request.rate_bp <= 10_000:
        raise QaError("rate: must be more than 0% and at most 100%")
    if request.team is not None and request.team not in config.teams:
        raise QaError("team: not a team of the configuration")
    reviewer = config.user(request.reviewer)
    if QA_ROLE not in reviewer.roles:
        raise QaError("reviewer: that user does not have the qa_reviewer role")
    _check_drawer(vault, config, principal, request, now)
    ids = [r.id for r in population(vault, config, principal, request)]
    drawn = draw(ids, request.rate_bp, request.seed)
    sample = Sample(
        id=qa_id(rng),
        drawn_by=principal.user_id,
        drawn_at=now,
        reviewer_id=request.reviewer,
        rate_bp=request.rate_bp,
        seed=request.seed,
        params=_params(request, drawn),
        population=len(ids),
        population_sha256=_digest(sorted(ids)),
        drawn=len(drawn),
    )
    store = QaStore(vault.catalog)
    with vault.catalog.transaction():
        added = store.record_sample(sample, drawn)
        audit_step(
            vault, principal, "qa.sample", now=now, outcome="ok",
            reason="supervisor of the team" if "admin" not in principal.roles else "admin",
            detail={
                "sample": sample.id, "reviewer": request.reviewer, "team": request.team,
                "rate_bp": request.rate_bp, "seed": request.seed, "population": len(ids),
                "drawn": len(drawn), "assigned": added,
            },
        )  # fmt: skip
    return SampleResult(sample=sample, drawn=tuple(drawn), newly_assigned=added)


def _request_of(sample: Sample) -> SampleRequest:
    def when(key: str) -> datetime | None:
        value = sample.params.get(key)
        return None if value is None else datetime.fromisoformat(value)

    return SampleRequest(
        reviewer=sample.reviewer_id,
        rate_bp=sample.rate_bp,
        seed=sample.seed,
        team=sample.params.get("team"),
        since=when("since"),
        until=when("until"),
    )


def replay_sample(
    vault: Vault, config: Config, principal: Principal, sample_id: str, *, now: datetime
) -> ReplayResult:
    """Redraw a recorded sample from its seed and compare (one audit entry ``qa.replay``).

    The drawer's scope is today's org chart for the original drawer; a population that
    changed since (a call destroyed or restricted, the chart edited) is reported, not hidden.
    """
    if not principal.roles & (DRAW_ROLES | {"dpo"}):
        reason = "only supervisors, admins and the DPO replay QA samples"
        audit_step(vault, principal, "qa.replay", now=now, outcome="denied", reason=reason)
        raise AccessDenied(reason)
    sample = QaStore(vault.catalog).get_sample(sample_id)
    drawer = Principal(
        user_id=sample.drawn_by,
        roles=config.users[sample.drawn_by].roles
        if sample.drawn_by in config.users
        else frozenset(),
    )
    request = _request_of(sample)
    ids = [r.id for r in population(vault, config, drawer, request, as_of=sample.drawn_at)]
    drawn = draw(ids, sample.rate_bp, sample.seed)
    result = ReplayResult(
        sample=sample,
        population_matches=_digest(sorted(ids)) == sample.population_sha256,
        draw_matches=_digest(drawn) == sample.params.get("draw_sha256"),
        drawn=tuple(drawn),
    )
    audit_step(
        vault, principal, "qa.replay", now=now, outcome="ok",
        detail={
            "sample": sample.id, "population_matches": result.population_matches,
            "draw_matches": result.draw_matches,
        },
    )  # fmt: skip
    return result
