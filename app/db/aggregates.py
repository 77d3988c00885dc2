"""Refreshing hourly aggregates from stored records (SPEC §5), in portable SQL.

What each record brings to its hour is app.db.contributions (the per-record rules of ``app.kpi.counts`` in SQL).
Hours to rebuild are deleted and summed again from their stored records here; an hour whose calls a delivery added
or corrected instead moves by what changed (app.db.hour_deltas), unless a maximum or the last record may have left
it (issue 15). The monthly roll-up follows the hours refreshed.

The column lists and table handles stay importable from here (``SUMMED_COLUMNS``, ``aggregates``, …), as does
``add_call_changes``, for the callers that imported them before the split.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    FromClause,
    Select,
    String,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    select,
    text,
    true,
    type_coerce,
    union,
    union_all,
    update,
)

from app.db.contributions import (
    BUCKET_COLUMNS,
    MAX_COLUMNS,
    SUMMED_COLUMNS,
    aggregates,
    answered_by,
    call_contributions,
    calls,
    interval_contributions,
    intervals,
    monthly,
    monthly_answered_by,
)
from app.db.hour_deltas import add_call_changes, apply_changes, rebuild_where_a_change_cannot_say
from app.db.models import COARSE_SQL, AggregateDefinitions, table_of
from app.db.totals import apply_change, touched_sums
from app.db.touched import create_touched_table, drop_touched_table, touched_hours, touched_months
from app.kpi.counts import Definitions
from app.kpi.localtime import hours_between, local_month_bounds, local_month_of


def _touches(table: FromClause, answers: bool = False) -> ColumnElement[bool]:
    """The rows of ``table`` (keyed by region and hour) that fall in an hour of ``touched_hours`` to rebuild; with
    ``answers``, whose answered-by counts are rebuilt too (not moved by their change, app.db.hour_deltas)."""
    t = touched_hours.c
    condition = and_(t.region == table.c.region, t.hour_start == table.c.hour_start, t.rebuild.is_(true()))
    return and_(condition, t.answered_by_moves.is_not(true())) if answers else condition


def _in_touched(table: Table, answers: bool = False) -> ColumnElement[bool]:
    return exists().where(_touches(table, answers))


def _any_touched(condition: ColumnElement[bool]) -> Select[Any]:
    return select(touched_hours.c.region).where(condition).limit(1)


def _rebuild(conn: Connection, definitions: Definitions) -> None:
    """The rows of the hours to rebuild, deleted and summed again from their stored records."""
    conn.execute(delete(aggregates).where(_in_touched(aggregates)))
    rebuilt_calls = call_contributions(definitions).join(touched_hours, _touches(calls))
    rebuilt_intervals = interval_contributions(definitions).join(touched_hours, _touches(intervals))
    contributions = union_all(rebuilt_calls, rebuilt_intervals).subquery()
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
    t = touched_hours.c
    if conn.execute(_any_touched(and_(t.rebuild.is_(true()), t.answered_by_moves.is_not(true())))).first() is None:
        return  # every rebuilt hour's answered-by counts move by their change
    conn.execute(delete(answered_by).where(_in_touched(answered_by, answers=True)))
    c = calls.c
    by_region = (
        select(c.region, c.answered_by_region, c.hour_start, func.count().label("answered"))
        .join(touched_hours, _touches(calls, answers=True))
        .where(c.outcome == "answered", c.answered_by_region.is_not(None))
        .group_by(c.region, c.answered_by_region, c.hour_start)
    )
    conn.execute(
        insert(answered_by).from_select(["region", "answered_by_region", "hour_start", "answered"], by_region)
    )


def refresh_touched_hours(conn: Connection, definitions: Definitions, *, calls_delivery: bool = False) -> int:
    """Bring the aggregates of exactly the hours in ``touched_hours`` up to date; returns how many hours.

    Hours to rebuild are deleted and summed again from their stored records; hours whose calls a delivery added or
    corrected move by the change the merge put in ``hour_changes``. The running totals behind the Prometheus
    counters move by the change of these hours, in this transaction. ``calls_delivery``: the refresh of one
    source's delivery of calls, whose per-source counts follow the monthly roll-up (``refresh_touched_months``).
    """
    changes = conn.execute(_any_touched(touched_hours.c.rebuild.is_not(true()))).first() is not None
    if changes:
        rebuild_where_a_change_cannot_say(conn)
    before = touched_sums(conn)
    rebuilds = conn.execute(_any_touched(touched_hours.c.rebuild.is_(true()))).first() is not None
    if rebuilds:
        if conn.dialect.name == "postgresql":
            # How many hours: a few are looked up in ``calls`` by index, a span is better read whole.
            conn.exec_driver_sql("ANALYZE touched_hours")
        _rebuild(conn, definitions)
    if changes:
        apply_changes(conn, any_rebuilt=rebuilds)
    apply_change(conn, before, touched_sums(conn))
    _cover_coarse_hours(conn)
    refresh_touched_months(conn, note_call_records=calls_delivery)
    return conn.execute(select(func.count()).select_from(touched_hours)).scalar_one()


def stored_definitions(conn: Connection) -> Definitions | None:
    """The definitions the stored aggregates were built with (an ingest has checked the settings say the same)."""
    d = table_of(AggregateDefinitions).c
    row = conn.execute(select(d.short_abandon_seconds, d.sl_seconds).where(d.id == 1)).first()
    return None if row is None else Definitions(row.short_abandon_seconds, row.sl_seconds)


def _cover_coarse_hours(conn: Connection) -> None:
    """Give each refreshed hour holding day or month records the hours they cover (23–25 for a day, all of a month's
    for a month), so a month's hours with data count what its figures cover. Few rows (one a day and queue at
    most), and the span of a local day is calendar arithmetic SQL does not share between the two engines."""
    i = intervals.c
    covered: dict[tuple[str, datetime], int] = {}
    anyhow = and_(touched_hours.c.region == i.region, touched_hours.c.hour_start == i.hour_start)
    coarse = (select(i.region, i.hour_start, i.interval_end).join(touched_hours, anyhow)
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


def refresh_touched_months(conn: Connection, *, note_call_records: bool = False) -> None:
    """Rebuild the monthly roll-up of every (region, local month) with a touched hour, from the hourly rows, and list
    those months in ``touched_months``; with ``note_call_records``, each with its call records before and after
    (``_note_call_records``), which only a delivery of calls reads."""
    months: dict[date, set[str]] = {}
    month_of: dict[Any, date] = {}  # one zone lookup per hour, not per (region, hour): 21 regions share it
    # The hours as the driver gives them (SQLite's text, psycopg's zoned datetime), made UTC datetimes once per
    # distinct hour: the column type's conversion of every (region, hour) row cost more than the roll-up's SQL at
    # 200 k rows on SQLite, and half of the roll-up's 1.2 s on PostgreSQL (issue 15).
    raw_hour = type_coerce(touched_hours.c.hour_start, String)
    for region, hour in conn.execute(select(touched_hours.c.region, raw_hour)).all():  # not a fetch per row
        month = month_of.get(hour)
        if month is None:
            moment = hour if isinstance(hour, datetime) else datetime.fromisoformat(hour)
            month = month_of[hour] = local_month_of(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        months.setdefault(month, set()).add(region)
    if months:  # what the per-source counts follow (app.db.source_months): these months, mapped once, here
        bounds = {month: local_month_bounds(month) for month in months}
        conn.execute(insert(touched_months), [
            {"region": region, "month": month, "month_start": bounds[month][0], "month_end": bounds[month][1]}
            for month, regions in sorted(months.items()) for region in sorted(regions)])
    noted = note_call_records and bool(months)
    if noted:
        _note_call_records(conn, "call_records_before")
    for month, regions in sorted(months.items()):
        rebuild_month(conn, month, sorted(regions))
    if noted:
        _note_call_records(conn, "call_records_after")


def _note_call_records(conn: Connection, column: str) -> None:
    """Each touched month's stored call records, before or after its rebuild: a delivery of calls is one source's,
    so the difference is that source's change in the month (app.db.source_months.add_call_changes), found in a
    statement over at most a few hundred months instead of a join of every changed hour with them."""
    t = touched_months.c
    stored = select(func.coalesce(func.sum(monthly.c.call_records), 0)).where(
        monthly.c.region == t.region, monthly.c.month == t.month).scalar_subquery()
    conn.execute(update(touched_months).values({column: stored}))


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
    "add_call_changes",
    "aggregates",
    "answered_by",
    "create_touched_table",
    "drop_touched_table",
    "mark_span_touched",
    "monthly",
    "monthly_answered_by",
    "rebuild_month",
    "refresh_touched_hours",
    "refresh_touched_months",
    "stored_definitions",
    "touched_hours",
]
