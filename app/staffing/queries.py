"""The stored hours staffing estimates rest on: read from the hourly aggregates, never from raw calls."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, type_coerce
from sqlalchemy.orm import Session

from app.db.models import HourlyAggregate
from app.db.types import UTCDateTime
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
