"""The statements every scorecard and scrape runs, built once at import with bind parameters.

Building a ``select()`` of this size (forty summed columns, subqueries, an outer join) and its cache key cost more
client time than PostgreSQL took to run it: at ten years of history an uncached scorecard spent about a third of
its client time constructing statements and reading results by name (issue 15). The values come in as bind
parameters (``expanding`` for lists), so the SQL text, and with it the driver's prepared statement, is the same
on every call.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    CompoundSelect,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)
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


def _span_rows(some_regions: bool) -> CompoundSelect[Any]:
    """The hourly rows of [start, end) summed per region (of ``regions`` when ``some_regions``), each with its
    answered-by and answered-for-other-region sums of the span (0 without): one statement where the sums were a
    second round trip. A region's sums count every other region, whichever regions were asked for.

    A region that answered for others in the span but has no rows of its own there gets a row too (zero counts and
    its sums): its month, series, days and hours all show what it answered (the days sum to the month), where an
    outer join onto its own rows left it out."""
    crossing = answered_by.c.region != answered_by.c.answered_by_region
    by_span = (answered_by.c.hour_start >= bindparam("start"), answered_by.c.hour_start < bindparam("end"), crossing)

    def summed(region: Any, name: str) -> Any:
        return (select(region.label("region"), func.sum(answered_by.c.answered).label("answered"))
                .where(*by_span).group_by(region).cte(name))

    rows = select(agg.c.region, *summed_columns()).where(
        agg.c.hour_start >= bindparam("start"), agg.c.hour_start < bindparam("end"))
    if some_regions:
        rows = rows.where(agg.c.region.in_(bindparam("regions", expanding=True)))
    by_region = rows.group_by(agg.c.region).subquery()
    by_others, for_others = summed(answered_by.c.region, "by_others"), summed(answered_by.c.answered_by_region,
                                                                              "for_others")
    joined = by_region.outerjoin(by_others, by_others.c.region == by_region.c.region).outerjoin(
        for_others, for_others.c.region == by_region.c.region)
    own = select(by_region, func.coalesce(by_others.c.answered, 0).label("by_others"),
                 func.coalesce(for_others.c.answered, 0).label("for_others")).select_from(joined)
    only_for_others = (  # the few regions of ``for_others`` without rows of their own: a primary-key probe each
        select(for_others.c.region, *_zeros(), func.coalesce(by_others.c.answered, 0), for_others.c.answered)
        .select_from(for_others.outerjoin(by_others, by_others.c.region == for_others.c.region))
        .where(~exists().where(agg.c.region == for_others.c.region, agg.c.hour_start >= bindparam("start"),
                               agg.c.hour_start < bindparam("end"))))
    if some_regions:
        only_for_others = only_for_others.where(for_others.c.region.in_(bindparam("regions", expanding=True)))
    return union_all(own, only_for_others)


def _zero() -> Any:
    """A 0 in the SQL text (a bound 0 is a parameter of unknown type to PostgreSQL), a new column each time (a
    select() folds repeats of one column object into one)."""
    return literal_column("0")


def _zeros() -> list[Any]:
    """``summed_columns()`` of a region without rows of its own: zero counts, no longest wait, no record."""
    return [*[_zero() for _ in SUMMED_COLUMNS], null(), type_coerce(null(), UTCDateTime), _zero()]


def _month_rows() -> CompoundSelect[Any]:
    """The roll-up rows of the months asked for, each with its region's answered-by and answered-for-other-region
    sums of the same month (0 without): ~60 rows for three months, not the ~1 200 region pairs summed in Python.
    Columns: month, region, hours, then ``MONTH_VALUE_COLUMNS``, latest_record_at, by others, for others.

    A region that answered for others in a month without a roll-up row of its own that month gets a row of zeros
    and its sums (the outer join onto the roll-up alone left it out of the month while its days had it)."""
    m, by = MonthlyAggregate.__table__.c, MonthlyAnsweredBy.__table__.c
    months: BindParameter[Any] = bindparam("months", expanding=True)

    def summed(region: Any, name: str) -> Any:
        return (select(by.month, region.label("region"), func.sum(by.answered).label("answered"))
                .where(by.month.in_(months), by.region != by.answered_by_region)  # ix_monthly_answered_by_month
                .group_by(by.month, region).cte(name))

    by_others, for_others = summed(by.region, "by_others"), summed(by.answered_by_region, "for_others")
    joined: Any = MonthlyAggregate.__table__
    for sums in (by_others, for_others):
        joined = joined.outerjoin(sums, and_(sums.c.month == m.month, sums.c.region == m.region))
    own = (select(m.month, m.region, m.hours_with_data, *[m[name] for name in MONTH_VALUE_COLUMNS],
                  type_coerce(m.latest_record_at, UTCDateTime), func.coalesce(by_others.c.answered, 0),
                  func.coalesce(for_others.c.answered, 0))
           .select_from(joined).where(m.month.in_(months)))
    only_for_others = (  # the few (month, region) of ``for_others`` without a roll-up row: a primary-key probe each
        select(for_others.c.month, for_others.c.region, _zero(), *[_zero() for _ in MONTH_VALUE_COLUMNS[:-1]],
               null(), type_coerce(null(), UTCDateTime), func.coalesce(by_others.c.answered, 0),
               for_others.c.answered)
        .select_from(for_others.outerjoin(by_others, and_(by_others.c.month == for_others.c.month,
                                                          by_others.c.region == for_others.c.region)))
        .where(~exists().where(m.month.in_(months), m.month == for_others.c.month,  # the months' ~60 rows, not all
                               m.region == for_others.c.region)))
    return union_all(own, only_for_others)


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
