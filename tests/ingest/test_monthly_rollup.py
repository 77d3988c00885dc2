"""The monthly roll-up always equals the sum of its local month's hourly rows: after ingest, after a
correction that moves a call into another month, after recompute, and when a migration builds it from
history already stored."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from alembic import command
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.aggregates import SUMMED_COLUMNS, aggregates, answered_by, monthly, monthly_answered_by
from app.db.migrate import alembic_config
from app.db.session import transaction
from app.ingest.service import ingest_bytes, recompute
from app.kpi.localtime import local_month_of
from app.sim.model import SimConfig, simulate
from app.sim.writers import write_calls_csv
from tests.helpers import ingest_text

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region\n"


def from_hours(conn: Connection) -> dict[tuple[str, date], dict[str, Any]]:
    out: dict[tuple[str, date], dict[str, Any]] = {}
    for row in conn.execute(select(aggregates)).mappings():
        key = (row["region"], local_month_of(row["hour_start"]))
        sums = out.setdefault(key, {name: 0 for name in SUMMED_COLUMNS} | {"hours_with_data": 0})
        for name in SUMMED_COLUMNS:
            sums[name] += row[name]
        sums["hours_with_data"] += 1
    return out


def from_months(conn: Connection) -> dict[tuple[str, date], dict[str, Any]]:
    return {(row["region"], row["month"]): {name: row[name] for name in [*SUMMED_COLUMNS, "hours_with_data"]}
            for row in conn.execute(select(monthly)).mappings()}


def assert_rolled_up(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        conn = session.connection()
        assert from_months(conn) == from_hours(conn)
        by_hour: dict[tuple[str, str, date], int] = {}
        for row in conn.execute(select(answered_by)).mappings():
            key = (row["region"], row["answered_by_region"], local_month_of(row["hour_start"]))
            by_hour[key] = by_hour.get(key, 0) + row["answered"]
        by_month = {(row["region"], row["answered_by_region"], row["month"]): row["answered"]
                    for row in conn.execute(select(monthly_answered_by)).mappings()}
        assert by_month == by_hour


def test_rollup_follows_ingest_corrections_and_recompute(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    calls = list(simulate(SimConfig(regions=("SE-Z", "SE-Y")), date(2025, 10, 25), date(2025, 11, 2)))
    text = io.StringIO()
    write_calls_csv(calls, text)
    ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(text.getvalue().encode()),
                 fmt="csv", origin="sim.csv", source_name="sim")
    assert_rolled_up(session_factory)
    with session_factory() as session:
        months = set(session.execute(select(monthly.c.month)).scalars())
        assert months == {date(2025, 10, 1), date(2025, 11, 1)}
        assert session.execute(select(func.count()).select_from(monthly_answered_by)).scalar_one() > 0

    # a call of 31 October corrected to 1 November (local): both months change
    moved = next(c for c in calls if c.arrived_at.date() == date(2025, 10, 31) and c.outcome == "answered")
    ingest_text(session_factory, settings, "calls", HEADER + (
        f"{moved.call_id},{moved.region},{moved.queue},2025-11-01T08:00:00+01:00,answered,"
        f"2025-11-01T08:01:00+01:00,,\n"), source="sim")
    assert_rolled_up(session_factory)
    with transaction(session_factory) as session:
        recompute(session, settings.definitions)
    assert_rolled_up(session_factory)


def test_the_migration_rolls_up_history_already_stored(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    calls = list(simulate(SimConfig(regions=("SE-Z",)), date(2025, 3, 29), date(2025, 4, 1)))
    text = io.StringIO()
    write_calls_csv(calls, text)
    ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(text.getvalue().encode()),
                 fmt="csv", origin="sim.csv", source_name="sim")
    with session_factory() as session:
        before = from_months(session.connection())
    config = alembic_config(settings.database_url)
    command.downgrade(config, "0005")
    command.upgrade(config, "head")
    with session_factory() as session:
        assert from_months(session.connection()) == before
    assert_rolled_up(session_factory)
