"""Request limits (issue 7): every body is bounded, and every refusal names its limit.

The body limit is an ASGI middleware (``app.api.limits``); ``install_limits`` is idempotent, so these tests
install it on the app factory's app whether or not the factory already does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import func, select

from app.api.app import create_app
from app.api.limits import RequestLimitsMiddleware, install_limits
from app.config import Settings
from app.db.models import Call, IngestRun
from tests.auth import key_headers
from tests.servers import running_server

SMALL = Settings(max_body_bytes=1024, max_upload_bytes=4096, _env_file=None)  # type: ignore[call-arg]
CSV = {"Content-Type": "text/csv"}
HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"


class Doc(BaseModel):
    text: str


def toy_app() -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    def echo(doc: Doc) -> dict[str, int]:
        return {"length": len(doc.text)}

    @app.post("/api/v1/ingest/calls")
    async def upload(request: Request) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"size": size}

    install_limits(app, SMALL)
    install_limits(app, SMALL)  # a second call changes nothing
    return app


def doc(size: int) -> bytes:
    return json.dumps({"text": "x" * (size - 12)}).encode()


def chunks(data: bytes, size: int = 100) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


def refused(response: httpx.Response, limit: int, setting: str) -> bool:
    assert response.status_code == 413, response.text
    assert response.json() == {"error": "payload_too_large",
                               "detail": f"the body is larger than the limit of {limit} bytes ({setting})"}
    return True


def test_the_middleware_is_installed_once():
    app = toy_app()
    assert [m.cls for m in app.user_middleware].count(RequestLimitsMiddleware) == 1


def test_a_json_body_past_the_limit_is_413_declared_chunked_or_lying():
    json_type = {"Content-Type": "application/json"}
    with TestClient(toy_app()) as client:
        assert client.post("/echo", content=doc(1024), headers=json_type).json() == {"length": 1012}
        assert refused(client.post("/echo", content=doc(1025), headers=json_type), 1024, "VPT_MAX_BODY_BYTES")
        assert refused(client.post("/echo", content=chunks(doc(5000)), headers=json_type), 1024, "VPT_MAX_BODY_BYTES")
        lying = client.post("/echo", content=doc(5000), headers={**json_type, "Content-Length": "10"})
        assert refused(lying, 1024, "VPT_MAX_BODY_BYTES")


def test_uploads_have_their_own_limit():
    with TestClient(toy_app()) as client:
        assert client.post("/api/v1/ingest/calls", content=b"x" * 4096).json() == {"size": 4096}
        assert refused(client.post("/api/v1/ingest/calls", content=b"x" * 4097), 4096, "VPT_MAX_UPLOAD_BYTES")
        assert refused(client.post("/api/v1/ingest/calls", content=chunks(b"x" * 9000)), 4096, "VPT_MAX_UPLOAD_BYTES")


@pytest.mark.parametrize(("method", "path"), [
    ("PUT", "/api/v1/targets/region/SE-AC/answer_rate"),
    ("POST", "/api/v1/silences"),
])
def test_every_endpoint_with_a_body_is_bounded_before_the_key_is_checked(settings, method: str, path: str):
    big = json.dumps({"reason": "x" * (2 << 20)}).encode()
    app = create_app(settings)
    install_limits(app, settings)
    with TestClient(app) as client:
        declared = client.request(method, path, content=big, headers={"Content-Type": "application/json"})
        streamed = client.request(method, path, content=chunks(big, 64 << 10),
                                  headers={"Content-Type": "application/json"})
    for response in (declared, streamed):
        assert refused(response, 1 << 20, "VPT_MAX_BODY_BYTES")


def test_a_chunked_body_past_the_limit_over_real_http(settings):
    app = create_app(settings)
    install_limits(app, settings)
    big = json.dumps({"reason": "x" * (3 << 20)}).encode()
    with running_server(app) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        response = client.put("/api/v1/targets/region/SE-AC/answer_rate", content=chunks(big, 64 << 10),
                              headers={"Content-Type": "application/json"})
        assert refused(response, 1 << 20, "VPT_MAX_BODY_BYTES")
        assert client.get("/healthz").status_code == 200  # the server goes on


def test_a_push_with_more_rows_than_the_limit_is_413_and_stores_nothing(database_url, session_factory):
    settings = Settings(database_url=database_url, max_upload_rows=3, _env_file=None)  # type: ignore[call-arg]
    rows = "".join(f"c{i},SE-AC,,2025-10-01T08:00:00+02:00,rejected,,,,,\n" for i in range(4))
    app = create_app(settings)
    install_limits(app, settings)
    headers: dict[str, Any] = {**key_headers(settings, "ingest"), **CSV}
    with TestClient(app) as client:
        response = client.post("/api/v1/ingest/calls", content=HEADER + rows, headers=headers,
                               params={"origin": "big.csv"})
        at_limit = client.post("/api/v1/ingest/calls", content=HEADER + rows.split("c3,")[0], headers=headers)
    assert response.status_code == 413, response.text
    assert response.json() == {
        "error": "too_many_rows",
        "detail": "big.csv: more than 3 rows, the limit of one delivery (VPT_MAX_UPLOAD_ROWS): nothing was stored; "
                  "split the file",
    }
    assert at_limit.status_code == 200 and at_limit.json()["rows_stored"] == 3
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 3
        assert [r.status for r in session.scalars(select(IngestRun).order_by(IngestRun.id))] == ["failed", "succeeded"]


def test_a_nul_in_the_path_or_query_is_422_before_any_query(settings):
    # On PostgreSQL a NUL that reached a query failed it ("text fields cannot contain NUL"): a 500.
    app = create_app(settings)
    install_limits(app, settings)
    with TestClient(app) as client:
        in_query = client.get("/api/v1/targets/history?scope=SE-AC%00")
        in_path = client.get("/api/v1/sources/a%00b")
    assert in_query.status_code == in_path.status_code == 422
    assert in_query.json() == {"error": "validation_error", "detail": [  # names the parameter, like any 422
        {"loc": ["query", "scope"], "msg": "must not contain a NUL character (%00)", "type": "nul_character"}]}
    assert in_path.json()["detail"][0]["loc"] == ["path"]
