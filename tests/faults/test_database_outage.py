"""PostgreSQL stopped while a real `vpt serve` process answers, then started again on the same port and data.

While the database is down the API stays alive (``/healthz`` 200) but not ready (``/readyz`` 503), every data
endpoint answers a clean 503 JSON error with ``Retry-After`` (no 500, no traceback, no SQL, no credentials),
``/metrics`` reports ``vpt_database_up 0``, and the outage is logged once, not per request. When the server
is back the same process serves the same figures within seconds, without a restart: the pool's pre-ping
drops the connections the old server closed and opens new ones.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from app.config import Settings
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory
from tests.conftest import start_postgres
from tests.faults.support import PUBLIC_READ_ENV, wait_for
from tests.helpers import ingest
from tests.pgserver import PostgresServer
from tests.servers import free_port

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PASSWORD = "outage-pw-7f3a"  # the server trusts local connections, so it is sent and ignored: never shown
DATA_ENDPOINTS = [
    "/api/v1/scorecards/2025-10",
    "/api/v1/scorecards/2025-10?format=csv",
    "/api/v1/regions",
    "/api/v1/regions/SE-AC/scorecards?from=2025-09&to=2025-10",
    "/api/v1/regions/SE-AC/days?month=2025-10",
    "/api/v1/targets",
    "/api/v1/sources",
    "/api/v1/ingest/runs",
    "/api/v1/alerts",
]
LEAKS = ("Traceback", "SELECT", "FROM ", "psycopg", "sqlalchemy", "sqlalche.me", PASSWORD, "127.0.0.1")


@pytest.fixture
def dedicated_postgres() -> Iterator[PostgresServer]:
    """A server of this test's own: the suite's shared server must not be stopped under other tests."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


def _snapshot(client: httpx.Client) -> dict[str, object]:
    document = client.get("/api/v1/scorecards/2025-10").raise_for_status().json()
    document.pop("generated_at")
    return document


@pytest.mark.postgres
@pytest.mark.slow
def test_the_api_answers_503_while_postgresql_is_down_and_recovers_without_a_restart(
    dedicated_postgres: PostgresServer, tmp_path: Path
) -> None:
    server = dedicated_postgres
    admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE vpt_outage"))
    admin.dispose()
    url = server.url("vpt_outage").replace("//vpt@", f"//vpt:{PASSWORD}@")
    upgrade(url)
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(settings)
    ingest(make_session_factory(engine), settings, "calls", SAMPLES / "calls_october.csv")
    engine.dispose()

    port = free_port()
    log_path = tmp_path / "api.log"
    # TTL 0: every request asks the database for the data version, so the outage shows at the first request
    # (with the default 1 s, a scorecard already cached is served for up to a second longer, which is fine).
    env = os.environ | PUBLIC_READ_ENV | {"VPT_DATABASE_URL": url, "VPT_LOG_LEVEL": "INFO",
                                          "VPT_SCORECARD_VERSION_TTL_SECONDS": "0"}
    with log_path.open("wb") as log_file:
        api = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=tmp_path, stdout=log_file, stderr=subprocess.STDOUT,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

            def healthy() -> bool:
                assert api.poll() is None, log_path.read_text()
                try:
                    return client.get("/healthz").status_code == 200
                except httpx.TransportError:
                    return False

            wait_for(healthy, 120, what="the API to start")  # seconds of imports, more on a loaded CI machine
            assert client.get("/readyz").status_code == 200
            for path in DATA_ENDPOINTS:  # every endpoint works (and holds a pooled connection) before
                assert client.get(path).status_code == 200, (path, client.get(path).text)
            before = _snapshot(client)
            assert any(scope["scope"] == "SE-AC" for scope in before["scopes"])  # type: ignore[union-attr]

            server.halt("fast")

            assert client.get("/healthz").status_code == 200  # alive: not a reason to restart the process
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
            for _ in range(2):  # the pooled connections die first, then new ones are refused
                for path in DATA_ENDPOINTS:
                    response = client.get(path)
                    assert response.status_code == 503, (path, response.status_code, response.text)
                    assert response.headers["content-type"].startswith("application/json"), path
                    assert response.json() == {"error": "database_unavailable", "detail": "database unavailable"}
                    assert int(response.headers["retry-after"]) > 0
                    assert not [leak for leak in LEAKS if leak in response.text], (path, response.text)
            metrics = client.get("/metrics")
            assert metrics.status_code == 200 and "vpt_database_up 0.0" in metrics.text

            server.resume()

            def recovered() -> bool:
                return client.get("/api/v1/scorecards/2025-10").status_code == 200

            wait_for(recovered, 60, interval=0.2, what="the API to serve again after PostgreSQL came back")
            assert _snapshot(client) == before
            assert client.get("/readyz").status_code == 200
            for path in DATA_ENDPOINTS:
                assert client.get(path).status_code == 200, path
            assert "vpt_database_up 1.0" in client.get("/metrics").text
    finally:
        api.send_signal(signal.SIGTERM)
        try:
            api.wait(timeout=20)
        except subprocess.TimeoutExpired:
            api.kill()
            api.wait()
    log = log_path.read_text(errors="replace")
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-4000:]
    assert PASSWORD not in log
    assert log.count("database.unavailable") == 1, log[-4000:]  # once per outage, not per request
    assert " 500 " not in log


def test_only_outages_become_503_a_bug_in_sql_stays_a_500() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from app.api.errors import install_error_handlers

    class Cause(Exception):
        pass

    errors: dict[str, Exception] = {
        "refused": OperationalError("SELECT secret FROM t", {"pw": PASSWORD}, Cause("connection refused")),
        "cut": DBAPIError("SELECT 1", None, Cause("server closed the connection"), connection_invalidated=True),
        "pool": PoolTimeout("QueuePool limit of size 5 overflow 10 reached"),
        "constraint": IntegrityError("INSERT INTO t", None, Cause("duplicate key")),
    }
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/{name}")
    def fail(name: str) -> None:
        raise errors[name]

    with TestClient(app, raise_server_exceptions=False) as client:
        for name in ("refused", "cut", "pool"):
            response = client.get(f"/{name}")
            assert response.status_code == 503, name
            assert response.json() == {"error": "database_unavailable", "detail": "database unavailable"}
            assert response.headers["retry-after"] == "5"
            assert "secret" not in response.text and PASSWORD not in response.text
        assert client.get("/constraint").status_code == 500
