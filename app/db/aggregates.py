"""Refreshing hourly aggregates from stored records (SPEC §5), in portable SQL.

The per-record rules are those of ``app.kpi.counts`` (``counts_from_call``/``counts_from_interval``),
expressed in SQL so that a million-row ingest never ships its rows back to Python. The test suite
checks the two against each other on random records, on both databases.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    select,
    text,
    union,
    union_all,
    update,
)

from app.db.models import (
    COARSE_SQL,
    Call,
    HourlyAggregate,
    HourlyAnsweredBy,
    IntervalRow,
    MonthlyAggregate,
    MonthlyAnsweredBy,
    table_of,
)
from app.db.totals import apply_change, touched_sums
from app.db.touched import create_touched_table, drop_touched_table, touched_hours
from app.kpi.counts import Definitions
from app.kpi.histogram import WAIT_BUCKET_EDGES
from app.kpi.localtime import hours_between, local_month_bounds, local_month_of
from app.kpi.records import DAY_MINUTES

calls = table_of(Call)
intervals = table_of(IntervalRow)
aggregates = table_of(HourlyAggregate)
answered_by = table_of(HourlyAnsweredBy)
monthly = table_of(MonthlyAggregate)
monthly_answered_by = table_of(MonthlyAnsweredBy)

BUCKET_COLUMNS = [f"wait_bucket_{i:02d}" for i in range(len(WAIT_BUCKET_EDGES))]
SUMMED_COLUMNS = [
    "answered", "abandoned", "short_abandons", "rejected", "answered_within_sl", "answered_sl_unknown",
    "wait_answered_ms", "wait_abandoned_ms", "call_wait_answered_ms", "answered_wait_unknown",
    "abandoned_wait_unknown",
    "longest_wait_unknown", "talk_sum", "wrap_sum", "call_records", "interval_records",
    "reported_offered", "interval_counted_offered", *BUCKET_COLUMNS, "day_records", "month_records",
]
MAX_COLUMNS = ["longest_wait_ms", "latest_record_at"]


def _touches(table: Table) -> ColumnElement[bool]:
    """The rows of ``table`` (keyed by region and hour) that fall in ``touched_hours``."""
    return and_(touched_hours.c.region == table.c.region, touched_hours.c.hour_start == table.c.hour_start)


def _one(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _call_contributions(definitions: Definitions) -> Select[*tuple[Any, ...]]:
    c = calls.c
    answered = c.outcome == "answered"
    short_ms = definitions.short_abandon_seconds * 1000
    abandoned = and_(c.outcome == "abandoned", c.wait_ms >= short_ms)
    short = and_(c.outcome == "abandoned", c.wait_ms < short_ms)
    buckets = []
    lower: float | None = None
    for name, edge in zip(BUCKET_COLUMNS, WAIT_BUCKET_EDGES, strict=True):
        conditions = [answered]
        if lower is not None:
            conditions.append(c.wait_ms > int(lower) * 1000)
        if edge != float("inf"):
            conditions.append(c.wait_ms <= int(edge) * 1000)
        buckets.append(_one(and_(*conditions)).label(name))
        lower = edge
    zero = literal(0, Integer)
    return select(
        c.region,
        c.hour_start,
        _one(answered).label("answered"),
        _one(abandoned).label("abandoned"),
        _one(short).label("short_abandons"),
        _one(c.outcome == "rejected").label("rejected"),
        _one(and_(answered, c.wait_ms <= definitions.sl_seconds * 1000)).label("answered_within_sl"),
        zero.label("answered_sl_unknown"),
        case((answered, c.wait_ms), else_=0).label("wait_answered_ms"),
        case((abandoned, c.wait_ms), else_=0).label("wait_abandoned_ms"),
        case((answered, c.wait_ms), else_=0).label("call_wait_answered_ms"),
        zero.label("answered_wait_unknown"),
        zero.label("abandoned_wait_unknown"),
        zero.label("longest_wait_unknown"),
        case((answered, func.coalesce(c.talk_seconds, 0.0)), else_=0.0).label("talk_sum"),
        case((answered, func.coalesce(c.wrap_seconds, 0.0)), else_=0.0).label("wrap_sum"),
        literal(1, Integer).label("call_records"),
        zero.label("interval_records"),
        zero.label("reported_offered"),
        zero.label("interval_counted_offered"),
        *buckets,
        zero.label("day_records"),
        zero.label("month_records"),
        case((answered, c.wait_ms), else_=None).label("longest_wait_ms"),
        c.arrived_at.label("latest_record_at"),
    ).join(touched_hours, _touches(calls))


def _interval_contributions(definitions: Definitions) -> Select[*tuple[Any, ...]]:
    i = intervals.c
    split_short = 1 if definitions.short_abandon_seconds > 0 else 0
    short = i.abandoned_short * split_short
    sl_known = i.sl_seconds == definitions.sl_seconds
    zero = literal(0, Integer)
    return select(
        i.region,
        i.hour_start,
        i.answered.label("answered"),
        (i.abandoned - short).label("abandoned"),
        short.label("short_abandons"),
        i.rejected.label("rejected"),
        case((sl_known, i.answered_within_sl), else_=0).label("answered_within_sl"),
        case((sl_known, 0), else_=i.answered).label("answered_sl_unknown"),
        func.coalesce(i.wait_answered_ms, 0).label("wait_answered_ms"),
        func.coalesce(i.wait_abandoned_ms, 0).label("wait_abandoned_ms"),
        zero.label("call_wait_answered_ms"),
        case((i.wait_answered_ms.is_(None), i.answered), else_=0).label("answered_wait_unknown"),
        case((i.wait_abandoned_ms.is_(None), i.abandoned - short), else_=0).label(
            "abandoned_wait_unknown"
        ),
        case((i.longest_wait_ms.is_(None), i.answered), else_=0).label("longest_wait_unknown"),
        func.coalesce(i.talk_seconds_sum, 0.0).label("talk_sum"),
        func.coalesce(i.wrap_seconds_sum, 0.0).label("wrap_sum"),
        zero.label("call_records"),
        literal(1, Integer).label("interval_records"),
        i.offered.label("reported_offered"),
        (i.answered + i.abandoned + i.rejected).label("interval_counted_offered"),
        *[zero.label(name) for name in BUCKET_COLUMNS],
        _one(i.interval_minutes == DAY_MINUTES).label("day_records"),
        _one(i.interval_minutes > DAY_MINUTES).label("month_records"),
        i.longest_wait_ms.label("longest_wait_ms"),
        i.interval_end.label("latest_record_at"),
    ).join(touched_hours, _touches(intervals)).where(i.superseded.is_(false()))


def _in_touched(table: Table) -> ColumnElement[bool]:
    return exists().where(_touches(table))


def refresh_touched_hours(conn: Connection, definitions: Definitions) -> int:
    """Rebuild the aggregates of exactly the hours in ``touched_hours``; returns how many hours.

    The running totals behind the Prometheus counters move by the change of these hours, in this transaction.
    """
    before = touched_sums(conn)
    conn.execute(delete(aggregates).where(_in_touched(aggregates)))
    conn.execute(delete(answered_by).where(_in_touched(answered_by)))
    contributions = union_all(_call_contributions(definitions), _interval_contributions(definitions)).subquery()
    rolled_up = select(
        contributions.c.region,
        contributions.c.hour_start,
        *[func.sum(contributions.c[name]).label(name) for name in SUMMED_COLUMNS],
        func.max(contributions.c.longest_wait_ms).label("longest_wait_ms"),
        func.max(contributions.c.latest_record_at).label("latest_record_at"),
    ).group_by(contributions.c.region, contributions.c.hour_start)
    conn.execute(
        insert(aggregates).from_select(
            ["region", "hour_start", *SUMMED_COLUMNS, *MAX_COLUMNS], rolled_up
        )
    )
    c = calls.c
    by_region = (
        select(c.region, c.answered_by_region, c.hour_start, func.count().label("answered"))
        .join(touched_hours, _touches(calls))
        .where(c.outcome == "answered", c.answered_by_region.is_not(None))
        .group_by(c.region, c.answered_by_region, c.hour_start)
    )
    conn.execute(
        insert(answered_by).from_select(["region", "answered_by_region", "hour_start", "answered"], by_region)
    )
    apply_change(conn, before, touched_sums(conn))
    _cover_coarse_hours(conn)
    refresh_touched_months(conn)
    return conn.execute(select(func.count()).select_from(touched_hours)).scalar_one()


def _cover_coarse_hours(conn: Connection) -> None:
    """Give each refreshed hour holding day or month records the hours they cover (23–25 for a day, all of a month's
    for a month), so a month's hours with data count what its figures cover. Few rows (one a day and queue at
    most), and the span of a local day is calendar arithmetic SQL does not share between the two engines."""
    i = intervals.c
    covered: dict[tuple[str, datetime], int] = {}
    coarse = (select(i.region, i.hour_start, i.interval_end).join(touched_hours, _touches(intervals))
              .where(text(COARSE_SQL), i.superseded.is_(false())))
    for region, hour, end in conn.execute(coarse):
        key = (region, hour)
        covered[key] = max(covered.get(key, 1), hours_between(hour, end))
    if covered:
        conn.execute(
            update(aggregates).where(aggregates.c.region == bindparam("r"), aggregates.c.hour_start == bindparam("h"))
            .values(hours_covered=bindparam("n")),
            [{"r": region, "h": hour, "n": hours} for (region, hour), hours in covered.items()],
        )


def refresh_touched_months(conn: Connection) -> None:
    """Rebuild the monthly roll-up of every (region, local month) with a touched hour, from the hourly rows."""
    months: dict[date, set[str]] = {}
    month_of: dict[datetime, date] = {}  # one zone lookup per hour, not per (region, hour): 21 regions share it
    for region, hour in conn.execute(select(touched_hours.c.region, touched_hours.c.hour_start)):
        month = month_of.get(hour)
        if month is None:
            month = month_of[hour] = local_month_of(hour)
        months.setdefault(month, set()).add(region)
    for month, regions in sorted(months.items()):
        rebuild_month(conn, month, sorted(regions))


def rebuild_month(conn: Connection, month: date, regions: list[str] | None = None) -> None:
    """The roll-up rows of one local month (of ``regions``, or all) as sums of their hourly rows."""
    start, end = local_month_bounds(month)
    m_agg, m_by = monthly.c, monthly_answered_by.c
    in_month = and_(aggregates.c.hour_start >= start, aggregates.c.hour_start < end)
    by_in_month = and_(answered_by.c.hour_start >= start, answered_by.c.hour_start < end)
    clear = delete(monthly).where(m_agg.month == month)
    clear_by = delete(monthly_answered_by).where(m_by.month == month)
    if regions is not None:
        in_month = and_(in_month, aggregates.c.region.in_(regions))
        by_in_month = and_(by_in_month, answered_by.c.region.in_(regions))
        clear, clear_by = clear.where(m_agg.region.in_(regions)), clear_by.where(m_by.region.in_(regions))
    conn.execute(clear)
    conn.execute(clear_by)
    rolled_up = select(
        aggregates.c.region, literal(month, Date), func.sum(aggregates.c.hours_covered),
        *[func.sum(aggregates.c[name]) for name in SUMMED_COLUMNS],
        func.max(aggregates.c.longest_wait_ms), func.max(aggregates.c.latest_record_at),
    ).where(in_month).group_by(aggregates.c.region)
    conn.execute(insert(monthly).from_select(
        ["region", "month", "hours_with_data", *SUMMED_COLUMNS, *MAX_COLUMNS], rolled_up
    ))
    by_rolled_up = select(
        answered_by.c.region, answered_by.c.answered_by_region, literal(month, Date), func.sum(answered_by.c.answered)
    ).where(by_in_month).group_by(answered_by.c.region, answered_by.c.answered_by_region)
    conn.execute(insert(monthly_answered_by).from_select(
        ["region", "answered_by_region", "month", "answered"], by_rolled_up
    ))


def mark_span_touched(conn: Connection, start: datetime | None, end: datetime | None) -> None:
    """Put every hour with records or aggregates in [start, end) into ``touched_hours``."""

    def hours(table: Table) -> Select[Any, Any]:  # (region, hour_start)
        query = select(table.c.region, table.c.hour_start)
        if start is not None:
            query = query.where(table.c.hour_start >= start)
        if end is not None:
            query = query.where(table.c.hour_start < end)
        return query

    conn.execute(
        insert(touched_hours).from_select(
            ["region", "hour_start"], union(hours(calls), hours(intervals), hours(aggregates))
        )
    )


__all__ = [
    "BUCKET_COLUMNS",
    "MAX_COLUMNS",
    "SUMMED_COLUMNS",
    "create_touched_table",
    "drop_touched_table",
    "mark_span_touched",
    "refresh_touched_hours",
    "touched_hours",
]

