"""What the fast path's plain rows bring to their hours, grouped with pyarrow while they are staged (issue 15).

The merge groups a delivery's calls by hour into ``hour_changes`` with one SQL pass over ``stage_calls`` (on SQLite
the largest statement of a million-row ingest). When every staged row came from a plain block and the merge finds
each of them new (no stored record, no repeated key, none refused), that pass groups exactly the rows this fold has
seen, so the merge takes the fold's groups instead (``move_into_changes``).

Equal by construction, or not taken:

- The contributions are those of ``app.db.contributions.call_contributions``, column by column, with SQL's treatment
  of NULL (tests/ingest/test_fast_hours.py holds the two equal on generated deliveries).
- Sums of integers are exact in any order. A float sum (``talk_sum``, ``wrap_sum``) is exact only in the order SQL
  adds (file order): pyarrow adds a block's rows in that order, so an hour met in one block only is taken from the
  fold, and an hour met in several blocks is grouped again by the merge's own SQL from its staged rows.
- SQLite only: the groups are written with ``executemany`` in SQLite's text of timestamps; PostgreSQL's grouping of
  the staged rows is not where its ingest spends its time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Column, Connection, MetaData, Table, exists, func, insert, select

from app.db.contributions import BUCKET_COLUMNS, MAX_COLUMNS, SUMMED_COLUMNS
from app.db.hour_deltas import add_call_changes
from app.db.touched import answered_by_changes, create_changes_tables, hour_changes
from app.ingest.faststage import sqlite_text
from app.kpi.counts import Definitions
from app.kpi.histogram import WAIT_BUCKET_EDGES

_meta = MetaData()
#: The groups of each block, as ``hour_changes`` rows (an hour met in several blocks has a row per block).
fold_hours = Table("fold_hours", _meta, *[Column(c.name, c.type) for c in hour_changes.columns],
                   prefixes=["TEMPORARY"])
fold_answers = Table("fold_answers", _meta, *[Column(c.name, c.type) for c in answered_by_changes.columns],
                     prefixes=["TEMPORARY"])
#: The hours met in more than one block: their float sums are added in file order by SQL instead.
fold_split = Table("fold_split", _meta, Column("region", hour_changes.c.region.type, primary_key=True),
                   Column("hour_start", hour_changes.c.hour_start.type, primary_key=True), prefixes=["TEMPORARY"])

#: Columns the fold sums (the others of ``SUMMED_COLUMNS`` are 0 for every call).
_SUMS = ("answered", "abandoned", "short_abandons", "rejected", "answered_within_sl", "wait_answered_ms",
         "wait_abandoned_ms", "talk_sum", "wrap_sum", *BUCKET_COLUMNS)
_ZERO = [name for name in SUMMED_COLUMNS if name not in _SUMS and name not in ("call_wait_answered_ms",
                                                                                 "call_records")]
_KEYS = ("region", "hour_start")
_FALSE, _ZERO_F, _ZERO_I = pa.scalar(False), pa.scalar(0.0), pa.scalar(0, pa.int64())
_ONE_I = pa.scalar(1, pa.int64())
#: Grouped rows turned into Python objects at a time (a block of ~16 000 calls has up to that many hours).
_ROWS = 4096
_ANSWERED, _ABANDONED, _REJECTED = pa.scalar("answered"), pa.scalar("abandoned"), pa.scalar("rejected")


def _flag(condition: pa.Array) -> pa.Array:
    """1 where true, 0 where false or NULL: SQL's ``CASE WHEN condition THEN 1 ELSE 0``."""
    return pc.if_else(pc.fill_null(condition, _FALSE), _ONE_I, _ZERO_I)


def _when(condition: pa.Array, value: pa.Array, otherwise: pa.Scalar) -> pa.Array:
    """SQL's ``CASE WHEN condition THEN value ELSE otherwise`` (a NULL condition takes ``otherwise``)."""
    return pc.if_else(pc.fill_null(condition, _FALSE), value, otherwise)


def contributions(table: pa.Table, definitions: Definitions) -> pa.Table:
    """Each staged row's contribution to its hour, as ``call_contributions`` computes it (the summed columns that are
    not always 0, and the two maxima)."""
    outcome, wait = table.column("outcome"), table.column("wait_ms")
    short_ms, sl_ms = pa.scalar(definitions.short_abandon_seconds * 1000), pa.scalar(definitions.sl_seconds * 1000)
    answered = pc.equal(outcome, _ANSWERED)
    is_abandoned = pc.equal(outcome, _ABANDONED)
    abandoned = pc.and_(is_abandoned, pc.greater_equal(wait, short_ms))
    columns: dict[str, Any] = {
        "region": table.column("region"), "hour_start": table.column("hour_start"),
        "answered": _flag(answered), "abandoned": _flag(abandoned),
        "short_abandons": _flag(pc.and_(is_abandoned, pc.less(wait, short_ms))),
        "rejected": _flag(pc.equal(outcome, _REJECTED)),
        "answered_within_sl": _flag(pc.and_(answered, pc.less_equal(wait, sl_ms))),
        "wait_answered_ms": _when(answered, wait, _ZERO_I),
        "wait_abandoned_ms": _when(abandoned, wait, _ZERO_I),
        "talk_sum": _when(answered, pc.fill_null(table.column("talk_seconds"), _ZERO_F), _ZERO_F),
        "wrap_sum": _when(answered, pc.fill_null(table.column("wrap_seconds"), _ZERO_F), _ZERO_F),
    }
    lower: float | None = None
    for name, edge in zip(BUCKET_COLUMNS, WAIT_BUCKET_EDGES, strict=True):
        condition = answered
        if lower is not None:
            condition = pc.and_(condition, pc.greater(wait, pa.scalar(int(lower) * 1000)))
        if edge != float("inf"):
            condition = pc.and_(condition, pc.less_equal(wait, pa.scalar(int(edge) * 1000)))
        columns[name] = _flag(condition)
        lower = edge
    columns["longest_wait_ms"] = _when(answered, wait, pa.scalar(None, pa.int64()))
    columns["latest_record_at"] = table.column("arrived_at")
    return pa.table(columns)


