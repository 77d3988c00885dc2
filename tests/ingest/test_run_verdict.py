"""One verdict for a delivery that stored nothing: run ``rejected`` everywhere (issue 12, item 9), on both databases.

A run that read rows and stored, updated or found unchanged none of them is ``rejected``: its rows are kept as
rejected rows and the run commits, but it is no success of its source (``last_success_at`` stays,
``consecutive_failures`` is not reset). The push answers 422, the drop folder moves the file to ``failed/``, the
CLI says "no row stored" and exits 3, and ``vpt_ingest_runs_total{status="rejected"}`` counts it.
"""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app as cli
from app.config import Settings
from app.db.migrate import alembic_config
from app.db.models import IngestRun, RejectedRow, Source
from app.ingest import dropdir
from app.metrics.collector import VptCollector
from tests.auth import admin_headers
from tests.helpers import ingest_text

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"
ALL_BAD = HEADER + "b1,SE-XX,,2025-10-01T08:00:00+02:00,rejected,,,,,\nb2,SE-AC,,not a time,rejected,,,,,\n"
GOOD = HEADER + "g1,SE-AC,,2025-10-01T08:00:00+02:00,rejected,,,,,\n"
SOME_BAD = GOOD + "b3,SE-XX,,2025-10-01T08:00:00+02:00,rejected,,,,,\n"
CSV = {"Content-Type": "text/csv"}


def runs_total(factory: sessionmaker[Session], settings: Settings, source: str) -> dict[str, float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VptCollector(factory, settings))
    found = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            if sample.name == "vpt_ingest_runs_total" and sample.labels["source"] == source:
                found[sample.labels["status"]] = sample.value
    return found


def push_source(factory: sessionmaker[Session]) -> Source:
    with factory() as session:
        source = session.scalar(select(Source).where(Source.name == "push"))
    assert source is not None
    return source


def test_a_push_whose_every_row_is_rejected_is_a_rejected_run_in_the_api_the_source_and_the_metrics(
    settings, session_factory,
):
    """Before: 422, but the run said succeeded and the source's last_success_at moved."""
    with TestClient(create_app(settings), headers={**admin_headers(settings), **CSV}) as client:
        unreadable = client.post("/api/v1/ingest/calls", content="call_id,region\nx,SE-AC\n")
        all_bad = client.post("/api/v1/ingest/calls", content=ALL_BAD, params={"origin": "all-bad.csv"})
        rejected_id = all_bad.json()["report"]["run_id"]
        listed = client.get("/api/v1/ingest/runs", params={"status": "rejected"})
        one = client.get(f"/api/v1/ingest/runs/{rejected_id}")
        kept = client.get("/api/v1/ingest/rejected", params={"run": rejected_id})
        after_rejected = client.get("/api/v1/sources/push").json()
        good = client.post("/api/v1/ingest/calls", content=GOOD)
        after_good = push_source(session_factory)
        again = client.post("/api/v1/ingest/calls", content=ALL_BAD)
    assert unreadable.status_code == 422 and unreadable.json()["error"] == "ingest_failed"
    assert all_bad.status_code == 422 and all_bad.json()["error"] == "no_rows_stored"
    assert all_bad.json()["report"]["status"] == "rejected" and all_bad.json()["report"]["rows_rejected"] == 2
    assert listed.status_code == 200, listed.text
    assert [run["id"] for run in listed.json()["runs"]] == [rejected_id]
    assert one.json()["status"] == "rejected" and one.json()["error"] is None
    assert len(kept.json()["rows"]) == 2  # the rows are kept, the run committed
    assert after_rejected["last_success_at"] is None and after_rejected["consecutive_failures"] == 1
    assert after_rejected["latest_run"]["status"] == "rejected"
    assert after_rejected["runs"] == {"total": 2, "succeeded": 0, "rejected": 1, "failed": 1, "running": 0}

    assert good.status_code == 200 and good.json()["status"] == "succeeded"
    assert after_good.last_success_at is not None and after_good.consecutive_failures == 0
    assert again.status_code == 422
    source = push_source(session_factory)
    assert source.last_success_at == after_good.last_success_at  # a rejected delivery is no success
    assert source.last_data_at == after_good.last_data_at
    assert (source.runs_succeeded_total, source.runs_rejected_total, source.runs_failed_total) == (1, 2, 1)
    assert (source.rows_read_total, source.rows_stored_total, source.rows_rejected_total) == (5, 1, 4)
    assert runs_total(session_factory, settings, "push") == {"succeeded": 1, "rejected": 2, "failed": 1}


