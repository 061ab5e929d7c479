"""The team report's trend chart, drawn on the server as SVG geometry (no chart library).

One job: place the weekly points of :attr:`recorder.qa_report.QaReport.trend` on a fixed
canvas (0-100 % up the side, one column per week) and hand the template numbers only; the
template writes the ``<svg>`` (autoescaped like any page), with a ``<title>``/``<desc>``
and the same figures in a table beside it for screen readers. A week without a score
(everything N/A) breaks the line rather than drawing it to zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from recorder.qa_report import TrendPoint

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40


@dataclass(frozen=True, slots=True, kw_only=True)
class Dot:
    """One week on the canvas."""

    x: float
    y: float
    label: str
    percent: float
    scorecards: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    """What the template draws: the canvas, the grid lines, the line pieces and the dots."""

    width: int
    height: int
    left: int
    bottom: float
    right: float
    ticks: tuple[tuple[float, int], ...]
    lines: tuple[str, ...]
    dots: tuple[Dot, ...]


def _y(percent: float) -> float:
    return round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - percent / 100), 1)


def trend_chart(trend: tuple[TrendPoint, ...]) -> Chart:
    """The chart of ``trend`` (weeks left to right)."""
    inner = WIDTH - LEFT - RIGHT
    step = inner / max(1, len(trend) - 1) if len(trend) > 1 else 0.0
    dots: list[Dot] = []
    lines: list[str] = []
    piece: list[str] = []
    for i, point in enumerate(trend):
        x = round(LEFT + (step * i if len(trend) > 1 else inner / 2), 1)
        if point.percent is None:
            if len(piece) > 1:
                lines.append(" ".join(piece))
            piece = []
            continue
        dot = Dot(
            x=x, y=_y(point.percent), label=point.week.isoformat(), percent=point.percent,
            scorecards=point.scorecards,
        )  # fmt: skip
        dots.append(dot)
        piece.append(f"{dot.x},{dot.y}")
    if len(piece) > 1:
        lines.append(" ".join(piece))
    return Chart(
        width=WIDTH, height=HEIGHT, left=LEFT, bottom=HEIGHT - BOTTOM, right=WIDTH - RIGHT,
        ticks=tuple((_y(p), p) for p in (0, 25, 50, 75, 100)), lines=tuple(lines),
        dots=tuple(dots),
    )  # fmt: skip
