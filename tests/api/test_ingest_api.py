"""Push ingest and ingest visibility over HTTP, on SQLite and PostgreSQL, through the app factory."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.api.app import create_app
from app.config import Settings
from app.db.models import Call, IntervalRow, Source
from tests.auth import admin_headers
from tests.pgserver import _free_port

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
CALLS_CSV = (SAMPLES / "calls_october.csv").read_bytes()  # 14 calls: c001–c010 (SE-AC), c101–c104 (SE-BD)
INTERVALS_CSV = (SAMPLES / "intervals_october.csv").read_bytes()  # 11 intervals of SE-Z
CSV = {"Content-Type": "text/csv"}
HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"


def client_for(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), headers=admin_headers(settings))


def count(session_factory, model) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)))


def push(client: TestClient, body: bytes, *, kind: str = "calls", headers=CSV, **params: str) -> httpx.Response:
    return client.post(f"/api/v1/ingest/{kind}", content=body, headers=headers, params=params)


def make_source(client: TestClient, name: str) -> None:
    """A push source other than the default, which an admin makes before anyone pushes to it."""
    assert client.post("/api/v1/sources", json={"name": name}).status_code == 201


# --- push --------------------------------------------------------------------------------------------------


def test_csv_push_is_stored_and_reported(settings, session_factory):
    with client_for(settings) as client:
        response = push(client, CALLS_CSV, origin="calls_october.csv")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["source"] == "push" and report["origin"] == "calls_october.csv"
    assert report["record_kind"] == "calls" and report["run_id"] >= 1
    assert (report["rows_read"], report["rows_stored"], report["rows_updated"], report["rows_unchanged"],
            report["rows_rejected"]) == (14, 14, 0, 0, 0)
    # SE-AC: 06, 07, 08 Oct 1; 10 Oct 15; 00, 01 Oct 26; 22, 23 Oct 31 (UTC). SE-BD: 05, 18 Oct 2.
    assert report["hours_refreshed"] == 10
    assert report["first_record_at"] == "2025-10-01T06:00:00Z"  # c001, 08:00+02:00
    assert report["last_record_at"] == "2025-10-31T23:00:00Z"  # c010, 00:00+01:00 on Nov 1
    assert report["rejections"] == [] and report["seconds"] >= 0
    assert count(session_factory, Call) == 14
    with session_factory() as session:
        source = session.scalars(select(Source)).one()
    assert (source.name, source.kind) == ("push", "push")


def test_interval_push(settings, session_factory):
    with client_for(settings) as client:
        make_source(client, "platform-z")
        response = push(client, INTERVALS_CSV, kind="intervals", headers={"Content-Type": "application/csv"},
                        source="platform-z")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["record_kind"], body["source"], body["rows_read"], body["rows_stored"]) == (
        "intervals", "platform-z", 11, 11)
    assert count(session_factory, IntervalRow) == 11


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "application/jsonl; charset=utf-8",
                                          "application/x-jsonlines", "application/json-lines"])
def test_json_lines_push_chosen_by_content_type(settings, session_factory, content_type):
    lines = (
        b'{"call_id": "j1", "region": "SE-BD", "arrived_at": "2025-10-01T06:00:00Z", "outcome": "answered",'
        b' "answered_at": "2025-10-01T06:00:30Z"}\n'
        b'{"call_id": "j2", "region": "SE-BD", "arrived_at": "2025-10-01T06:10:00Z", "outcome": "abandoned",'
        b' "ended_at": "2025-10-01T06:11:00Z"}\n'
    )
    with client_for(settings) as client:
        response = push(client, lines, headers={"Content-Type": content_type})
    assert response.status_code == 200, response.text
    assert (response.json()["rows_read"], response.json()["rows_stored"]) == (2, 2)
    assert count(session_factory, Call) == 2


def test_the_same_file_pushed_twice_stores_nothing_new(settings, session_factory):
    with client_for(settings) as client:
        first = push(client, CALLS_CSV).json()
        second = push(client, CALLS_CSV).json()
    assert (first["rows_stored"], first["rows_unchanged"]) == (14, 0)
    assert (second["rows_stored"], second["rows_updated"], second["rows_unchanged"]) == (0, 0, 14)
    assert second["hours_refreshed"] == 0
    assert count(session_factory, Call) == 14


@contextmanager
def running_server(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 in a thread, for real concurrent HTTP requests."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # the app's lifespan opens the database: slow on a loaded CI machine
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def push_concurrently(base_url: str, body: bytes, auth: dict[str, str], n: int = 2) -> list[httpx.Response]:
    barrier = threading.Barrier(n)
    responses: list[httpx.Response | BaseException] = [RuntimeError("not run")] * n

    def post(i: int) -> None:
        try:
            with httpx.Client(base_url=base_url, timeout=60, headers=auth) as client:
                barrier.wait(10)
                responses[i] = client.post("/api/v1/ingest/calls", content=body, headers=CSV)
        except BaseException as exc:
            responses[i] = exc

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    for r in responses:
        if isinstance(r, BaseException):
            raise r
    return responses  # type: ignore[return-value]


def assert_one_copy_stored(responses: list[httpx.Response], n_rows: int) -> None:
    assert [r.status_code for r in responses] == [200] * len(responses), [r.text for r in responses]
    reports = [r.json() for r in responses]
    for report in reports:
        assert report["rows_read"] == report["rows_stored"] + report["rows_unchanged"] == n_rows
        assert report["rows_updated"] == report["rows_rejected"] == 0
    assert sum(r["rows_stored"] for r in reports) == n_rows  # whichever ran first stored them all
    assert sum(r["rows_unchanged"] for r in reports) == n_rows * (len(reports) - 1)
    assert len({r["run_id"] for r in reports}) == len(reports)


def test_the_same_file_pushed_twice_at_once_leaves_no_duplicates(settings, session_factory):
    """Two deliveries of the same file race over real HTTP into an already-used source."""
    with client_for(settings) as client:  # the source and the stored definitions exist already
        assert push(client, HEADER.encode() + CALLS_CSV.splitlines(keepends=True)[1]).status_code == 200
    with running_server(create_app(settings)) as base_url:
        responses = push_concurrently(base_url, CALLS_CSV, admin_headers(settings))
    first_line = 1  # c001 was already stored by the warm-up push
    reports = [r.json() for r in responses]
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    assert sum(r["rows_stored"] for r in reports) == 14 - first_line
    assert sum(r["rows_unchanged"] for r in reports) == 14 + first_line
    assert count(session_factory, Call) == 14


@pytest.mark.parametrize("warm", ["nothing", "definitions"])
def test_the_first_push_to_a_new_source_twice_at_once(settings, session_factory, warm):
    """The race where the source (and, on an untouched database, the stored definitions) do not exist yet."""
    if warm == "definitions":
        with client_for(settings) as client:
            make_source(client, "elsewhere")
            assert push(client, HEADER.encode(), source="elsewhere").status_code == 200
    with running_server(create_app(settings)) as base_url:
        responses = push_concurrently(base_url, CALLS_CSV, admin_headers(settings))
    assert_one_copy_stored(responses, 14)
    assert count(session_factory, Call) == 14
    with session_factory() as session:
        assert session.scalars(select(Source.name).order_by(Source.name)).all() == (
            ["elsewhere", "push"] if warm == "definitions" else ["push"])


@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain", "multipart/form-data"])
def test_unsupported_content_type_is_415(settings, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    with client_for(settings) as client:
        response = client.post("/api/v1/ingest/calls", content=CALLS_CSV, headers=headers)
        runs = client.get("/api/v1/ingest/runs").json()["runs"]
    assert response.status_code == 415
    body = response.json()
    assert body["error"] == "unsupported_media_type"
    assert "text/csv" in body["detail"] and "application/x-ndjson" in body["detail"]
    assert runs == []


def chunks(data: bytes, size: int = 100) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_too_large_is_413_with_or_without_a_truthful_content_length(database_url, session_factory):
    settings = Settings(database_url=database_url, max_upload_bytes=500, _env_file=None)  # type: ignore[call-arg]
    assert len(CALLS_CSV) > 500
    with client_for(settings) as client:
        declared = push(client, CALLS_CSV)  # Content-Length: the real size
        streamed = client.post("/api/v1/ingest/calls", content=chunks(CALLS_CSV), headers=CSV)  # chunked
        lying = client.post("/api/v1/ingest/calls", content=CALLS_CSV, headers={**CSV, "Content-Length": "100"})
        small = push(client, CALLS_CSV[:400].rsplit(b"\n", 1)[0] + b"\n")  # under the limit: fine
        runs = client.get("/api/v1/ingest/runs").json()["runs"]
    assert "content-length" not in {k.lower() for k in streamed.request.headers}
    for response in (declared, streamed, lying):
        assert response.status_code == 413, response.text
        assert response.json() == {"error": "payload_too_large",
                                    "detail": "the body is larger than the limit of 500 bytes (VPT_MAX_UPLOAD_BYTES)"}
    assert small.status_code == 200 and small.json()["rows_stored"] >= 1
    assert len(runs) == 1  # refused bodies leave no run behind
    assert count(session_factory, Call) == small.json()["rows_stored"]


def test_too_large_chunked_upload_over_real_http(database_url):
    settings = Settings(database_url=database_url, max_upload_bytes=1000, _env_file=None)  # type: ignore[call-arg]
    with (running_server(create_app(settings)) as base_url,
          httpx.Client(base_url=base_url, timeout=30, headers=admin_headers(settings)) as client):
        response = client.post("/api/v1/ingest/calls", content=chunks(CALLS_CSV * 50, 256), headers=CSV)
        assert response.status_code == 413
        assert client.get("/api/v1/ingest/runs").json()["runs"] == []


def test_empty_body_is_422(settings):
    with client_for(settings) as client:
        response = push(client, b"")
    assert response.status_code == 422
    assert response.json()["error"] == "empty_body"


def test_source_name_is_validated(settings):
    with client_for(settings) as client:
        bad = push(client, CALLS_CSV, source="no spaces/or slashes")
        long = push(client, CALLS_CSV, source="x" * 129)
    assert bad.status_code == long.status_code == 422
    assert bad.json()["error"] == "validation_error" and bad.json()["detail"][0]["loc"] == ["query", "source"]


def test_all_rows_bad_is_422_with_the_report_and_the_rows_kept(settings, session_factory):
    body = HEADER + (
        "b1,SE-XX,vpt,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:05:00+02:00,,,,\n"
        "b2,SE-AC,vpt,not-a-time,answered,2025-10-01T08:05:00+02:00,,,,\n"
        "b3,SE-AC,vpt,2025-10-01T08:00:00+02:00,mystery,,,,,\n"
    )
    with client_for(settings) as client:
        response = push(client, body.encode(), origin="bad.csv")
        assert response.status_code == 422, response.text
        error = response.json()
        rejected = client.get("/api/v1/ingest/rejected", params={"run": error["report"]["run_id"]}).json()
    assert error["error"] == "no_rows_stored" and "3 rows" in error["detail"]
    report = error["report"]
    assert (report["rows_read"], report["rows_rejected"], report["rows_stored"]) == (3, 3, 0)
    assert [(r["position"], r["record_key"], r["field"]) for r in report["rejections"]] == [
        (2, "b1", "region"), (3, "b2", "arrived_at"), (4, "b3", "outcome")]
    assert all("raw" not in r for r in report["rejections"])
    assert rejected["run_id"] == report["run_id"] and rejected["next_after_id"] is None
    assert [(r["position"], r["field"]) for r in rejected["rows"]] == [(2, "region"), (3, "arrived_at"),
                                                                       (4, "outcome")]
    assert rejected["rows"][0]["raw"].startswith("b1,SE-XX,vpt,2025-10-01T08:00:00+02:00,answered")
    assert "unknown region" in rejected["rows"][0]["reason"]
    assert count(session_factory, Call) == 0


def test_mixed_good_and_bad_rows_is_200_naming_line_and_field(settings, session_factory):
    body = HEADER + (
        "m1,SE-AC,vpt,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:05:00+02:00,,,,\n"
        "m2,SE-AC,vpt,2025-10-01T08:00:00+02:00,answered,,,,,\n"
        "m3,SE-BD,vpt,2025-10-01T09:00:00+02:00,abandoned,,2025-10-01T09:02:00+02:00,,,\n"
        "m4,SE-BD,vpt,2025-10-01T09:00:00+02:00,rejected,,,,-5,\n"
    )
    with client_for(settings) as client:
        response = push(client, body.encode())
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows_read"], report["rows_stored"], report["rows_rejected"]) == (4, 3, 1)
    assert [(r["position"], r["record_key"], r["field"]) for r in report["rejections"]] == [(3, "m2", "answered_at")]
    assert all(r["reason"] for r in report["rejections"])
    # a bad optional field is a warning: m4 is stored without its talk time (issue 14 §4)
    assert [(w["position"], w["record_key"], w["field"]) for w in report["warning_sample"]] == [
        (5, "m4", "talk_seconds")]
    assert count(session_factory, Call) == 3


def test_a_file_that_cannot_be_read_is_a_failed_run(settings):
    with client_for(settings) as client:
        make_source(client, "broken")
        response = push(client, b"call_id,region\nx1,SE-AC\n", source="broken", origin="nocolumns.csv")
        runs = client.get("/api/v1/ingest/runs", params={"source": "broken"}).json()["runs"]
    assert response.status_code == 422
    assert response.json()["error"] == "ingest_failed"
    assert "missing required column" in response.json()["detail"]
    assert [(r["status"], r["origin"], r["rows_read"]) for r in runs] == [("failed", "nocolumns.csv", 0)]
    assert "arrived_at" in runs[0]["error"]


# --- runs and rejected rows --------------------------------------------------------------------------------


def test_runs_are_listed_newest_first_with_keyset_pages(settings):
    with client_for(settings) as client:
        ids = [push(client, CALLS_CSV, origin=f"d{i}.csv").json()["run_id"] for i in range(3)]
        make_source(client, "other")
        push(client, b"nothing,useful\n", source="other", origin="broken.csv")  # a failed run of another source
        first = client.get("/api/v1/ingest/runs", params={"limit": 2, "source": "push"}).json()
        second = client.get("/api/v1/ingest/runs",
                            params={"limit": 2, "source": "push", "before_id": first["next_before_id"]}).json()
        everything = client.get("/api/v1/ingest/runs").json()
        failed = client.get("/api/v1/ingest/runs", params={"status": "failed"}).json()
        one = client.get(f"/api/v1/ingest/runs/{ids[0]}").json()
        missing = client.get("/api/v1/ingest/runs/999999")
        bad_status = client.get("/api/v1/ingest/runs", params={"status": "maybe"})
    assert [r["id"] for r in first["runs"]] == [ids[2], ids[1]] and first["next_before_id"] == ids[1]
    assert [r["origin"] for r in second["runs"]] == ["d0.csv"] and second["next_before_id"] is None
    assert [r["source"] for r in everything["runs"]] == ["other", "push", "push", "push"]
    assert everything["next_before_id"] is None
    assert [(r["source"], r["status"]) for r in failed["runs"]] == [("other", "failed")]
    assert one["id"] == ids[0] and one["status"] == "succeeded" and one["rows_stored"] == 14
    assert one["content_sha256"] is not None and len(one["content_sha256"]) == 64
    assert one["finished_at"] is not None and one["error"] is None
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert bad_status.status_code == 422


def test_rejected_rows_are_paged_in_file_order(settings):
    body = HEADER + "".join(f"r{i},SE-XX,vpt,2025-10-01T08:00:00+02:00,answered,,,,,\n" for i in range(5))
    with client_for(settings) as client:
        run_id = push(client, body.encode()).json()["report"]["run_id"]
        pages, after = [], None
        while True:
            params = {"run": run_id, "limit": 2} | ({"after_id": after} if after else {})
            page = client.get("/api/v1/ingest/rejected", params=params).json()
            pages.append([r["record_key"] for r in page["rows"]])
            after = page["next_after_id"]
            if after is None:
                break
        missing_run = client.get("/api/v1/ingest/rejected", params={"run": 999999})
        no_run = client.get("/api/v1/ingest/rejected")
        bad_cursor = client.get("/api/v1/ingest/rejected", params={"run": run_id, "after_id": 999999})
    assert pages == [["r0", "r1"], ["r2", "r3"], ["r4"]]
    assert missing_run.status_code == 404 and missing_run.json()["error"] == "not_found"
    assert no_run.status_code == 422
    assert bad_cursor.status_code == 404


# --- sources -----------------------------------------------------------------------------------------------


def test_sources_show_freshness_after_success_and_failure(settings):
    with client_for(settings) as client:
        assert client.get("/api/v1/sources").json() == []
        push(client, CALLS_CSV)
        after_success = client.get("/api/v1/sources/push").json()
        failed = push(client, b"call_id,region\nx1,SE-AC\n")
        after_failure = client.get("/api/v1/sources/push").json()
        listing = client.get("/api/v1/sources").json()
        missing = client.get("/api/v1/sources/nope")
    assert after_success["kind"] == "push" and after_success["enabled"] is True
    assert after_success["last_success_at"] is not None and after_success["last_error"] is None
    assert after_success["delivered_until"] == "2025-10-31T23:00:00Z"
    assert after_success["latest_run"]["status"] == "succeeded"
    assert after_success["runs"] == {"total": 1, "succeeded": 1, "rejected": 0, "failed": 0, "running": 0}
    assert after_success["config"] is None
    assert failed.status_code == 422
    assert "missing required column" in after_failure["last_error"]
    assert after_failure["last_error_at"] is not None and after_failure["consecutive_failures"] == 1
    assert after_failure["last_success_at"] == after_success["last_success_at"]
    assert after_failure["latest_run"]["status"] == "failed"
    assert after_failure["runs"] == {"total": 2, "succeeded": 1, "rejected": 0, "failed": 1, "running": 0}
    assert listing == [after_failure]
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_sources_never_show_config_secrets(settings, session_factory):
    with session_factory() as session:
        session.add(Source(name="platform-norra", kind="http", config={
            "base_url": "https://vpt:hunter2@platform.example/api?token=tok3n&page=1",
            "auth_header": "Bearer secret",
            "auth_header_env": "VPT_PLATFORM_TOKEN",
            "cadence_seconds": 60,
        }, cursor="c-42", records_behind=7))
        session.commit()
    with client_for(settings) as client:
        listing = client.get("/api/v1/sources")
        one = client.get("/api/v1/sources/platform-norra")
    for response in (listing, one):
        assert response.status_code == 200
        for secret in ("secret", "hunter2", "tok3n", "auth_header", "VPT_PLATFORM_TOKEN"):
            assert secret not in response.text
    body = one.json()
    assert body["config"] == {"base_url": "https://vpt:***@platform.example/api?token=%2A%2A%2A&page=%2A%2A%2A",
                              "cadence_seconds": 60}
    assert (body["kind"], body["cursor"], body["records_behind"]) == ("http", "c-42", 7)
    assert body["latest_run"] is None and body["runs"]["total"] == 0


# --- the OpenAPI document ----------------------------------------------------------------------------------


def test_openapi_documents_every_new_path_with_a_response_model(settings):
    with client_for(settings) as client:
        spec = client.get("/openapi.json").json()
    endpoints = [
        ("post", "/api/v1/ingest/calls"), ("post", "/api/v1/ingest/intervals"),
        ("get", "/api/v1/ingest/runs"), ("get", "/api/v1/ingest/runs/{run_id}"),
        ("get", "/api/v1/ingest/rejected"), ("get", "/api/v1/sources"), ("get", "/api/v1/sources/{name}"),
    ]
    for method, path in endpoints:
        schema = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in schema or "$ref" in schema.get("items", {}), (method, path, schema)
    push = spec["paths"]["/api/v1/ingest/calls"]["post"]
    assert {"text/csv", "application/x-ndjson"} <= set(push["requestBody"]["content"])
    assert {"413", "415", "422"} <= set(push["responses"])
    for name in ("PushReport", "IngestRunPage", "RejectedRowPage", "SourceOut"):
        assert name in spec["components"]["schemas"]
    assert "config" not in str(spec["components"]["schemas"]["SourcePublicConfig"]["properties"])


def test_a_push_into_a_pull_source_is_refused(settings, session_factory):
    with session_factory.begin() as session:
        session.add(Source(name="platform", kind="http"))
    with client_for(settings) as client:
        response = push(client, CALLS_CSV, source="platform")
    assert response.status_code == 409 and response.json()["error"] == "source_kind_mismatch"
    assert count(session_factory, Call) == 0
