"""A region's or collaboration's figures over time: a monthly series, the days of a month, the hours of a day.

Every figure is summed from hourly aggregates, as the scorecard is; days and hours are local
(Europe/Stockholm), so the autumn DST day has 25 hours and the spring one 23, each labelled with its offset.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Collaboration, CollaborationMember, Region
from app.kpi.counts import Counts, sum_counts
from app.kpi.forecast import Forecast
from app.kpi.formulas import compute_kpis
from app.kpi.localtime import (
    STOCKHOLM,
    hours_between,
    local_day_bounds,
    local_month_bounds,
    local_month_of,
    month_start,
    next_month,
)
from app.scorecard.completeness import RegionData, completeness
from app.scorecard.document import KpiFigures, SeriesDocument, SeriesMonth, SourceDelivery
from app.scorecard.forecast_cache import ForecastHistoryCache
from app.scorecard.month_sources import sources_by_month
from app.scorecard.queries import (
    counts_by_hour,
    counts_by_region,
    cross_region_by_hour,
    distinct_hours_with_data,
    first_hours_in_span,
)
from app.scorecard.service import (
    FIRST_YEAR,
    LAST_YEAR,
    InvalidMonth,
    ScopeFigures,
    UnknownScope,
    check_year,
    daily_forecasts,
    forecasts_for,
    parse_month,
    resolution_of,
    target_rows,
    targets_by_scope,
)

MAX_MONTHS = 120
#: Why a day's or an hour's figures are null: they come from coarse statistics (SPEC §3), which have no days or hours.
NO_DAYS = "monthly figures: the month's calls are one total, with no breakdown by day or hour"
NO_HOURS = "daily figures: the day's calls are one total, with no breakdown by hour"
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def resolve_scope(session: Session, kind: str, code: str) -> tuple[str, list[str]]:
    """The scope's display name and its regions; a collaboration is the sum of its members."""
    if kind == "region":
        region = session.get(Region, code)
        if region is None:
            raise UnknownScope(f"no region {code!r}").keyed("error.unknown_region", code=code)
        return region.name, [code]
    collaboration = session.get(Collaboration, code)
    if collaboration is None:
        raise UnknownScope(f"no collaboration {code!r}").keyed("error.unknown_collaboration", code=code)
    members = list(session.scalars(
        select(CollaborationMember.region_code).where(CollaborationMember.collaboration_code == code)
    ))
    return collaboration.name, sorted(members)


def _figures(session: Session, kind: str, code: str, name: str, regions: list[str], start: datetime,
             end: datetime, names: dict[str, str], sources: dict[str, tuple[SourceDelivery, ...]],
             ) -> tuple[ScopeFigures, list[RegionData]]:
    """The scope's figures and each of its regions' data, which its completeness is judged on, with ``sources``:
    those of the local month [start, end) per region (read for the whole series at once: month_sources)."""
    found = counts_by_region(session, regions, start, end)
    by_region = {region: value for region, value in found.items() if value[0].has_data}
    counts = sum_counts([counts for counts, _ in by_region.values()]) if by_region else Counts()
    if kind == "region" and code in found and not counts.has_data:  # it only answered for others: its days say so
        counts = replace(counts, answered_for_other_regions=found[code][0].answered_for_other_regions)
    if kind == "region":
        hours = by_region[code][1] if code in by_region else 0
    else:
        hours = distinct_hours_with_data(session, regions, start, end) if by_region else 0
    firsts = first_hours_in_span(session, by_region, start, end)
    members = [
        RegionData(region, names.get(region, region), by_region[region][1], firsts.get(region),
                   by_region[region][0].latest_record_at, by_region[region][0].resolution,
                   sources.get(region, ())) if region in by_region
        else RegionData(region, names.get(region, region), 0, None, None, sources=sources.get(region, ()))
        for region in regions
    ]
    figures = ScopeFigures(code, kind, name, counts, compute_kpis(counts, cross_region=kind == "region"), hours,
                           hours_between(start, end), tuple(regions) if kind == "collaboration" else ())
    return figures, members


def parse_date(text: str) -> date:
    if not DATE_PATTERN.fullmatch(text):
        raise InvalidMonth(f"date must be YYYY-MM-DD, got {text!r}").keyed(
            "error.bad_date", first=FIRST_YEAR, last=LAST_YEAR, text=text)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidMonth(f"no such date: {text!r}").keyed(
            "error.bad_date", first=FIRST_YEAR, last=LAST_YEAR, text=text) from None
    check_year(day)
    return day


def month_range(first: str | None, last: str | None, now: datetime) -> tuple[date, date]:
    """``from``/``to`` months; by default the thirteen months up to the current one."""
    to_month = parse_month(last) if last else now.astimezone(STOCKHOLM).date().replace(day=1)
    from_month = parse_month(first) if first else date(to_month.year - 1, to_month.month, 1)
    if from_month > to_month:
        raise InvalidMonth("from must not be after to")
    if (to_month.year - from_month.year) * 12 + to_month.month - from_month.month >= MAX_MONTHS:
        raise InvalidMonth(f"at most {MAX_MONTHS} months at a time")
    return from_month, to_month


