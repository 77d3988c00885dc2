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

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Table,
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
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from app.db.contributions import MAX_COLUMNS, SUMMED_COLUMNS, aggregates, answered_by, call_contributions
from app.db.planner import planner_methods_off
from app.db.touched import answered_by_changes, create_changes_tables, hour_changes, touched_hours
from app.kpi.counts import Definitions


def _changed_in(table: FromClause) -> ColumnElement[bool]:
    """The rows of ``table`` that fall in an hour of ``touched_hours`` moved by its change (``hour_changes``)."""
    return and_(touched_hours.c.region == table.c.region, touched_hours.c.hour_start == table.c.hour_start,
                touched_hours.c.rebuild.is_not(true()))


def _answers_changed_in(table: FromClause) -> ColumnElement[bool]:
    """The rows of ``table`` that fall in an hour whose answered-by counts move by ``answered_by_changes``: those
    moved, and those rebuilt only because a maximum may have left them (counts have none)."""
    t = touched_hours.c
    return and_(t.region == table.c.region, t.hour_start == table.c.hour_start,
                or_(t.rebuild.is_not(true()), t.answered_by_moves.is_(true())))


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
    if conn.execute(select(c.c.region).where(c.c.call_records < 0).limit(1)).first() is None:
        return  # nothing taken out: every changed hour gains calls and keeps its maxima
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
        cannot.c.region == t.c.region, cannot.c.hour_start == t.c.hour_start)).values(rebuild=True,
                                                                                      answered_by_moves=True))


def _one_row_each(conn: Connection, table: Table, keys: list[str]) -> bool:
    """Whether ``table`` holds at most one row per key: so it does when one merge of the transaction added calls and
    none took any out (the common delivery), and its rows need no grouping again (a cheap check on the keys only)."""
    twice = select(table.c[keys[0]]).group_by(*[table.c[k] for k in keys]).having(func.count() > 1).limit(1)
    return conn.execute(twice).first() is None


#: Planner methods that would read all of a target table (ten years: 1.8 M hourly rows) to find the few changed
#: hours' rows; off for the moves, whose lookups then go by the primary key, as ON CONFLICT's do (history-flat).
_WHOLE_TABLE_METHODS = ("enable_hashjoin", "enable_mergejoin", "jit")


def _by_key(conn: Connection) -> AbstractContextManager[None]:
    return planner_methods_off(conn, _WHOLE_TABLE_METHODS)


def _move(conn: Connection, target: Table, changes: Table, keys: list[str], summed: list[str],
          maxima: list[str], hours: Callable[[FromClause], ColumnElement[bool]] | None = _changed_in) -> None:
    """Add ``changes`` (of the hours not rebuilt) to ``target``: rows of ``target`` that exist move by their
    change, in place; where each key has one change row, the others (an hour or answerer pair with no row yet, as
    every hour of a delivery of new days) are inserted apart, as they are, in key order, with no ON CONFLICT and no
    grouping again: PostgreSQL's speculative insertion and a regrouping of ~40 sums that spilled to disk cost 3.4 s of a
    200 k-row ingest, half of it in the insert itself (issue 15). ``hours`` None: no touched hour is rebuilt, so every
    row of ``changes`` (each of whose hours the merge touched) moves, and no row needs looking up in ``touched_hours``
    (94 000 index probes per table in a 200 k-row delivery)."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    c = changes.c
    columns = [*keys, *summed, *maxima]
    single = _one_row_each(conn, changes, keys)
    if single:
        query = select(*[c[n] for n in columns])
    else:  # grouped once, all in one upsert (a correction's hours have a row each, mostly)
        query = select(*[c[k] for k in keys], *[func.sum(c[n]).label(n) for n in summed],
                       *[func.max(c[n]).label(n) for n in maxima]).group_by(*[c[k] for k in keys])
    if hours is not None:
        query = query.join(touched_hours, hours(changes)).where(true())
    changed = query.subquery()
    stored = exists().where(*[target.c[k] == changed.c[k] for k in keys])
    rows = select(*[changed.c[n] for n in columns])
    upsert = dialect_insert(target).from_select(columns, rows.where(stored) if single else rows.where(true()))
    moved: dict[str, Any] = {name: target.c[name] + upsert.excluded[name] for name in summed}
    moved.update({name: _greater(target.c[name], upsert.excluded[name]) for name in maxima})
    conn.execute(upsert.on_conflict_do_update(index_elements=keys, set_=moved))
    if single:  # after the rows that existed moved, so none moves twice
        conn.execute(insert(target).from_select(columns, rows.where(~stored).order_by(*[changed.c[k] for k in keys])))


def apply_changes(conn: Connection, *, any_rebuilt: bool = True) -> None:
    """Move the changed hours not rebuilt by what changed: sums add, maxima take the larger of the stored and the
    added (a removed one was smaller than the stored, or the hour was rebuilt). ``any_rebuilt`` false says no hour
    of ``touched_hours`` is rebuilt: every change moves its hour."""
    with _by_key(conn):
        _move(conn, aggregates, hour_changes, ["region", "hour_start"], SUMMED_COLUMNS, MAX_COLUMNS,
              _changed_in if any_rebuilt else None)
        _move(conn, answered_by, answered_by_changes, ["region", "answered_by_region", "hour_start"], ["answered"],
              [], _answers_changed_in if any_rebuilt else None)
    # A pair whose last answered call left the hour has no row, as a rebuild would leave it. Only a pair that lost
    # calls can be left so: those are looked up by key, not every row of the table scanned.
    b = answered_by_changes
    lost = select(b.c.region, b.c.answered_by_region, b.c.hour_start).where(b.c.answered < 0)
    if conn.execute(lost.limit(1)).first() is not None:
        keys = tuple_(answered_by.c.region, answered_by.c.answered_by_region, answered_by.c.hour_start)
        conn.execute(delete(answered_by).where(keys.in_(lost), answered_by.c.answered <= 0,
                                               exists().where(_answers_changed_in(answered_by))))


__all__ = ["add_call_changes", "apply_changes", "rebuild_where_a_change_cannot_say"]
