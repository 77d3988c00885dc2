"""Staffed positions (issue 17: "where the platform reports staffed positions, show the difference to plan"): the
optional interval field ``agents_staffed`` is parsed and stored like the other optional fields, is content (a
correction of it alone is an update) but no part of any KPI or aggregate, and the staffing advice shows each hour's
staffed positions beside the nurses needed. Storage tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app as cli_app
from app.config import Settings
from app.db.migrate import alembic_config
from app.db.models import IntervalRow
from app.ingest.parsers import Parsed, ParseOptions, parse_intervals
from app.kpi.records import INTERVAL_COLUMNS
from tests.auth import key_headers
from tests.helpers import ingest_text
from tests.test_migrations import empty_url  # noqa: F401  (the fixture: an empty database on each engine)
from tests.web.test_web_staffing import hand_count

HEADER = ",".join(INTERVAL_COLUMNS) + "\n"
OPTIONS = ParseOptions(frozenset({"SE-Z"}), now=datetime(2025, 10, 2, tzinfo=UTC))
AGGREGATE_TABLES = ("hourly_aggregates", "monthly_aggregates", "hourly_answered_by", "monthly_answered_by")


def interval(start: str, staffed: str, queue: str = "vpt", minutes: int = 30, answered: int = 5) -> str:
    return f"SE-Z,{queue},{start},{minutes},7,{answered},2,1,0,4,600,100,50,60,900,100,{staffed}"


def test_the_parser_reads_staffed_positions_and_leaves_a_bad_value_out_with_a_warning() -> None:
    rows = [interval("2025-10-01T08:00:00+02:00", "12.5"), interval("2025-10-01T08:30:00+02:00", ""),
            interval("2025-10-01T09:00:00+02:00", "lots"), interval("2025-10-01T09:30:00+02:00", "10001"),
            interval("2025-10-01T10:00:00+02:00", "10000")]
    results = list(parse_intervals(io.StringIO(HEADER + "\n".join(rows) + "\n", newline=""), "csv", OPTIONS))
    assert all(isinstance(r, Parsed) for r in results), results
    parsed = [r for r in results if isinstance(r, Parsed)]
    assert [p.record.agents_staffed for p in parsed] == [12.5, None, None, None, 10000.0]  # type: ignore[union-attr]
    assert [[(w.field, w.reason) for w in p.warnings] for p in parsed] == [
        [], [], [("agents_staffed", "not a number: 'lots' (digits 0-9 and a decimal point)")],
        [("agents_staffed", "more than 10000")], []]
    # the rest of a row with a bad staffed value is kept whole
    assert parsed[2].record.talk_seconds_sum == 900.0  # type: ignore[union-attr]


def _aggregates(factory: sessionmaker[Session]) -> dict[str, list[tuple[object, ...]]]:
    engine = factory.kw["bind"]
    with engine.connect() as conn:
        return {t: sorted(tuple(r) for r in conn.execute(text(f"SELECT * FROM {t}"))) for t in AGGREGATE_TABLES}


def test_a_correction_of_staffed_positions_alone_is_an_update_that_changes_no_aggregate(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    def deliver(staffed: str) -> object:
        body = HEADER + interval("2025-10-01T08:00:00+02:00", staffed) + "\n"
        return ingest_text(session_factory, settings, "intervals", body, source="platform")

    first = deliver("4")
    assert (first.rows_stored, first.rows_rejected, first.rows_warned) == (1, 0, 0)  # type: ignore[attr-defined]
    before = _aggregates(session_factory)
    assert before["hourly_aggregates"], "the interval reached the hourly aggregates"
    again = deliver("4")
    assert (again.rows_stored, again.rows_updated, again.rows_unchanged) == (0, 0, 1)  # type: ignore[attr-defined]
    corrected = deliver("6.5")
    assert (corrected.rows_stored, corrected.rows_updated, corrected.rows_unchanged) == (0, 1, 0)  # type: ignore[attr-defined]
    with session_factory() as session:
        assert session.scalars(select(IntervalRow.agents_staffed)).all() == [6.5]
    assert _aggregates(session_factory) == before
    cleared = deliver("")
    assert cleared.rows_updated == 1  # type: ignore[attr-defined]
    with session_factory() as session:
        assert session.scalars(select(IntervalRow.agents_staffed)).all() == [None]
    assert _aggregates(session_factory) == before


# --- the staffing advice -------------------------------------------------------------------------------------

#: Thursday 2025-03-20, noon local: queue a staffed 4 then 6 (half-hours), queue b 2 then 3 → 5 + 2.5 = 7.5.
#: 13:00 has an interval without staffed positions: nothing is shown for it. Offered 0, so no forecast moves.
STAFFED_NOON = 7.5
STAFFED_CSV = HEADER + "\n".join([
    "SE-Z,a,2025-03-20T12:00:00+01:00,30,0,0,0,0,0,0,600,,,,,,4",
    "SE-Z,a,2025-03-20T12:30:00+01:00,30,0,0,0,0,0,0,600,,,,,,6",
    "SE-Z,b,2025-03-20T12:00:00+01:00,30,0,0,0,0,0,0,600,,,,,,2",
    "SE-Z,b,2025-03-20T12:30:00+01:00,30,0,0,0,0,0,0,600,,,,,,3",
    "SE-Z,a,2025-03-20T13:00:00+01:00,60,0,0,0,0,0,0,600,,,,,,",
]) + "\n"


@pytest.fixture
def staffed(stored: sessionmaker[Session], settings: Settings) -> sessionmaker[Session]:
    report = ingest_text(stored, settings, "intervals", STAFFED_CSV, source="platform")
    assert (report.rows_stored, report.rows_rejected) == (5, 0), report
    return stored


def test_the_api_shows_the_hours_staffed_positions_and_the_difference_to_plan(
    staffed: sessionmaker[Session], settings: Settings
) -> None:
    nurses = hand_count()[0]
    with TestClient(create_app(settings)) as client:
        read = key_headers(settings, "read")
        body = client.get("/api/v1/regions/SE-Z/staffing", params={"date": "2025-03-20"}, headers=read).json()
        hours = {h["hour_start"][11:13]: h for h in body["hours"] if h["hour_start"].startswith("2025-03-20")}
        assert hours["12"]["target"]["nurses"] == nurses
        assert (hours["12"]["staffed"], hours["12"]["difference"]) == (STAFFED_NOON, round(STAFFED_NOON - nurses, 1))
        assert (hours["13"]["staffed"], hours["13"]["difference"]) == (None, None)
        assert (hours["11"]["staffed"], hours["11"]["difference"]) == (None, None)
        noon = next(h for h in body["regions"][0]["hours"] if h["hour_start"] == "2025-03-20T12:00:00+01:00")
        assert noon["staffed"] == STAFFED_NOON
        # a collaboration sums its members' staffed positions only where every member reports them
        collab = client.get("/api/v1/collaborations/norra/staffing", params={"date": "2025-03-20"}, headers=read)
        collab_noon = next(h for h in collab.json()["hours"] if h["hour_start"] == "2025-03-20T12:00:00+01:00")
        assert (collab_noon["staffed"], collab_noon["difference"]) == (None, None)
        se_z = next(r for r in collab.json()["regions"] if r["region"] == "SE-Z")
        assert next(h for h in se_z["hours"] if h["hour_start"].startswith("2025-03-20T12"))["staffed"] == STAFFED_NOON


def test_the_cli_shows_staffed_and_difference_columns_blank_when_unknown(
    staffed: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VPT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("COLUMNS", "160")
    nurses = hand_count()[0]
    result = CliRunner(env={"VPT_LANG": "en"}).invoke(cli_app, ["staffing", "SE-Z", "--date", "2025-03-20"])
    assert result.exit_code == 0, result.output
    assert "staffed" in result.output and "difference" in result.output
    rows = {line.split("│")[0].strip(): [cell.strip() for cell in line.split("│")]
            for line in result.output.splitlines() if line.strip().startswith("03-20")}
    assert rows["03-20 12"][-2:] == ["7.5", f"{STAFFED_NOON - nurses:+.1f}"]
    assert rows["03-20 13"][-2:] == ["", ""]  # an interval without staffed positions: blank, not 0
    as_json = CliRunner(env={"VPT_LANG": "en"}).invoke(cli_app, ["staffing", "SE-Z", "--date", "2025-03-20", "--json"])
    assert '"staffed": 7.5' in as_json.output


def test_the_migration_adds_and_drops_the_column(empty_url: str) -> None:  # noqa: F811
    config = alembic_config(empty_url)

    def columns() -> set[str]:
        engine = create_engine(empty_url)
        try:
            return {c["name"] for c in sa.inspect(engine).get_columns("interval_records")}
        finally:
            engine.dispose()

    command.upgrade(config, "0015")
    assert "agents_staffed" in columns()
    command.downgrade(config, "0014")
    assert "agents_staffed" not in columns() and "wrap_seconds_sum" in columns()
    command.upgrade(config, "head")
    assert "agents_staffed" in columns()

