"""Staging and merging: parsed records go to a temporary table in bulk, then one upsert moves them.

PostgreSQL gets the records by ``COPY``; SQLite by ``executemany`` (in-process, already fast). The
merge that follows is the same portable SQL on both: classify each staged row against what is stored
(new, changed, unchanged), collect the hours it touches (old and new place of a corrected record), and
upsert only rows whose content changed.

The staging tables and their writer are app.ingest.stage_tables, the merge's steps app.ingest.merge_steps; both stay
importable from here (``CALLS``, ``StageWriter``, ``stage_row``, …), where the loader and the benchmark find them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, Integer, delete, exists, func, literal, select

from app.db.aggregates import stored_definitions
from app.db.hour_deltas import add_call_changes
from app.db.touched import hour_changes
from app.ingest.conflicts import refuse_conflicts, supersede
from app.ingest.merge_steps import (
    MergeCounts,
    count_matches,
    count_with_repeats,
    insert_new,
    lookups_by_index,
    match_stored,
    stage_match,
    touch_hours,
    update_changed,
)
from app.ingest.stage_tables import (
    CALLS,
    INTERVALS,
    Kind,
    StageWriter,
    stage_calls,
    stage_intervals,
    stage_row,
)

if TYPE_CHECKING:  # pyarrow is imported by whoever reads with the fast path
    from app.ingest.fasthours import HourFold

#: PostgreSQL's memory for each sort or hash of the merge and refresh (``SET LOCAL``: this transaction only).
WORK_MEM = "64MB"


def merge(conn: Connection, kind: Kind, source_id: int, run_id: int, fold: HourFold | None = None) -> MergeCounts:
    """Move staged rows into the record table and mark the hours to refresh. Counts follow file order:
    a row repeated within the delivery counts as unchanged or updated against its previous occurrence, except
    that a key whose last occurrence is what is already stored changes nothing, so all its rows are unchanged
    (re-ingesting a delivery that corrects itself counts no updates).

    Stored records are found once, by key lookups (``match_stored``); new rows are then inserted in one plain pass and
    corrections updated apart by id, and what calls change in their hours is grouped from the staged rows less the
    rows they replace (app.db.aggregates.add_call_changes), so the common delivery of new rows writes ``calls`` once
    and the refresh does not read it back (issue 15). ``fold`` holds those changes already grouped while the plain
    rows were staged (app.ingest.fasthours): taken when it saw every staged row and every one is new.
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
    if conn.dialect.name == "postgresql":
        # Grouping a delivery's rows by key and by hour spilled to disk at the default 4 MB (issue 15). For this
        # transaction only: the refresh that follows groups the same rows again.
        conn.exec_driver_sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
    m = match_stored(conn, kind, source_id)
    distinct_keys = conn.execute(
        select(func.count()).select_from(select(*key_cols).distinct().subquery())
    ).scalar_one()
    matched, changed = count_matches(conn)
    if distinct_keys == staged:
        counts.stored, counts.updated, counts.unchanged = staged - matched, changed, matched - changed
    else:
        count_with_repeats(conn, kind, m, counts)
        # Only each key's last occurrence is written; its match is the only one that says what changes.
        conn.execute(delete(s).where(s.c.seq.not_in(select(func.max(s.c.seq)).group_by(*key_cols))))
        conn.execute(delete(m).where(m.c.seq.not_in(select(s.c.seq))))
        matched, changed = count_matches(conn)

    # What this delivery writes: staged rows with no stored record, and those that change theirs.
    written = ~exists().where(m.c.seq == s.c.seq, m.c.changed.is_(False))
    definitions = stored_definitions(conn) if kind is CALLS else None
    lost = select(m.c.region, m.c.hour_start, literal(1, Integer).label("r")).where(m.c.changed.is_(True))
    if definitions is not None:
        if fold is not None and fold.rows == staged and not refused.rows and distinct_keys == staged \
                and matched == 0 and fold.definitions == definitions:
            fold.move_into_changes(conn, s)
        else:
            add_call_changes(conn, select(s).where(written).subquery(), definitions)
        if changed:
            t = kind.target
            replaced = select(t).join(m, t.c.id == m.c.id).where(m.c.changed.is_(True)).subquery()
            with lookups_by_index(conn):
                add_call_changes(conn, replaced, definitions, taken_out=True)
        touch_hours(conn, select(hour_changes.c.region, hour_changes.c.hour_start, literal(0, Integer).label("r")),
                    rebuilds=False)
    else:
        touch_hours(conn, select(s.c.region, s.c.hour_start, literal(1, Integer).label("r")).where(written),
               lost if changed else None)
    if kind is INTERVALS:
        supersede(conn, s, source_id)
    insert_new(conn, kind, source_id, run_id)
    if changed:
        update_changed(conn, kind, run_id)
    stage_match.drop(conn)
    return counts


__all__ = [
    "CALLS",
    "INTERVALS",
    "WORK_MEM",
    "Kind",
    "MergeCounts",
    "StageWriter",
    "merge",
    "stage_calls",
    "stage_intervals",
    "stage_match",
    "stage_row",
]
