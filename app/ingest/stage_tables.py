"""The staging tables and their bulk writer: parsed records go to a temporary table in bulk, for the merge
(app.ingest.staging) to move into the record tables with one upsert.

PostgreSQL gets the records by ``COPY``; SQLite by ``executemany`` (in-process, already fast). What differs between
calls and intervals (their tables, natural key, content) is a ``Kind``, which the merge reads too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Float, Integer, MetaData, String, Table

from app.db.models import Call, IntervalRow, table_of
from app.db.types import UTCDateTime, to_sqlite_text
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
    Column("agents_staffed", Float),
    Column("hour_start", UTCDateTime),
    Column("interval_end", UTCDateTime),
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
             "wait_abandoned_ms", "longest_wait_ms", "talk_seconds_sum", "wrap_seconds_sum", "agents_staffed"),
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
        record.talk_seconds_sum, record.wrap_seconds_sum, record.agents_staffed,
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


__all__ = ["CALLS", "INTERVALS", "Kind", "StageWriter", "stage_calls", "stage_intervals", "stage_row"]
