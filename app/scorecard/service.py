"""The monthly scorecard (SPEC §4–§7): one document for the API, the CLI and exports."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from app.errors import VptError
from app.kpi.counts import Counts, Definitions, sum_counts
from app.kpi.forecast import (
    Forecast,
    forecast_from_days,
    in_progress_status,
    needed_answer_rate,
    needed_mean_wait,
)
from app.kpi.formulas import KPI_KEYS, Kpis, compute_kpis, data_quality_notes
from app.kpi.localtime import (
    STOCKHOLM,
    hours_between,
    local_month_bounds,
    local_month_of,
    previous_month,
    utc_iso,
)
from app.kpi.targets import Status, Target, closed_month_status, month_to_date_status, target_in_force
from app.scorecard.completeness import RegionData, completeness, member_notes
from app.scorecard.document import (
    Comparison,
    Comparisons,
    Completeness,
    ForecastEntry,
    KpiFigures,
    ScopeEntry,
    ScorecardDocument,
    TargetEntry,
)
from app.scorecard.forecast_cache import ForecastHistoryCache
from app.scorecard.forecasting import first_hours_of
from app.scorecard.forecasting import forecasts_for as forecasts_for  # re-exported: its readers import it from here
from app.scorecard.like_for_like import Earlier, earlier_months
from app.scorecard.month_sources import sources_by_region
from app.scorecard.queries import (
    counts_by_region,
    days_with_day_figures,
    distinct_hours_by_collaboration,
    month_counts,
    stored_definitions,
)
from app.scorecard.reads import ScopeNames as ScopeNames  # re-exported: its readers import it from here
from app.scorecard.reads import SharedReads as SharedReads
from app.scorecard.reads import scope_names as scope_names
from app.scorecard.reads import scope_regions as scope_regions
from app.scorecard.reads import shared_reads as shared_reads
from app.scorecard.reads import targets_by_scope as targets_by_scope

MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class InvalidMonth(VptError, ValueError):
    code = "invalid_month"
    status_code = 422


class UnknownScope(VptError, LookupError):
    code = "not_found"
    status_code = 404


def parse_month(text: str) -> date:
    match = MONTH_PATTERN.fullmatch(text)
    if not match:
        raise InvalidMonth(f"month must be YYYY-MM, got {text!r}").keyed(
            "error.bad_month", first=FIRST_YEAR, last=LAST_YEAR, text=text)
    year = int(match.group(1))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidMonth(f"year must be between {FIRST_YEAR} and {LAST_YEAR}, got {year}").keyed(
            "error.bad_month", first=FIRST_YEAR, last=LAST_YEAR, text=text)
    return date(year, int(match.group(2)), 1)


FIRST_YEAR, LAST_YEAR = 1970, 9998  # room for the year before and the month after, in UTC and local time


def check_year(day: date) -> None:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidMonth(f"year must be between {FIRST_YEAR} and {LAST_YEAR}, got {day.year}")


@dataclass(frozen=True)
class ScopeFigures:
    scope: str
    kind: str  # region | collaboration
    name: str
    counts: Counts
    kpis: Kpis
    hours_with_data: int
    hours_in_span: int
    members: tuple[str, ...] = ()  # a collaboration's member regions, with data or not


def target_rows(
    targets: list[Target], figures: ScopeFigures, month: date, closed: bool, forecast: Forecast | None,
) -> tuple[TargetEntry, ...]:
    """Each target in force with its status; for the month in progress also what the rest must achieve."""
    rows = []
    kpis, counts = figures.kpis, figures.counts
    for kpi in sorted({t.kpi for t in targets}):
        target = target_in_force(targets, kpi, month)
        if target is None:
            continue
        needed: Fraction | None = None
        if closed:
            status: Status = closed_month_status(kpis, target)
        elif forecast is None or not forecast.usable:
            status = month_to_date_status(kpis, target)
        else:
            if kpi == "answer_rate":
                needed = needed_answer_rate(target.bound, counts.offered, counts.answered, forecast.expected_rest)
            elif kpi == "mean_wait" and kpis.mean_wait is not None:
                rate = kpis.answer_rate if kpis.answer_rate is not None else Fraction(1)
                needed = needed_mean_wait(target.bound, counts.answered, counts.wait_answered_ms,
                                          forecast.expected_rest * rate)
            if kpi in ("answer_rate", "mean_wait"):
                status = in_progress_status(target, kpis.exact(kpi), needed)
            else:
                status = month_to_date_status(kpis, target)
        rows.append(TargetEntry(
            kpi=kpi,
            comparator=target.comparator,
            value=float(target.value),
            valid_from=target.valid_from.strftime("%Y-%m"),
            status=status,
            needed=None if needed is None else round(float(needed), 6),
        ))
    return tuple(rows)


def shown(counts: Counts) -> bool:
    """Whether a region's figures appear in a span: with records of its own, or having answered other regions'
    calls there (offered 0, its KPIs null, status no_data; its days and hours show those calls, so its month does)."""
    return counts.has_data or counts.answered_for_other_regions > 0


def region_and_collaboration_figures(
    session: Session, start: datetime, end: datetime, *, collaboration_hours: bool = True,
    names: ScopeNames | None = None, by_region: dict[str, tuple[Counts, int]] | None = None,
) -> list[ScopeFigures]:
    """Figures of every region with data in [start, end) (or calls it answered for others, ``shown``) and every
    collaboration with a member that has data.

    ``collaboration_hours=False`` skips counting a collaboration's distinct hours with data (the one figure
    the monthly roll-up cannot give) where only KPIs are wanted; they are then reported as 0. ``names`` and
    ``by_region`` (``counts_by_region`` of the span) may come from the caller, which reads them once for
    several spans.
    """
    if by_region is None:
        by_region = counts_by_region(session, None, start, end)
    if names is None:
        names = scope_names(session)
    hours_in_span = hours_between(start, end)
    scopes: list[ScopeFigures] = []
    for code in sorted(by_region):
        counts, hours = by_region[code]
        if not shown(counts):
            continue
        scopes.append(ScopeFigures(code, "region", names.regions.get(code, code), counts, compute_kpis(counts),
                                   hours, hours_in_span))
    present_of: dict[str, list[Counts]] = {}
    for collab_code, _name in names.collaborations:
        regions = names.members.get(collab_code, [])
        present = [by_region[r][0] for r in regions if r in by_region and by_region[r][0].has_data]
        if present:
            present_of[collab_code] = present
    hours_of = distinct_hours_by_collaboration(
        session, {code: names.members.get(code, []) for code in present_of}, start, end,
    ) if collaboration_hours and present_of else {}
    for collab_code, collab_name in names.collaborations:
        if collab_code not in present_of:
            continue
        regions = names.members.get(collab_code, [])
        counts = sum_counts(present_of[collab_code])
        scopes.append(ScopeFigures(
            collab_code, "collaboration", collab_name, counts, compute_kpis(counts, cross_region=False),
            hours_of.get(collab_code, 0), hours_in_span, tuple(sorted(regions)),
        ))
    return scopes


def completeness_by_scope(
    session: Session, all_figures: list[ScopeFigures], start: datetime, end: datetime, now: datetime,
    names: ScopeNames | None = None, *, shared: SharedReads | None = None, sources: bool = True,
) -> dict[tuple[str, str], Completeness]:
    """The completeness of every scope of ``region_and_collaboration_figures``: a collaboration's from its
    members' own (the weakest decides), a member region without data named, each with the sources its month is
    built on (one statement for all regions; only of a whole local month, the roll-up's unit; none with
    ``sources`` false). ``shared``: the request's reads, which may hold the first hours."""
    regions = {f.scope: f for f in all_figures if f.kind == "region"}
    firsts = first_hours_of(session, shared, regions, (start, end))
    region_names = (names or scope_names(session)).regions
    month = local_month_of(start)
    whole_month = local_month_bounds(month) == (start, end)
    by_region = sources_by_region(session, month) if sources and all_figures and whole_month else {}

    def data(code: str) -> RegionData:
        region = regions.get(code)
        if region is None:
            return RegionData(code, region_names.get(code, code), 0, None, None, sources=by_region.get(code, ()))
        return RegionData(code, region.name, region.hours_with_data, firsts.get(code),
                          region.counts.latest_record_at, region.counts.resolution, by_region.get(code, ()))

    return {
        (f.kind, f.scope): completeness(
            f.kind, f.hours_with_data, f.hours_in_span, f.counts.latest_record_at,
            [data(f.scope)] if f.kind == "region" else [data(r) for r in f.members], start, end, now,
            **resolution_of(session, f, start, end),
        )
        for f in all_figures
    }


