"""R1: six years on a fake clock, 5,000 recordings over every class, swept once a day.

Start times are drawn from the hard cases as well as at random: the hours around every
DST switch in Europe/Oslo and Europe/Helsinki (given as *local* times: the engine must
convert them to UTC first), month ends (28th-31st), 29 Feb 2028, midnight. About one
call in five has a transcript (``ai_30d``, living min(own, parent)); regulated calls'
transcripts are kept by the MIN obligation. Random holds on single calls and one
standing hold on an agent are placed and released along the way.

An independent model (its own month arithmetic, no engine code) says for every
recording and artefact the first daily sweep at or after its expiry at which nothing
holds it. At checkpoints and at the end, the store must equal the model exactly:

- 0 MAX artefacts readable past expiry + one sweep interval (destroyed at that sweep);
- 0 MIN or held artefacts destroyed (still available while the model keeps them);
- released-and-due destroyed at the next sweep.

The catalog is real SQLite (on tmpfs when available, for speed); blobs and keys are in
memory; the sealing is real.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from recorder.retention import RetentionClass, default_classes
from recorder.sweep import sweep
from storage import holds
from storage.errors import GoneError
from storage.models import ArtefactKind, State
from tests.recorder.retention.helpers import add_call, memory_vault

C = default_classes()
ZONES = (ZoneInfo("Europe/Oslo"), ZoneInfo("Europe/Helsinki"))
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 6 * 365 + 2  # six years incl. 29 Feb 2028
INTERVAL = timedelta(days=1)
N = 5000
CHECK_EVERY = 200  # sweeps between full comparisons with the model


def _oracle_expiry(cls: RetentionClass, local: datetime) -> datetime:
    """Independent of the engine: UTC first, months by hand with clamping, then exact."""
    utc = local.astimezone(UTC)
    total = utc.year * 12 + (utc.month - 1) + cls.months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    moved = datetime(
        year, month + 1, min(utc.day, last), utc.hour, utc.minute, utc.second,
        utc.microsecond, tzinfo=UTC,
    )  # fmt: skip
    return moved + timedelta(days=cls.days, hours=cls.hours)


def _last_sunday(year: int, month: int) -> int:
    last = calendar.monthrange(year, month)[1]
    return last - (datetime(year, month, last).weekday() + 1) % 7  # noqa: DTZ001


def _hard_starts(pick: random.Random) -> list[datetime]:
    """Local wall times at DST switches, month ends and 29 Feb (aware, in Oslo/Helsinki)."""
    starts: list[datetime] = []
    for year in range(2026, 2031):
        for zone in ZONES:
            for month in (3, 10):
                day = _last_sunday(year, month)
                for hour, minute, fold in ((1, 59, 0), (2, 30, 0), (2, 30, 1), (3, 30, 1)):
                    starts.append(datetime(year, month, day, hour, minute, tzinfo=zone, fold=fold))
        for month in range(1, 13):
            last = calendar.monthrange(year, month)[1]
            for day in range(28, last + 1):
                zone = pick.choice(ZONES)
                starts.append(datetime(year, month, day, 23, 45, tzinfo=zone))
                starts.append(datetime(year, month, day, 0, 0, tzinfo=UTC))
    for zone in ZONES:
        starts += [datetime(2028, 2, 29, h, 15, tzinfo=zone) for h in (0, 12, 23)]
    return starts


@dataclass
class Model:
    """What the store must look like: per recording, the sweeps that destroy its parts."""

    sweep_times: list[datetime]
    holds_by_rec: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def index_at_or_after(self, at: datetime) -> int:
        """The first sweep index whose time is >= ``at`` (len if none)."""
        lo, hi = 0, len(self.sweep_times)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.sweep_times[mid] < at:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def destroyed_at(self, rid: str, due: datetime) -> int:
        """First sweep index >= due at which no hold covers ``rid`` (len: never)."""
        i = self.index_at_or_after(due)
        spans = sorted(self.holds_by_rec.get(rid, []))
        moved = True
        while moved:
            moved = False
            for start, end in spans:
                if start <= i < end:
                    i, moved = end, True
        return min(i, len(self.sweep_times))


@dataclass(frozen=True)
class Planned:
    rid: str
    audio_id: str
    transcript_id: str | None
    cls: RetentionClass
    expires: datetime
    transcript_expires: datetime | None


@pytest.mark.parametrize("seed", [20260229])
def test_six_years_of_retention(seed: int, tmp_path: Path, rng: Callable[[int], bytes]) -> None:
    pick = random.Random(seed)
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() else tmp_path
    db_dir = base / f"callrec-r1-{pick.getrandbits(64):x}"
    vault = memory_vault(db_dir / "catalog.db", rng)
    try:
        _simulate(vault, pick, rng)
    finally:
        vault.close()
        for p in sorted(db_dir.glob("*")):
            p.unlink()
        db_dir.rmdir()


def _simulate(vault, pick: random.Random, rng: Callable[[int], bytes]) -> None:  # type: ignore[no-untyped-def]
    sweep_times = [EPOCH + INTERVAL * i for i in range(1, DAYS + 1)]
    model = Model(sweep_times)
    hard = _hard_starts(pick)
    names = sorted(C)
    plans: list[Planned] = []
    held_agent = "agent-held"
    agent_hold = (model.index_at_or_after(EPOCH + timedelta(days=100)),
                  model.index_at_or_after(EPOCH + timedelta(days=1500)))  # fmt: skip
    with vault.catalog.transaction():
        for i in range(N):
            if i < len(hard):
                local = hard[i]
            else:
                offset = timedelta(seconds=pick.randrange(5 * 365 * 86400))
                local = (EPOCH + offset).astimezone(pick.choice((*ZONES, UTC)))
            cls = C[names[i % len(names)]]
            with_transcript = cls.applies_to != ("chat",) and pick.random() < 0.2
            derived = [(ArtefactKind.TRANSCRIPT, C["ai_30d"])] if with_transcript else []
            agent = held_agent if pick.random() < 0.02 else f"agent-{i % 40}"
            rid = add_call(vault, start=local, cls=cls, rng=rng, derived=derived, agent=agent)
            arts = {a.kind: a.id for a in vault.catalog.artefacts_for(rid)}
            expires = _oracle_expiry(cls, local)
            t_exp = None
            if with_transcript:
                t_exp = min(expires, _oracle_expiry(C["ai_30d"], local))
                if cls.kind == "min":
                    t_exp = expires  # MIN beats MAX: kept as long as the call
            plans.append(Planned(rid, arts[ArtefactKind.AUDIO], arts.get(ArtefactKind.TRANSCRIPT),
                                 cls, expires, t_exp))  # fmt: skip
            if agent == held_agent:
                model.holds_by_rec.setdefault(rid, []).append(agent_hold)

    # random holds on single calls: placed before a sweep, released before a later one
    events: dict[int, list[tuple[str, str]]] = {}
    for plan in pick.sample(plans, 150):
        due = model.index_at_or_after(plan.expires)
        start = max(0, due - pick.randrange(0, 60))
        end = start + pick.randrange(1, 400) if pick.random() < 0.8 else len(sweep_times) + 1
        events.setdefault(start, []).append(("place", plan.rid))
        events.setdefault(end, []).append(("release", plan.rid))
        model.holds_by_rec.setdefault(plan.rid, []).append((start, end))
    events.setdefault(agent_hold[0], []).append(("place-agent", held_agent))
    events.setdefault(agent_hold[1], []).append(("release-agent", held_agent))

    destroyed_total = 0
    for index, at in enumerate(sweep_times):
        for what, value in events.get(index, []):
            target = "agent" if what.endswith("agent") else "recording"
            if what.startswith("place"):
                holds.place(vault.catalog, hold_id=f"h{index}-{value}", target=target,
                            value=value, reason="sim", now=at, placed_by="legal")  # fmt: skip
            else:
                holds.release(vault.catalog, target=target, value=value, now=at,
                              released_by="legal", reason="sim")  # fmt: skip
        report = sweep(vault, classes=C, now=at)
        destroyed_total += report.artefacts_destroyed
        if index % CHECK_EVERY == 0 or index == len(sweep_times) - 1:
            _compare(vault, model, plans, index)
    assert destroyed_total > N // 2  # most of six years' calls are gone


def _compare(vault, model: Model, plans: list[Planned], index: int) -> None:  # type: ignore[no-untyped-def]
    states = {a.id: a.state for a in vault.catalog.all_artefacts()}
    wrong: list[str] = []
    for plan in plans:
        gone_at = model.destroyed_at(plan.rid, plan.expires)
        expect_audio = State.DESTROYED if gone_at <= index else State.AVAILABLE
        if states[plan.audio_id] is not expect_audio:
            wrong.append(f"{plan.cls.name} audio: {states[plan.audio_id]} != {expect_audio}")
        if plan.transcript_id is not None and plan.transcript_expires is not None:
            t_gone = min(gone_at, model.destroyed_at(plan.rid, plan.transcript_expires))
            expect = State.DESTROYED if t_gone <= index else State.AVAILABLE
            if states[plan.transcript_id] is not expect:
                wrong.append(f"{plan.cls.name} transcript: {states[plan.transcript_id]}")
    assert wrong == [], f"sweep {index}: {len(wrong)} differ, e.g. {wrong[:5]}"
    gone = [p.audio_id for p in plans if states[p.audio_id] is State.DESTROYED][:20]
    for artefact_id in gone:
        with pytest.raises(GoneError):
            with vault.open_artefact(artefact_id):
                pass
