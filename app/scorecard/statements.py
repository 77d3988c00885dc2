"""The statements every scorecard and scrape runs, built once at import with bind parameters.

Building a ``select()`` of this size (forty summed columns, subqueries, an outer join) and its cache key cost more
client time than PostgreSQL took to run it: at ten years of history an uncached scorecard spent about a third of
its client time constructing statements and reading results by name (issue 15). The values come in as bind
parameters (``expanding`` for lists), so the SQL text, and with it the driver's prepared statement, is the same
on every call.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, bindparam, case, func, select, type_coerce
from sqlalchemy.sql.elements import BindParameter

from app.db.contributions import BUCKET_COLUMNS, SUMMED_COLUMNS
from app.db.models import AggregateDefinitions, HourlyAggregate, HourlyAnsweredBy, MonthlyAggregate, MonthlyAnsweredBy
from app.db.types import UTCDateTime

agg = HourlyAggregate.__table__
answered_by = HourlyAnsweredBy.__table__

#: the ``Counts`` fields summed as they are (the buckets become its histogram; the call-level wait sum is
#: only the running totals')
COUNT_FIELDS = [c for c in SUMMED_COLUMNS if c not in BUCKET_COLUMNS and c != "call_wait_answered_ms"]
FLOAT_FIELDS = {"talk_sum", "wrap_sum"}


def summed_columns() -> list[Any]:
    return [
        *[func.sum(agg.c[name]).label(name) for name in SUMMED_COLUMNS],
        func.max(agg.c.longest_wait_ms).label("longest_wait_ms"),
        type_coerce(func.max(agg.c.latest_record_at), UTCDateTime).label("latest_record_at"),
        func.sum(agg.c.hours_covered).label("hours"),  # a day's or month's figures cover all of its hours
    ]


def _span_rows(some_regions: bool) -> Select[Any]:
    """The hourly rows of [start, end) summed per region (of ``regions`` when ``some_regions``), each with its
    answered-by and answered-for-other-region sums of the span (0 without): one statement where the sums were a
    second round trip. A region's sums count every other region, whichever regions were asked for."""
    crossing = answered_by.c.region != answered_by.c.answered_by_region
    by_span = (answered_by.c.hour_start >= bindparam("start"), answered_by.c.hour_start < bindparam("end"), crossing)

    def summed(region: Any) -> Any:
        return (select(region.label("region"), func.sum(answered_by.c.answered).label("answered"))
                .where(*by_span).group_by(region).subquery())

    rows = select(agg.c.region, *summed_columns()).where(
        agg.c.hour_start >= bindparam("start"), agg.c.hour_start < bindparam("end"))
    if some_regions:
        rows = rows.where(agg.c.region.in_(bindparam("regions", expanding=True)))
    by_region = rows.group_by(agg.c.region).subquery()
    by_others, for_others = summed(answered_by.c.region), summed(answered_by.c.answered_by_region)
    joined = by_region.outerjoin(by_others, by_others.c.region == by_region.c.region).outerjoin(
        for_others, for_others.c.region == by_region.c.region)
    return select(by_region, func.coalesce(by_others.c.answered, 0).label("by_others"),
                  func.coalesce(for_others.c.answered, 0).label("for_others")).select_from(joined)


def _month_rows() -> Select[Any]:
    """The roll-up rows of the months asked for, each with its region's answered-by and answered-for-other-region
    sums of the same month (0 without): ~60 rows for three months, not the ~1 200 region pairs summed in Python.
    Columns: month, region, hours, then ``MONTH_VALUE_COLUMNS``, latest_record_at, by others, for others."""
    m, by = MonthlyAggregate.__table__.c, MonthlyAnsweredBy.__table__.c
    months: BindParameter[Any] = bindparam("months", expanding=True)

    def summed(region: Any) -> Any:
        return (select(by.month, region.label("region"), func.sum(by.answered).label("answered"))
                .where(by.month.in_(months), by.region != by.answered_by_region)  # ix_monthly_answered_by_month
                .group_by(by.month, region).subquery())

    by_others, for_others = summed(by.region), summed(by.answered_by_region)
    joined: Any = MonthlyAggregate.__table__
    for sums in (by_others, for_others):
        joined = joined.outerjoin(sums, and_(sums.c.month == m.month, sums.c.region == m.region))
    return (select(m.month, m.region, m.hours_with_data, *[m[name] for name in MONTH_VALUE_COLUMNS],
                   type_coerce(m.latest_record_at, UTCDateTime), func.coalesce(by_others.c.answered, 0),
                   func.coalesce(for_others.c.answered, 0))
            .select_from(joined).where(m.month.in_(months)))


#: the value columns of a ``MONTH_ROWS`` row after (month, region, hours), in ``queries._month_row_counts``' order
MONTH_VALUE_COLUMNS = [*COUNT_FIELDS, *BUCKET_COLUMNS, "longest_wait_ms"]
MONTH_ROWS = _month_rows()
SPAN_ROWS = (_span_rows(False), _span_rows(True))  # by whether regions are named

#: a collaboration's distinct hours with data and whether any row covers more than its hour: an index-only scan
#: of ix_hourly_aggregates_region_hour_counts (migration 0016), not a heap visit per row
DISTINCT_HOURS = (
    select(func.count(func.distinct(case((agg.c.hours_covered == 1, agg.c.hour_start)))),
           func.count().filter(agg.c.hours_covered != 1))
    .where(agg.c.region.in_(bindparam("regions", expanding=True)), agg.c.hour_start >= bindparam("start"),
           agg.c.hour_start < bindparam("end"))
)

#: as plain columns: loading the ORM object (identity map, every column) cost several times the round trip
DEFINITIONS = select(AggregateDefinitions.short_abandon_seconds, AggregateDefinitions.sl_seconds).where(
    AggregateDefinitions.id == 1)
