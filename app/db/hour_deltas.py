"""Moving an hour's aggregate rows by what a delivery of calls changed in it, instead of rebuilding the hour.

An hour whose calls a delivery added or corrected is not rebuilt: its row moves by the sums of the calls added less
those of the stored calls they replace, which the merge groups from the staged rows and the old rows it looked up
by id (``add_call_changes``), so the refresh does not read the hour's stored calls again. Sums are exact that way;
a maximum is too unless a removed call may have held it, and such an hour (or one left without records) is rebuilt
(issue 15; tests/ingest/test_merge_reference.py holds both against a rebuild from scratch).

Apart from app.db.aggregates, which rebuilds hours and calls ``rebuild_where_a_change_cannot_say`` and
``apply_changes`` from its refresh: the merge needs only ``add_call_changes`` and the rebuild none of this.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from app.db.contributions import MAX_COLUMNS, SUMMED_COLUMNS, aggregates, answered_by, call_contributions
from app.db.touched import answered_by_changes, create_changes_tables, hour_changes, touched_hours
from app.kpi.counts import Definitions


def _changed_in(table: FromClause) -> ColumnElement[bool]:
    """The rows of ``table`` that fall in an hour of ``touched_hours`` moved by its change (``hour_changes``)."""
    return and_(touched_hours.c.region == table.c.region, touched_hours.c.hour_start == table.c.hour_start,
                touched_hours.c.rebuild.is_not(true()))


def add_call_changes(conn: Connection, rows: FromClause, definitions: Definitions, *, taken_out: bool = False) -> None:
    """Group what the calls in ``rows`` (shaped like ``calls``) bring to their hours, or with ``taken_out`` what the
    stored calls a correction replaces take out of theirs, into ``hour_changes`` and ``answered_by_changes``; the
    refresh applies them to the hours marked in ``touched_hours`` with ``rebuild`` false."""
    create_changes_tables(conn)
    sign = -1 if taken_out else 1
    contributions = call_contributions(definitions, rows).subquery()
    maxima = [func.max(contributions.c.longest_wait_ms), func.max(contributions.c.latest_record_at)]
    grouped = select(
        contributions.c.region,
        contributions.c.hour_start,
        *[func.sum(contributions.c[name]) * sign for name in SUMMED_COLUMNS],
        *([null(), null(), *maxima] if taken_out else [*maxima, null(), null()]),
    ).group_by(contributions.c.region, contributions.c.hour_start)
    conn.execute(insert(hour_changes).from_select(
        ["region", "hour_start", *SUMMED_COLUMNS, *MAX_COLUMNS, *[f"removed_{m}" for m in MAX_COLUMNS]], grouped))
    by_region = (
        select(rows.c.region, rows.c.answered_by_region, rows.c.hour_start, func.count() * sign)
        .where(rows.c.outcome == "answered", rows.c.answered_by_region.is_not(None))
        .group_by(rows.c.region, rows.c.answered_by_region, rows.c.hour_start)
    )
    conn.execute(insert(answered_by_changes).from_select(
        ["region", "answered_by_region", "hour_start", "answered"], by_region))


def _greater(stored: Any, added: Any) -> ColumnElement[Any]:
    """The larger of two values of which either may be null (SQL's MAX over both rows; SQLite's max(a, b) is null
    when either is, PostgreSQL has GREATEST)."""
    return case((added.is_(None), stored), (or_(stored.is_(None), added > stored), added), else_=stored)


def _at_least(removed: Any, stored: Any) -> ColumnElement[bool]:
    """A removed value that may have been the stored maximum (or there is none to compare with)."""
    return and_(removed.is_not(None), or_(stored.is_(None), removed >= stored))


def rebuild_where_a_change_cannot_say(conn: Connection) -> None:
    """Mark to rebuild each changed hour whose maximum or last record time may have left with a removed call, that
    has no records left, or that has no row to change: only its stored records say what it holds then."""
    c = hour_changes
    net = select(
        c.c.region, c.c.hour_start,
        func.sum(c.c.call_records).label("calls"),
        func.max(c.c.removed_longest_wait_ms).label("longest"),
        func.max(c.c.removed_latest_record_at).label("latest"),
    ).group_by(c.c.region, c.c.hour_start).subquery()
    a = aggregates.c
    cannot = select(net.c.region, net.c.hour_start).select_from(net.outerjoin(
        aggregates, and_(a.region == net.c.region, a.hour_start == net.c.hour_start))).where(or_(
            _at_least(net.c.longest, a.longest_wait_ms),
            _at_least(net.c.latest, a.latest_record_at),
            func.coalesce(a.call_records, 0) + func.coalesce(a.interval_records, 0) + net.c.calls <= 0,
        )).subquery()
    t = touched_hours
    conn.execute(update(t).where(t.c.rebuild.is_not(true()), exists().where(
        cannot.c.region == t.c.region, cannot.c.hour_start == t.c.hour_start)).values(rebuild=True))


def apply_changes(conn: Connection) -> None:
    """Move the changed hours not rebuilt by what changed: sums add, maxima take the larger of the stored and the
    added (a removed one was smaller than the stored, or the hour was rebuilt)."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    c = hour_changes
    changed = select(
        c.c.region, c.c.hour_start,
        *[func.sum(c.c[name]) for name in SUMMED_COLUMNS],
        func.max(c.c.longest_wait_ms), func.max(c.c.latest_record_at),
    ).join(touched_hours, _changed_in(c)).where(true()).group_by(c.c.region, c.c.hour_start)
    stmt = dialect_insert(aggregates).from_select(["region", "hour_start", *SUMMED_COLUMNS, *MAX_COLUMNS], changed)
    moved: dict[str, Any] = {name: aggregates.c[name] + stmt.excluded[name] for name in SUMMED_COLUMNS}
    moved.update({name: _greater(aggregates.c[name], stmt.excluded[name]) for name in MAX_COLUMNS})
    conn.execute(stmt.on_conflict_do_update(index_elements=["region", "hour_start"], set_=moved))
    b = answered_by_changes
    changed_by = select(
        b.c.region, b.c.answered_by_region, b.c.hour_start, func.sum(b.c.answered),
    ).join(touched_hours, _changed_in(b)).where(true()).group_by(b.c.region, b.c.answered_by_region, b.c.hour_start)
    stmt_by = dialect_insert(answered_by).from_select(["region", "answered_by_region", "hour_start", "answered"],
                                                       changed_by)
    conn.execute(stmt_by.on_conflict_do_update(
        index_elements=["region", "answered_by_region", "hour_start"],
        set_={"answered": answered_by.c.answered + stmt_by.excluded.answered},
    ))
    # A pair whose last answered call left the hour has no row, as a rebuild would leave it.
    conn.execute(delete(answered_by).where(answered_by.c.answered <= 0, exists().where(_changed_in(answered_by))))


__all__ = ["add_call_changes", "apply_changes", "rebuild_where_a_change_cannot_say"]
