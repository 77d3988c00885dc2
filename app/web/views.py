"""What the templates show, as plain values: every figure formatted, every text from data through the sanitiser.

The figures are those of the scorecard service (``monthly_scorecard`` through the app's cache), the report's
series and the day and hour breakdowns, formatted by the report's own number functions, so the page, the board
report and the exports never disagree by a rounding. A status is a word and a text mark as well as a colour
(``status-…`` classes), so it reads without colour.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from app.kpi.catalog import KPIS, RATIO_KPIS
from app.kpi.glossary import NO_TARGET, SCOPE_KINDS, Lang, status_word
from app.kpi.numbers import number, percent
from app.reports.board import MonthPoint, Report, ReportPage, swedish_sort_key
from app.reports.board_text import (
    COMPARATOR,
    MARKS,
    MONTHS_SHORT,
    WEEKDAYS_SHORT,
    delta,
    marks_legend,
    moment,
    month_name,
    percent_judged,
    target_value,
    wait,
)
from app.reports.columns import COLUMNS
from app.reports.comparison_words import compared_with, report_compared_with
from app.reports.source_words import in_swedish_time, source_text
from app.sanitize import clean
from app.scorecard.document import KpiFigures, ScopeEntry, ScorecardDocument, SourceDelivery, TargetEntry

HEADLINE = ("answer_rate", "mean_wait")
_COLUMN = {column.key: column for column in COLUMNS}


@dataclass(frozen=True)
class Cell:
    """A KPI's value with its target and status (status ``""``: the KPI has no target to judge it by)."""

    text: str
    status: str = ""
    mark: str = ""
    word: str = ""
    target: str = ""
    #: the change against the month the page names in its ``changes`` sentence (for a month in progress, the same
    #: days of the previous month); "" without one
    delta: str = ""


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    kind: str
    kind_label: str
    offered: str
    answered: str
    cells: dict[str, Cell]
    service_level: str
    forecast_rest: str
    needed: dict[str, Cell] = field(default_factory=dict)
    partial: bool = False
    #: the month's sources, one text each: "platform-norra (http, levererat till 7 december 2026 kl. 22:29)"
    sources: tuple[str, ...] = ()


def kpi_label(key: str, lang: Lang) -> str:
    return KPIS[key].name[lang]


def column_label(key: str, lang: Lang) -> str:
    """A heading the exports use too ("Prognos återstående samtal", "Behövd svarsfrekvens")."""
    column = _COLUMN.get(key)
    return key if column is None else column.label(lang)


def format_value(kpi: str, value: float | int | None, lang: Lang, target: TargetEntry | None = None) -> str:
    if value is None:
        return "–"
    comparator, bound = (None, None) if target is None else (target.comparator, target.value)
    if kpi in RATIO_KPIS:
        return percent_judged(float(value), lang, comparator, bound)
    if KPIS[kpi].unit == "seconds":
        return wait(float(value), lang, comparator, bound)
    return number(float(value), lang)


def target_text(target: TargetEntry, lang: Lang) -> str:
    return f"{COMPARATOR[target.comparator]} {target_value(target.kpi, target.value, lang)}"


def cell(kpi: str, kpis: KpiFigures | None, target: TargetEntry | None, lang: Lang) -> Cell:
    value = None if kpis is None else kpis.value(kpi)
    text = format_value(kpi, value, lang, target)
    if target is None:
        return Cell(text, NO_TARGET, MARKS.get(NO_TARGET, ""), status_word(NO_TARGET, lang))
    return Cell(text, target.status, MARKS.get(target.status, ""), status_word(target.status, lang),
                target_text(target, lang))


def needed_cell(target: TargetEntry | None, lang: Lang) -> Cell | None:
    if target is None or target.needed is None:
        return None
    if target.kpi in RATIO_KPIS:
        return Cell(percent(target.needed, lang), target.status, MARKS.get(target.status, ""),
                    status_word(target.status, lang))
    return Cell(wait(target.needed, lang), target.status, MARKS.get(target.status, ""),
                status_word(target.status, lang))


def with_delta(found: Cell, kpi: str, change: float | None, lang: Lang) -> Cell:
    return replace(found, delta=delta(kpi, change, lang))


def row_of(scope: ScopeEntry, lang: Lang) -> Row:
    kpis = scope.kpis
    needed = {kpi: found for kpi in HEADLINE if (found := needed_cell(scope.target(kpi), lang)) is not None}
    forecast = scope.forecast
    return Row(
        code=clean(scope.scope, 64), name=clean(scope.name, 200), kind=scope.kind,
        kind_label=SCOPE_KINDS[scope.kind][lang], offered=number(kpis.offered, lang),
        answered=number(kpis.answered, lang),
        cells={kpi: with_delta(cell(kpi, kpis, scope.target(kpi), lang), kpi, scope.delta(kpi), lang)
               for kpi in HEADLINE},
        service_level=format_value("service_level", kpis.service_level, lang),
        forecast_rest="" if forecast is None else number(forecast.expected_remaining_offered, lang),
        needed=needed, partial=scope.completeness.partial, sources=source_texts(scope.completeness.sources, lang),
    )


