"""Profile ``no-bank``: a year of a Norwegian bank's calls and chats, every promise kept.

The bank's retention promises, checked after every sweep of a simulated year
(``tests/profiles/sim.py``) on the real store:

- "an encrypted audio file of every call is kept for 24 hours": advisor calls
  (``buffer_24h``) are gone at the first sweep 24 hours after the answer;
- "calls about investment services are kept five years": ``regulated_5y`` (MIN) calls are
  never destroyed before five years, not even on an erasure request (it waits, pending);
- "with AI, recordings and transcripts are kept 30 days": calls through the AI path
  (``ai_30d``, the class the AI path gives; the model itself is exercised by P16);
- "chat logs are kept one year for analysis, five years if an advisor took part": bot
  chats end at 12 months, advisor chats at 60;
- "a logged-in customer sees their chat history for three years": a logged-in bot chat's
  analysis copy ends at 12 months while its history copy lives to 36 months;
- a standing legal hold on a customer's number keeps their calls and chats until released.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from recorder.subject import erase
from tests.profiles.sim import YEAR_START, Simulation, months_after

CALLERS = ["+47 912 34 567", "+47 913 00 111", "+47 400 12 345", "+47 415 55 666"]


def test_a_year_of_bank_traffic_keeps_the_bank_promises(tmp_path: Path) -> None:
    sim = Simulation(tmp_path, "no-bank", seed=12)
    classes: dict[str, int] = {}

    def traffic(s: Simulation, start: datetime) -> None:
        n = (start - YEAR_START).days
        at = start + timedelta(hours=s.rand.randint(8, 15), minutes=s.rand.randint(0, 59))
        if n % 3 == 0:
            roll = s.rand.random()
            caller = s.rand.choice(CALLERS)
            if roll < 0.7:
                s.call(at, "buffer_24h", caller, deadline=at + timedelta(hours=24))
                classes["buffer_24h"] = classes.get("buffer_24h", 0) + 1
            elif roll < 0.85:
                item = s.call(
                    at, "regulated_5y", caller, deadline=months_after(at, 60), minimum=True
                )
                classes["regulated_5y"] = classes.get("regulated_5y", 0) + 1
                if classes["regulated_5y"] == 3:
                    s.later(at + timedelta(days=10), lambda s2, t: ask_erase(s2, t, caller))
                del item
            else:
                s.call(at, "ai_30d", caller, deadline=at + timedelta(days=30))
                classes["ai_30d"] = classes.get("ai_30d", 0) + 1
        if n % 3 == 1:
            kind = "bot" if s.rand.random() < 0.6 else "advisor"
            logged_in = s.rand.random() < 0.5
            months = 60 if kind == "advisor" else (36 if logged_in else 12)
            s.chat(
                at,
                kind=kind,
                deadline=months_after(at, months),
                customer=f"kunde-{n}" if logged_in else None,
                phone=s.rand.choice(CALLERS) if kind == "advisor" else None,
                analysis_until=months_after(at, 12) if logged_in and kind == "bot" else None,
            )
            key = f"chat {kind}{' logged-in' if logged_in else ''}"
            classes[key] = classes.get(key, 0) + 1
        if n == 50:
            s.place_hold(CALLERS[0], at, datetime(2028, 6, 1, tzinfo=YEAR_START.tzinfo))

    def ask_erase(s: Simulation, at: datetime, caller: str) -> None:
        outcomes = erase(s.vault, s.config, s.dpo, caller, now=at, rng=s.rng)
        for item in s.items:
            for outcome in outcomes:
                if outcome.recording_id == item.rid:
                    if outcome.status == "erased":
                        s.erased_now(item, at)
                    else:  # a MIN class or a hold keeps it: pending, done when that lifts
                        item.erase_at = at

    sim.run_year(traffic)
    assert set(classes) == {
        "buffer_24h",
        "regulated_5y",
        "ai_30d",
        "chat bot",
        "chat advisor",
        "chat bot logged-in",
        "chat advisor logged-in",
    }
    assert min(classes.values()) >= 5
    assert sum(1 for i in sim.items if i.held_by) >= 10
    assert sum(1 for i in sim.items if i.analysis_until is not None) >= 10
    sim.close()
