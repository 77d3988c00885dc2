"""The printable monthly board report: the data of its pages, gathered from the scorecard services.

A report covers one local month. It has one page per collaboration with data (by default) or one page for
the region or collaboration asked for. A page holds:

* the month's scorecard rows: the scope itself and, for a collaboration, each member region, with the
  targets in force, their status and the change against the previous month;
* thirteen months (the same month a year earlier up to this one) of answer rate and mean wait, each
  with the target in force then and its status;
* the five days of the month with the lowest answer rate among days with calls;
* completeness, and for a month in progress the forecast of the calls still to come.

Every figure comes from ``monthly_scorecard``, ``monthly_series`` and ``daily``, so the report shows
exactly what the API, the CLI and the CSV/XLSX exports show. This module only reads; rendering is
``app.reports.board_html`` (pure, no I/O).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Collaboration, CollaborationMember, Region
from app.kpi.counts import Definitions
from app.kpi.localtime import local_month_bounds, previous_month
from app.reports.small_multiples import MemberSeries, member_series
from app.scorecard.breakdowns import daily, monthly_series, resolve_scope
from app.scorecard.document import Completeness as ScopeCompleteness
from app.scorecard.document import KpiFigures, ScopeEntry, ScorecardDocument, SeriesMonth, SourceDelivery, TargetEntry
from app.scorecard.forecast_cache import ForecastHistoryCache
from app.scorecard.service import UnknownScope, monthly_scorecard

CHART_MONTHS = 13
WORST_DAYS = 5
Figures = KpiFigures  # ratios 0..1, waits in s
#: A target in force in a month and how the month stands against it (``target_rows`` of the service).
TargetState = TargetEntry


@dataclass(frozen=True)
class ScopeRow:
    """One line of the page's scorecard table."""

    scope: str
    kind: str  # region | collaboration
    name: str
    kpis: Figures | None  # None: no calls this month
    targets: dict[str, TargetState]
    previous: Figures | None  # the previous month's KPIs; None when it had no calls
    delta: Mapping[str, float | None] | None  # this month minus the previous, by KPI; None: either has no data
    #: a collaboration's member: its own sources (``MemberCompleteness.sources``), never the collaboration's union;
    #: empty for the page's own row, whose sources are the page's (``Completeness.sources``)
    sources: tuple[SourceDelivery, ...] = ()


@dataclass(frozen=True)
class MonthPoint:
    """One month slot of the charts."""

    month: date
    closed: bool
    in_progress: bool
    kpis: Figures
    targets: dict[str, TargetState]  # empty: no target in force (or a month still to come)
    partial: bool  # completeness: the newest record is well before the month's end (or now)

    @property
    def has_data(self) -> bool:
        return bool(self.kpis.offered)


@dataclass(frozen=True)
class DayFigures:
    day: date
    offered: int
    answered: int
    answer_rate: float
    mean_wait: float | None


@dataclass(frozen=True)
class Completeness:
    hours_with_data: int
    hours_in_month: int
    latest_record_at: str | None  # ISO 8601, UTC
    partial: bool
    first_hour_with_data: str | None = None  # ISO 8601, UTC
    starts_late: bool = False
    missing_members: tuple[str, ...] = ()  # names of a collaboration's member regions without data
    partial_members: tuple[str, ...] = ()  # names of its members with data that start late or end early
    resolution: str | None = None  # hour | day | month (coarse statistics have no hours: no worst hours or days)
    sources: tuple[SourceDelivery, ...] = ()  # the sources of the month and how far each has delivered (SPEC §5)


@dataclass(frozen=True)
class ForecastFigures:
    expected_remaining_offered: float
    expected_total_offered: float
    weeks: int
    basis: str = "weekday_hour"  # or daily_average
    days: int = 0