class HourFold:
    """Groups plain blocks by hour as they are staged, inside the ingest's transaction (SQLite)."""

    def __init__(self, conn: Connection, definitions: Definitions) -> None:
        self.conn = conn
        self.definitions = definitions
        self.rows = 0  # plain rows folded: the merge takes the fold only if they are all the staged rows
        for table in (fold_hours, fold_answers, fold_split):
            table.drop(conn, checkfirst=True)
            table.create(conn)
        hour_names = [*_KEYS, *_SUMS, "call_wait_answered_ms", "call_records", *MAX_COLUMNS]
        self._hour_names = hour_names
        self._hour_sql = (f"INSERT INTO {fold_hours.name} ({', '.join([*hour_names, *_ZERO])}) VALUES "
                          f"({', '.join(['?'] * len(hour_names) + ['0'] * len(_ZERO))})")
        self._answer_sql = (f"INSERT INTO {fold_answers.name} (region, answered_by_region, hour_start, answered) "
                            "VALUES (?, ?, ?, ?)")

    def add(self, table: pa.Table) -> None:
        """Fold one plain block (``stage_calls`` columns, app.ingest.fastplain.STAGE_COLUMNS)."""
        if table.num_rows == 0:
            return
        self.rows += table.num_rows
        parts = contributions(table, self.definitions)
        grouped = parts.group_by(list(_KEYS), use_threads=False).aggregate(
            [(name, "sum") for name in _SUMS] + [([], "count_all")]
            + [("longest_wait_ms", "max"), ("latest_record_at", "max")])
        answered = table.filter(pc.and_(pc.equal(table.column("outcome"), _ANSWERED),
                                        pc.is_valid(table.column("answered_by_region"))))
        pairs = answered.group_by(["region", "answered_by_region", "hour_start"], use_threads=False).aggregate(
            [([], "count_all")])
        dbapi: Any = self.conn.connection.dbapi_connection
        cursor = dbapi.cursor()
        try:
            for start in range(0, grouped.num_rows, _ROWS):  # Python objects for a slice at a time
                cursor.executemany(self._hour_sql, self._hour_rows(grouped.slice(start, _ROWS)))
            for start in range(0, pairs.num_rows, _ROWS):
                part = pairs.slice(start, _ROWS)
                cursor.executemany(self._answer_sql, zip(
                    part.column("region").to_pylist(), part.column("answered_by_region").to_pylist(),
                    sqlite_text(part.column("hour_start")).to_pylist(), part.column("count_all").to_pylist(),
                    strict=True))
        finally:
            cursor.close()

    def _hour_rows(self, grouped: pa.Table) -> Iterator[tuple[Any, ...]]:
        """The ``fold_hours`` parameters of grouped rows, in ``_hour_names`` order."""
        columns: list[list[Any]] = []
        for name in self._hour_names:
            if name == "hour_start":
                columns.append(sqlite_text(grouped.column(name)).to_pylist())
            elif name == "region":
                columns.append(grouped.column(name).to_pylist())
            elif name == "call_wait_answered_ms":
                columns.append(columns[self._hour_names.index("wait_answered_ms")])
            elif name == "call_records":
                columns.append(grouped.column("count_all").to_pylist())
            elif name == "latest_record_at":
                columns.append(sqlite_text(grouped.column("latest_record_at_max")).to_pylist())
            elif name == "longest_wait_ms":
                columns.append(grouped.column("longest_wait_ms_max").to_pylist())
            else:
                columns.append(grouped.column(f"{name}_sum").to_pylist())
        return zip(*columns, strict=True)

    def move_into_changes(self, conn: Connection, stage: Table) -> None:
        """Put the fold's groups into ``hour_changes`` and ``answered_by_changes``, as ``add_call_changes`` over every
        staged row would: an hour met in one block as the fold grouped it, one met in several grouped again from its
        staged rows by ``add_call_changes`` itself."""
        create_changes_tables(conn)
        f, a, split = fold_hours.c, fold_answers.c, fold_split.c
        conn.execute(insert(fold_split).from_select(
            list(_KEYS), select(f.region, f.hour_start).group_by(f.region, f.hour_start).having(func.count() > 1)))
        names = [c.name for c in hour_changes.columns]
        alone = ~exists().where(split.region == f.region, split.hour_start == f.hour_start)
        conn.execute(insert(hour_changes).from_select(names, select(*[f[n] for n in names]).where(alone)))
        conn.execute(insert(answered_by_changes).from_select(
            ["region", "answered_by_region", "hour_start", "answered"],
            select(a.region, a.answered_by_region, a.hour_start, a.answered).where(
                ~exists().where(split.region == a.region, split.hour_start == a.hour_start))))
        if conn.execute(select(split.region).limit(1)).first() is not None:
            s = stage.c
            rows = select(stage).where(exists().where(split.region == s.region, split.hour_start == s.hour_start))
            add_call_changes(conn, rows.subquery(), self.definitions)

    def drop(self) -> None:
        for table in (fold_hours, fold_answers, fold_split):
            table.drop(self.conn, checkfirst=True)


__all__ = ["HourFold", "contributions", "fold_answers", "fold_hours", "fold_split"]
