"""Keeping ``source_month_records`` (how many records each source holds per region and local month) exact, in the
transaction that writes or deletes the records, so the scorecard names a month's sources without counting ``calls``
(SPEC §5: "the scorecard never scans raw calls").

Every function here follows the (region, month) pairs the monthly roll-up's refresh listed in ``touched_months``
(app.db.aggregates.refresh_touched_months maps hours to local months; nothing here maps them again), so each is
called after ``refresh_touched_hours``:

* a delivery of calls moves its source's counts by the change of each touched month's call records in the monthly
  roll-up, which the refresh notes before and after rebuilding the month (calls added less calls taken out,
  corrections included): one upsert of at most a few hundred rows, no read of ``calls`` (issue 15's ingest path);
* a delivery of interval records, a purge and a recompute count again from the records of the touched months:
  interval tables are small, a supersede or a restore changes other sources' counts, and a recompute rebuilds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Integer,
    Select,
    and_,
    delete,
    exists,
    false,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite

from app.db.models import Call, IntervalRow, SourceMonthRecords, table_of
from app.db.touched import touched_months

source_months = table_of(SourceMonthRecords)
_calls, _intervals = table_of(Call), table_of(IntervalRow)
_KEY = ["source_id", "region", "month"]


def _in_month(hour_start: ColumnElement[Any], region: ColumnElement[Any]) -> ColumnElement[bool]:
    m = touched_months.c
    return and_(m.region == region, hour_start >= m.month_start, hour_start < m.month_end)


def _touched(table: FromClause) -> ColumnElement[bool]:
    m = touched_months.c
    return exists().where(m.region == table.c.region, m.month == table.c.month)


def _upsert(conn: Connection, rows: Select[Any], column: str, *, add: bool) -> None:
    """Insert ``rows`` (source_id, region, month, n) into the counts' ``column``: added to a stored count with
    ``add``, else in its place. (SQLite reads the ON of ON CONFLICT after a bare FROM as a join's: hence WHERE.)"""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(source_months).from_select([*_KEY, column], rows.where(true()))
    value = source_months.c[column] + statement.excluded[column] if add else statement.excluded[column]
    conn.execute(statement.on_conflict_do_update(index_elements=_KEY, set_={column: value}))


def _drop_empty(conn: Connection, where: ColumnElement[bool]) -> None:
    """Rows left with no record of either kind go, as a count from scratch would never write them."""
    c = source_months.c
    conn.execute(delete(source_months).where(where, c.call_records == 0, c.interval_records == 0))


def add_call_changes(conn: Connection, source_id: int) -> None:
    """Move ``source_id``'s call counts by this delivery's change: each touched month's call records in the monthly
    roll-up after its refresh less before (``touched_months``). A delivery is one source's, and every other source's
    calls in those months stayed as they were, so the difference is this source's. Two statements over at most a few
    hundred months (joining the delivery's changed hours with the months instead cost 0.4 s of a 1 M-row ingest); a
    month the delivery emptied of the source's calls loses its row."""
    m = touched_months.c
    change = m.call_records_after - m.call_records_before
    changed = select(literal(source_id, Integer), m.region, m.month, change).where(change != 0)
    _upsert(conn, changed, "call_records", add=True)
    _drop_empty(conn, and_(source_months.c.source_id == source_id, _touched(source_months)))


def recount(conn: Connection, *, calls: bool, intervals: bool) -> None:
    """Count the records of every source again in the touched months: interval records (superseded ones count
    nowhere, as in the aggregates) and, with ``calls``, call records (a recompute; it reads them all anyway)."""
    c = source_months.c
    kinds = [(table, column, condition) for table, column, condition, wanted in (
        (_calls, "call_records", None, calls),
        (_intervals, "interval_records", _intervals.c.superseded.is_(false()), intervals),
    ) if wanted]
    for table, column, condition in kinds:
        conn.execute(source_months.update().where(_touched(source_months), c[column] != 0).values({column: 0}))
        m = touched_months.c
        counted = (select(table.c.source_id, m.region, m.month, func.count())
                   .select_from(touched_months.join(table, _in_month(table.c.hour_start, table.c.region)))
                   .group_by(table.c.source_id, m.region, m.month))
        if condition is not None:
            counted = counted.where(condition)
        _upsert(conn, counted, column, add=False)
    if kinds:
        _drop_empty(conn, _touched(source_months))


def forget_source(conn: Connection, source_id: int) -> None:
    """A purge: the source holds no records any more (its row in ``sources`` may stay)."""
    conn.execute(delete(source_months).where(source_months.c.source_id == source_id))


def clear(conn: Connection) -> None:
    """Before a recompute of all history counts everything again: no row of a month without records stays."""
    conn.execute(delete(source_months))


__all__ = ["add_call_changes", "clear", "forget_source", "recount", "source_months"]