@dataclass(frozen=True)
class ReportPage:
    main: ScopeRow
    members: list[ScopeRow]  # a collaboration's regions, in Swedish alphabetical order; empty for a region
    completeness: Completeness
    forecast: ForecastFigures | None
    series: list[MonthPoint]  # CHART_MONTHS months, oldest first, ending with the report's month
    worst_days: list[DayFigures]  # lowest answer rate first; at most WORST_DAYS
    #: a collaboration's member regions, each with its own months (``app.reports.small_multiples``)
    member_series: tuple[MemberSeries, ...] = ()

    @property
    def has_data(self) -> bool:
        return self.main.kpis is not None


@dataclass(frozen=True)
class Report:
    month: date
    previous_month: date
    closed: bool
    in_progress: bool
    generated_at: datetime  # aware
    short_abandon_seconds: int
    sl_seconds: int
    pages: list[ReportPage]


def build_report(
    session: Session, month: date, definitions: Definitions, now: datetime, scope: str | None = None, *,
    history: ForecastHistoryCache | None = None,
) -> Report:
    """The report of one local month: every collaboration with data (and every region with data that belongs
    to no collaboration), or only ``scope`` (a region code or a collaboration code; ``UnknownScope`` if neither).
    ``history``: the process's cache of the hours a forecast samples.
    """
    document = monthly_scorecard(session, month, definitions, now, history=history)
    scopes = [_find_scope(session, scope)] if scope is not None else _default_scopes(session, document)
    by_key: dict[tuple[str, str], ScopeEntry] = {(s.kind, s.scope): s for s in document.scopes}
    start, end = local_month_bounds(month)
    return Report(
        month=month,
        previous_month=previous_month(month),
        closed=document.closed,
        in_progress=start <= now < end,
        generated_at=now,
        short_abandon_seconds=document.definitions.short_abandon_seconds,
        sl_seconds=document.definitions.sl_seconds,
        pages=[_page(session, by_key, kind, code, month, now, history) for kind, code in scopes],
    )


def _find_scope(session: Session, code: str) -> tuple[str, str]:
    if session.get(Collaboration, code) is not None:
        return "collaboration", code
    if session.get(Region, code) is not None:
        return "region", code
    raise UnknownScope(f"no region or collaboration {code!r}").keyed("unknown_scope", code=code)


def _default_scopes(session: Session, document: ScorecardDocument) -> list[tuple[str, str]]:
    in_collaboration = set(session.scalars(select(CollaborationMember.region_code)))
    collaborations = [("collaboration", s.scope) for s in document.scopes if s.kind == "collaboration"]
    alone = [("region", s.scope) for s in document.scopes if s.kind == "region" and s.scope not in in_collaboration]
    return collaborations + alone


_SWEDISH_ORDER = str.maketrans("åäöéü", "{|}ey")


def swedish_sort_key(name: str) -> str:
    """Å, Ä, Ö sort after Z and in that order (Python's code-point order would put ä before å)."""
    return name.casefold().translate(_SWEDISH_ORDER)


def _page(session: Session, by_key: dict[tuple[str, str], ScopeEntry], kind: str, code: str, month: date,
          now: datetime, history: ForecastHistoryCache | None) -> ReportPage:
    name, regions = resolve_scope(session, kind, code)
    main = _row(by_key.get((kind, code)), kind, code, name)
    members: list[ScopeRow] = []
    if kind == "collaboration":
        names = dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(regions))).all())
        members = sorted(
            (_row(by_key.get(("region", region)), "region", region, names.get(region, region)) for region in regions),
            key=lambda row: swedish_sort_key(row.name),
        )
    first = date(month.year - 1, month.month, 1)
    series = monthly_series(session, kind, code, first, month, now, history=history)
    scorecard = by_key.get((kind, code))
    points = [_point(entry, now) for entry in series.months]
    if scorecard is not None:  # the report's month is judged as in the table (with the forecast, if in progress)
        last = points[-1]
        points[-1] = MonthPoint(last.month, last.closed, last.in_progress, last.kpis, main.targets, last.partial)
    completeness = (scorecard or series.months[-1]).completeness
    own = {member.code: member.sources for member in completeness.members}
    members = [replace(member, sources=own.get(member.scope, ())) for member in members]
    forecast = scorecard.forecast if scorecard is not None else None
    return ReportPage(
        main=main,
        members=members,
        completeness=_completeness(completeness),
        forecast=None if forecast is None else ForecastFigures(
            expected_remaining_offered=forecast.expected_remaining_offered,
            expected_total_offered=forecast.expected_total_offered,
            weeks=forecast.weeks,
            basis=forecast.basis,
            days=forecast.days,
        ),
        series=points,
        worst_days=worst_days(daily(session, kind, code, month)["days"]),
        member_series=member_series(session, [(m.scope, m.name) for m in members], first, month, now, _point,
                                    history),
    )


