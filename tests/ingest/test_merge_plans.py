"""Issue 15: an ingest into a database holding much history must not read all of it. The merge used to join the
staged rows with every stored call of the source (hash joins over ``calls``, three times per delivery), so its
time grew with the history (1.2 → 10.7 s with 5 M calls). Every statement that joins the staged rows with
``calls`` must now look stored calls up through an index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from app.db.session import make_engine, make_session_factory
from tests.helpers import ingest_text

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"
START = datetime(2024, 1, 1, tzinfo=UTC)


def _calls(prefix: str, n: int, start: datetime) -> str:
    lines = []
    for i in range(n):
        arrived = start + timedelta(minutes=i)
        lines.append(f"{prefix}{i},SE-AB,vpt,{arrived.isoformat()},abandoned,,"
                     f"{(arrived + timedelta(seconds=30)).isoformat()},,,\n")
    return HEADER + "".join(lines)


def test_the_merge_looks_stored_calls_up_by_index(settings, database_url) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite joins by nested loops over the unique index anyway; the plans are PostgreSQL's")
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    ingest_text(factory, settings, "calls", _calls("old-", 6_000, START))
    with engine.begin() as conn:
        conn.execute(text("ANALYZE calls"))

    plans: list[tuple[str, str]] = []

    def explain(_conn: Any, cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "stage_calls" in statement and " JOIN calls " in statement and not statement.startswith("EXPLAIN"):
            rows = cursor.connection.execute("EXPLAIN " + statement, parameters).fetchall()
            plans.append((statement, "\n".join(row[0] for row in rows)))

    event.listen(engine, "before_cursor_execute", explain)
    try:
        report = ingest_text(factory, settings, "calls", _calls("new-", 1_500, START + timedelta(days=30)))
    finally:
        event.remove(engine, "before_cursor_execute", explain)
        engine.dispose()
    assert report.rows_stored == 1_500
    assert plans, "no statement joined the staged rows with calls"
    for statement, plan in plans:
        assert "Seq Scan on calls" not in plan, f"{statement}\n{plan}"


def test_the_key_lookup_holds_where_calls_has_no_statistics_yet(settings, database_url) -> None:
    # A fresh database's second delivery: ``calls`` had rows but no statistics, so the planner took the source for a
    # few rows, read them all once (bitmap scan on source_id, materialised) and compared every staged row with each:
    # 20 000 staged × 20 000 stored took 60 s. Each staged row must be looked up by (source_id, call_id).
    if not database_url.startswith("postgresql"):
        pytest.skip("the plans are PostgreSQL's")
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    ingest_text(factory, settings, "calls", _calls("old-", 2_000, START))  # no ANALYZE after it
    plans: list[str] = []

    def explain(_conn: Any, cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.startswith("INSERT INTO stage_match"):
            rows = cursor.connection.execute("EXPLAIN " + statement, parameters).fetchall()
            plans.append("\n".join(row[0] for row in rows))

    event.listen(engine, "before_cursor_execute", explain)
    try:
        report = ingest_text(factory, settings, "calls", _calls("old-", 300, START))  # re-delivered: all matched
    finally:
        event.remove(engine, "before_cursor_execute", explain)
        engine.dispose()
    assert report.rows_unchanged == 300
    [plan] = plans
    lookup = [line for line in plan.splitlines() if "Index Cond" in line]
    assert any("call_id" in line and "source_id" in line for line in lookup), plan
    assert "Materialize" not in plan and "Bitmap Heap Scan on calls" not in plan and "JIT" not in plan, plan
