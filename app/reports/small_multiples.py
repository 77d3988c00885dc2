"""Small multiples for the board report: each member region's answer rate and mean wait over the report's
thirteen months, one row per region, on the same scales, so a region that misses its target month after month
stands out at a glance next to its neighbours (the collaboration's own charts average it away).

The slots are those of the report's big charts (``board_html.chart_for``: the same values, targets, status
colours, text marks and descriptions) drawn on a small canvas by ``render_small``, which reuses
``app.reports.svg``'s colours, text and target path. Only the report's month carries its value as a label, and a
label never sits on the target line: it moves above the line, or under it where the top of the plot is near.
Month names are written under the last row only; each row says in words how many closed months missed.

Data (``member_series``) are read by the report's builder; rendering (``render_small_multiples``) is pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from html import escape
from typing import Any

from sqlalchemy.orm import Session

from app.kpi.catalog import kpi_name
from app.kpi.glossary import Lang, status_word
from app.reports.svg import FILL, MARK_COLOUR, Chart, _num, _target_path, _text, nice_ticks
from app.scorecard.breakdowns import monthly_series
from app.scorecard.forecast_cache import ForecastHistoryCache

#: ``app.reports.board``'s ``MonthPoint`` and ``ReportPage`` (the board imports this module, so not by name here)
MonthPoint = Any
ReportPage = Any

WIDTH, HEIGHT, AXIS = 260, 22, 9  # AXIS: room for month names under the last row
LEFT, RIGHT, TOP, BOTTOM = 22, 3, 7.5, 1  # TOP: the line saying how many months missed
UNIT = {"answer_rate": "%", "mean_wait": "min"}
TEXT: dict[Lang, dict[str, str]] = {
    "sv": {"title": "Medlemsregionerna per månad", "missed": "{status} {n} av {m} avslutade månader"},
    "en": {"title": "Member regions by month", "missed": "{status} in {n} of {m} closed months"},
}
#: Room is found on the page for the section: the big charts a little lower, the worst days and the definitions
#: under it a little smaller (the page was nearly full before).
CSS = """
.multiples { margin: 1mm 0 1.5mm; break-inside: avoid; }
.multiples table { table-layout: fixed; }
.multiples th, .multiples td { padding: 0 1mm; border-bottom: 0.2mm solid #ddd; vertical-align: middle; }
.multiples tbody th { width: 31mm; font-size: 7.5pt; line-height: 1.15; font-weight: 600; }
svg.mini { display: block; width: 100%; height: auto; }
.page:has(> .multiples) figure svg.chart { height: 29mm; width: auto; max-width: 100%; margin: 0 auto; }
.multiples ~ .bottom { zoom: 0.85; }
"""
#: More member regions than Norra's four (up to seven in Sjukvårdsregion Mellansverige): the whole page a little
#: smaller (still wide as the paper), the big charts lower, the table's rows tighter and the bottom smaller still,
#: so the page stays one A4 sheet (tests/reports/test_report_browser.py prints the seven-region case).
CROWDED_FROM = 5
CROWDED_CSS = """
.page:has(> .multiples.crowded) { zoom: 0.9; max-width: 206mm; }
.page:has(> .multiples.crowded) figure svg.chart { height: 24mm; }
.page:has(> .multiples.crowded) table.scorecard td, .page:has(> .multiples.crowded) table.scorecard tbody th {
  padding-top: 0.3mm; padding-bottom: 0.3mm; }
.multiples.crowded ~ .bottom { zoom: 0.75; }
"""


@dataclass(frozen=True)
class MemberSeries:
    """One member region's months, as the report's big charts hold the collaboration's."""

    scope: str
    name: str
    series: list[MonthPoint]


def member_series(
    session: Session, members: list[tuple[str, str]], first: date, last: date, now: datetime,
    point: Callable[..., MonthPoint], history: ForecastHistoryCache | None = None,
) -> tuple[MemberSeries, ...]:
    """``members``: (code, name) in the order of the page's table; ``point`` turns a series month into a slot."""
    return tuple(
        MemberSeries(code, name, [point(entry, now) for entry in monthly_series(
            session, "region", code, first, last, now, history=history).months])
        for code, name in members
    )


def missed_months(series: list[MonthPoint], kpi: str) -> tuple[int, int]:
    """(closed months whose target was missed, closed months judged against a target) of ``kpi``."""
    judged = [p.targets[kpi].status for p in series if p.closed and kpi in p.targets
              and p.targets[kpi].status != "no_data"]
    return sum(1 for status in judged if status == "missed"), len(judged)


def render_small(chart: Chart, counted: str, *, month_names: bool) -> str:
    """A chart of ``svg.Chart``'s slots on a small canvas: bars or a line, the target, a status mark per month
    only in colour and in each slot's title, and ``counted`` (the months missed, in words) over the plot."""
    height = HEIGHT + (AXIS if month_names else 0)
    plot_bottom = HEIGHT - BOTTOM
    top_value = chart.ticks[-1][0] if chart.ticks else 1.0
    slot_width = (WIDTH - LEFT - RIGHT) / max(len(chart.slots), 1)

    def y(value: float) -> float:
        return plot_bottom - (plot_bottom - TOP) * max(0.0, min(value, top_value)) / top_value

    def x(index: int) -> float:
        return LEFT + index * slot_width

    out = [f'<svg class="chart mini" data-series="{escape(chart.kpi)}" viewBox="0 0 {WIDTH} {height}" '
           f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(chart.title)}">',
           f"<title>{escape(chart.title)}</title>"]
    for value, label in (chart.ticks[0], chart.ticks[-1]):
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_num(y(value))}" y2="{_num(y(value))}" '
                   f'stroke="{"#444444" if value == 0 else "#dddddd"}" stroke-width="0.5"/>')
        out.append(_text(LEFT - 2, y(value) + 2.5, label, size=7, anchor="end", fill="#444444"))
    out.append(_text(LEFT + 1, 6, counted, size=6.5, anchor="start", fill="#222222", css="counted"))
    points: list[tuple[float, float] | None] = []
    for i, slot in enumerate(chart.slots):
        centre = x(i) + slot_width / 2
        out.append(f'<g class="slot {escape(slot.status)}" data-month="{escape(slot.key)}">'
                   f"<title>{escape(slot.title)}</title>")
        if slot.value is not None and chart.style == "bars":
            top = y(slot.value)
            width = slot_width * 0.62
            dashed = ' stroke-dasharray="2 1.5" fill-opacity="0.45"' if slot.in_progress else ""
            out.append(f'<rect class="bar" x="{_num(centre - width / 2)}" y="{_num(top)}" width="{_num(width)}" '
                       f'height="{_num(plot_bottom - top)}" fill="{FILL[slot.status]}" stroke="#333333" '
                       f'stroke-width="{0.9 if slot.highlight else 0.3}"{dashed}/>')
        points.append(None if slot.value is None else (centre, y(slot.value)))
        if month_names:
            out.append(_text(centre, HEIGHT + 7.5, slot.label + ("*" if slot.in_progress else ""), size=7,
                             fill="#333333"))
        out.append("</g>")
    if chart.style == "line":
        run: list[str] = []
        for position in [*points, None]:
            if position is None:
                if len(run) > 1:
                    out.append(f'<polyline class="line" points="{" ".join(run)}" fill="none" stroke="#34495e" '
                               f'stroke-width="1"/>')
                run = []
            else:
                run.append(f"{_num(position[0])},{_num(position[1])}")
        for slot, position in zip(chart.slots, points, strict=True):
            if position is not None:
                out.append(f'<circle class="point" cx="{_num(position[0])}" cy="{_num(position[1])}" '
                           f'r="{2.4 if slot.highlight else 1.9}" fill="{FILL[slot.status]}" '
                           f'stroke="{MARK_COLOUR[slot.status]}" stroke-width="0.5"/>')
    out.append(_target_path(chart, x, y, slot_width).replace('stroke-width="1.6"', 'stroke-width="1"')
               .replace('stroke-dasharray="6 4"', 'stroke-dasharray="4 3"'))
    out.append("</svg>")
    return "".join(out)


