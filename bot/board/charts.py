"""The usage plots as SVG drawn here (rectangles and text, no script, nothing fetched): a grouped
bar chart is all the board needs. The template prints the geometry; its text is HTML-escaped."""

from __future__ import annotations

from dataclasses import dataclass

# About a phone's width in CSS pixels, so the text keeps its size there.
WIDTH, HEIGHT = 400, 220
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 10, 40
# More groups than this: one label in two, or they overlap.
LABELLED_GROUPS = 6


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    # (x, text) under each group, (y, text) for the scale, (name, color) for the legend.
    labels: tuple[tuple[float, str], ...]
    ticks: tuple[tuple[float, str], ...]
    legend: tuple[tuple[str, str], ...]
    baseline: float
    empty: bool


def _nice_top(value: int) -> int:
    """A round maximum for the scale: 4, 10, 25, 60, 150…"""
    top = max(value, 1)
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor * 4 >= top:
                return step * factor * 4
        step *= 10


def grouped_bars(title: str, groups: list[str], series: list[tuple[str, str, list[int]]]) -> Chart:
    """One group of bars per label, one bar per series (name, colour, one value per group)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_top(max((v for _, _, values in series for v in values), default=0))
    group_w = plot_w / max(len(groups), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    bars, labels = [], []
    for g, label in enumerate(groups):
        x0 = LEFT + g * group_w + group_w * 0.1
        for s, (name, color, values) in enumerate(series):
            value = values[g]
            height = plot_h * value / top
            bars.append(
                Bar(
                    round(x0 + s * bar_w, 1),
                    round(TOP + plot_h - height, 1),
                    round(bar_w * 0.92, 1),
                    round(height, 1),
                    color,
                    f"{label} — {name} : {value}",
                )
            )
        if len(groups) <= LABELLED_GROUPS or g % 2 == (len(groups) - 1) % 2:
            labels.append((round(LEFT + g * group_w + group_w / 2, 1), label))
    ticks = tuple((round(TOP + plot_h - plot_h * i / 4, 1), str(top * i // 4)) for i in range(5))
    empty = not any(v for _, _, values in series for v in values)
    return Chart(
        title,
        WIDTH,
        HEIGHT,
        tuple(bars),
        tuple(labels),
        ticks,
        tuple((name, color) for name, color, _ in series),
        TOP + plot_h,
        empty,
    )
