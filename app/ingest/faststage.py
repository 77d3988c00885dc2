"""Writing the fast path's plain rows (app.ingest.fastcsv) into ``stage_calls``, the table app.ingest.staging
creates and merges: the same columns and values as ``staging.stage_row`` + ``StageWriter`` give, in bulk.

PostgreSQL: ``COPY ... (FORMAT csv)`` of the CSV pyarrow writes (timestamps as UTC with ``+00``, floats in their
shortest round-trip form, NULL unquoted and empty), one COPY kept open over consecutive blocks (``CopyStream``), so the
server stores block k while the client reads block k+1. SQLite: ``executemany`` of tuples, timestamps as the text
``app.db.types.to_sqlite_text`` writes (``YYYY-MM-DD HH:MM:SS.ffffff``), made by Arrow's cast to text.
"""

from __future__ import annotations

import io
import logging
from contextlib import ExitStack
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Connection, event

from app.ingest.fastplain import STAGE_COLUMNS

log = logging.getLogger(__name__)
_TABLE = "stage_calls"
_TIMES = ("arrived_at", "answered_at", "ended_at", "hour_start")
_UTC, _NOTHING = pa.scalar("+00"), pa.scalar("")
_SQLITE_ROWS = 8192


class CopyStream:
    """One ``COPY ... FROM STDIN (FORMAT csv)`` at a time on the ingest's connection, kept open from one write to the
    next of the same statement. Closing it waits for the server to have stored what was sent; a COPY per block made
    the client wait for each block's tail to be stored before reading the next (1.0 s of a 200 k-row ingest).

    While a COPY is open, psycopg holds the connection's lock: any other statement on it would wait for ever. Whoever
    runs one while a stream may be open calls ``close`` first (app.ingest.loader does, before its other statements).
    """

    def __init__(self, dbapi: Any) -> None:
        self._dbapi = dbapi
        self._sql: str | None = None
        self._copy: Any = None
        self._open = ExitStack()

    def write_csv(self, copy_sql: str, table: pa.Table) -> None:
        """``table`` as CSV into ``copy_sql`` (its columns, in order); UTC timestamps written with ``+00``."""
        # timestamps as text first: write_csv formats a zoned timestamp 30 times slower than this
        table = pa.table({name: pc.binary_join_element_wise(sqlite_text(column), _UTC, _NOTHING)
                          if pa.types.is_timestamp(column.type) else column
                          for name, column in zip(table.column_names, table.columns, strict=True)})
        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        if self._sql != copy_sql:
            self.close()
            cursor = self._open.enter_context(self._dbapi.cursor())
            self._copy = self._open.enter_context(cursor.copy(copy_sql))
            self._sql = copy_sql
        self._copy.write(buffer.getbuffer())

    def close(self) -> None:
        """End the open COPY, if any, once the server has stored it: the connection takes statements again."""
        self._sql, self._copy = None, None
        self._open.close()

    def abort(self, exc: BaseException) -> None:
        """End the open COPY, if any, as failed (the transaction is rolled back by whoever catches ``exc``)."""
        self._sql, self._copy = None, None
        try:  # psycopg ends the COPY with CopyFail and lets the connection's lock go, whatever the server says
            self._open.__exit__(type(exc), exc, exc.__traceback__)
        except Exception:  # the error of a COPY already failing: ``exc`` is what the caller raises
            log.debug("ingest.copy.abort_failed", exc_info=True)
        self._open = ExitStack()


class PlainStageWriter:
    """Appends plain blocks to ``stage_calls`` inside the ingest's transaction (the table exists already). On
    PostgreSQL through ``stream``, which the caller closes before any other statement."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.is_postgres = conn.dialect.name == "postgresql"
        self.stream = CopyStream(conn.connection.dbapi_connection) if self.is_postgres else None
        if self.stream is not None:
            # A safety net under the callers' own ``close``: a statement through SQLAlchemy that none of them
            # foresaw ends the open COPY first, rather than waiting for ever on the connection's lock.
            event.listen(conn, "before_cursor_execute", self._before_statement)
        names = ", ".join(STAGE_COLUMNS)
        self._copy_sql = f"COPY {_TABLE} ({names}) FROM STDIN (FORMAT csv)"
        self._insert_sql = f"INSERT INTO {_TABLE} ({names}) VALUES ({', '.join('?' * len(STAGE_COLUMNS))})"

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        table = table.select(list(STAGE_COLUMNS))
        if self.stream is not None:
            self.stream.write_csv(self._copy_sql, table)
            return
        dbapi: Any = self.conn.connection.dbapi_connection
        assert dbapi is not None
        cursor = dbapi.cursor()
        try:
            for start in range(0, table.num_rows, _SQLITE_ROWS):  # Python objects for a slice at a time
                part = table.slice(start, _SQLITE_ROWS)
                columns = [(sqlite_text(part.column(name)) if name in _TIMES else part.column(name)).to_pylist()
                           for name in STAGE_COLUMNS]
                cursor.executemany(self._insert_sql, zip(*columns, strict=True))
        finally:
            cursor.close()

    def close(self) -> None:
        """Before any other statement on the connection (see ``CopyStream``)."""
        if self.stream is not None:
            self.stream.close()

    def _before_statement(self, *_args: Any) -> None:
        self.close()

    def detach(self) -> None:
        """At the end of the ingest: the connection goes back to its pool without the listener."""
        if self.stream is not None and event.contains(self.conn, "before_cursor_execute", self._before_statement):
            event.remove(self.conn, "before_cursor_execute", self._before_statement)

    def abort(self, exc: BaseException) -> None:
        if self.stream is not None:
            self.stream.abort(exc)


def sqlite_text(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """"YYYY-MM-DD HH:MM:SS.ffffff" of each UTC instant, microseconds always written: the text of
    ``app.db.types.to_sqlite_text`` for the years 1000-9999, 80 times faster than pyarrow's strftime."""
    return pc.cast(pc.cast(column, pa.timestamp("us")), pa.string())
