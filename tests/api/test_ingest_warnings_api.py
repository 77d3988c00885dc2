"""Warnings over HTTP (issue 14 §4): the push report and the runs count them, GET /api/v1/ingest/runs/{id}/warnings
lists them in file order; on SQLite and PostgreSQL, through the app factory."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.api.app import create_app
from app.config import Settings
from tests.auth import admin_headers, key_headers

HEADER = "call_id;region;arrived_at;outcome;answered_at;talk_seconds;wrap_seconds\n"
ROW = "{id};SE-AC;2025-10-01T08:00:00+02:00;answered;2025-10-01T08:01:00+02:00;{talk};{wrap}\n"
CSV = {"Content-Type": "text/csv"}
REASON = "not a number: 'abc' (digits 0-9 and a decimal point or comma)"


def client_for(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), headers=admin_headers(settings))


def test_a_push_reports_its_warnings_and_keeps_the_call(settings):
    body = HEADER + ROW.format(id="c1", talk="abc", wrap="") + ROW.format(id="c2", talk="12,5", wrap="")
    with client_for(settings) as client:
        response = client.post("/api/v1/ingest/calls", content=body.encode(), headers=CSV, params={"origin": "sv.csv"})
        report = response.json()
        run = client.get(f"/api/v1/ingest/runs/{report['run_id']}").json()
        runs = client.get("/api/v1/ingest/runs").json()["runs"]
    assert response.status_code == 200, response.text
    assert (report["status"], report["rows_stored"], report["rows_rejected"]) == ("succeeded", 2, 0)
    assert (report["rows_warned"], report["warnings"]) == (1, 1)
    assert report["warning_sample"] == [
        {"position": 2, "record_key": "c1", "field": "talk_seconds", "reason": REASON}]
    assert (run["rows_warned"], run["warnings"]) == (1, 1)
    assert [(r["id"], r["warnings"]) for r in runs] == [(report["run_id"], 1)]


def test_a_runs_warnings_are_paged_in_file_order(settings):
    body = HEADER + "".join(ROW.format(id=f"w{i}", talk="abc", wrap="x" if i == 1 else "") for i in range(3))
    with client_for(settings) as client:
        run_id = client.post("/api/v1/ingest/calls", content=body.encode(), headers=CSV).json()["run_id"]
        pages, after = [], None
        while True:
            params = {"limit": 2} | ({"after_id": after} if after else {})
            page = client.get(f"/api/v1/ingest/runs/{run_id}/warnings", params=params)
            assert page.status_code == 200, page.text
            pages.append([(w["position"], w["record_key"], w["field"]) for w in page.json()["warnings"]])
            after = page.json()["next_after_id"]
            if after is None:
                break
        first = client.get(f"/api/v1/ingest/runs/{run_id}/warnings").json()["warnings"][0]
        missing_run = client.get("/api/v1/ingest/runs/999999/warnings")
        bad_cursor = client.get(f"/api/v1/ingest/runs/{run_id}/warnings", params={"after_id": 999999})
        bad_limit = client.get(f"/api/v1/ingest/runs/{run_id}/warnings", params={"limit": 0})
    assert pages == [[(2, "w0", "talk_seconds"), (3, "w1", "talk_seconds")],
                     [(3, "w1", "wrap_seconds"), (4, "w2", "talk_seconds")]]
    assert set(first) == {"id", "position", "record_key", "field", "reason"} and first["reason"] == REASON
    assert missing_run.status_code == 404 and missing_run.json()["error"] == "not_found"
    assert bad_cursor.status_code == 404 and bad_cursor.json()["error"] == "not_found"
    assert bad_limit.status_code == 422 and bad_limit.json()["error"] == "validation_error"


def test_warnings_need_the_read_scope_and_are_documented(settings):
    with client_for(settings) as client:
        run_id = client.post("/api/v1/ingest/calls", content=(HEADER + ROW.format(id="c1", talk="abc", wrap=""))
                             .encode(), headers=CSV).json()["run_id"]
        spec = client.get("/openapi.json").json()
    with TestClient(create_app(settings), headers=key_headers(settings, "read", name="reader")) as reader:
        readable = reader.get(f"/api/v1/ingest/runs/{run_id}/warnings")
    with TestClient(create_app(settings)) as anonymous:
        closed = anonymous.get(f"/api/v1/ingest/runs/{run_id}/warnings")
    assert readable.status_code == 200 and len(readable.json()["warnings"]) == 1
    assert closed.status_code == 401
    operation = spec["paths"]["/api/v1/ingest/runs/{run_id}/warnings"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IngestWarningPage"}
    assert "404" in operation["responses"]
    pushed = spec["components"]["schemas"]["PushReport"]["properties"]
    assert {"rows_warned", "warnings", "warning_sample"} <= set(pushed)
