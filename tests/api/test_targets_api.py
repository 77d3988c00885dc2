"""Versioned targets through the HTTP API (SPEC §6, §7), on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.api.app import create_app
from app.config import Settings
from app.db.models import TargetVersion
from app.db.session import transaction
from app.kpi.catalog import RATIO_KPIS, SECONDS_KPIS, TARGETABLE_KPIS
from app.kpi.localtime import next_month
from app.scorecard.targets import current_month, list_in_force, set_target
from tests.auth import admin_headers
from tests.helpers import ingest_text, scorecard

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"
BODY = {"comparator": ">=", "value": 0.9, "valid_from": "2026-01", "reason": "Regionstyrelsen 2025-12-10 § 12"}


def client_for(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), headers=admin_headers(settings))


def month_text(month: date) -> str:
    return month.strftime("%Y-%m")


def calls_of(region: str, month: str, answered: int, abandoned: int) -> str:
    """Calls on the 10th of a month, one a minute from 10:00 local; answered ones wait 60 s."""
    rows = []
    for i in range(answered + abandoned):
        start = f"{month}-10T10:{i:02d}:00+01:00"
        if i < answered:
            rows.append(f"{region}-{month}-{i},{region},vpt,{start},answered,{month}-10T10:{i:02d}:59+01:00,"
                        f"{month}-10T11:{i:02d}:00+01:00,{region},300,60")
        else:
            rows.append(f"{region}-{month}-{i},{region},vpt,{start},abandoned,,{month}-10T10:{i:02d}:30+01:00,,,")
    return HEADER + "\n".join(rows) + "\n"


def in_force(client: TestClient, **params: str) -> dict[tuple[str, str], dict]:
    response = client.get("/api/v1/targets", params=params)
    assert response.status_code == 200, response.text
    return {(t["scope"], t["kpi"]): t for t in response.json()["targets"]}


def scorecard_targets(session_factory, settings, month: str) -> dict[str, dict[str, dict]]:
    scopes = scorecard(session_factory, settings, month).scopes
    return {s.scope: {t.kpi: asdict(t) for t in s.targets} for s in scopes}


def test_the_shipped_defaults_are_in_force(settings):
    with client_for(settings) as client:
        body = client.get("/api/v1/targets").json()
        assert body["month"] == month_text(current_month())
        targets = body["targets"]
        assert len(targets) == 44  # 21 regions and norra, answer_rate and mean_wait each
        assert targets[0] == {**targets[0], "scope_kind": "region", "scope": "SE-AB", "scope_name": "Stockholm",
                              "kpi": "answer_rate", "comparator": ">=", "value": 0.85, "valid_from": "2000-01",
                              "set_by": "system", "reason": "default target (SPEC §6)"}
        assert [t["scope"] for t in targets[-2:]] == ["norra", "norra"]  # regions first, then collaborations
        assert {(t["kpi"], t["comparator"], t["value"]) for t in targets} == {("answer_rate", ">=", 0.85),
                                                                             ("mean_wait", "<=", 600.0)}
        assert datetime.fromisoformat(targets[0]["created_at"]) == datetime(2025, 1, 1, tzinfo=UTC)

        assert set(in_force(client, scope="SE-AC")) == {("SE-AC", "answer_rate"), ("SE-AC", "mean_wait")}
        assert set(in_force(client, scope_kind="collaboration")) == {("norra", "answer_rate"), ("norra", "mean_wait")}
        assert len(in_force(client, kpi="answer_rate")) == 22
        norra_wait = in_force(client, scope="norra", kpi="mean_wait", month="2019-02")
        assert list(norra_wait) == [("norra", "mean_wait")] and norra_wait["norra", "mean_wait"]["value"] == 600
        assert in_force(client, month="1999-12") == {}  # before the defaults' valid_from
        history = client.get("/api/v1/targets/history").json()
        assert len(history) == 44 and {v["set_by"] for v in history} == {"system"}


def test_a_future_target_is_in_force_only_from_its_month(settings):
    this_month = current_month()
    start = next_month(this_month)
    with client_for(settings) as client:
        response = client.put("/api/v1/targets/region/SE-AC/answer_rate",
                              json={**BODY, "valid_from": month_text(start)})
        assert response.status_code == 200, response.text
        stored = response.json()
        assert stored == {**stored, "scope_kind": "region", "scope": "SE-AC", "kpi": "answer_rate", "comparator": ">=",
                          "value": 0.9, "valid_from": month_text(start), "set_by": "test",
                          "reason": BODY["reason"], "affects_closed_months": False}
        assert stored["previous"]["value"] == 0.85 and stored["previous"]["valid_from"] == "2000-01"

        assert in_force(client)["SE-AC", "answer_rate"]["value"] == 0.85  # the default month is this month
        assert in_force(client, month=month_text(this_month))["SE-AC", "answer_rate"]["value"] == 0.85
        assert in_force(client, month=month_text(start))["SE-AC", "answer_rate"]["value"] == 0.9
        later = in_force(client, month=month_text(next_month(next_month(start))))
        assert later["SE-AC", "answer_rate"]["value"] == 0.9
        assert later["SE-AC", "mean_wait"]["value"] == 600  # the other KPI and scopes are untouched
        assert later["SE-BD", "answer_rate"]["value"] == 0.85 and len(later) == 44

        history = client.get("/api/v1/targets/history", params={"scope": "SE-AC", "kpi": "answer_rate"}).json()
        assert [(v["value"], v["valid_from"]) for v in history] == [(0.85, "2000-01"), (0.9, month_text(start))]
        assert history[1]["id"] == stored["id"]
        assert len(client.get("/api/v1/targets/history").json()) == 45


def test_a_past_month_is_judged_by_the_target_valid_then(session_factory, settings):
    for month in ("2025-10", "2025-11"):  # SE-AC answers 9 of 10 calls: 0.9 meets 0.85 but misses 0.95
        report = ingest_text(session_factory, settings, "calls", calls_of("SE-AC", month, 9, 1), origin=month)
        assert report.rows_stored == 10
    with client_for(settings) as client:
        response = client.put("/api/v1/targets/region/SE-AC/answer_rate",
                              json={"value": 0.95, "valid_from": "2025-11", "reason": "Skärpt mål från november"})
        assert response.status_code == 200, response.text
        assert response.json()["affects_closed_months"] is True
        assert response.json()["comparator"] == ">="  # the default for answer_rate
        api_october = in_force(client, month="2025-10")
        api_november = in_force(client, month="2025-11")

    october = scorecard_targets(session_factory, settings, "2025-10")
    november = scorecard_targets(session_factory, settings, "2025-11")
    assert october["SE-AC"]["answer_rate"] == {**october["SE-AC"]["answer_rate"], "value": 0.85,
                                               "valid_from": "2000-01", "status": "met"}
    assert november["SE-AC"]["answer_rate"] == {**november["SE-AC"]["answer_rate"], "value": 0.95,
                                                "valid_from": "2025-11", "status": "missed"}
    assert november["norra"]["answer_rate"]["value"] == 0.85  # a region's target is not its collaboration's
    # what the API says is in force is exactly what the scorecard judged by
    for month_targets, api in ((october, api_october), (november, api_november)):
        for scope, by_kpi in month_targets.items():
            for kpi, target in by_kpi.items():
                listed = api[scope, kpi]
                assert (listed["comparator"], listed["value"], listed["valid_from"]) == (
                    target["comparator"], target["value"], target["valid_from"]), (scope, kpi)


def test_a_version_for_the_same_month_supersedes_and_both_are_kept(session_factory, settings):
    ingest_text(session_factory, settings, "calls", calls_of("SE-BD", "2025-12", 9, 1))
    with client_for(settings) as client:
        first = client.put("/api/v1/targets/region/SE-BD/answer_rate",
                           json={**BODY, "value": 0.8, "valid_from": "2025-12"}).json()
        second = client.put("/api/v1/targets/region/SE-BD/answer_rate",
                            json={**BODY, "value": 0.92, "valid_from": "2025-12", "reason": "Rättelse: 0.92"})
        assert second.status_code == 200
        assert second.json()["previous"]["id"] == first["id"] and second.json()["id"] > first["id"]
        assert in_force(client, month="2025-12")["SE-BD", "answer_rate"]["value"] == 0.92
        assert in_force(client, month="2025-11")["SE-BD", "answer_rate"]["value"] == 0.85
        history = client.get("/api/v1/targets/history", params={"scope": "SE-BD", "kpi": "answer_rate"}).json()
        assert [(v["value"], v["reason"]) for v in history] == [
            (0.85, "default target (SPEC §6)"), (0.8, BODY["reason"]), (0.92, "Rättelse: 0.92")]
    judged = scorecard_targets(session_factory, settings, "2025-12")["SE-BD"]["answer_rate"]
    assert (judged["value"], judged["status"]) == (0.92, "missed")
    with session_factory() as session:  # nothing rewritten: the superseded row is still stored as it was
        values = session.scalars(select(TargetVersion.value).where(
            TargetVersion.scope_code == "SE-BD", TargetVersion.kpi == "answer_rate").order_by(TargetVersion.id))
        assert list(values) == [Decimal("0.85"), Decimal("0.8"), Decimal("0.92")]


def test_a_clock_set_back_does_not_let_an_older_version_win(session_factory, settings):
    with transaction(session_factory) as session:
        set_target(session, "SE-C", "mean_wait", value="500", valid_from="2026-02", reason="a", set_by="t",
                   now=datetime(2026, 3, 1, tzinfo=UTC))
    with transaction(session_factory) as session:  # stored later, by a machine whose clock is behind
        change = set_target(session, "SE-C", "mean_wait", value="450", valid_from="2026-02", reason="b", set_by="t",
                            now=datetime(2026, 3, 1, tzinfo=UTC) - timedelta(hours=1))
        assert change.previous is not None and change.previous.value == Decimal(500)
    with session_factory() as session:
        (current,) = list_in_force(session, date(2026, 2, 1), scope="SE-C", kpi="mean_wait")
    assert current.value == Decimal(450) and current.reason == "b"


@pytest.mark.parametrize(("kpi", "expected"), [
    ("answer_rate", ">="), ("service_level", ">="), ("abandon_rate", "<="), ("rejected_rate", "<="),
    ("mean_wait", "<="), ("mean_wait_all", "<="), ("wait_p50", "<="), ("wait_p90", "<="), ("longest_wait", "<="),
])
def test_the_comparator_defaults_by_kpi(settings, kpi, expected):
    with client_for(settings) as client:
        response = client.put(f"/api/v1/targets/collaboration/norra/{kpi}",
                              json={"value": 0.5, "valid_from": "2030-01", "reason": "ny mätning"})
        assert response.status_code == 200, response.text
        assert response.json()["comparator"] == expected
        assert response.json()["previous"] is None or kpi in {"answer_rate", "mean_wait"}
        explicit = client.put(f"/api/v1/targets/collaboration/norra/{kpi}",
                              json={"value": 0.5, "valid_from": "2030-01", "reason": "x",
                                    "comparator": "<=" if expected == ">=" else ">="})
        assert explicit.json()["comparator"] != expected
        assert in_force(client, scope="norra", kpi=kpi, month="2030-01")["norra", kpi]["comparator"] != expected


def test_the_kpis_split_into_ratios_and_seconds():
    assert RATIO_KPIS | SECONDS_KPIS == TARGETABLE_KPIS and not RATIO_KPIS & SECONDS_KPIS


@pytest.mark.parametrize(("kpi", "value"), [
    ("answer_rate", 0), ("answer_rate", 1), ("service_level", 0.123456), ("mean_wait", 0), ("mean_wait", 86400),
    ("longest_wait", 599.5), ("rejected_rate", 0.000001),
])
def test_boundary_values_are_accepted_exactly(settings, kpi, value):
    with client_for(settings) as client:
        response = client.put(f"/api/v1/targets/region/SE-M/{kpi}", json={**BODY, "value": value})
        assert response.status_code == 200, response.text
        assert response.json()["value"] == value
        assert in_force(client, scope="SE-M", kpi=kpi, month="2026-01")["SE-M", kpi]["value"] == value


LONG = "x" * 501


@pytest.mark.parametrize(("path", "body", "loc"), [
    ("region/SE-AC/offered", BODY, ["path", "kpi"]),
    ("region/SE-AC/svarsfrekvens", BODY, ["path", "kpi"]),
    ("county/SE-AC/answer_rate", BODY, ["path", "scope_kind"]),
    ("region/SE-AC/answer_rate", {**BODY, "comparator": "=>"}, ["body", "comparator"]),
    ("region/SE-AC/answer_rate", {**BODY, "comparator": "≥"}, ["body", "comparator"]),
    ("region/SE-AC/answer_rate", {**BODY, "value": 1.5}, ["body", "value"]),
    ("region/SE-AC/answer_rate", {**BODY, "value": -0.1}, ["body", "value"]),
    ("region/SE-AC/answer_rate", {**BODY, "value": 85}, ["body", "value"]),  # a percentage, not a ratio
    ("region/SE-AC/mean_wait", {**BODY, "value": 86400.5}, ["body", "value"]),
    ("region/SE-AC/mean_wait", {**BODY, "value": -1}, ["body", "value"]),
    ("region/SE-AC/answer_rate", {**BODY, "value": 0.1234567}, ["body", "value"]),
    ("region/SE-AC/answer_rate", {**BODY, "value": "0.9"}, ["body", "value"]),
    ("region/SE-AC/answer_rate", {**BODY, "value": True}, ["body", "value"]),
    ("region/SE-AC/answer_rate", {**BODY, "value": None}, ["body", "value"]),
    ("region/SE-AC/answer_rate", {k: v for k, v in BODY.items() if k != "value"}, ["body", "value"]),
    ("region/SE-AC/answer_rate", {**BODY, "valid_from": "2026-13"}, ["body", "valid_from"]),
    ("region/SE-AC/answer_rate", {**BODY, "valid_from": "2026-1"}, ["body", "valid_from"]),
    ("region/SE-AC/answer_rate", {**BODY, "valid_from": "2026-01-01"}, ["body", "valid_from"]),
    ("region/SE-AC/answer_rate", {**BODY, "valid_from": "0000-01"}, ["body", "valid_from"]),
    ("region/SE-AC/answer_rate", {k: v for k, v in BODY.items() if k != "valid_from"}, ["body", "valid_from"]),
    ("region/SE-AC/answer_rate", {k: v for k, v in BODY.items() if k != "reason"}, ["body", "reason"]),
    ("region/SE-AC/answer_rate", {**BODY, "reason": ""}, ["body", "reason"]),
    ("region/SE-AC/answer_rate", {**BODY, "reason": "   "}, ["body", "reason"]),
    ("region/SE-AC/answer_rate", {**BODY, "reason": LONG}, ["body", "reason"]),
    ("region/SE-AC/answer_rate", {**BODY, "valid_form": "2026-02"}, ["body", "valid_form"]),  # a typo is no default
])
def test_every_rule_is_a_422_naming_the_field(settings, path, body, loc):
    with client_for(settings) as client:
        response = client.put(f"/api/v1/targets/{path}", json=body)
        assert response.status_code == 422, response.text
        error = response.json()
        assert error["error"] == "validation_error"
        assert loc in [e["loc"] for e in error["detail"]], error
        assert all(e["msg"] for e in error["detail"])
        assert len(client.get("/api/v1/targets/history").json()) == 44  # nothing stored


def test_every_problem_is_reported_at_once_in_words(settings):
    with client_for(settings) as client:
        response = client.put("/api/v1/targets/region/SE-AC/answer_rate",
                              json={**BODY, "value": 1.5, "reason": "  "})
    detail = {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}
    assert detail == {("body", "value"): "answer_rate is a ratio: must be between 0 and 1, got 1.5",
                      ("body", "reason"): "is required: say why the target changes; auditors read it"}


@pytest.mark.parametrize("path", [
    "region/SE-XX/answer_rate", "region/norra/answer_rate", "collaboration/SE-AC/answer_rate",
    "collaboration/sodra/mean_wait",
])
def test_an_unknown_scope_is_404(settings, path):
    with client_for(settings) as client:
        response = client.put(f"/api/v1/targets/{path}", json=BODY)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found" and path.split("/")[1] in response.json()["detail"]


def test_the_read_endpoints_check_their_filters(settings):
    with client_for(settings) as client:
        assert client.get("/api/v1/targets", params={"scope": "SE-XX"}).status_code == 404
        assert client.get("/api/v1/targets/history", params={"scope": "nope"}).status_code == 404
        hint = client.get("/api/v1/targets", params={"scope": "se-ac"}).json()["detail"]
        assert "did you mean 'SE-AC'" in hint
        mismatch = client.get("/api/v1/targets", params={"scope": "norra", "scope_kind": "region"})
        assert mismatch.status_code == 404
        assert mismatch.json()["detail"] == "no region 'norra' ('norra' is a collaboration)"
        for endpoint, params, loc in [
            ("/api/v1/targets", {"month": "2025-13"}, ["query", "month"]),
            ("/api/v1/targets", {"kpi": "offered"}, ["query", "kpi"]),
            ("/api/v1/targets/history", {"kpi": "offered"}, ["query", "kpi"]),
            ("/api/v1/targets", {"scope_kind": "county"}, ["query", "scope_kind"]),
        ]:
            response = client.get(endpoint, params=params)
            assert response.status_code == 422 and loc in [e["loc"] for e in response.json()["detail"]], response.text


def test_openapi_lists_the_endpoints_with_their_models(settings):
    with client_for(settings) as client:
        spec = client.get("/openapi.json").json()
    paths = spec["paths"]

    def ok_schema(path: str, method: str) -> dict:
        return paths[path][method]["responses"]["200"]["content"]["application/json"]["schema"]

    assert ok_schema("/api/v1/targets", "get") == {"$ref": "#/components/schemas/TargetsInForce"}
    assert ok_schema("/api/v1/targets/history", "get")["items"] == {"$ref": "#/components/schemas/TargetVersionOut"}
    put = paths["/api/v1/targets/{scope_kind}/{scope}/{kpi}"]["put"]
    assert ok_schema("/api/v1/targets/{scope_kind}/{scope}/{kpi}", "put") == {
        "$ref": "#/components/schemas/TargetSetOut"}
    assert put["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TargetIn"}
    assert {"404", "422"} <= set(put["responses"])
    schemas = spec["components"]["schemas"]
    assert schemas["TargetIn"]["required"] == ["value", "valid_from", "reason"]
    assert "affects_closed_months" in schemas["TargetSetOut"]["properties"]
    assert set(schemas["TargetVersionOut"]["properties"]) >= {
        "scope_kind", "scope", "kpi", "comparator", "value", "valid_from", "set_by", "reason", "created_at"}


def test_put_stores_nothing_when_the_request_fails(session_factory, settings):
    with client_for(settings) as client:
        client.put("/api/v1/targets/region/SE-AC/answer_rate", json={**BODY, "value": 2})
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(TargetVersion)) == 44
