"""The API's KPIs come from the catalogue: a target's ``kpi`` is an enum in OpenAPI, a scorecard's ``kpis`` has one
field per catalogue KPI (issue 13)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.api.app import create_app
from app.config import Settings
from app.kpi.catalog import KPI_KEYS, KPIS, TARGETABLE_KEYS
from tests.auth import admin_headers


def test_a_targets_kpi_is_an_enum_of_the_targetable_kpis_everywhere(settings: Settings) -> None:
    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        spec = client.get("/openapi.json").json()
        schemas, paths = spec["components"]["schemas"], spec["paths"]
        enum = list(TARGETABLE_KEYS)
        assert schemas["TargetVersionOut"]["properties"]["kpi"]["enum"] == enum
        put = paths["/api/v1/targets/{scope_kind}/{scope}/{kpi}"]["put"]
        (kpi_path,) = [p for p in put["parameters"] if p["name"] == "kpi"]
        assert kpi_path["schema"]["enum"] == enum
        for path in ("/api/v1/targets", "/api/v1/targets/history"):
            (kpi_query,) = [p for p in paths[path]["get"]["parameters"] if p["name"] == "kpi"]
            assert next(s for s in kpi_query["schema"]["anyOf"] if "enum" in s)["enum"] == enum
        properties = schemas["Kpis"]["properties"]
        assert list(properties) == list(KPI_KEYS) == schemas["Kpis"]["required"]
        assert properties["answer_rate"]["description"].startswith("Svarsfrekvens / Answer rate: answered / offered")
        assert properties["offered"]["type"] == "integer"
        assert {s["type"] for s in properties["mean_wait"]["anyOf"]} == {"number", "null"}

        # a KPI outside the enum is refused where it is named, before the service is asked
        response = client.put("/api/v1/targets/region/SE-AC/offered",
                              json={"value": 0.9, "valid_from": "2026-01", "reason": "x"})
        assert response.status_code == 422 and response.json()["error"] == "validation_error"
        assert ["path", "kpi"] in [e["loc"] for e in response.json()["detail"]]
        listed = client.get("/api/v1/targets", params={"kpi": "answer_rate"})
        assert listed.status_code == 200 and {t["kpi"] for t in listed.json()["targets"]} == {"answer_rate"}
        assert KPIS["answer_rate"].targetable and not KPIS["offered"].targetable
