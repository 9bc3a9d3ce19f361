"""Server-rendered charts for the workbench: pure functions from numbers to coordinates, drawn as
inline SVG by templates (no JavaScript library, nothing from the network)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

# Narrow enough that 14-unit labels stay readable when a phone scales the chart to ~320 px.
WIDTH = 480
HEIGHT = 220
LEFT, RIGHT, TOP, BOTTOM = 44, 14, 12, 34  # room for the axis labels


@dataclass(frozen=True)
class Tick:
    at: float  # the pixel position along its axis
    label: str


@dataclass
class LineChart:
    """A daily series with its expected level and upper control limit, the last day the alerting one."""

    width: int
    height: int
    left: float
    right: float  # x of the right edge of the plot
    top: float
    bottom: float  # y of the x axis
    points: str  # the polyline
    dots: list[tuple[float, float, str, float]] = field(default_factory=list)  # x, y, day, value
    expected_y: float = 0.0
    limit_y: float = 0.0
    alert: tuple[float, float] | None = None
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    first_day: str = ""
    last_day: str = ""


def nice_step(span: float, count: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `count` intervals."""
    if span <= 0:
        return 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns


def _number(value: float) -> str:
    if value >= 10000:
        return f"{value / 1000:.0f}k"
    if value == int(value):
        return str(int(value))
    return f"{value:.1f}"


def line_chart(
    history: Sequence[Sequence[object]],
    *,
    expected: float,
    limit: float,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> LineChart:
    """Coordinates for `history` [(ISO day, value), ...] oldest first (the last day is the alert's),
    the expected level and the control limit as horizontal lines. The y axis starts at 0 and ends on
    a round number above the largest of the values, the expected level and the limit."""
    days = [str(d) for d, _v in history]
    values = [float(v) for _d, v in history]  # type: ignore[arg-type]
    right, bottom = width - RIGHT, height - BOTTOM
    top_value = max([*values, expected, limit, 1.0])
    step = nice_step(top_value)
    ceiling = step * math.ceil(top_value / step)
    if ceiling <= top_value:
        ceiling += step

    def y(value: float) -> float:
        return round(bottom - (bottom - TOP) * value / ceiling, 1)

    def x(index: int) -> float:
        span = max(1, len(values) - 1)
        return round(LEFT + (right - LEFT) * index / span, 1)

    chart = LineChart(
        width=width,
        height=height,
        left=LEFT,
        right=right,
        top=TOP,
        bottom=bottom,
        points=" ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values)),
        dots=[(x(i), y(v), days[i], v) for i, v in enumerate(values)],
        expected_y=y(expected),
        limit_y=y(limit),
        alert=(x(len(values) - 1), y(values[-1])) if values else None,
        first_day=days[0] if days else "",
        last_day=days[-1] if days else "",
    )
    tick = 0.0
    while tick <= ceiling + 1e-9:
        chart.y_ticks.append(Tick(y(tick), _number(tick)))
        tick += step
    # Dates: every second week counted back from the alert day, and the first day.
    if days:
        marks = {0, *range(len(days) - 1, -1, -14)}
        chosen: list[int] = []
        for index in sorted(marks):
            # Keep labels apart (about 60 units): the alert day wins over a date just before it.
            if chosen and x(index) - x(chosen[-1]) < 60:
                if index == len(days) - 1:
                    chosen[-1] = index
                continue
            chosen.append(index)
        chart.x_ticks = [Tick(x(i), days[i][5:10]) for i in chosen]
    return chart