def source_texts(sources: tuple[SourceDelivery, ...], lang: Lang) -> tuple[str, ...]:
    """Each source with how far it has delivered, the time in Swedish time as the page's other times are (the
    template escapes them: a name comes from input)."""
    return tuple(source_text(source, lang, in_swedish_time(lang)) for source in sources)


def scorecard_rows(document: ScorecardDocument, lang: Lang) -> list[Row]:
    """Collaborations first, then regions, each in Swedish alphabetical order."""
    order = {"collaboration": 0, "region": 1}
    scopes = sorted(document.scopes, key=lambda s: (order.get(s.kind, 2), swedish_sort_key(s.name)))
    return [row_of(scope, lang) for scope in scopes]


def changes_against(document: ScorecardDocument, lang: Lang) -> str | None:
    """What the page's changes compare with, in words: "samma dagar i september 2025 (1–20)" for a month in
    progress (like with like, ``app.scorecard.like_for_like``), "september 2025" for a closed month; None when no
    scope has a change to show."""
    for scope in document.scopes:
        comparison = None if scope.comparisons is None else scope.comparisons.previous_month
        if comparison is not None and any(value is not None for value in comparison.delta.values()):
            return compared_with(comparison, lang) or month_title(date.fromisoformat(comparison.month + "-01"), lang)
    return None


def report_changes_against(report: Report, lang: Lang) -> str:
    """``changes_against`` for a page built from the board report (a region's or a collaboration's page)."""
    previous = report.previous_month
    return report_compared_with(previous, report.generated_at, report.in_progress, lang) or \
        month_title(previous, lang)


def legend(lang: Lang, in_progress: bool) -> str:
    statuses = ("on_track", "at_risk", "unreachable", "no_data") if in_progress else ("met", "missed", "no_data")
    return marks_legend(lang, (*statuses, NO_TARGET))


def month_title(month: date, lang: Lang) -> str:
    return month_name(month.month, month.year, lang)


@dataclass(frozen=True)
class SeriesRow:
    month: str  # YYYY-MM
    label: str
    offered: str
    cells: dict[str, Cell]
    in_progress: bool


def series_rows(page: ReportPage, lang: Lang) -> list[SeriesRow]:
    """The thirteen months of the charts as a table, newest first."""
    rows = []
    for point in reversed(page.series):
        rows.append(_series_row(point, lang))
    return rows


def _series_row(point: MonthPoint, lang: Lang) -> SeriesRow:
    has_data = point.has_data
    return SeriesRow(
        month=point.month.strftime("%Y-%m"),
        label=f"{MONTHS_SHORT[lang][point.month.month - 1]} {point.month.year}",
        offered=number(point.kpis.offered, lang) if has_data else "–",
        cells={kpi: cell(kpi, point.kpis if has_data else None, point.targets.get(kpi), lang) for kpi in HEADLINE},
        in_progress=point.in_progress,
    )


@dataclass(frozen=True)
class PeriodRow:
    """A day of a month or an hour of a day."""

    key: str
    label: str
    offered: str
    answered: str
    answer_rate: str
    mean_wait: str
    has_calls: bool


def _period(key: str, label: str, kpis: dict[str, Any] | None, lang: Lang) -> PeriodRow:
    if kpis is None or not kpis.get("offered"):
        return PeriodRow(key, label, "0" if kpis is not None else "–", "–", "–", "–", False)
    return PeriodRow(key, label, number(kpis["offered"], lang), number(kpis["answered"], lang),
                     format_value("answer_rate", kpis["answer_rate"], lang),
                     format_value("mean_wait", kpis["mean_wait"], lang), True)


def day_rows(days: dict[str, Any], lang: Lang) -> list[PeriodRow]:
    rows = []
    for day in days["days"]:
        when = date.fromisoformat(day["date"])
        label = f"{WEEKDAYS_SHORT[lang][when.weekday()]} {when.day}/{when.month}"
        rows.append(_period(day["date"], label, day["kpis"], lang))
    return rows


def hour_rows(hours: dict[str, Any], lang: Lang) -> list[PeriodRow]:
    return [_period(hour["hour_start"], f'{hour["local_hour"]} ({hour["utc_offset"]})', hour["kpis"], lang)
            for hour in hours["hours"]]


def moment_text(when: datetime, lang: Lang) -> str:
    return moment(when, lang)
