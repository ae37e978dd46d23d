"""Small inline SVG charts: bars and lines with labelled axes, no scripts, no libraries.

The health page must open anywhere (a mail attachment, a file on a server with no
internet), so charts are drawn as SVG text inside the HTML.  Every label is escaped:
outlet names and run ids come from files in the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 262, 110
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 16, 22

OK_COLOUR = "#3b6ea8"
ALARM_COLOUR = "#c62828"
MISSING_COLOUR = "#bdbdbd"


@dataclass(frozen=True)
class Point:
    label: str            # x-axis label (a date or a run id), shown as the bar's tooltip
    value: float | None   # None: nothing measured (no run that day)
    alarm: bool = False   # drawn in the alarm colour
    note: str = ""        # more for the tooltip (e.g. the run id)

    @property
    def tip(self) -> str:
        return f"{self.label} {self.note}".strip()


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= value:
            return step * factor
    return step * 10


def _frame(title: str, y_max: float, fmt: Callable[[float], str], first: str, last: str,
           body: list[str]) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text x="6" y="11" class="ct">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" class="ax"/>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        'class="ax"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 8}" class="yl">{escape(fmt(y_max))}</text>',
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" class="yl">{escape(fmt(0))}</text>',
        f'<text x="{LEFT}" y="{HEIGHT - 6}" class="xl">{escape(first)}</text>',
        f'<text x="{LEFT + plot_w}" y="{HEIGHT - 6}" class="xl xr">{escape(last)}</text>',
    ]
    return "".join(parts + body + ["</svg>"])


def bar_chart(title: str, points: Sequence[Point], fmt: Callable[[float], str] = "{:g}".format,
              ) -> str:
    """Bars from 0; a missing value is a grey tick, an alarming one red."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    if not points:
        return _frame(title, 1, fmt, "", "", [_empty(plot_w, plot_h)])
    y_max = _nice_max(max((p.value or 0) for p in points))
    slot = plot_w / len(points)
    gap = min(2.0, slot * 0.2)
    body = []
    for index, point in enumerate(points):
        x = LEFT + index * slot + gap / 2
        tip = f"{point.tip}: {'no run' if point.value is None else fmt(point.value)}"
        if point.value is None:
            body.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - 2}" width="{slot - gap:.1f}" '
                        f'height="2" fill="{MISSING_COLOUR}"><title>{escape(tip)}</title></rect>')
            continue
        height = max(plot_h * point.value / y_max, 3.0 if point.alarm else 0.0)
        colour = ALARM_COLOUR if point.alarm else OK_COLOUR
        marker = ' class="alarm-bar"' if point.alarm else ""
        body.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" '
                    f'width="{max(slot - gap, 0.5):.1f}" height="{height:.1f}" fill="{colour}"'
                    f'{marker}>'
                    f'<title>{escape(tip)}</title></rect>')
    return _frame(title, y_max, fmt, points[0].label, points[-1].label, body)


def line_chart(title: str, points: Sequence[Point], fmt: Callable[[float], str] = "{:g}".format,
               y_max: float | None = None, threshold: float | None = None) -> str:
    """A polyline over the measured points (gaps where nothing was measured), dots in red
    where alarming, and an optional dashed threshold line."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    if not points:
        return _frame(title, y_max or 1, fmt, "", "", [_empty(plot_w, plot_h)])
    top = y_max or _nice_max(max([p.value or 0 for p in points] + [threshold or 0]))
    step = plot_w / max(len(points) - 1, 1)

    def xy(index: int, value: float) -> tuple[float, float]:
        return LEFT + index * step, TOP + plot_h - plot_h * min(value, top) / top

    body, segment = [], []
    for index, point in enumerate(points):
        if point.value is None:
            if segment:
                body.append(_polyline(segment))
            segment = []
            continue
        segment.append(xy(index, point.value))
    if segment:
        body.append(_polyline(segment))
    for index, point in enumerate(points):
        if point.value is not None:
            x, y = xy(index, point.value)
            colour = ALARM_COLOUR if point.alarm else OK_COLOUR
            tip = f"{point.tip}: {fmt(point.value)}"
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{3 if point.alarm else 1.8}" '
                        f'fill="{colour}"><title>{escape(tip)}</title></circle>')
    if threshold is not None:
        _, y = xy(0, threshold)
        body.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" '
                    f'class="th"><title>threshold {escape(fmt(threshold))}</title></line>')
    return _frame(title, top, fmt, points[0].label, points[-1].label, body)


def _polyline(points: list[tuple[float, float]]) -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline points="{coords}" fill="none" stroke="{OK_COLOUR}" stroke-width="1.5"/>'


def _empty(plot_w: float, plot_h: float) -> str:
    return (f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" class="xl xm">'
            'no runs</text>')
