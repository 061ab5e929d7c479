"""The ``[qa]`` table of the configuration: the scorecard's criteria, scales and weights.

::

    [qa]
    criteria = [
      { name = "greeting",       scale = [1, 5], weight = 1 },
      { name = "identification", scale = [1, 5], weight = 1 },
      { name = "resolution",     scale = [1, 5], weight = 2 },
      { name = "compliance",     scale = [1, 5], weight = 2 },
      { name = "tone",           scale = [1, 5], weight = 1 },
    ]
    comment_max = 2000   # characters

Without a ``[qa]`` table (or without ``criteria``) the five criteria above are used. A
criterion name is a lower-case code (``[a-z][a-z0-9_]*``, at most 32 characters); the scale
is two integers ``[low, high]`` with ``low < high``; the weight a positive number used only
for the weighted overall score of the report. Errors name the TOML path, never a value.

Two optional flags per criterion (as in Genesys and NICE evaluation forms):

- ``na = true``: the reviewer may mark it *not applicable* (a ``None`` score); it is left
  out of the weighting and of the report's counts.
- ``critical = true``: a question the call must not fail, such as identity verification
  before account details (``{ name = "verified_identity", scale = [0, 1], critical = true }``).
  Scoring it at the bottom of its scale fails the whole evaluation: its overall score is 0 %
  whatever the other criteria say (:meth:`QaSettings.evaluate`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recorder.config import Config
from recorder.errors import ConfigError, QaError

_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
DEFAULT_COMMENT_MAX = 2000


@dataclass(frozen=True, slots=True, kw_only=True)
class Criterion:
    """One line of the scorecard: scored with an integer from ``low`` to ``high``."""

    name: str
    low: int = 1
    high: int = 5
    weight: float = 1.0
    na: bool = False
    critical: bool = False

    def check(self, score: int | None) -> None:
        """:class:`QaError` unless ``score`` is on this criterion's scale (or an allowed N/A)."""
        if score is None:
            if not self.na:
                raise QaError(f"score for {self.name}: cannot be marked not applicable")
            return
        if not self.low <= score <= self.high:
            raise QaError(f"score for {self.name}: must be between {self.low} and {self.high}")

    def fails(self, score: int | None) -> bool:
        """True if ``score`` fails the evaluation (a critical criterion at its lowest)."""
        return self.critical and score == self.low


