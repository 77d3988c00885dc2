"""The HTTP API against a real database of each kind, through the app factory and its lifespan."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app as cli_app
from app.config import Settings
from tests.auth import admin_headers
from tests.helpers import ingest


def client_for(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), headers=admin_headers(settings))


def test_scorecard_endpoint_serves_the_fixture_figures(session_factory, settings, fixtures_dir):
    ingest(session_factory, settings, "calls", fixtures_dir / "calls_october.csv")
    ingest(session_factory, settings, "intervals", fixtures_dir / "intervals_october.csv")
    with client_for(settings) as client:
        response = client.get("/api/v1/scorecards/2025-10")
    assert response.status_code == 200
    body = response.json()
    expected = json.loads((fixtures_dir / "expected_october.json").read_text())["figures"]
    scopes = {s["scope"]: s for s in body["scopes"]}
    assert list(scopes) == ["SE-AC", "SE-BD", "SE-Z", "norra"]
    assert set(scopes["SE-AC"]["kpis"]) == set(expected["SE-AC/2025-10"])  # exactly the fixture keys
    assert scopes["norra"]["kpis"]["offered"] == 63 and scopes["norra"]["kind"] == "collaboration"
    assert scopes["SE-AC"]["name"] == "Västerbotten"
    assert {(t["kpi"], t["status"]) for t in scopes["norra"]["targets"]} == {("answer_rate", "missed"),
                                                                            ("mean_wait", "met")}
    assert scopes["SE-Z"]["completeness"]["hours_in_month"] == 745
    assert body["definitions"] == {"short_abandon_seconds": 0, "sl_seconds": 600}


def test_api_and_cli_give_the_same_document(session_factory, settings, fixtures_dir, monkeypatch):
    ingest(session_factory, settings, "calls", fixtures_dir / "calls_october.csv")
    monkeypatch.setenv("VPT_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(cli_app, ["scorecard", "2025-10", "--format", "json"])
    assert result.exit_code == 0, result.output
    with client_for(settings) as client:
        api = client.get("/api/v1/scorecards/2025-10").json()
    cli = json.loads(result.stdout)
    for doc in (api, cli):
        doc.pop("generated_at")
    assert api == cli


def test_a_month_without_data_has_no_scopes(settings):
    with client_for(settings) as client:
        body = client.get("/api/v1/scorecards/2019-02").json()
    assert body["scopes"] == [] and body["closed"] is True


def test_bad_month_is_a_clear_422(settings):
    with client_for(settings) as client:
        response = client.get("/api/v1/scorecards/2025-13")
    assert response.status_code == 422
    assert response.json() == {"error": "invalid_month", "detail": "month must be YYYY-MM, got '2025-13'"}


def test_unknown_path_renders_the_error_shape(settings):
    with client_for(settings) as client:
        response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_regions_and_collaborations(settings):
    with client_for(settings) as client:
        regions = client.get("/api/v1/regions").json()
        collaborations = client.get("/api/v1/collaborations").json()
    assert len(regions) == 21
    assert {r["code"]: r["collaborations"] for r in regions}["SE-AC"] == ["norra"]
    assert collaborations == [{"code": "norra", "name": "Norra sjukvårdsregionen",
                               "regions": ["SE-AC", "SE-BD", "SE-Y", "SE-Z"]}]


def test_health_and_readiness(settings):
    with client_for(settings) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["worker"] is None


def test_readiness_reports_the_worker_and_can_require_it(settings, session_factory):
    from datetime import UTC, datetime, timedelta

    from app.db.leases import beat

    strict = settings.model_copy(update={"ready_requires_worker": True})
    with client_for(strict) as client:
        assert client.get("/readyz").status_code == 503  # no worker has ever beaten
    beat(session_factory, "w1", datetime.now(UTC), "running")
    with client_for(strict) as client:
        ready = client.get("/readyz").json()
    assert ready["status"] == "ok" and ready["worker"]["worker_id"] == "w1" and not ready["worker"]["stale"]
    with session_factory.begin() as session:
        from app.db.models import WorkerHeartbeat

        row = session.get(WorkerHeartbeat, "w1")
        row.beat_at = datetime.now(UTC) - timedelta(minutes=5)
    with client_for(strict) as client:
        stale = client.get("/readyz")
    assert stale.status_code == 503 and stale.json()["worker"]["stale"] is True
    with client_for(settings) as client:  # by default a dead worker does not make the API unready
        relaxed = client.get("/readyz")
    assert relaxed.status_code == 200 and relaxed.json()["worker"]["stale"] is True


def test_openapi_documents_every_endpoint_with_a_response_model(settings):
    with client_for(settings) as client:
        spec = client.get("/openapi.json").json()
    for path in ("/api/v1/scorecards/{month}", "/api/v1/regions", "/api/v1/collaborations", "/healthz", "/readyz"):
        schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema, path
    assert "Kpis" in spec["components"]["schemas"]


def test_every_route_documents_what_it_returns(settings):
    """Every operation of the API has a typed 200 response: a JSON schema, or a declared non-JSON media type."""
    with client_for(settings) as client:
        spec = client.get("/openapi.json").json()
    undocumented = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = operation["responses"].get("200", {}).get("content", {})
            json_schema = content.get("application/json", {}).get("schema", {})
            typed = ("$ref" in json_schema or (json_schema.get("type") == "array" and "$ref" in json_schema["items"])
                     or any(media != "application/json" for media in content))
            if not typed:
                undocumented.append(f"{method.upper()} {path}")
            # Access control: an operation needing a key says how to send it and declares 401 and 403.
            errors = {"401", "403"} if path not in {"/metrics", "/healthz", "/readyz"} else (
                {"401"} if path == "/metrics" else set())
            for status in errors:
                schema = operation["responses"].get(status, {}).get("content", {}).get("application/json", {})
                body = schema.get("schema", {})
                if body.get("$ref") != "#/components/schemas/ErrorBody" and body.get("title") != "ErrorBody":
                    undocumented.append(f"{method.upper()} {path} {status}")
            schemes = {name for requirement in operation.get("security", []) for name in requirement}
            expected = {"HTTPBearer", "APIKeyHeader"} if "403" in errors else (
                {"MetricsToken"} if path == "/metrics" else set())
            if schemes != expected:
                undocumented.append(f"{method.upper()} {path} security {sorted(schemes)}")
    assert undocumented == []
    assert len(spec["paths"]) >= 20
