"""Issue 15, PostgreSQL: the plain rows' COPY stays open from one block to the next (app.ingest.faststage.CopyStream),
and the fold's groups are sent between blocks through it. While it is open psycopg holds the connection's lock, so
every other statement of the ingest (rejected rows, the reference rows' staging, the merge) has to come after it is
closed, and a delivery that fails while it is open has to end it, or the caller's rollback waits for ever. Deliveries
that need those statements between plain blocks come out as the reference parser stores them, on both databases (on
SQLite there is no COPY, and the same must hold)."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import create_engine, text

from app.config import Settings
from app.ingest import fastcsv
from app.ingest.loader import TooManyRows
from app.ingest.service import ingest_bytes
from app.kpi.localtime import STOCKHOLM
from tests.ingest.test_fast_path import HEADER, _ingest, _state
from tests.ingest.test_fast_path import reference as reference  # a fixture, used by name

BASE = datetime(2025, 10, 1, 6, tzinfo=UTC)
T = TypeVar("T")


def _plain(prefix: str, count: int, start: int = 0) -> list[str]:
    lines = []
    for i in range(start, start + count):
        arrived = BASE + timedelta(minutes=7 * i)
        lines.append(f"{prefix}{i},SE-AB,vpt,{arrived.astimezone(STOCKHOLM).isoformat()},answered,"
                     f"{(arrived + timedelta(seconds=41)).isoformat()},{(arrived + timedelta(seconds=500)).isoformat()}"
                     f",SE-O,300.5,20")
    return lines


def _within_a_minute(settings: Settings, work: Callable[[], T]) -> T:
    """``work()``, in a thread: a statement waiting for the connection's lock fails the test instead of hanging it
    (and the stuck session is ended, so that the database can be dropped after)."""
    done: list[T] = []
    worker = threading.Thread(target=lambda: done.append(work()), daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive() and settings.database_url.startswith("postgresql"):
        engine = create_engine(settings.database_url)
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        engine.dispose()
        worker.join(10)
        pytest.fail("a statement waits for a COPY left open")
    assert done, "the ingest raised (see the thread's traceback above)"
    return done[0]


def _mixed() -> bytes:
    """Plain blocks, then 1 001 rejected rows (a batch of rejected rows is written at 1 000), 1 000 rows of naive local
    times that the reference parser reads and stages (a batch at ``ingest_batch_rows`` 1 000), then plain blocks."""
    rejected = [f"bad{i},SE-AB,vpt,not a time,answered,,,,," for i in range(1001)]
    naive = [f"n{i},SE-O,vpt,{(datetime(2025, 11, 3, 8) + timedelta(minutes=i)).isoformat()},rejected,,,,,"
             for i in range(1000)]
    return ("\n".join([HEADER, *_plain("p", 150), *rejected, *naive, *_plain("q", 150, 150)]) + "\n").encode()


def test_statements_between_plain_blocks_wait_for_the_copy(session_factory, settings, reference,
                                                           monkeypatch) -> None:
    monkeypatch.setattr(fastcsv, "BLOCK_BYTES", 4096)  # ~25 rows a block
    content = _mixed()
    fast_settings = settings.model_copy(update={"ingest_batch_rows": 1000})
    reference_factory, reference_settings = reference
    reference_settings = reference_settings.model_copy(update={"ingest_batch_rows": 1000})
    fast = _within_a_minute(settings, lambda: _ingest(session_factory, fast_settings, content, "mixed"))
    assert fast == _ingest(reference_factory, reference_settings, content, "mixed")
    assert fast[2] == 1300 and fast[5] == 1001  # stored, rejected
    assert _state(session_factory) == _state(reference_factory)


def test_a_delivery_refused_while_its_copy_is_open_leaves_the_connection_usable(session_factory, settings,
                                                                                monkeypatch) -> None:
    monkeypatch.setattr(fastcsv, "BLOCK_BYTES", 4096)
    content = ("\n".join([HEADER, *_plain("p", 600)]) + "\n").encode()

    def refused() -> object:  # a COPY left open would make the rollback wait for ever
        try:
            return ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(content), fmt="csv",
                                origin="big.csv", source_name="open", max_rows=300)
        except TooManyRows as exc:
            return exc

    assert isinstance(_within_a_minute(settings, refused), TooManyRows)
    report = ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(content), fmt="csv",
                          origin="big.csv", source_name="open")
    assert (report.rows_stored, report.rows_unchanged) == (600, 0)  # nothing of the refused one was kept


def test_a_statement_nobody_foresaw_ends_the_open_copy_first(session_factory, settings) -> None:
    """The safety net under the loader's own closes: any statement through SQLAlchemy on the connection ends an open
    COPY before it runs, and what was sent is staged; without it the statement would wait for ever."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("only PostgreSQL keeps a COPY open")
    import pyarrow as pa

    from app.ingest.fastplain import STAGE_COLUMNS, UTC_US
    from app.ingest.faststage import PlainStageWriter
    from app.ingest.staging import CALLS, StageWriter

    def work() -> int:
        with session_factory() as session:
            conn = session.connection()
            StageWriter(conn, CALLS)  # creates stage_calls
            writer = PlainStageWriter(conn)
            hour = datetime(2025, 10, 1, 6, tzinfo=UTC)
            columns = {name: pa.array([None], pa.string()) for name in STAGE_COLUMNS}
            columns.update(seq=pa.array([1], pa.int64()), call_id=pa.array(["x1"]), region=pa.array(["SE-AB"]),
                           outcome=pa.array(["rejected"]), arrived_at=pa.array([hour], UTC_US),
                           answered_at=pa.array([None], UTC_US), ended_at=pa.array([None], UTC_US),
                           hour_start=pa.array([hour], UTC_US), talk_seconds=pa.array([None], pa.float64()),
                           wrap_seconds=pa.array([None], pa.float64()), wait_ms=pa.array([None], pa.int64()))
            writer.write(pa.table(columns))
            assert writer.stream is not None and writer.stream._copy is not None  # open
            staged = session.execute(text("SELECT count(*) FROM stage_calls")).scalar_one()
            writer.detach()
            session.rollback()
            return int(staged)

    assert _within_a_minute(settings, work) == 1
