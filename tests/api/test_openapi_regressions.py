"""What schemathesis found against the OpenAPI document (issue 7), one regression test each, on SQLite and
PostgreSQL. The fuzzing itself is ``tests/fuzz/test_openapi_fuzz.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.api.limits import install_limits
from app.config import Settings
from tests.auth import admin_headers

BIG = str(2**63)  # one past BIGINT


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    install_limits(app, settings)
    with TestClient(app, headers=admin_headers(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize("url", [
    f"/api/v1/ingest/runs/{BIG}", f"/api/v1/ingest/runs?before_id={BIG}", f"/api/v1/ingest/rejected?run={BIG}",
    f"/api/v1/ingest/rejected?run=1&after_id={BIG}",
])
def test_ids_beyond_bigint_are_422_not_500(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation_error"


@pytest.mark.parametrize("url", [
    "/api/v1/sources/a%01b", "/api/v1/regions/SE%1FAC/days?month=2025-10", "/api/v1/reports/2025-10?scope=a%0Ab",
    "/api/v1/ingest/runs?source=a%7Fb",
])
def test_control_characters_in_text_parameters_are_422(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 422, response.text


def test_a_nul_in_a_target_reason_is_422_not_500(client: TestClient) -> None:
    # PostgreSQL refuses NUL in text: the insert failed with a DataError, a 500.
    response = client.put("/api/v1/targets/region/SE-AC/answer_rate",
                          json={"value": 0.9, "valid_from": "2025-10", "reason": "x\u0000y"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "reason"]


def test_a_push_origin_with_control_characters_is_422(client: TestClient) -> None:
    response = client.post("/api/v1/ingest/calls", params={"origin": "a\tb"}, content=b"x",
                           headers={"Content-Type": "text/csv"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "origin"]


def test_a_405_lists_every_method_of_the_path(client: TestClient) -> None:
    # Starlette named only the first route's methods: GET for /silences, which also takes POST.
    response = client.request("OPTIONS", "/api/v1/silences")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json() == {"error": "method_not_allowed", "detail": "Method Not Allowed"}


def test_a_body_that_is_not_utf8_is_a_422_like_any_body_that_is_not_json(client: TestClient) -> None:
    # FastAPI answered an undocumented 400 "There was an error parsing the body".
    for body in (b"\xff\xfe", b"{not json"):
        response = client.post("/api/v1/silences", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "validation_error"
        assert response.json()["detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize("since", ["0.5", "1700000000", "nan"])
def test_alert_history_since_is_an_iso_time_not_a_number(client: TestClient, since: str) -> None:
    # Pydantic read a number as Unix time: `since=0.5` was accepted although the schema says date-time.
    response = client.get("/api/v1/alerts/history", params={"since": since})
    assert response.status_code == 422, response.text
    assert client.get("/api/v1/alerts/history", params={"since": "2025-10-01T00:00:00+02:00"}).status_code == 200
