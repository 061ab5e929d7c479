"""Retention classes as data, the expiry they give, and who may be destroyed when (issue 8).

One job: decide. Nothing here touches storage; :mod:`recorder.sweep` acts on the decisions
and the data-subject code asks :func:`destruction_blocked` before erasing.

Classes come from the defaults in :mod:`recorder.policy` and ``[retention.classes.NAME]``
tables in the configuration (a table with a default's name replaces that default)::

    [retention]
    sweep_interval_minutes = 60
    finished_jobs_days = 7   # finished webhook jobs purged after (recorder.job_retention)

    [retention.classes.complaint_2y]
    months = 24          # calendar months, clamped to the month's last day
    days = 0             # exact 24 h days
    hours = 0            # exact hours
    kind = "max"         # "max": delete by (storage limitation); "min": keep at least (law)
    applies_to = ["call"]   # any of "call", "ai", "chat"

Arithmetic is in UTC: a start in Europe/Oslo or Europe/Helsinki local time is converted
first, so a DST switch never moves a deadline by an hour. 29 Feb + 12 months = 28 Feb
(the day clamps to the month's length); 31 Aug + 6 months = 28/29 Feb.

Conflict rule (:func:`resolve`): a MIN obligation or a legal hold beats any MAX limit;
among MAX classes the shortest applicable wins. A derived artefact (transcript, summary)
lives min(own class, parent) (:func:`derived_expiry`), unless a MIN obligation on its
recording keeps it (:func:`destruction_blocked`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from recorder import policy
from recorder.config import Config
from recorder.errors import ConfigError
from recorder.policy import RetentionClass
from storage.models import Artefact, Recording, State

if TYPE_CHECKING:
    from recorder.sweep import SweepReport
    from storage.vault import Vault

__all__ = [
    "APPLIES_TO",
    "DEFAULT_SWEEP_INTERVAL",
    "KINDS",
    "Resolution",
    "RetentionClass",
    "default_classes",
    "derived_expiry",
    "destruction_blocked",
    "effective_expiry",
    "expiry",
    "is_due",
    "keep_until",
    "load_classes",
    "resolve",
    "sweep",
    "sweep_interval",
]

KINDS = ("max", "min")
APPLIES_TO = ("call", "ai", "chat")
DEFAULT_SWEEP_INTERVAL = timedelta(hours=1)
#: No class may be longer than this (a typo like ``months = 6000`` is refused).
MAX_MONTHS = 1200
_CLASS_KEYS = frozenset({"months", "days", "hours", "kind", "applies_to"})
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")

HOLD_REASON = "legal hold"
RESTRICTED_REASON = "restricted (Art. 18)"
#: A row that fails its integrity MAC (``storage.guard``) is never destroyed: none of its
#: dates or flags can be trusted, so it waits for a person (``callrec fsck`` names it).
INTEGRITY_REASON = "catalog row failed its integrity check"


def default_classes() -> Mapping[str, RetentionClass]:
    """The built-in classes (P04, P12, P13, P16, P23-P26), read-only."""
    return MappingProxyType(dict(policy.CLASSES))


def _count(table: Mapping[str, Any], key: str, where: str, limit: int) -> int:
    value = table.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise ConfigError(f"{where}.{key}: expected a whole number from 0 to {limit}")
    return value


def _runs(text: str, n: int) -> list[str]:
    return [text[i : i + n] for i in range(len(text) - n + 1)]


def _class(name: str, table: Any) -> RetentionClass:
    where = f"retention.classes.{name}"
    if (
        not name
        or len(name) > 64
        or not set(name) <= _NAME_CHARS
        or not name[0].isalpha()
        or any(run.isdigit() for run in _runs(name, 7))
    ):
        # the name is the audit receipt's reason, which refuses long digit runs
        raise ConfigError(
            f"{where}: class names are lowercase letters, digits (< 7 in a row) and _"
        )
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: must be a table")
    unknown = sorted(set(table) - _CLASS_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {sorted(_CLASS_KEYS)})")
    months = _count(table, "months", where, MAX_MONTHS)
    days = _count(table, "days", where, MAX_MONTHS * 31)
    hours = _count(table, "hours", where, MAX_MONTHS * 31 * 24)
    if months == days == hours == 0:
        raise ConfigError(f"{where}: give a duration (months, days or hours)")
    kind = table.get("kind", "max")
    if kind not in KINDS:
        raise ConfigError(f"{where}.kind: expected 'max' or 'min'")
    applies = table.get("applies_to", ["call"])
    if not isinstance(applies, list) or not applies or any(a not in APPLIES_TO for a in applies):
        raise ConfigError(f"{where}.applies_to: expected a list of {list(APPLIES_TO)}")
    return RetentionClass(
        name=name,
        months=months,
        days=days,
        hours=hours,
        kind=kind,
        applies_to=tuple(dict.fromkeys(applies)),
    )


def load_classes(config: Config) -> Mapping[str, RetentionClass]:
    """The defaults plus ``[retention.classes.*]`` (same name replaces), validated.

    :class:`ConfigError` names the TOML path of the first bad value.
    """
    section = config.section("retention")
    unknown = sorted(set(section) - {"classes", "sweep_interval_minutes", "finished_jobs_days"})
    if unknown:
        raise ConfigError(f"retention.{unknown[0]}: unknown key")
    raw = section.get("classes", {})
    if not isinstance(raw, Mapping):
        raise ConfigError("retention.classes: must be a table of tables")
    classes = dict(policy.CLASSES)
    for name, table in raw.items():
        classes[name] = _class(str(name), table)
    return MappingProxyType(classes)


def sweep_interval(config: Config) -> timedelta:
    """``[retention] sweep_interval_minutes`` (1 to 1440; default 60)."""
    value = config.section("retention").get("sweep_interval_minutes", 60)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1440:
        raise ConfigError("retention.sweep_interval_minutes: expected 1 to 1440")
    return timedelta(minutes=value)


# -- expiry arithmetic ----------------------------------------------------------------------


def expiry(cls: RetentionClass, start: datetime) -> datetime:
    """``start`` + the class's duration, in UTC (months clamp to the month's end)."""
    return policy.expires_at(cls, start)


def derived_expiry(cls: RetentionClass, start: datetime, parent: datetime | None) -> datetime:
    """A derived artefact's expiry: min(own class from ``start``, the parent's expiry)."""
    own = expiry(cls, start)
    return own if parent is None else min(own, parent)


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    """What several applicable classes mean together.

    ``expires_at`` is when destruction becomes due; ``governed_by`` the class that decided;
    ``kind`` its kind (``min`` when an obligation overrode every MAX limit).
    """

    expires_at: datetime
    governed_by: str
    kind: str


def resolve(classes: Iterable[RetentionClass], start: datetime) -> Resolution:
    """The conflict rule: the longest MIN beats any MAX; else the shortest MAX wins.

    ``ValueError`` if ``classes`` is empty (a programming mistake).
    """
    dated = [(expiry(c, start), c) for c in classes]
    if not dated:
        raise ValueError("resolve() needs at least one class")
    mins = [d for d in dated if d[1].kind == "min"]
    maxes = [d for d in dated if d[1].kind != "min"]
    if mins:
        at, cls = max(mins, key=lambda d: (d[0], d[1].name))
        if not maxes or at >= min(d[0] for d in maxes):
            return Resolution(expires_at=at, governed_by=cls.name, kind="min")
    at, cls = min(maxes, key=lambda d: (d[0], d[1].name))
    return Resolution(expires_at=at, governed_by=cls.name, kind="max")


def effective_expiry(recording: Recording, artefact: Artefact | None = None) -> datetime | None:
    """When ``artefact`` (or the whole recording) is due: min(own expiry, the recording's).

    None = no expiry recorded (kept until someone decides).
    """
    dates = [recording.expires_at]
    if artefact is not None:
        dates.append(artefact.expires_at)
    known = [d for d in dates if d is not None]
    return min(known) if known else None


def is_due(recording: Recording, artefact: Artefact | None = None, *, now: datetime) -> bool:
    """True if the expiry of ``artefact`` (or the recording) is at or before ``now``."""
    at = effective_expiry(recording, artefact)
    return at is not None and at <= now


def keep_until(recording: Recording, classes: Mapping[str, RetentionClass]) -> datetime | None:
    """The date a MIN class keeps the recording until, or None if its class is MAX.

    Computed from the call's answer time as well as read from the row, and the later of
    the two wins, so a row whose expiry was shortened by mistake still keeps the law.
    """
    cls = classes.get(recording.retention_class)
    if cls is None or cls.kind != "min":
        return None
    computed = expiry(cls, recording.answered_at or recording.started_at)
    stored = recording.expires_at
    return computed if stored is None else max(computed, stored)


def destruction_blocked(
    recording: Recording,
    artefact: Artefact | None = None,
    *,
    classes: Mapping[str, RetentionClass],
    now: datetime,
) -> str | None:
    """Why ``artefact`` (or, with None, the whole recording) may not be destroyed now.

    A fixed phrase without numbers (:data:`INTEGRITY_REASON`, ``"legal hold"``,
    ``"restricted (Art. 18)"``,
    ``"regulated_5y keeps until 2031-03-01"``, ``"unknown retention class"``), or None
    when destroying now is allowed. This does not say whether it is *due*
    (:func:`is_due`): an erasure request may destroy before expiry. Something already
    destroyed is never blocked (destroying again is a no-op). A MIN class on the
    recording protects every artefact of it, derived ones included.
    """
    if recording.state is State.DESTROYED and (
        artefact is None or artefact.state is State.DESTROYED
    ):
        return None
    if artefact is not None and artefact.state is State.DESTROYED:
        return None
    if not recording.intact or (artefact is not None and not artefact.intact):
        return INTEGRITY_REASON
    if recording.legal_hold:
        return HOLD_REASON
    if recording.restricted:
        return RESTRICTED_REASON
    if recording.retention_class not in classes:
        return "unknown retention class (kept until configured)"
    until = keep_until(recording, classes)
    if until is not None and now < until:
        return f"{recording.retention_class} keeps until {until:%Y-%m-%d}"
    return None


def sweep(vault: Vault, **kwargs: Any) -> SweepReport:
    """:func:`recorder.sweep.sweep` (kept here too, where the decisions live)."""
    from recorder.sweep import sweep as run_sweep

    return run_sweep(vault, **kwargs)
