"""Asterisk queue_log stored for real: the same figures as the call records it was written from, and not
one caller number anywhere in the database."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.cli import app
from app.config import Settings
from app.db.models import Call
from app.ingest.service import ingest_bytes, queue_log_parser
from app.sim.model import SimConfig, simulate
from app.sim.writers import caller_number, write_calls_csv, write_queue_log, write_queue_map
from tests.helpers import figures

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
CONFIG = SimConfig(regions=("SE-Z", "SE-Y"))
FIRST, LAST = date(2025, 1, 30), date(2025, 2, 2)  # across a month boundary
# queue_log cannot say which region's nurse answered; everything else must agree exactly
SAME = ["offered", "answered", "abandoned", "rejected", "short_abandons", "answer_rate", "mean_wait",
        "mean_wait_all", "abandon_rate", "rejected_rate", "service_level", "wait_p50", "wait_p90", "longest_wait"]


def test_queue_log_gives_the_figures_of_the_calls_it_was_written_from(
    session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    calls = list(simulate(CONFIG, FIRST, LAST))
    log, queue_map, csv_text = io.StringIO(), tmp_path / "queue_map.csv", io.StringIO()
    write_queue_log(calls, log)
    with queue_map.open("w") as stream:
        write_queue_map(CONFIG.regions, stream)
    write_calls_csv(calls, csv_text)

    report = ingest_bytes(
        session_factory, settings, record_kind="calls", raw=io.BytesIO(log.getvalue().encode()), fmt="csv",
        origin="queue_log", source_name="asterisk", parser=queue_log_parser(queue_map),
    )
    assert (report.rows_read, report.rows_stored, report.rows_rejected) == (len(calls), len(calls), 0)
    from_log = figures(session_factory, settings, ["2025-01", "2025-02"])

    with session_factory.begin() as session:  # the same calls as canonical records, in place of the log
        session.execute(text("DELETE FROM calls"))
        session.execute(text("DELETE FROM hourly_aggregates"))
        session.execute(text("DELETE FROM hourly_answered_by"))
    ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(csv_text.getvalue().encode()),
                 fmt="csv", origin="calls.csv", source_name="canonical")
    from_csv = figures(session_factory, settings, ["2025-01", "2025-02"])
    assert set(from_log) == set(from_csv)
    for scope, kpis in from_csv.items():
        assert {k: from_log[scope][k] for k in SAME} == {k: kpis[k] for k in SAME}, scope


def test_no_caller_number_reaches_the_database(
    session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    calls = list(simulate(CONFIG, FIRST, FIRST))
    log = io.StringIO()
    write_queue_log(calls, log)
    lines = log.getvalue().splitlines()
    numbers = {caller_number(call.call_id) for call in calls}
    assert any(number in log.getvalue() for number in numbers)  # the log does carry them
    broken = [line.replace("|ENTERQUEUE|", "|ENTERQUEUE") for line in lines[:5]]  # malformed lines: rejected
    queue_map = tmp_path / "map.csv"
    with queue_map.open("w") as stream:
        write_queue_map(CONFIG.regions, stream)
    ingest_bytes(
        session_factory, settings, record_kind="calls", raw=io.BytesIO("\n".join(broken + lines).encode()),
        fmt="csv", origin="queue_log", source_name="asterisk", parser=queue_log_parser(queue_map),
    )
    engine = session_factory.kw["bind"]
    dump = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                dump.append(" ".join(str(value) for value in row))
    everything = "\n".join(dump)
    assert len(dump) > len(calls)
    leaked = sorted(number for number in numbers if number in everything)
    assert not leaked


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_ingests_the_sample_queue_log(database_url: str, monkeypatch: pytest.MonkeyPatch,
                                          session_factory: sessionmaker[Session], settings: Settings) -> None:
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    args = ["ingest", "queue-log", str(SAMPLES / "queue_log_sample.log"), "--queue-map",
            str(SAMPLES / "queue_map.csv"), "--source", "pbx"]
    result = CliRunner(env={"VPT_LANG": "en"}).invoke(app, args)
    assert result.exit_code in (0, 3), result.output
    assert "source pbx" in result.stdout
    with session_factory() as session:
        regions = set(session.scalars(select(Call.region)))
    assert regions == {"SE-AC", "SE-BD"}
    again = CliRunner(env={"VPT_LANG": "en"}).invoke(app, args)
    assert "stored 0" in again.stdout.replace("\n", " ")
    missing_map = CliRunner(env={"VPT_LANG": "en"}).invoke(app, [*args[:3], "--queue-map", "/nonexistent.csv"])
    assert missing_map.exit_code == 1 and "queue map" in missing_map.stderr