def _completeness(completeness: ScopeCompleteness) -> Completeness:
    members = completeness.members
    return Completeness(
        hours_with_data=completeness.hours_with_data,
        hours_in_month=completeness.hours_in_month,
        latest_record_at=completeness.latest_record_at,
        partial=completeness.partial,
        first_hour_with_data=completeness.first_hour_with_data,
        starts_late=completeness.starts_late,
        missing_members=tuple(sorted((m.name for m in members if not m.hours_with_data), key=swedish_sort_key)),
        partial_members=tuple(sorted((m.name for m in members if m.hours_with_data and m.partial),
                                     key=swedish_sort_key)),
        resolution=completeness.resolution,
        sources=completeness.sources,
    )


def _targets(rows: tuple[TargetEntry, ...]) -> dict[str, TargetState]:
    return {row.kpi: row for row in rows}


def _row(scorecard: ScopeEntry | None, kind: str, code: str, name: str) -> ScopeRow:
    if scorecard is None:
        return ScopeRow(code, kind, name, None, {}, None, None)
    previous = None if scorecard.comparisons is None else scorecard.comparisons.previous_month
    return ScopeRow(
        scope=code, kind=kind, name=name, kpis=scorecard.kpis, targets=_targets(scorecard.targets),
        previous=None if previous is None else previous.kpis,
        delta=previous.delta if previous is not None and previous.kpis is not None else None,
    )


def _point(entry: SeriesMonth, now: datetime) -> MonthPoint:
    month = date.fromisoformat(entry.month + "-01")
    start, end = local_month_bounds(month)
    return MonthPoint(month=month, closed=entry.closed, in_progress=start <= now < end, kpis=entry.kpis,
                      targets=_targets(entry.targets), partial=entry.completeness.partial)


def worst_days(days: list[dict[str, Any]], limit: int = WORST_DAYS) -> list[DayFigures]:
    """The ``limit`` days with calls and the lowest answer rate, lowest first (ties: the earlier day first)."""
    with_calls = [d for d in days if d["kpis"] is not None and d["kpis"]["answer_rate"] is not None]
    with_calls.sort(key=lambda d: (d["kpis"]["answer_rate"], d["date"]))
    return [
        DayFigures(
            day=date.fromisoformat(d["date"]), offered=d["kpis"]["offered"], answered=d["kpis"]["answered"],
            answer_rate=d["kpis"]["answer_rate"], mean_wait=d["kpis"]["mean_wait"],
        )
        for d in with_calls[:limit]
    ]


def column_target(page: ReportPage, kpi: str | None) -> tuple[TargetState | None, bool]:
    """The target a column's header names: the page's own, or where it has none and every member region with
    data has one, the one most of them have (True: the members'), so that seven regions with one target do not each
    repeat it in a row of their own (a seven-region collaboration would not fit its A4 page); a member with
    another target still says its own."""
    own = page.main.targets.get(kpi) if kpi else None
    if own is not None or kpi is None:
        return own, False
    judged = [m for m in page.members if m.kpis is not None]  # a member without data has nothing to judge
    found = [t for m in judged if (t := m.targets.get(kpi)) is not None]
    if not found or len(found) < len(judged):  # not the regions' target where some have none
        return None, False
    counts = Counter((t.comparator, t.value) for t in found)
    most = max(counts, key=lambda key: counts[key])  # the first of the most common, in the table's order
    return next(t for t in found if (t.comparator, t.value) == most), True
