"""The read side of ingest (``app.ingest.queries``) returns plain views, on SQLite and PostgreSQL; the API maps them
to its schemas, so ingest knows nothing of the API (issue 13)."""

from __future__ import annotations

import ast
import io
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.session import transaction
from app.ingest.queries import PublicConfig, RunTotals, get_run, get_source, list_rejected, list_runs, list_sources
from app.ingest.service import ingest_bytes
from app.ingest.sources import PullSourceConfig, save_source

QUERIES = Path(__file__).resolve().parents[2] / "app" / "ingest" / "queries.py"
CALLS = (b"call_id,region,queue,arrived_at,outcome\n"
         b"q1,SE-AC,vpt,2025-10-01T08:00:00+02:00,rejected\n"
         b"q2,SE-XX,vpt,2025-10-01T08:00:00+02:00,rejected\n")


def test_the_queries_import_nothing_of_the_api() -> None:
    modules = {node.module for node in ast.walk(ast.parse(QUERIES.read_text(encoding="utf-8")))
               if isinstance(node, ast.ImportFrom) and node.module}
    assert not {m for m in modules if m.startswith("app.api")}


def test_runs_rejected_rows_and_sources_come_back_as_views(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(session_factory) as session:
        save_source(session, PullSourceConfig.from_mapping({
            "name": "platform", "kind": "calls", "base_url": "https://u:s3cret@platform.example/feed",
            "auth_header_env": "PLATFORM_TOKEN", "cadence_seconds": 120}))
    report = ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(CALLS), fmt="csv",
                          origin="october.csv", source_name="push", source_kind="push")
    with session_factory() as session:
        page = list_runs(session, source=None, status=None, limit=10, before_id=None)
        assert [(view.source, view.run.id, view.run.rows_rejected) for view in page.runs] == [
            ("push", report.run_id, 1)]
        assert page.next_before_id is None
        one = get_run(session, report.run_id)
        assert one is not None and one.run.origin == "october.csv"
        rejected = list_rejected(session, run_id=report.run_id, limit=10, after_id=None)
        assert [row.record_key for row in rejected.rows] == ["q2"] and rejected.next_after_id is None
        by_name = {view.source.name: view for view in list_sources(session)}
        assert by_name["platform"].config == PublicConfig(
            base_url="https://u:***@platform.example/feed", cadence_seconds=120)
        assert by_name["platform"].runs == RunTotals(total=0, succeeded=0, rejected=0, failed=0, running=0)
        assert by_name["platform"].latest_run is None
        push = get_source(session, "push")
        assert push is not None and push.config is None
        assert push.runs == RunTotals(total=1, succeeded=1, rejected=0, failed=0, running=0)
        assert push.latest_run is not None and push.latest_run.id == report.run_id
        assert get_source(session, "nowhere") is None
