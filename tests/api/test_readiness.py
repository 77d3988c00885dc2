"""/readyz answers 503 when the database cannot be reached; /healthz stays up."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.api.app import create_app
from app.config import Settings
from tests.pgserver import _free_port


def test_readyz_is_503_and_scorecard_is_a_clean_503_without_a_database():
    port = _free_port()  # nothing listens there
    settings = Settings(database_url=f"postgresql+psycopg://vpt@127.0.0.1:{port}/none?connect_timeout=2",
                        public_read=True, _env_file=None)  # type: ignore[call-arg]  # no key can be made
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
        scorecard = client.get("/api/v1/scorecards/2025-10")
        assert scorecard.status_code == 503
        assert scorecard.json()["error"] == "database_unavailable"
