"""Completeness over HTTP (issue 12, item 10): the response models carry the new fields, additively, from
``samples/`` (Västernorrland has no data in October 2025, Norrbotten stops on 2 October). Both databases."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.api.app import create_app
from tests.auth import key_headers
from tests.helpers import ingest

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
NOTE = "member region Västernorrland (SE-Y) has no data in 2025-10: the collaboration's figures leave it out"


def test_the_scorecard_and_the_series_name_the_member_without_data(session_factory, settings):
    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    ingest(session_factory, settings, "intervals", SAMPLES / "intervals_october.csv")
    with TestClient(create_app(settings), headers=key_headers(settings, "read")) as client:
        scorecard = client.get("/api/v1/scorecards/2025-10").json()
        series = client.get("/api/v1/collaborations/norra/scorecards", params={"from": "2025-10", "to": "2025-10"})
        spec = client.get("/openapi.json").json()
    scopes = {s["scope"]: s for s in scorecard["scopes"]}
    norra = scopes["norra"]
    assert norra["completeness"]["partial"] is True and norra["completeness"]["members_without_data"] == ["SE-Y"]
    assert NOTE in norra["data_quality"]
    assert [m["code"] for m in norra["completeness"]["members"] if m["partial"]] == ["SE-AC", "SE-BD", "SE-Y", "SE-Z"]
    assert {"hours_with_data", "hours_in_month", "latest_record_at", "partial"} <= set(norra["completeness"])
    assert scopes["SE-BD"]["completeness"]["ends_early"] is True
    assert series.status_code == 200
    assert series.json()["months"][0]["completeness"] == norra["completeness"]
    fields = spec["components"]["schemas"]["Completeness"]["properties"]
    assert {"first_hour_with_data", "starts_late", "ends_early", "members", "members_without_data"} <= set(fields)
