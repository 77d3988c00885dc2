"""The stored hours staffing estimates rest on: read from the hourly aggregates, never from raw calls."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import false, select, type_coerce
from sqlalchemy.orm import Session

from app.db.models import HourlyAggregate, IntervalRow, table_of
from app.db.types import UTCDateTime
from app.kpi.records import DAY_MINUTES
from app.staffing.estimates import HourSums
from app.staffing.forecast import slot_of

agg = HourlyAggregate.__table__


def hour_sums(session: Session, regions: Iterable[str], start: datetime, end: datetime) -> dict[str, list[HourSums]]:
    """Each region's hours in [start, end) as ``HourSums``, one query. A day's or month's figures (coarse
    statistics) have no hour of the week and are left out."""
    c = agg.c
    query = select(
        c.region, type_coerce(c.hour_start, UTCDateTime), c.answered, c.abandoned, c.talk_sum, c.wrap_sum,
        c.wait_answered_ms, c.wait_abandoned_ms, c.answered_wait_unknown, c.abandoned_wait_unknown,
    ).where(c.region.in_(list(regions)), c.hour_start >= start, c.hour_start < end, c.hours_covered == 1)
    out: dict[str, list[HourSums]] = {}
    for (region, hour, answered, abandoned, talk, wrap, wait_answered, wait_abandoned, answered_unknown,
         abandoned_unknown) in session.execute(query):
        weekday, local_hour, _fold = slot_of(hour)
        out.setdefault(region, []).append(HourSums(
            slot=(weekday, local_hour),
            answered=int(answered),
            abandoned=int(abandoned),
            handling_seconds=float(talk or 0.0) + float(wrap or 0.0),
            wait_seconds=(int(wait_answered or 0) + int(wait_abandoned or 0)) / 1000,
            waits_known=not (answered_unknown or abandoned_unknown),
        ))
    return out


def staffed_by_hour(
    session: Session, regions: Iterable[str], start: datetime, end: datetime,
) -> dict[str, dict[datetime, float]]:
    """Each region's staffed positions per hour in [start, end), where its interval records report them: per queue
    the average over the minutes reported (an hour of a 4 and a 6 half-hour is 5), summed over the queues. An hour
    no interval reports is absent; the raw records are read, as no aggregate keeps staffed positions."""
    i = table_of(IntervalRow).c
    query = select(
        i.region, type_coerce(i.hour_start, UTCDateTime), i.queue, i.interval_minutes, i.agents_staffed,
    ).where(i.region.in_(list(regions)), i.hour_start >= start, i.hour_start < end, i.interval_minutes < DAY_MINUTES,
            i.agents_staffed.is_not(None), i.superseded.is_(false()))
    weighted: dict[tuple[str, datetime, str], tuple[float, int]] = {}
    for region, hour, queue, minutes, staffed in session.execute(query):
        total, covered = weighted.get((region, hour, queue), (0.0, 0))
        weighted[(region, hour, queue)] = (total + float(staffed) * int(minutes), covered + int(minutes))
    out: dict[str, dict[datetime, float]] = {}
    for (region, hour, _queue), (total, covered) in weighted.items():
        hours = out.setdefault(region, {})
        hours[hour] = hours.get(hour, 0.0) + total / covered
    return out