def _charts(multiples: tuple[MemberSeries, ...], page: ReportPage, lang: Lang,
            chart_for: Callable[[ReportPage, str, Lang], Chart]) -> dict[tuple[str, str], Chart]:
    """Every member's two charts, the waits on one scale (the highest value or target of any member)."""
    charts = {(m.scope, kpi): chart_for(replace(page, series=m.series), kpi, lang)
              for m in multiples for kpi in ("answer_rate", "mean_wait")}
    highest = max([s.value for (_c, kpi), chart in charts.items() if kpi == "mean_wait" for s in chart.slots
                   if s.value is not None] + [s.target for (_c, kpi), chart in charts.items() if kpi == "mean_wait"
                                              for s in chart.slots if s.target is not None] + [0.0])
    ticks = [(value, f"{value:g}") for value in nice_ticks(highest, minimum_top=5)]
    for key, chart in charts.items():
        if key[1] == "mean_wait":
            charts[key] = replace(chart, ticks=ticks)
    return charts


def render_small_multiples(page: ReportPage, lang: Lang, chart_for: Callable[[ReportPage, str, Lang], Chart]) -> str:
    """The section under the big charts; empty for a page without member regions."""
    multiples: tuple[MemberSeries, ...] = getattr(page, "member_series", ())
    if not multiples:
        return ""
    t = TEXT[lang]
    missed_word = status_word("missed", lang)
    charts = _charts(multiples, page, lang, chart_for)
    rows = []
    for index, member in enumerate(multiples):
        cells = []
        for kpi in ("answer_rate", "mean_wait"):
            missed, judged = missed_months(member.series, kpi)
            counted = kpi_name(kpi, lang) + f" ({UNIT[kpi]})" + (
                ": " + t["missed"].format(status=missed_word, n=missed, m=judged) if judged else "")
            svg = render_small(charts[(member.scope, kpi)], counted, month_names=index == len(multiples) - 1)
            cells.append(f'<td data-series="{kpi}" data-missed="{missed}" data-judged="{judged}">{svg}</td>')
        rows.append(f'<tr class="multiple" data-region="{escape(member.scope)}"><th scope="row">'
                    f'{escape(member.name)}</th>{"".join(cells)}</tr>')
    crowded = len(multiples) >= CROWDED_FROM
    return (f'<section class="multiples{" crowded" if crowded else ""}" aria-label="{escape(t["title"])}">'
            f'<style>{CSS}{CROWDED_CSS if crowded else ""}</style>'
            f'<table><tbody>{"".join(rows)}</tbody></table></section>')


__all__ = ["MemberSeries", "member_series", "missed_months", "render_small", "render_small_multiples"]
