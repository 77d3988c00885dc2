"""The steps of the merge (app.ingest.staging.merge): finding each staged row's stored record, counting what the
delivery does, marking the hours it touches, and writing new rows and corrections.

Apart from ``merge`` itself so that each step's reasons (issue 15's plans and their costs) sit beside its SQL, and
the merge reads as the order of the steps.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)

from app.db.planner import planner_methods_off
from app.db.touched import touched_hours
from app.db.types import UTCDateTime
from app.ingest.rows import Rejection
from app.ingest.stage_tables import Kind

_meta = MetaData()

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



def count_matches(conn: Connection) -> tuple[int, int]:
    """How many staged rows have a stored record, and how many of those change it."""
    m = stage_match
    found = conn.execute(select(func.count(), func.coalesce(func.sum(case((m.c.changed.is_(True), 1), else_=0)), 0)))
    matched, changed = found.one()
    return int(matched), int(changed)


def count_with_repeats(conn: Connection, kind: Kind, m: Table, counts: MergeCounts) -> None:
    """The counts of a delivery that repeats keys: each repeat against the occurrence before it, the first against
    what is stored, and all rows of a settled key (its last occurrence is what is stored) unchanged."""
    s = kind.stage
    key_cols = [s.c[k] for k in kind.key]
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


def touch_hours(conn: Connection, gained: Any, lost: Any = None, *, rebuilds: bool = True) -> None:
    """Mark the hours this delivery changes: ``gained`` (region, hour, r), r 0 where ``hour_changes`` says what
    changed and 1 for an hour to rebuild, and ``lost``, the hours corrected records leave, to rebuild. An hour that
    an earlier merge of the transaction marked keeps its mark, and is to be rebuilt if this one rebuilds it;
    ``rebuilds`` false says no place has r 1 (a delivery of calls), so no mark is looked at."""
    t = touched_hours
    both: Any = gained if lost is None else union_all(gained, lost)
    places = both.subquery()
    if rebuilds or lost is not None:
        conn.execute(update(t).where(t.c.rebuild.is_not(True), exists().where(
            places.c.region == t.c.region, places.c.hour_start == t.c.hour_start, places.c.r == 1))
            .values(rebuild=True))
    conn.execute(insert(t).from_select(["region", "hour_start", "rebuild"], select(
        places.c.region, places.c.hour_start, func.max(places.c.r) == 1,
    ).where(~exists().where(t.c.region == places.c.region, t.c.hour_start == places.c.hour_start))
        .group_by(places.c.region, places.c.hour_start)))


def match_stored(conn: Connection, kind: Kind, source_id: int) -> Table:
    """Fill ``stage_match``: one pass of index lookups (source, key) per staged row. PostgreSQL would otherwise
    hash-join the staged rows with every stored record of the source, a cost that grows with the history
    (issue 15: 1.2 → 10.7 s with 5 M stored calls); a nested loop over the unique index stays flat."""
    s, t = kind.stage, kind.target
    stage_match.drop(conn, checkfirst=True)
    stage_match.create(conn)
    found = select(s.c.seq, t.c.id, t.c.region, t.c.hour_start, _differs(kind, s, t)).select_from(
        s.join(t, _join_key(kind, source_id, s, t))
    )
    with lookups_by_index(conn):
        conn.execute(insert(stage_match).from_select(["seq", "id", "region", "hour_start", "changed"], found))
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE stage_match")
    return stage_match


#: Planner methods that read all of a source's records instead of looking each staged row up by its key. Scans,
#: bitmap scans and materialising matter where ``calls`` has no statistics yet (a fresh database's second delivery):
#: the planner took the source for a few rows and compared every staged row with all of them (20 000 staged ×
#: 20 000 stored: 60 s). Turning scans off prices any plan in billions, which would switch JIT compilation on.
_WHOLE_TABLE_METHODS = ("enable_hashjoin", "enable_mergejoin", "enable_bitmapscan", "enable_material",
                        "enable_seqscan", "jit")


def lookups_by_index(conn: Connection) -> AbstractContextManager[None]:
    """Joins with the record table by nested loops over its indexes, never a scan of all of it (see
    ``match_stored``)."""
    return planner_methods_off(conn, _WHOLE_TABLE_METHODS)


def insert_new(conn: Connection, kind: Kind, source_id: int, run_id: int) -> None:
    """The staged rows with no stored record, in one plain INSERT: under the ingest lock, with repeats gone and the
    stored keys matched, none can conflict, so no row pays for ON CONFLICT's speculative insertion."""
    s, t, m = kind.stage, kind.target, stage_match
    columns = list(kind.columns)
    new_rows = select(
        literal(source_id, Integer).label("source_id"),
        *[s.c[c] for c in columns],
        literal(run_id, Integer).label("run_id"),
    ).where(~exists().where(m.c.seq == s.c.seq))
    conn.execute(insert(t).from_select(["source_id", *columns, "run_id"], new_rows))


def update_changed(conn: Connection, kind: Kind, run_id: int) -> None:
    """The stored records a staged row corrects, by their id."""
    s, t, m = kind.stage, kind.target, stage_match
    values: dict[str, Any] = {c: s.c[c] for c in kind.columns if c not in kind.key}
    values["run_id"] = literal(run_id, Integer)
    with lookups_by_index(conn):
        conn.execute(update(t).where(t.c.id == m.c.id, m.c.seq == s.c.seq, m.c.changed.is_(True)).values(values))


__all__ = [
    "MergeCounts",
    "count_matches",
    "count_with_repeats",
    "insert_new",
    "lookups_by_index",
    "match_stored",
    "stage_match",
    "touch_hours",
    "update_changed",
]
