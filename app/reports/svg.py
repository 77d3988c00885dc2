"""Month charts as inline SVG for the printable report: drawn here, no JavaScript, no external assets.

A chart has one slot per month (thirteen in the report), each a ``<g class="slot" data-month="YYYY-MM">``
with a ``<title>`` describing it in words. Values are bars (from zero) or a line with points; a month without
a value leaves a gap (the line is broken) labelled "no data". The target in force in each month is a dashed
step line; a month without a target has no dash and an open circle in the mark row under the axis.
Every status is a text mark (✓ ✗ ! –) as well as a colour, so a black-and-white print loses nothing.
Colours are presentation attributes, so the SVG is complete on its own; fonts are inherited from the page.
All text passed in is escaped here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Literal

WIDTH, HEIGHT = 720, 158
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 15, 46
FILL = {"met": "#4f8f6a", "on_track": "#4f8f6a", "missed": "#c2554a", "unreachable": "#c2554a",
        "at_risk": "#d19a2a", "no_data": "#9aa5b1", "no_target": "#9aa5b1"}
MARK_COLOUR = {"met": "#1e6b3c", "on_track": "#1e6b3c", "missed": "#b3261e", "unreachable": "#b3261e",
               "at_risk": "#8a5a00", "no_data": "#555555", "no_target": "#555555"}
NO_TARGET_MARK = "○"


@dataclass(frozen=True)
class Slot:
    key: str  # "2025-10"
    label: str  # "okt"
    sublabel: str  # the year under January and the first slot, else ""
    value: float | None  # in axis units; None: no data (a gap)
    value_label: str
    target: float | None  # in axis units; None: no target in force
    status: str  # met | missed | on_track | at_risk | unreachable | no_data | no_target
    mark: str  # the text mark of the status
    highlight: bool  # the report's month
    in_progress: bool
    title: str  # the slot in words, for screen readers and tooltips


@dataclass(frozen=True)
class Chart:
    kpi: str
    title: str
    style: Literal["bars", "line"]
    unit: str  # over the value axis: "%", "min"
    ticks: list[tuple[float, str]]  # (value, label), ascending; the last is the top of the axis
    slots: list[Slot]
    no_data_label: str


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, text: str, *, size: float, anchor: str = "middle", fill: str = "#222222",
          weight: str | None = None, css: str | None = None, halo: bool = False) -> str:
    extra = (f' font-weight="{weight}"' if weight else "") + (f' class="{css}"' if css else "")
    if halo:  # a white outline under the glyphs keeps a label readable where it crosses the target line
        extra += ' stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"'
    return (f'<text x="{_num(x)}" y="{_num(y)}" font-size="{_num(size)}" text-anchor="{anchor}" '
            f'fill="{fill}"{extra}>{escape(text)}</text>')


def render_chart(chart: Chart) -> str:
    n = max(len(chart.slots), 1)
    top_value = chart.ticks[-1][0] if chart.ticks else 1.0
    plot_bottom = HEIGHT - BOTTOM
    slot_width = (WIDTH - LEFT - RIGHT) / n

    def y(value: float) -> float:
        return plot_bottom - (plot_bottom - TOP) * max(0.0, min(value, top_value)) / top_value

    def x(index: int) -> float:  # the slot's left edge
        return LEFT + index * slot_width

    def target_y(slot: Slot) -> float | None:
        return None if slot.target is None else y(slot.target)

    out = [
        f'<svg class="chart" data-kpi="{escape(chart.kpi)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(chart.title)}">',
        f"<title>{escape(chart.title)}</title>",
    ]
    for value, label in chart.ticks:
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_num(y(value))}" y2="{_num(y(value))}" '
                   f'stroke="{"#444444" if value == 0 else "#d5d5d5"}" stroke-width="{1 if value == 0 else 0.6}"/>')
        out.append(_text(LEFT - 5, y(value) + 3.5, label, size=9.5, anchor="end", fill="#444444"))
    out.append(_text(LEFT - 5, TOP - 6, chart.unit, size=9.5, anchor="end", fill="#444444"))

    line_runs: list[list[tuple[float, float]]] = [[]]
    for i, slot in enumerate(chart.slots):
        centre = x(i) + slot_width / 2
        out.append(f'<g class="slot {escape(slot.status)}" data-month="{escape(slot.key)}">'
                   f"<title>{escape(slot.title)}</title>")
        if slot.value is None:
            out.append(_text(centre, plot_bottom - 4, chart.no_data_label, size=8, fill="#666666", css="gap"))
            if line_runs[-1]:
                line_runs.append([])
        elif chart.style == "bars":
            bar_width = slot_width * 0.58
            top = y(slot.value)
            dashed = ' stroke-dasharray="3 2" fill-opacity="0.45"' if slot.in_progress else ""
            out.append(f'<rect class="bar" x="{_num(centre - bar_width / 2)}" y="{_num(top)}" '
                       f'width="{_num(bar_width)}" height="{_num(plot_bottom - top)}" fill="{FILL[slot.status]}" '
                       f'stroke="#333333" stroke-width="{1.4 if slot.highlight else 0.5}"{dashed}/>')
            out.append(_text(centre, clear_of_target(top - 3.5, target_y(slot)), slot.value_label, size=9.5,
                             css="value", weight="bold" if slot.highlight else None, halo=True))
        else:
            line_runs[-1].append((centre, y(slot.value)))
            out.append(_text(centre, clear_of_target(y(slot.value) - 7, target_y(slot)), slot.value_label,
                             size=9.5, css="value", weight="bold" if slot.highlight else None, halo=True))
        out.append(_text(centre, plot_bottom + 13, slot.mark, size=11, fill=MARK_COLOUR[slot.status], css="mark"))
        label = slot.label + ("*" if slot.in_progress else "")
        out.append(_text(centre, plot_bottom + 27, label, size=10, weight="bold" if slot.highlight else None))
        if slot.sublabel:
            out.append(_text(centre, plot_bottom + 39, slot.sublabel, size=9, fill="#555555"))
        out.append("</g>")

    if chart.style == "line":
        for run in line_runs:
            if len(run) > 1:
                points = " ".join(f"{_num(px)},{_num(py)}" for px, py in run)
                out.append(f'<polyline class="line" points="{points}" fill="none" stroke="#34495e" '
                           f'stroke-width="1.8" stroke-linejoin="round"/>')
        for i, slot in enumerate(chart.slots):
            if slot.value is not None:
                dashed = ' stroke-dasharray="2 1.5"' if slot.in_progress else ""
                out.append(f'<circle class="point" cx="{_num(x(i) + slot_width / 2)}" cy="{_num(y(slot.value))}" '
                           f'r="{4.2 if slot.highlight else 3.4}" fill="{FILL[slot.status]}" stroke="#222222" '
                           f'stroke-width="{1.4 if slot.highlight else 0.8}"{dashed}/>')
    out.append(_target_path(chart, x, y, slot_width))
    out.append("</svg>")
    return "".join(out)


def clear_of_target(baseline: float, target_y: float | None, size: float = 9.5) -> float:
    """The baseline of a value label, moved off the target line it would touch: above the line, or just under it
    when there is no room above (a target near the top of the axis)."""
    if target_y is None or not baseline - size - 1 <= target_y <= baseline + 2.5:
        return baseline
    above = target_y - 3
    return above if above - size >= 0 else target_y + size + 2


def _target_path(chart: Chart, x: Callable[[int], float], y: Callable[[float], float], slot_width: float) -> str:
    """The targets as one dashed step path, broken where no target is in force."""
    parts: list[str] = []
    previous: float | None = None
    for i, slot in enumerate(chart.slots):
        if slot.target is None:
            previous = None
            continue
        ty = y(slot.target)
        if previous is None:
            parts.append(f"M{_num(x(i))},{_num(ty)}")
        elif previous != slot.target:
            parts.append(f"V{_num(ty)}")
        parts.append(f"H{_num(x(i) + slot_width)}")
        previous = slot.target
    if not parts:
        return ""
    return (f'<path class="target" d="{"".join(parts)}" fill="none" stroke="#111111" stroke-width="1.6" '
            f'stroke-dasharray="6 4"/>')


def nice_ticks(largest: float, *, minimum_top: float, steps: tuple[float, ...] = (1, 2, 5, 10, 15, 20, 30, 60),
               most: int = 6) -> list[float]:
    """Tick values from 0 to a round top that holds ``largest`` (and at least ``minimum_top``)."""
    top = max(largest, minimum_top, 1e-9)
    step = next((s for s in steps if top / s <= most), steps[-1] * (int(top / (steps[-1] * most)) + 1))
    count = int(-(-top // step))
    if count * step < top * 1.08:  # leave room above the highest point for its label
        count += 1
    return [i * step for i in range(count + 1)]
