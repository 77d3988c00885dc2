"""Through the real push API: text from input is shown back sanitised, and every error, the unexpected ones
included, is JSON ``{"error", "detail"}`` (issue 12, item 3). On SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.config import Settings
from tests.auth import key_headers

JSONL = {"Content-Type": "application/x-ndjson"}
REST = '"region": "SE-AC", "arrived_at": "2025-10-01T08:00:00Z", "outcome": "rejected"}\n'


def client(settings: Settings, app: FastAPI | None = None) -> TestClient:
    # raise_server_exceptions=False: what a real client would get, not the exception behind it.
    return TestClient(app or create_app(settings), headers=key_headers(settings, "ingest", "read"),
                      raise_server_exceptions=False)


def test_a_lone_surrogate_in_a_call_id_is_a_rejection_shown_escaped_not_a_500(settings):
    body = ('{"call_id": "bad\\ud800", ' + REST + '{"call_id": "ok", ' + REST).encode()
    with client(settings) as api:
        pushed = api.post("/api/v1/ingest/calls", content=body, headers=JSONL)
        assert pushed.status_code == 200, pushed.text
        report = pushed.json()
        rejected = api.get("/api/v1/ingest/rejected", params={"run": report["run_id"]})
        only_bad = api.post("/api/v1/ingest/calls", content=('{"call_id": "x\\udfff", ' + REST).encode(), headers=JSONL)
    assert (report["rows_stored"], report["rows_rejected"]) == (1, 1)
    assert report["rejections"] == [{"position": 1, "record_key": "bad\\ud800", "field": "call_id",
                                     "reason": "not valid Unicode: a lone surrogate U+D800"}]
    assert rejected.status_code == 200 and rejected.json()["rows"][0]["record_key"] == "bad\\ud800"
    assert only_bad.status_code == 422 and only_bad.headers["content-type"] == "application/json"
    assert only_bad.json()["error"] == "no_rows_stored"
    assert only_bad.json()["report"]["rejections"][0]["record_key"] == "x\\udfff"


def test_an_origin_with_a_c1_control_is_shown_escaped_in_the_report_and_in_an_error(settings):
    good = ('{"call_id": "c1", ' + REST).encode()
    with client(settings) as api:
        report = api.post("/api/v1/ingest/calls", content=good, headers=JSONL, params={"origin": "up\u009bload"})
        refused = api.post("/api/v1/ingest/calls", content="\ufeffx".encode("utf-16"), headers=JSONL,
                           params={"origin": "evil\u009b[2J.jsonl"})
    assert report.status_code == 200 and report.json()["origin"] == "up\\x9bload"
    assert refused.status_code == 422 and refused.json()["error"] == "ingest_failed"
    assert refused.json()["detail"].startswith("evil\\x9b[2J.jsonl: the file is UTF-16-encoded")


def test_a_refused_content_type_is_quoted_escaped(settings):
    with client(settings) as api:
        refused = api.post("/api/v1/ingest/calls", content=b"x", headers={"Content-Type": b"text/x\x9b[2J"})
    detail = refused.json()["detail"]
    assert refused.status_code == 415 and "is not accepted" in detail
    assert "\\x9b[2J" in detail and "\x9b" not in detail


def test_an_unexpected_error_is_a_json_500_that_withholds_its_text(settings):
    class Gone(Exception):
        status_code = 410  # a domain error that carries its status but has no handler of its own

    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("connection to postgresql://vpt:s3cret@db failed")

    @app.get("/gone")
    def gone() -> None:
        raise Gone("it went \ud800 away")

    with client(settings, app) as api:
        crashed = api.get("/boom")
        went = api.get("/gone")
    assert crashed.status_code == 500 and crashed.headers["content-type"] == "application/json"
    assert crashed.json() == {"error": "internal_error", "detail": "an unexpected error; it has been logged"}
    assert went.status_code == 410 and went.json() == {"error": "gone", "detail": "it went \\ud800 away"}
