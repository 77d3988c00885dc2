"""A purge changes figures without a new ingest run: the scorecard the API has cached must not outlive it, even when
the newest run belongs to another source (the cache keys on the newest run, app.scorecard.queries.data_version)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.config import Settings
from tests.auth import admin_headers
from tests.helpers import ingest_text

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"
OLDER = HEADER + "a1,SE-AC,vpt,2025-10-02T09:00:00+02:00,answered,2025-10-02T09:01:00+02:00,,,60,10\n"
NEWER = HEADER + "b1,SE-AC,vpt,2025-10-03T09:00:00+02:00,abandoned,,2025-10-03T09:02:00+02:00,,,\n"


def _offered(client: TestClient) -> int:
    response = client.get("/api/v1/scorecards/2025-10")
    assert response.status_code == 200, response.text
    [entry] = [s for s in response.json()["scopes"] if s["scope"] == "SE-AC"]
    return int(entry["kpis"]["offered"])


def test_a_purge_of_a_source_without_the_newest_run_is_not_hidden_by_the_cache(
    session_factory: sessionmaker[Session], settings: Settings,
) -> None:
    ingest_text(session_factory, settings, "calls", OLDER, source="older")
    ingest_text(session_factory, settings, "calls", NEWER, source="newer")  # the newest run stays after the purge
    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        assert _offered(client) == 2
        assert _offered(client) == 2  # served from the cache now
        assert client.delete("/api/v1/sources/older", params={"purge": "true"}).status_code == 200
        assert _offered(client) == 1