def test_cli_ingest_of_a_file_whose_every_row_is_rejected_says_no_row_stored_and_exits_3(
    database_url, session_factory, tmp_path, monkeypatch,
):
    """Before: exit 3 read as "some rows rejected (rest stored)", and the run said succeeded."""
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    all_bad, some_bad = tmp_path / "all-bad.csv", tmp_path / "some-bad.csv"
    all_bad.write_text(ALL_BAD)
    some_bad.write_text(SOME_BAD)
    result = CliRunner(env={"VPT_LANG": "en"}).invoke(cli, ["ingest", "calls", str(all_bad), str(some_bad)])
    assert result.exit_code == 3, result.output
    err = " ".join(result.stderr.split())
    assert "no row stored all-bad.csv: all 2 rows were rejected" in err
    assert "no row stored some-bad.csv" not in err
    with session_factory() as session:
        runs = [(run.origin, run.status) for run in session.scalars(select(IngestRun).order_by(IngestRun.id))]
    assert runs == [("all-bad.csv", "rejected"), ("some-bad.csv", "succeeded")]


def test_a_drop_file_whose_every_row_is_rejected_goes_to_failed_with_a_rejected_run(
    settings, session_factory, tmp_path,
):
    """Before: the file went to failed/ while its run said succeeded."""
    drop = tmp_path / "drop"
    dropdir.prepare(drop)
    files = {"all-bad.csv": ALL_BAD, "some-bad.csv": SOME_BAD, "header-only.csv": HEADER}
    results = {}
    for name, content in files.items():
        (drop / "calls" / name).write_text(content)
        results[name] = dropdir.ingest_drop_file(session_factory, settings, "calls", drop / "calls" / name)
    assert {name: (r.ok, r.moved_to.parent.name, r.report and r.report.status) for name, r in results.items()} == {
        "all-bad.csv": (False, "failed", "rejected"),
        "some-bad.csv": (True, "processed", "succeeded"),
        "header-only.csv": (True, "processed", "succeeded"),  # nothing read, nothing refused
    }
    reason = json.loads(Path(str(results["all-bad.csv"].moved_to) + ".reason.json").read_text())
    assert reason["ok"] is False and "none of the 2 rows could be stored" in reason["reason"]
    with session_factory() as session:
        statuses = {run.origin: run.status for run in session.scalars(select(IngestRun))}
        source = session.scalar(select(Source).where(Source.name == "drop-calls"))
    assert statuses == {"all-bad.csv": "rejected", "some-bad.csv": "succeeded", "header-only.csv": "succeeded"}
    assert source is not None and (source.runs_succeeded_total, source.runs_rejected_total) == (2, 1)


def test_the_migration_reclassifies_earlier_runs_that_stored_nothing_and_keeps_their_rejected_rows(
    database_url, settings, session_factory,
):
    """Runs stored as the old code stored them (the revision before, where the all-rejected run says succeeded)
    become rejected on upgrade, with the source's counters; SQLite keeps every rejected row (a recreated
    ingest_runs would cascade-delete them)."""
    ingest_text(session_factory, settings, "calls", GOOD, origin="good.csv")
    ingest_text(session_factory, settings, "calls", ALL_BAD, origin="all-bad.csv")
    session_factory.kw["bind"].dispose()
    config = alembic_config(database_url)
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))

    def state() -> tuple[list[tuple[str, str]], tuple[int, ...], int]:
        with engine.connect() as conn:
            runs = conn.execute(text("SELECT origin, status FROM ingest_runs ORDER BY id")).all()
            totals = conn.execute(text("SELECT * FROM sources WHERE name = 'files'")).mappings().one()
            kept = conn.execute(text("SELECT count(*) FROM rejected_rows")).scalar_one()
        counters = tuple(totals[key] for key in ("runs_succeeded_total", "runs_rejected_total") if key in totals)
        return [tuple(run) for run in runs], counters, kept

    try:
        command.downgrade(config, "0009")
        assert state() == ([("good.csv", "succeeded"), ("all-bad.csv", "succeeded")], (2,), 2)
        command.upgrade(config, "head")
        assert state() == ([("good.csv", "succeeded"), ("all-bad.csv", "rejected")], (1, 1), 2)
        if database_url.startswith("sqlite"):
            with engine.connect() as conn:
                assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    finally:
        engine.dispose()
    with session_factory() as session:  # the models read the migrated schema
        assert session.scalar(select(IngestRun.status).where(IngestRun.origin == "all-bad.csv")) == "rejected"
        assert len(session.scalars(select(RejectedRow)).all()) == 2
