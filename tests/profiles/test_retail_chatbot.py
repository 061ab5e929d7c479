"""Profile ``retail-chatbot``: a year of a retailer's chats, every promise kept.

The notice's retention promises, checked after every sweep of a simulated year
(``tests/profiles/sim.py``) on the real store:

- "bot chats are kept 90 days": gone at the first sweep 90 exact days after the first
  message, and not before;
- "chats with customer service are deleted on request": a quarter of them are asked
  for deletion by the customer (``DELETE`` with the secret files a request) and the DPO
  carries it out five days later (``callrec chat erase``): gone from then on; the others
  end with the class of the profile (one year);
- calls (the defaults, six months) run alongside.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from recorder.chat import selfservice
from storage import chats
from tests.profiles.sim import YEAR_START, Simulation, months_after


def test_a_year_of_retail_chats_keeps_the_notice(tmp_path: Path) -> None:
    sim = Simulation(tmp_path, "retail-chatbot", seed=14)
    counts = {"bot": 0, "advisor": 0, "requested": 0, "erased": 0}

    def traffic(s: Simulation, start: datetime) -> None:
        n = (start - YEAR_START).days
        at = start + timedelta(hours=s.rand.randint(7, 20), minutes=s.rand.randint(0, 59))
        if n % 2 == 0:
            kind = "bot" if s.rand.random() < 0.7 else "advisor"
            deadline = at + timedelta(days=90) if kind == "bot" else months_after(at, 12)
            item, result = s.chat(at, kind=kind, deadline=deadline)
            counts[kind] += 1
            if kind == "advisor" and counts["advisor"] % 4 == 0:
                secret = result.secret

                def ask(s2: Simulation, when: datetime) -> None:
                    receipt = selfservice.delete(
                        s2.vault, s2.config, item.rid, secret, now=when, rng=s2.rng
                    )
                    assert receipt.status == "requested"
                    counts["requested"] += 1
                    s2.later(when + timedelta(days=5), carry_out)

                def carry_out(s2: Simulation, when: datetime) -> None:
                    assert item.rid in {r.recording_id for r in chats.requests(s2.vault.catalog)}
                    status = selfservice.close_request(
                        s2.vault, s2.config, s2.dpo, item.rid, now=when, rng=s2.rng
                    )
                    assert status == "erased"
                    s2.erased_now(item, when)
                    counts["erased"] += 1

                s.later(at + timedelta(days=1), ask)
        if n % 5 == 0:
            s.call(at, "standard_6m", "+46 70 123 45 67", deadline=months_after(at, 6))

    sim.run_year(traffic)
    assert min(counts.values()) >= 5 and counts["requested"] == counts["erased"], counts
    assert chats.requests(sim.vault.catalog) == []
    sim.close()
