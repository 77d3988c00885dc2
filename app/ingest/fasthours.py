"""What the fast path's plain rows bring to their hours, grouped with pyarrow while they are staged (issue 15).

The merge groups a delivery's calls by hour into ``hour_changes`` with one SQL pass over ``stage_calls`` (on SQLite
the largest statement of a million-row ingest). When every staged row came from a plain block and the merge finds
each of them new (no stored record, no repeated key, none refused), that pass groups exactly the rows this fold has
seen, so the merge takes the fold's groups instead (``move_into_changes``).

Equal by construction, or not taken:

- The contributions are those of ``app.db.contributions.call_contributions``, column by column, with SQL's treatment
  of NULL (tests/ingest/test_fast_hours.py holds the two equal on generated deliveries).
- Sums of integers are exact in any order. A float sum (``talk_sum``, ``wrap_sum``) is exact only in the order SQL
  adds (file order): pyarrow adds a fold's rows in that order, so an hour met in one fold only is taken from it, and
  an hour met in several folds is grouped again by the merge's own SQL from its staged rows. Each block's last hour
  is held back and folded with the next block, after the held rows (``HourGroups.add``), so a delivery in time order
  has an hour met in several folds only past ``HELD_ROWS`` rows of one hour.
- Both databases: SQLite gets the groups by ``executemany`` in its text of timestamps, PostgreSQL by a CSV ``COPY``
  of the groups of several blocks at a time, through the stage writer's ``CopyStream`` (app.ingest.faststage), so
  that the COPY of plain rows into ``stage_calls`` stays open between them. On PostgreSQL the merge's SQL grouping of
  200 k staged rows into ``hour_changes`` and ``answered_by_changes`` cost 1.2 s of server time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import BigInteger, Column, Connection, MetaData, Table, exists, func, insert, literal, null, select

from app.db.contributions import BUCKET_COLUMNS, MAX_COLUMNS, SUMMED_COLUMNS
from app.db.hour_deltas import add_call_changes
from app.db.touched import answered_by_changes, create_changes_tables, hour_changes
from app.ingest.faststage import CopyStream, sqlite_text
from app.kpi.counts import Definitions
from app.kpi.histogram import WAIT_BUCKET_EDGES

_meta = MetaData()
#: Columns the fold sums (the others of ``SUMMED_COLUMNS`` are 0 for every call).
_SUMS = ("answered", "abandoned", "short_abandons", "rejected", "answered_within_sl", "wait_answered_ms",
         "wait_abandoned_ms", "talk_sum", "wrap_sum", *BUCKET_COLUMNS)
_ZERO = [name for name in SUMMED_COLUMNS if name not in _SUMS and name not in ("call_wait_answered_ms",
                                                                                 "call_records")]
_KEYS = ("region", "hour_start")
#: The ``hour_changes`` columns the fold computes, in the order it writes them.
_HOUR_NAMES = (*_KEYS, *_SUMS, "call_wait_answered_ms", "call_records", *MAX_COLUMNS)
#: The groups of each block, as ``hour_changes`` rows without the columns that are 0 or NULL for every call (an hour
#: met in several blocks has a row per block).
fold_hours = Table("fold_hours", _meta, *[Column(name, hour_changes.c[name].type) for name in _HOUR_NAMES],
                   prefixes=["TEMPORARY"])
fold_answers = Table("fold_answers", _meta, *[Column(c.name, c.type) for c in answered_by_changes.columns],
                     prefixes=["TEMPORARY"])
#: The hours met in more than one block: their float sums are added in file order by SQL instead.
fold_split = Table("fold_split", _meta, Column("region", hour_changes.c.region.type, primary_key=True),
                   Column("hour_start", hour_changes.c.hour_start.type, primary_key=True), prefixes=["TEMPORARY"])

_FALSE, _ZERO_F, _ZERO_I = pa.scalar(False), pa.scalar(0.0), pa.scalar(0, pa.int64())
_ONE_I = pa.scalar(1, pa.int64())
#: Grouped rows turned into Python objects at a time (a block of ~16 000 calls has up to that many hours).
_ROWS = 4096
#: Grouped rows kept before they are sent to PostgreSQL (a few MB): the stage COPY is interrupted once per so many.
SEND_ROWS = 1 << 15
#: Rows of a block's last hour held back for the next block at most (``HourGroups.add``): a few MB of Arrow memory.
HELD_ROWS = 1 << 16
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


#: One fold's groups: (``fold_hours`` rows, (region, answered_by_region, hour_start, count) pairs).
Groups = tuple[pa.Table, pa.Table]


class HourGroups:
    """Groups plain blocks by hour, in memory only: no database, so the reader thread can do it ahead of the writer
    (app.ingest.prefetch). ``HourFold`` writes what it gives."""

    def __init__(self, definitions: Definitions) -> None:
        self.definitions = definitions
        self.rows = 0  # plain rows folded: the merge takes the fold only if they are all the staged rows
        self._held: pa.Table | None = None  # the last hour's rows of the blocks so far (``add``)

    def add(self, table: pa.Table) -> list[Groups]:
        """The groups of one plain block (``stage_calls`` columns, app.ingest.fastplain.STAGE_COLUMNS) that are ready.

        The rows of the block's last hour are held back and folded with the next block's, after them: a delivery in
        time order continues that hour there, and an hour folded whole needs no grouping again by SQL (that took
        0.3 s of a 200 k-row ingest on PostgreSQL). Held rows are at most ``HELD_ROWS``; past that they are folded,
        and an hour that goes on after them is one the merge groups again, as any hour met in several folds."""
        if table.num_rows == 0:
            return []
        self.rows += table.num_rows
        if self._held is not None:
            table = pa.concat_tables([self._held, table])
            self._held = None
        hours = table.column("hour_start")
        last = pc.equal(hours, pc.max(hours))
        held = table.filter(last)
        if held.num_rows <= HELD_ROWS:
            self._held, table = held, table.filter(pc.invert(last))
        return self._group(table)

    def flush(self) -> list[Groups]:
        """The groups of the rows held back."""
        held, self._held = self._held, None
        return self._group(held) if held is not None else []

    def _group(self, table: pa.Table) -> list[Groups]:
        if table.num_rows == 0:
            return []
        parts = contributions(table, self.definitions)
        grouped = parts.group_by(list(_KEYS), use_threads=False).aggregate(
            [(name, "sum") for name in _SUMS] + [([], "count_all")]
            + [("longest_wait_ms", "max"), ("latest_record_at", "max")])
        hours = pa.table(dict(zip(_HOUR_NAMES, _hour_columns(grouped), strict=True)))
        answered = table.filter(pc.and_(pc.equal(table.column("outcome"), _ANSWERED),
                                        pc.is_valid(table.column("answered_by_region"))))
        pairs = answered.group_by(["region", "answered_by_region", "hour_start"], use_threads=False).aggregate(
            [([], "count_all")])
        return [(hours, pairs.select(["region", "answered_by_region", "hour_start", "count_all"]))]


def _hour_columns(grouped: pa.Table) -> Iterator[pa.ChunkedArray]:
    """The ``fold_hours`` columns of grouped rows, in ``_HOUR_NAMES`` order."""
    for name in _HOUR_NAMES:
        if name in _KEYS:
            yield grouped.column(name)
        elif name == "call_wait_answered_ms":
            yield grouped.column("wait_answered_ms_sum")
        elif name == "call_records":
            yield grouped.column("count_all")
        elif name in MAX_COLUMNS:
            yield grouped.column(f"{name}_max")
        else:
            yield grouped.column(f"{name}_sum")


class HourFold:
    """Writes the groups of plain blocks (``HourGroups``) as they are staged, inside the ingest's transaction."""

    def __init__(self, conn: Connection, definitions: Definitions, stream: CopyStream | None = None) -> None:
        """``stream``: PostgreSQL's, shared with the stage writer (the caller closes it before other statements)."""
        self.conn = conn
        self.definitions = definitions
        self.groups = HourGroups(definitions)
        self.is_postgres = conn.dialect.name == "postgresql"
        assert stream is not None or not self.is_postgres
        self._stream = stream
        self._unsent: list[Groups] = []  # PostgreSQL: groups not sent yet
        self._unsent_rows = 0
        for table in (fold_hours, fold_answers, fold_split):
            table.drop(conn, checkfirst=True)
            table.create(conn)
        answer_names = "region, answered_by_region, hour_start, answered"
        if self.is_postgres:
            self._hour_sql = f"COPY {fold_hours.name} ({', '.join(_HOUR_NAMES)}) FROM STDIN (FORMAT csv)"
            self._answer_sql = f"COPY {fold_answers.name} ({answer_names}) FROM STDIN (FORMAT csv)"
        else:
            self._hour_sql = (f"INSERT INTO {fold_hours.name} ({', '.join(_HOUR_NAMES)}) VALUES "
                              f"({', '.join(['?'] * len(_HOUR_NAMES))})")
            self._answer_sql = f"INSERT INTO {fold_answers.name} ({answer_names}) VALUES (?, ?, ?, ?)"

    @property
    def rows(self) -> int:
        return self.groups.rows

    def _flush(self) -> None:
        self.write(self.groups.flush())

    def write(self, groups: list[Groups]) -> None:
        for hours, pairs in groups:
            self._write(hours, pairs)

    def _write(self, hours: pa.Table, pairs: pa.Table) -> None:
        if self.is_postgres:
            self._unsent.append((hours, pairs))
            self._unsent_rows += hours.num_rows + pairs.num_rows
            if self._unsent_rows >= SEND_ROWS:
                self._send()
            return
        dbapi: Any = self.conn.connection.dbapi_connection
        cursor = dbapi.cursor()
        try:
            for start in range(0, hours.num_rows, _ROWS):  # Python objects for a slice at a time
                part = hours.slice(start, _ROWS)
                cursor.executemany(self._hour_sql, zip(*[
                    (sqlite_text(column) if pa.types.is_timestamp(column.type) else column).to_pylist()
                    for column in part.columns], strict=True))
            for start in range(0, pairs.num_rows, _ROWS):
                part = pairs.slice(start, _ROWS)
                cursor.executemany(self._answer_sql, zip(
                    part.column("region").to_pylist(), part.column("answered_by_region").to_pylist(),
                    sqlite_text(part.column("hour_start")).to_pylist(), part.column("count_all").to_pylist(),
                    strict=True))
        finally:
            cursor.close()

    def _send(self) -> None:
        """The groups not sent yet, by one COPY into each fold table (PostgreSQL)."""
        assert self._stream is not None
        if self._unsent:
            self._stream.write_csv(self._hour_sql, pa.concat_tables([hours for hours, _ in self._unsent]))
            pairs = pa.concat_tables([pairs for _, pairs in self._unsent])
            if pairs.num_rows:
                self._stream.write_csv(self._answer_sql, pairs)
        self._unsent, self._unsent_rows = [], 0

    def move_into_changes(self, conn: Connection, stage: Table) -> None:
        """Put the fold's groups into ``hour_changes`` and ``answered_by_changes``, as ``add_call_changes`` over every
        staged row would: an hour met in one block as the fold grouped it, one met in several grouped again from its
        staged rows by ``add_call_changes`` itself."""
        self._flush()
        if self._stream is not None:
            self._send()
            self._stream.close()
        create_changes_tables(conn)
        f, a, split = fold_hours.c, fold_answers.c, fold_split.c
        conn.execute(insert(fold_split).from_select(
            list(_KEYS), select(f.region, f.hour_start).group_by(f.region, f.hour_start).having(func.count() > 1)))
        if self.is_postgres:  # how many split hours: a few are looked up by key, many are better hashed
            conn.exec_driver_sql(f"ANALYZE {fold_split.name}")
        names = [c.name for c in hour_changes.columns]
        values = [f[n] if n in f else literal(0, BigInteger) if n in _ZERO else null() for n in names]
        alone = ~exists().where(split.region == f.region, split.hour_start == f.hour_start)
        conn.execute(insert(hour_changes).from_select(names, select(*values).where(alone)))
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


__all__ = ["HELD_ROWS", "SEND_ROWS", "Groups", "HourFold", "HourGroups", "contributions", "fold_answers", "fold_hours",
           "fold_split"]