def resolution_of(session: Session, figures: ScopeFigures, start: datetime, end: datetime) -> dict[str, Any]:
    """The resolution arguments of ``completeness``: daily figures also count their days (one query, only then)."""
    resolution = figures.counts.resolution
    regions = list(figures.members) if figures.kind == "collaboration" else [figures.scope]
    days = days_with_day_figures(session, regions, start, end) if resolution == "day" else None
    return {"resolution": resolution, "days_with_data": days}


def daily_forecasts(
    session: Session, members: dict[tuple[str, str], list[str]], all_figures: list[ScopeFigures], start: datetime,
    end: datetime, *, shared: SharedReads | None = None,
) -> dict[tuple[str, str], Forecast]:
    """The month in progress of scopes with daily figures: their calls sit at midnight, so the weekday-and-hour
    forecast has nothing to sample; each day still to come is the mean day so far (``forecast_from_days``), from the
    first day with data to the end of the figures (the day in progress is still to come)."""
    out: dict[tuple[str, str], Forecast] = {}
    for f in all_figures:
        latest = f.counts.latest_record_at
        if f.counts.resolution != "day" or latest is None:
            continue
        key = (f.kind, f.scope)
        firsts = first_hours_of(session, shared, members.get(key, [f.scope]), (start, end))
        if not firsts:
            continue
        first_day = min(firsts.values()).astimezone(STOCKHOLM).date()
        figures_end = latest.astimezone(STOCKHOLM).date()
        out[key] = forecast_from_days(f.counts.offered, (figures_end - first_day).days,
                                      (end.astimezone(STOCKHOLM).date() - figures_end).days)
    return out


