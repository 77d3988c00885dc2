"""Monthly series, days and hours of a region or collaboration, over the API, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.config import Settings
from tests.auth import key_headers
from tests.helpers import ingest_text

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
# Two calls in each 02:00 hour of the autumn DST day (26 Oct 2025): 02:xx summer time (00:xx UTC) and 02:xx
# winter time (01:xx UTC); one on the spring DST day (30 Mar 2025) at 03:30 summer time; one in September.
CALLS = HEADER + "\n".join([
    "a1,SE-AC,q,2025-10-26T00:10:00Z,answered,2025-10-26T00:12:00Z,",   # 02:10+02:00, wait 120 s
    "a2,SE-AC,q,2025-10-26T00:20:00Z,abandoned,,2025-10-26T00:25:00Z",  # 02:20+02:00
    "a3,SE-AC,q,2025-10-26T01:10:00Z,answered,2025-10-26T01:20:00Z,",   # 02:10+01:00, wait 600 s
    "a4,SE-AC,q,2025-10-26T01:40:00Z,answered,2025-10-26T01:41:00Z,",   # 02:40+01:00, wait 60 s
    "b1,SE-BD,q,2025-10-26T10:00:00Z,rejected,,",                       # 11:00+01:00
    "c1,SE-AC,q,2025-03-30T01:30:00Z,answered,2025-03-30T01:31:00Z,",   # 03:30+02:00
    "d1,SE-AC,q,2025-09-15T08:00:00Z,answered,2025-09-15T08:03:00Z,",
]) + "\n"


@contextmanager
def client(factory: sessionmaker[Session], settings: Settings) -> Iterator[TestClient]:
    ingest_text(factory, settings, "calls", CALLS)
    with TestClient(create_app(settings), headers=key_headers(settings, "read")) as test_client:
        yield test_client


def get(test_client: TestClient, url: str) -> dict[str, Any]:
    response = test_client.get(url)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_autumn_dst_day_has_25_hours_and_two_labelled_two_oclocks(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with client(session_factory, settings) as test_client:
        day = get(test_client, "/api/v1/regions/SE-AC/hours?date=2025-10-26")
    assert day["hours_in_day"] == 25 and len(day["hours"]) == 25
    two = [h for h in day["hours"] if h["local_hour"] == "02:00"]
    assert [h["utc_offset"] for h in two] == ["+02:00", "+01:00"]
    assert [h["hour_start"] for h in two] == ["2025-10-26T02:00:00+02:00", "2025-10-26T02:00:00+01:00"]
    summer, winter = (h["kpis"] for h in two)
    assert (summer["offered"], summer["answered"], summer["mean_wait"]) == (2, 1, 120.0)
    assert (winter["offered"], winter["answered"], winter["mean_wait"]) == (2, 2, 330.0)  # (600 + 60) / 2
    assert sum(h["has_data"] for h in day["hours"]) == 2
    assert day["hours"][0]["hour_start"] == "2025-10-26T00:00:00+02:00"
    assert day["hours"][-1]["hour_start"] == "2025-10-26T23:00:00+01:00"


def test_the_spring_dst_day_has_23_hours_without_a_two_oclock(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with client(session_factory, settings) as test_client:
        day = get(test_client, "/api/v1/regions/SE-AC/hours?date=2025-03-30")
    assert day["hours_in_day"] == 23
    assert "02:00" not in [h["local_hour"] for h in day["hours"]]
    three = next(h for h in day["hours"] if h["local_hour"] == "03:00")
    assert three["utc_offset"] == "+02:00" and three["kpis"]["offered"] == 1


def test_days_of_a_month_sum_their_local_hours(session_factory: sessionmaker[Session], settings: Settings) -> None:
    with client(session_factory, settings) as test_client:
        region = get(test_client, "/api/v1/regions/SE-AC/days?month=2025-10")
        norra = get(test_client, "/api/v1/collaborations/norra/days?month=2025-10")
    assert len(region["days"]) == 31
    dst = next(d for d in region["days"] if d["date"] == "2025-10-26")
    assert (dst["hours_in_day"], dst["hours_with_data"], dst["weekday"]) == (25, 2, 7)
    assert (dst["kpis"]["offered"], dst["kpis"]["answered"], dst["kpis"]["answer_rate"]) == (4, 3, 0.75)
    assert dst["kpis"]["mean_wait"] == 260.0  # (120 + 600 + 60) / 3
    quiet = next(d for d in region["days"] if d["date"] == "2025-10-01")
    assert quiet["kpis"]["offered"] == 0 and quiet["kpis"]["answer_rate"] is None
    collaboration_day = next(d for d in norra["days"] if d["date"] == "2025-10-26")
    # SE-AC's 4 calls and SE-BD's rejected one: counts summed, never rates averaged
    assert (collaboration_day["kpis"]["offered"], collaboration_day["kpis"]["answered"]) == (5, 3)
    assert collaboration_day["kpis"]["answer_rate"] == 0.6
    assert collaboration_day["hours_with_data"] == 3


def test_the_monthly_series_carries_status_and_completeness(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with client(session_factory, settings) as test_client:
        series = get(test_client, "/api/v1/regions/SE-AC/scorecards?from=2025-08&to=2025-10")
    assert [m["month"] for m in series["months"]] == ["2025-08", "2025-09", "2025-10"]
    august, september, october = series["months"]
    assert august["kpis"]["offered"] == 0 and {t["status"] for t in august["targets"]} == {"no_data"}
    assert september["kpis"]["answer_rate"] == 1.0 and september["completeness"]["hours_in_month"] == 720
    assert october["completeness"]["hours_in_month"] == 745 and october["completeness"]["hours_with_data"] == 2
    statuses = {t["kpi"]: t["status"] for t in october["targets"]}
    assert statuses == {"answer_rate": "missed", "mean_wait": "met"}  # 3/4; 260 s


def test_bad_requests(session_factory: sessionmaker[Session], settings: Settings) -> None:
    with client(session_factory, settings) as test_client:
        assert test_client.get("/api/v1/regions/SE-XX/days?month=2025-10").status_code == 404
        assert test_client.get("/api/v1/collaborations/south/hours?date=2025-10-26").status_code == 404
        assert test_client.get("/api/v1/regions/SE-AC/hours?date=2025-02-30").status_code == 422
        assert test_client.get("/api/v1/regions/SE-AC/days?month=2025-13").status_code == 422
        too_long = test_client.get("/api/v1/regions/SE-AC/scorecards?from=2000-01&to=2025-10")
        assert too_long.status_code == 422 and too_long.json()["error"] == "invalid_month"
        backwards = test_client.get("/api/v1/regions/SE-AC/scorecards?from=2025-10&to=2025-01")
        assert backwards.status_code == 422
        spec = test_client.get("/openapi.json").json()
    for path in ("/api/v1/regions/{code}/scorecards", "/api/v1/regions/{code}/days", "/api/v1/regions/{code}/hours",
                 "/api/v1/collaborations/{code}/scorecards", "/api/v1/collaborations/{code}/days",
                 "/api/v1/collaborations/{code}/hours"):
        ok = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in ok, path


def test_years_out_of_range_are_422_not_500(session_factory: sessionmaker[Session], settings: Settings) -> None:
    with client(session_factory, settings) as test_client:
        for url in ("/api/v1/scorecards/0000-01", "/api/v1/scorecards/9999-12",
                    "/api/v1/regions/SE-Z/scorecards?from=0001-01&to=0001-02",
                    "/api/v1/regions/SE-Z/days?month=9999-12",
                    "/api/v1/regions/SE-Z/hours?date=0001-01-01", "/api/v1/reports/9999-12"):
            response = test_client.get(url)
            assert response.status_code == 422, (url, response.status_code)
