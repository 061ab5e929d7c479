"""Profile ``no-postal-chatbot``: a year of a postal chatbot's chats, every promise kept.

The notice's retention promises, checked after every sweep of a simulated year
(``tests/profiles/sim.py``) on the real store:

- "a bot chat is kept one month unless the user deletes it sooner": bot chats end one
  calendar month after their first message; some customers delete theirs two days in
  with the chat's secret, and those are gone at once;
- "chats with an advisor are kept 1.5 years, 3.5 years when they concern a complaint":
  18 and 42 calendar months;
- "contact details asked for in the queue are used only to follow up": their artefact is
  destroyed with the chat (no live artefact outlives it);
- a standing legal hold on one customer's number keeps their chats until released;
- calls (the defaults, six months) run alongside.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from recorder.chat import selfservice
from tests.profiles.sim import YEAR_START, Simulation, months_after

PHONES = ["+47 912 34 567", "+47 480 11 222", "+47 950 00 333"]


def test_a_year_of_postal_chats_keeps_the_notice(tmp_path: Path) -> None:
    sim = Simulation(tmp_path, "no-postal-chatbot", seed=13)
    counts = {"bot": 0, "advisor": 0, "complaint": 0, "deleted": 0}

    def traffic(s: Simulation, start: datetime) -> None:
        n = (start - YEAR_START).days
        at = start + timedelta(hours=s.rand.randint(7, 20), minutes=s.rand.randint(0, 59))
        if n % 2 == 0:
            roll = s.rand.random()
            kind = "bot" if roll < 0.6 else ("advisor" if roll < 0.9 else "complaint")
            months = {"bot": 1, "advisor": 18, "complaint": 42}[kind]
            phone = s.rand.choice(PHONES) if kind != "bot" else None
            item, result = s.chat(at, kind=kind, deadline=months_after(at, months), phone=phone)
            counts[kind] += 1
            if kind == "bot" and counts["bot"] % 8 == 0:
                secret = result.secret

                def delete(s2: Simulation, when: datetime) -> None:
                    receipt = selfservice.delete(
                        s2.vault, s2.config, item.rid, secret, now=when, rng=s2.rng
                    )
                    assert receipt.status == "erased"
                    s2.erased_now(item, when)
                    counts["deleted"] += 1

                s.later(at + timedelta(days=2), delete)
        if n % 5 == 0:
            s.call(at, "standard_6m", s.rand.choice(PHONES), deadline=months_after(at, 6))
        if n == 120:
            s.place_hold(PHONES[1], at, datetime(2029, 1, 1, tzinfo=YEAR_START.tzinfo))

    sim.run_year(traffic)
    assert min(counts.values()) >= 5, counts
    assert sum(1 for i in sim.items if i.held_by) >= 5
    sim.close()
