"""vpt_ingest_warnings_total{source}: the optional fields left out of stored records (issue 14 §4), read from the
sources' running totals at scrape time like vpt_ingest_rows_total; on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.config import Settings
from tests.helpers import ingest_text

CALLS = ("call_id,region,arrived_at,outcome,answered_at,talk_seconds,wrap_seconds\n"
         "c1,SE-AC,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:01:00+02:00,abc,x\n"
         "c2,SE-AC,2025-10-01T09:00:00+02:00,answered,2025-10-01T09:01:00+02:00,60,\n")


def warnings_by_source(text: str) -> dict[str, float]:
    return {sample.labels["source"]: sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == "vpt_ingest_warnings_total"}


def test_metrics_count_the_warnings_of_every_run_per_source(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ingest_text(session_factory, settings, "calls", CALLS, source="norra-export")
    ingest_text(session_factory, settings, "calls", CALLS, source="norra-export")  # unchanged, warned again
    ingest_text(session_factory, settings, "calls", CALLS.replace("abc,x", "1,2"), source="clean")
    with TestClient(create_app(settings)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert warnings_by_source(response.text) == {"norra-export": 4, "clean": 0}
    assert "# TYPE vpt_ingest_warnings_total counter" in response.text