def monthly_series(
    session: Session, kind: str, code: str, first: date, last: date, now: datetime, *,
    history: ForecastHistoryCache | None = None,
) -> SeriesDocument:
    """Each month's figures and status; the month in progress judged against its forecast, as in the scorecard
    (``history``: the process's cache of the hours a forecast samples)."""
    name, regions = resolve_scope(session, kind, code)
    names = dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(regions))).all())
    targets = targets_by_scope(session).get((kind, code), [])
    sources = sources_by_month(session, month_start(first), last)
    months = []
    month = first
    while month <= last:
        start, end = local_month_bounds(month)
        figures, members = _figures(session, kind, code, name, regions, start, end, names,
                                    sources.get(local_month_of(start), {}))
        closed = end <= now
        forecast = _forecast(session, kind, code, regions, figures, now, start, end, history)
        months.append(SeriesMonth(
            month=month.strftime("%Y-%m"),
            closed=closed,
            kpis=KpiFigures.of(figures.kpis),
            targets=target_rows(targets, figures, month, closed, forecast) if start <= now else (),
            completeness=completeness(kind, figures.hours_with_data, figures.hours_in_span,
                                      figures.counts.latest_record_at, members, start, end, now,
                                      **resolution_of(session, figures, start, end)),
        ))
        month = next_month(month)
    return SeriesDocument(scope=code, kind="region" if kind == "region" else "collaboration", name=name,
                       months=tuple(months))


def _forecast(
    session: Session, kind: str, code: str, regions: list[str], figures: ScopeFigures, now: datetime,
    start: datetime, end: datetime, history: ForecastHistoryCache | None,
) -> Forecast | None:
    """The month in progress is judged as in the monthly scorecard: against the forecast of the rest."""
    if not start <= now < end:
        return None
    key = (kind, code)
    if figures.counts.resolution == "day":
        return daily_forecasts(session, {key: regions}, [figures], start, end).get(key)
    return forecasts_for(session, {key: regions}, [key], now, end, {key: figures.counts.latest_record_at},
                         history)[key]


def _by_hour(session: Session, kind: str, code: str, regions: list[str], start: datetime,
             end: datetime) -> tuple[dict[datetime, Counts], set[datetime]]:
    """Counts per UTC hour and the hours with records. A region's hours also carry its calls answered by other
    regions and those it answered for them, as its monthly figures do (an hour may have only the latter); a
    collaboration's do not, as its monthly figures do not."""
    by_hour = counts_by_hour(session, regions, start, end)
    with_data = set(by_hour)
    if kind == "region":
        for hour, (by_others, for_others) in cross_region_by_hour(session, code, start, end).items():
            by_hour[hour] = replace(by_hour.get(hour, Counts()), answered_by_other_regions=by_others,
                                    answered_for_other_regions=for_others)
    return by_hour, with_data


def daily(session: Session, kind: str, code: str, month: date) -> dict[str, Any]:
    name, regions = resolve_scope(session, kind, code)
    start, end = local_month_bounds(month)
    by_day: dict[date, list[Counts]] = {}
    hours_by_day: dict[date, set[datetime]] = {}
    by_hour, with_data = _by_hour(session, kind, code, regions, start, end)
    for hour, counts in by_hour.items():
        day = hour.astimezone(STOCKHOLM).date()
        by_day.setdefault(day, []).append(counts)
        if hour in with_data:
            hours_by_day.setdefault(day, set()).add(hour)
    days = []
    day = month
    while day < next_month(month):
        day_start, day_end = local_day_bounds(day)
        counts = sum_counts(by_day.get(day, [])) if day in by_day else Counts()
        coarse = counts.month_records > 0  # a month's figures sit in its first day: they have no days
        days.append({
            "date": day.isoformat(),
            "weekday": day.isoweekday(),
            "kpis": None if coarse else compute_kpis(counts, cross_region=kind == "region").as_dict(),
            "hours_with_data": hours_between(day_start, day_end) if counts.day_records and not coarse
            else len(hours_by_day.get(day, ())),
            "hours_in_day": hours_between(day_start, day_end),
            "resolution": counts.resolution,
            "note": NO_DAYS if coarse else None,
        })
        day += timedelta(days=1)
    return {"scope": code, "kind": kind, "name": name, "month": month.strftime("%Y-%m"), "days": days}


def hourly(session: Session, kind: str, code: str, day: date) -> dict[str, Any]:
    name, regions = resolve_scope(session, kind, code)
    start, end = local_day_bounds(day)
    by_hour, with_data = _by_hour(session, kind, code, regions, start, end)
    hours = []
    hour = start
    while hour < end:
        local = hour.astimezone(STOCKHOLM)
        counts = by_hour.get(hour, Counts())
        offset = local.strftime("%z")
        coarse = bool(counts.day_records or counts.month_records)  # a day's or month's calls have no hour
        hours.append({
            "hour_start": local.isoformat(),
            "local_hour": local.strftime("%H:%M"),
            "utc_offset": f"{offset[:3]}:{offset[3:]}",
            "has_data": hour in with_data,
            "kpis": None if coarse else compute_kpis(counts, cross_region=kind == "region").as_dict(),
            "resolution": counts.resolution,
            "note": (NO_DAYS if counts.month_records else NO_HOURS) if coarse else None,
        })
        hour += timedelta(hours=1)
    return {"scope": code, "kind": kind, "name": name, "date": day.isoformat(), "hours_in_day": len(hours),
            "hours": hours}