def _comparison(kpis: KpiFigures, earlier: Earlier, scope: tuple[str, str]) -> Comparison:
    other, month = earlier.kpis.get(scope), earlier.month
    other_values = None if other is None else KpiFigures.of(other)
    delta: dict[str, float | None] = {}
    for key in KPI_KEYS:
        now_value = kpis.value(key)
        then_value = None if other_values is None else other_values.value(key)
        delta[key] = None if now_value is None or then_value is None else round(now_value - then_value, 6)
    return Comparison(month=month.strftime("%Y-%m"), kpis=other_values, delta=delta, span=earlier.span,
                      until=earlier.until)


def monthly_scorecard(
    session: Session, month: date, definitions: Definitions, now: datetime | None = None, *,
    comparisons: bool = True, collaboration_hours: bool = True, history: ForecastHistoryCache | None = None,
    shared: SharedReads | None = None, sources: bool = True,
) -> ScorecardDocument:
    """The scorecard of one local month: figures, targets and status, comparisons, completeness.

    ``comparisons=False`` leaves the deltas out (``null``), ``collaboration_hours=False`` a collaboration's
    hours with data (0) and ``sources=False`` the completeness' sources (empty) for callers that do not show them
    (metrics, alerts). ``history``: the process's cache of the
    hours a forecast samples (``app.scorecard.forecast_cache``); without it they are read every time. ``shared``:
    reads of the same request (``shared_reads``), so several documents read them once.
    A month in progress also carries the forecast of its remaining calls and, per target, what those calls
    must achieve (``needed``). Month-over-month and year-over-year deltas compare with the whole earlier
    month; for a month in progress, the month so far with the same days of the earlier month
    (``app.scorecard.like_for_like``; each comparison's ``span`` says which).
    """
    now = now or datetime.now(UTC)
    start, end = local_month_bounds(month)
    closed = end <= now
    in_progress = start <= now < end
    shared = (shared or SharedReads(stored_definitions(session), targets_by_scope(session), scope_names(session), {})
              ).with_first_hours(session, [(start, end), *([None] if in_progress else [])])  # one statement
    stored, targets, names = shared.definitions or definitions, shared.targets, shared.names
    members = scope_regions(session, names) if in_progress else {}
    month_before = previous_month(month)
    previous_year = date(month.year - 1, month.month, 1)
    wanted = [month, month_before, previous_year] if comparisons else [month]
    counts = shared.counts if set(wanted) <= set(shared.counts) else month_counts(session, wanted)
    before = earlier_months(session, [month_before, previous_year], names, counts, now if in_progress else None,
                            region_and_collaboration_figures) if comparisons else None
    scopes = []
    all_figures = region_and_collaboration_figures(session, start, end, collaboration_hours=collaboration_hours,
                                                   names=names, by_region=counts[month])
    own = [f for f in all_figures if f.counts.has_data]  # one only answering for others has nothing to forecast
    forecasts = forecasts_for(
        session, members, [(f.kind, f.scope) for f in own], now, end,
        {(f.kind, f.scope): f.counts.latest_record_at for f in own}, history, shared=shared,
    ) if in_progress else {}
    if in_progress:
        forecasts.update(daily_forecasts(session, members, own, start, end, shared=shared))
    completeness_of = completeness_by_scope(session, all_figures, start, end, now, names, shared=shared,
                                            sources=sources)
    for figures in all_figures:
        key = (figures.kind, figures.scope)
        forecast = forecasts.get(key)
        kpis = KpiFigures.of(figures.kpis)
        scopes.append(ScopeEntry(
            scope=figures.scope,
            kind="region" if figures.kind == "region" else "collaboration",
            name=figures.name,
            kpis=kpis,
            targets=target_rows(targets.get(key, []), figures, month, closed, forecast),
            forecast=None if forecast is None or not forecast.usable else ForecastEntry(
                expected_remaining_offered=round(float(forecast.expected_rest), 1),
                expected_total_offered=round(float(figures.counts.offered + forecast.expected_rest), 1),
                weeks=forecast.weeks,
                basis=forecast.basis,
                days=forecast.days,
            ),
            comparisons=None if before is None else Comparisons(
                previous_month=_comparison(kpis, before[0], key),
                previous_year=_comparison(kpis, before[1], key),
            ),
            completeness=completeness_of[key],
            data_quality=tuple(data_quality_notes(figures.counts, region=figures.kind == "region")
                               + member_notes(completeness_of[key], month.strftime("%Y-%m"))),
        ))
    return ScorecardDocument(
        month=month.strftime("%Y-%m"),
        closed=closed,
        definitions=stored,
        generated_at=utc_iso(now),
        scopes=tuple(scopes),
    )
