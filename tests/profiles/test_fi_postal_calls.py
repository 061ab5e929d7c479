"""Profile ``fi-postal-calls``: a year of a Finnish postal call register, every promise kept.

The register's retention promises, checked after every sweep of a simulated year
(``tests/profiles/sim.py``) on the real store:

- "recordings are kept six months and then destroyed automatically": each call is gone
  at the first sweep at or after six calendar months from its answer, and not before;
- a legal hold (placed by the DPO on one caller's calls, standing) keeps them past six
  months until it is released, then the next sweep destroys them;
- a data subject's erasure destroys their calls at once (one receipt each);
- "the number is kept with its last three digits masked": every caller display.
A few chats under the default chat classes run alongside (the notice has no chat).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from recorder.subject import erase
from tests.profiles.sim import YEAR_START, Simulation, months_after

CALLERS = ["+358 40 765 4321", "+358 50 123 4567", "+358 44 987 6543", "+358 41 555 0101"]


def test_a_year_of_calls_keeps_the_register_promises(tmp_path: Path) -> None:
    sim = Simulation(tmp_path, "fi-postal-calls", seed=11)

    def traffic(s: Simulation, start: datetime) -> None:
        n = (start - YEAR_START).days
        if n % 3 == 0:
            at = start + timedelta(hours=s.rand.randint(8, 16), minutes=s.rand.randint(0, 59))
            s.call(at, "standard_6m", s.rand.choice(CALLERS), deadline=months_after(at, 6))
        if n % 11 == 5:
            at = start + timedelta(hours=12)
            s.chat(at, kind="bot", deadline=months_after(at, 1))
        if n == 100:
            s.place_hold(CALLERS[0], start + timedelta(hours=20), start + timedelta(days=300))
        if n == 200:
            s.later(start + timedelta(hours=21), erase_subject)

    def erase_subject(s: Simulation, at: datetime) -> None:
        outcomes = erase(s.vault, s.config, s.dpo, CALLERS[3], now=at, rng=s.rng)
        assert outcomes and all(o.status in ("erased", "already_erased") for o in outcomes)
        for item in s.items:
            if item.rid in {o.recording_id for o in outcomes}:
                s.erased_now(item, at)

    sim.run_year(traffic)
    calls = [i for i in sim.items if i.label.startswith("call")]
    assert len(calls) == 122 and sum(1 for i in calls if i.held_by) > 10
    displays = {r.caller_display for r in sim.vault.catalog.list_recordings()}
    assert all(d == "withheld" or re.fullmatch(r"\+358\d+\*\*\*", d) for d in displays)
    assert sim.sweeps > 365 and sim.checks > 30_000
    sim.close()
