"""Staging and merging: parsed records go to a temporary table in bulk, then one upsert moves them.

PostgreSQL gets the records by ``COPY``; SQLite by ``executemany`` (in-process, already fast). The
merge that follows is the same portable SQL on both: classify each staged row against what is stored
(new, changed, unchanged), collect the hours it touches (old and new place of a corrected record), and
upsert only rows whose content changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union,
)
from sqlalchemy.dialects import postgresql, sqlite

from app.db.aggregates import touched_hours
from app.db.models import Call, IntervalRow, table_of
from app.db.types import UTCDateTime, to_sqlite_text
from app.ingest.conflicts import refuse_conflicts, supersede
from app.ingest.rows import Rejection
from app.kpi.localtime import floor_hour
from app.kpi.records import CALL_ID_LENGTH, QUEUE_LENGTH, CallRecord, IntervalRecord, optional_ms

_meta = MetaData()

stage_calls = Table(
    "stage_calls",
    _meta,
    Column("seq", Integer, primary_key=True),
    Column("call_id", String(CALL_ID_LENGTH)),
    Column("region", String(8)),
    Column("queue", String(QUEUE_LENGTH)),
    Column("arrived_at", UTCDateTime),
    Column("outcome", String(16)),
    Column("answered_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("answered_by_region", String(8)),
    Column("talk_seconds", Float),
    Column("wrap_seconds", Float),
    Column("wait_ms", BigInteger),
    Column("hour_start", UTCDateTime),
    prefixes=["TEMPORARY"],
)

stage_intervals = Table(
    "stage_intervals",
    _meta,
    Column("seq", Integer, primary_key=True),
    Column("region", String(8)),
    Column("queue", String(QUEUE_LENGTH)),
    Column("interval_start", UTCDateTime),
    Column("interval_minutes", Integer),
    Column("offered", Integer),
    Column("answered", Integer),
    Column("abandoned", Integer),
    Column("abandoned_short", Integer),
    Column("rejected", Integer),
    Column("answered_within_sl", Integer),
    Column("sl_seconds", Integer),
    Column("wait_answered_ms", BigInteger),
    Column("wait_abandoned_ms", BigInteger),
    Column("longest_wait_ms", BigInteger),
    Column("talk_seconds_sum", Float),
    Column("wrap_seconds_sum", Float),
    Column("hour_start", UTCDateTime),
    Column("interval_end", UTCDateTime),
    prefixes=["TEMPORARY"],
)


#: Each staged row that has a stored record with its key: which one, where it was, and whether this row changes it.
#: Found once, by index lookups, so that nothing after it joins the staged rows with the whole record table.
stage_match = Table(
    "stage_match",
    _meta,
    Column("seq", Integer, primary_key=True),
    Column("id", BigInteger),
    Column("region", String(8)),
    Column("hour_start", UTCDateTime),
    Column("changed", Boolean),
    prefixes=["TEMPORARY"],
)


@dataclass(frozen=True)
class Kind:
    """What differs between call records and interval records when staging and merging them."""

    name: str
    stage: Table
    target: Table
    key: tuple[str, ...]  # natural key within a source
    content: tuple[str, ...]  # a change in any of these is a correction
    derived: tuple[str, ...]  # computed from content, copied along

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.key, *(c for c in self.content if c not in self.key), *self.derived)


CALLS = Kind(
    "calls",
    stage_calls,
    table_of(Call),
    key=("call_id",),
    content=("region", "queue", "arrived_at", "outcome", "answered_at", "ended_at", "answered_by_region",
             "talk_seconds", "wrap_seconds"),
    derived=("wait_ms", "hour_start"),
)
INTERVALS = Kind(
    "intervals",
    stage_intervals,
    table_of(IntervalRow),
    key=("region", "queue", "interval_start"),
    content=("region", "queue", "interval_start", "interval_minutes", "offered", "answered", "abandoned",
             "abandoned_short", "rejected", "answered_within_sl", "sl_seconds", "wait_answered_ms",
             "wait_abandoned_ms", "longest_wait_ms", "talk_seconds_sum", "wrap_seconds_sum"),
    derived=("hour_start", "interval_end"),
)


def stage_row(seq: int, record: CallRecord | IntervalRecord) -> tuple[Any, ...]:
    if isinstance(record, CallRecord):
        return (
            seq, record.call_id, record.region, record.queue, record.arrived_at, record.outcome.value,
            record.answered_at, record.ended_at, record.answered_by_region, record.talk_seconds,
            record.wrap_seconds, record.wait_ms, floor_hour(record.arrived_at),
        )
    return (
        seq, record.region, record.queue, record.interval_start, record.interval_minutes, record.offered,
        record.answered, record.abandoned, record.abandoned_short, record.rejected, record.answered_within_sl,
        record.sl_seconds, optional_ms(record.wait_answered_seconds_sum),
        optional_ms(record.wait_abandoned_seconds_sum), optional_ms(record.longest_wait_seconds),
        record.talk_seconds_sum, record.wrap_seconds_sum,
        floor_hour(record.interval_start), record.interval_end,
    )


class StageWriter:
    """Bulk-writes staged rows; one instance per ingest, inside its transaction."""

    def __init__(self, conn: Connection, kind: Kind) -> None:
        self.conn = conn
        self.kind = kind
        self.is_postgres = conn.dialect.name == "postgresql"
        kind.stage.drop(conn, checkfirst=True)
        kind.stage.create(conn)
        names = [c.name for c in kind.stage.columns]
        self._names = names
        self._datetime_positions = [
            i for i, c in enumerate(kind.stage.columns) if isinstance(c.type, UTCDateTime)
        ]
        self._sqlite_sql = f"INSERT INTO {kind.stage.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        dbapi: Any = self.conn.connection.dbapi_connection
        assert dbapi is not None
        if self.is_postgres:
            with dbapi.cursor() as cursor, cursor.copy(
                f"COPY {self.kind.stage.name} ({', '.join(self._names)}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        positions = self._datetime_positions
        converted = []
        for row in rows:
            values = list(row)
            for i in positions:
                if values[i] is not None:
                    values[i] = to_sqlite_text(values[i])
            converted.append(values)
        cursor = dbapi.cursor()
        try:
            cursor.executemany(self._sqlite_sql, converted)
        finally:
            cursor.close()

    def drop(self) -> None:
        self.kind.stage.drop(self.conn, checkfirst=True)


@dataclass
class MergeCounts:
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    #: rows refused because they overlap what is stored (app.ingest.conflicts), kept as rejected rows of the run
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)  # the first few


def _differs(kind: Kind, a: Any, b: Any) -> ColumnElement[bool]:
    return or_(*[a.c[name].is_distinct_from(b.c[name]) for name in kind.content])


def _same_key(kind: Kind, a: Any, b: Any) -> ColumnElement[bool]:
    return and_(*[a.c[f"key_{k}"] == b.c[f"key_{k}"] for k in kind.key])


def _join_key(kind: Kind, source_id: int, stage: Any, target: Any) -> ColumnElement[bool]:
    return and_(target.c.source_id == source_id, *[target.c[k] == stage.c[k] for k in kind.key])


def merge(conn: Connection, kind: Kind, source_id: int, run_id: int) -> MergeCounts:
    """Move staged rows into the record table and mark the hours to refresh. Counts follow file order:
    a row repeated within the delivery counts as unchanged or updated against its previous occurrence, except
    that a key whose last occurrence is what is already stored changes nothing, so all its rows are unchanged
    (re-ingesting a delivery that corrects itself counts no updates).
    """
    s = kind.stage
    counts = MergeCounts()
    key_cols = [s.c[k] for k in kind.key]
    staged = conn.execute(select(func.count()).select_from(s)).scalar_one()
    if staged == 0:
        return counts
    refused = refuse_conflicts(conn, kind.name, s, source_id, run_id)
    if refused.rows:
        counts.rejected, counts.rejections = refused.rows, refused.sample
        staged -= refused.rows
        if staged == 0:
            return counts
    m = _match(conn, kind, source_id)
    distinct_keys = conn.execute(
        select(func.count()).select_from(select(*key_cols).distinct().subquery())
    ).scalar_one()
    first_changes: ColumnElement[bool] = m.c.changed.is_(True)
    classify_from: Any = s.outerjoin(m, m.c.seq == s.c.seq)
    if distinct_keys != staged:
        # Repeated keys whose last occurrence equals the stored record: the delivery leaves them as they are.
        last_seq = select(func.max(s.c.seq)).group_by(*key_cols).having(func.count() > 1)
        last_rows = select(s).where(s.c.seq.in_(last_seq)).subquery()
        settled = select(*[last_rows.c[k].label(f"key_{k}") for k in kind.key]).select_from(
            last_rows.join(m, m.c.seq == last_rows.c.seq)
        ).where(m.c.changed.is_(False)).subquery()
        # In-delivery repeats: each compared with the occurrence before it (window LAG).
        ordered = select(
            s.c.seq,
            *[s.c[k].label(f"key_{k}") for k in kind.key],
            func.row_number().over(partition_by=key_cols, order_by=s.c.seq).label("occurrence"),
            *[s.c[c] for c in kind.content],
            *[func.lag(s.c[c]).over(partition_by=key_cols, order_by=s.c.seq).label(f"prev_{c}") for c in kind.content],
        ).subquery()
        repeat_changed = or_(*[ordered.c[c].is_distinct_from(ordered.c[f"prev_{c}"]) for c in kind.content])
        first_key = f"key_{kind.key[0]}"
        repeats = conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((and_(repeat_changed, settled.c[first_key].is_(None)), 1), else_=0)), 0),
            ).select_from(ordered.outerjoin(settled, _same_key(kind, ordered, settled)))
            .where(ordered.c.occurrence > 1)
        ).one()
        counts.updated += int(repeats[1])
        counts.unchanged += int(repeats[0]) - int(repeats[1])
        first_seq = select(func.min(s.c.seq)).group_by(*key_cols)
        first_rows = select(s).where(s.c.seq.in_(first_seq)).subquery()
        first_changes = and_(m.c.changed.is_(True), settled.c[first_key].is_(None))
        classify_from = first_rows.outerjoin(m, m.c.seq == first_rows.c.seq).outerjoin(
            settled, and_(*[first_rows.c[k] == settled.c[f"key_{k}"] for k in kind.key])
        )

    classified = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((m.c.id.is_(None), 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(m.c.id.is_not(None), first_changes), 1), else_=0)), 0),
        ).select_from(classify_from)
    ).one()
    counts.stored += int(classified[1])
    counts.updated += int(classified[2])
    counts.unchanged += int(classified[0]) - int(classified[1]) - int(classified[2])

    if distinct_keys != staged:
        last_seq = select(func.max(s.c.seq)).group_by(*key_cols)
        conn.execute(delete(s).where(s.c.seq.not_in(last_seq)))

    new_places = select(s.c.region, s.c.hour_start).select_from(s.outerjoin(m, m.c.seq == s.c.seq)).where(
        or_(m.c.id.is_(None), m.c.changed.is_(True))
    )
    old_places = select(m.c.region, m.c.hour_start).select_from(s.join(m, m.c.seq == s.c.seq)).where(
        m.c.changed.is_(True)
    )
    conn.execute(insert(touched_hours).from_select(["region", "hour_start"], union(new_places, old_places)))
    stage_match.drop(conn)
    if kind is INTERVALS:
        supersede(conn, s, source_id)
    _upsert(conn, kind, source_id, run_id)
    return counts


def _match(conn: Connection, kind: Kind, source_id: int) -> Table:
    """Fill ``stage_match``: one pass of index lookups (source, key) per staged row. PostgreSQL would otherwise
    hash-join the staged rows with every stored record of the source, a cost that grows with the history
    (issue 15: 1.2 → 10.7 s with 5 M stored calls); a nested loop over the unique index stays flat."""
    s, t = kind.stage, kind.target
    stage_match.drop(conn, checkfirst=True)
    stage_match.create(conn)
    found = select(s.c.seq, t.c.id, t.c.region, t.c.hour_start, _differs(kind, s, t)).select_from(
        s.join(t, _join_key(kind, source_id, s, t))
    )
    is_postgres = conn.dialect.name == "postgresql"
    if is_postgres:
        conn.exec_driver_sql("SET LOCAL enable_hashjoin = off")
        conn.exec_driver_sql("SET LOCAL enable_mergejoin = off")
    conn.execute(insert(stage_match).from_select(["seq", "id", "region", "hour_start", "changed"], found))
    if is_postgres:
        conn.exec_driver_sql("RESET enable_hashjoin")
        conn.exec_driver_sql("RESET enable_mergejoin")
        conn.exec_driver_sql("ANALYZE stage_match")
    return stage_match


def _upsert(conn: Connection, kind: Kind, source_id: int, run_id: int) -> None:
    s, t = kind.stage, kind.target
    columns = list(kind.columns)
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    source_rows = select(
        literal(source_id, Integer).label("source_id"),
        *[s.c[c] for c in columns],
        literal(run_id, Integer).label("run_id"),
    ).where(s.c.seq.is_not(None))  # a WHERE keeps SQLite from reading ON CONFLICT as a join clause
    stmt = dialect_insert(t).from_select(["source_id", *columns, "run_id"], source_rows)
    updated = {c: stmt.excluded[c] for c in columns if c not in kind.key}
    updated["run_id"] = stmt.excluded.run_id
    changed = or_(*[t.c[c].is_distinct_from(stmt.excluded[c]) for c in kind.content])
    stmt = stmt.on_conflict_do_update(index_elements=["source_id", *kind.key], set_=updated, where=changed)
    conn.execute(stmt)