DEFAULT_CRITERIA: tuple[Criterion, ...] = (
    Criterion(name="greeting"),
    Criterion(name="identification"),
    Criterion(name="resolution", weight=2.0),
    Criterion(name="compliance", weight=2.0),
    Criterion(name="tone"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    """One scorecard's result: the overall score (percent of the scale) and what failed it."""

    percent: float | None
    failed: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class QaSettings:
    """The validated ``[qa]`` table."""

    criteria: tuple[Criterion, ...] = DEFAULT_CRITERIA
    comment_max: int = DEFAULT_COMMENT_MAX

    def criterion(self, name: str) -> Criterion:
        """The criterion called ``name``; :class:`QaError` listing the known ones if none."""
        for criterion in self.criteria:
            if criterion.name == name:
                return criterion
        known = ", ".join(c.name for c in self.criteria)
        raise QaError(f"unknown criterion (known: {known})")

    def validate(self, scores: Mapping[str, int | None]) -> dict[str, int | None]:
        """Check a scorecard: every criterion scored once, on its scale (``None``: N/A, where
        allowed); in criteria order."""
        for name in scores:
            self.criterion(name)
        missing = [c.name for c in self.criteria if c.name not in scores]
        if missing:
            raise QaError(f"scorecard incomplete: no score for {', '.join(missing)}")
        checked: dict[str, int | None] = {}
        for criterion in self.criteria:
            score = scores[criterion.name]
            if score is not None and (isinstance(score, bool) or not isinstance(score, int)):
                raise QaError(f"score for {criterion.name}: must be a whole number")
            criterion.check(score)
            checked[criterion.name] = score
        return checked

    def weighted_percent(self, scores: Mapping[str, float | None]) -> float | None:
        """Weighted overall score as a percentage of the scale (0 = all lowest, 100 = all top).

        ``scores`` may be means; criteria without a value (or N/A) are left out.
        """
        total = weights = 0.0
        for c in self.criteria:
            value = scores.get(c.name)
            if value is not None:
                total += c.weight * (value - c.low) / (c.high - c.low)
                weights += c.weight
        return None if weights == 0 else round(100 * total / weights, 1)

    def parse_scores(self, raw: Mapping[str, str]) -> dict[str, int | None]:
        """Scores typed as text (CLI ``--score name=N``, the web form): a whole number, or
        ``na`` for not applicable; then :meth:`validate`. Blank values count as missing."""
        scores: dict[str, int | None] = {}
        for name, text in raw.items():
            value = text.strip().lower()
            if not value:
                continue
            if value in ("na", "n/a"):
                scores[name] = None
                continue
            try:
                scores[name] = int(value)
            except ValueError:
                raise QaError(f"score for {name}: expected a whole number or na") from None
        return self.validate(scores)

    def evaluate(self, scores: Mapping[str, int | None]) -> Evaluation:
        """One scorecard's overall result: 0 % when a critical criterion failed, else the
        weighted percent of what was scored (None when everything was N/A)."""
        failed = tuple(c.name for c in self.criteria if c.fails(scores.get(c.name)))
        percent = 0.0 if failed else self.weighted_percent(scores)
        return Evaluation(percent=percent, failed=failed)


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where} must be a whole number")
    return value


def _criterion(raw: Any, where: str) -> Criterion:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table {{ name, scale, weight, na, critical }}")
    unknown = set(raw) - {"name", "scale", "weight", "na", "critical"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}")
    flags = {key: raw.get(key, False) for key in ("na", "critical")}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise ConfigError(f"{where}.{key} must be true or false")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"{where}.name must be a lower-case code such as greeting")
    scale = raw.get("scale", [1, 5])
    if not isinstance(scale, list) or len(scale) != 2:
        raise ConfigError(f"{where}.scale must be [low, high], e.g. [1, 5]")
    low, high = _int(scale[0], f"{where}.scale[0]"), _int(scale[1], f"{where}.scale[1]")
    if low >= high:
        raise ConfigError(f"{where}.scale: low must be below high")
    weight = raw.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
        raise ConfigError(f"{where}.weight must be a positive number")
    if weight == float("inf"):
        raise ConfigError(f"{where}.weight must be a positive number")
    return Criterion(
        name=name, low=low, high=high, weight=float(weight), na=flags["na"],
        critical=flags["critical"],
    )  # fmt: skip


def qa_settings(config: Config) -> QaSettings:
    """Parse and validate ``[qa]`` (defaults when absent); :class:`ConfigError` on bad input."""
    table = config.section("qa")
    unknown = set(table) - {"criteria", "comment_max"}
    if unknown:
        raise ConfigError(f"qa: unknown key(s) {sorted(unknown)}")
    comment_max = _int(table.get("comment_max", DEFAULT_COMMENT_MAX), "qa.comment_max")
    if comment_max < 0:
        raise ConfigError("qa.comment_max must not be negative")
    raw = table.get("criteria")
    if raw is None:
        return QaSettings(comment_max=comment_max)
    if not isinstance(raw, list) or not raw:
        raise ConfigError("qa.criteria must be a non-empty list of { name, scale, weight }")
    criteria = tuple(_criterion(item, f"qa.criteria[{i}]") for i, item in enumerate(raw))
    seen: set[str] = set()
    for i, c in enumerate(criteria):
        if c.name in seen:
            raise ConfigError(f"qa.criteria[{i}].name: duplicate criterion")
        seen.add(c.name)
    return QaSettings(criteria=criteria, comment_max=comment_max)
