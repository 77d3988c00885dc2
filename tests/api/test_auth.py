"""Access control over HTTP, on SQLite and PostgreSQL: 401 and 403, scopes, public reads, the metrics token,
revocation and expiry, keys stored only hashed, constant-time comparison, audit rows, CORS, OpenAPI."""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.access.keys import find_key, revoke_key
from app.api.app import create_app
from app.api.auth import Authenticator
from app.config import Settings
from app.db.auth_models import ApiKey
from app.db.models import Base
from app.db.session import transaction
from tests.auth import make_key

CSV = {"Content-Type": "text/csv"}
HEADER = b"call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"  # no rows: a valid, empty delivery
TARGET = {"comparator": ">=", "value": 0.9, "valid_from": "2026-01", "reason": "Regionstyrelsen"}
OPEN = {"/healthz", "/readyz", "/metrics"}


def client_for(settings: Settings, **changes: Any) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=changes) if changes else settings))


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with client_for(settings) as test_client:
        yield test_client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# One endpoint of each scope, called the way a client would.
CALLS = {
    "read": lambda c, h: c.get("/api/v1/regions", headers=h),
    "ingest": lambda c, h: c.post("/api/v1/ingest/calls", content=HEADER, headers={**h, **CSV}),
    "admin": lambda c, h: c.put("/api/v1/targets/region/SE-AC/answer_rate", json=TARGET, headers=h),
    "admin-read": lambda c, h: c.get("/api/v1/audit", headers=h),
}


def assert_401(response: Any, detail: str | None = None) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["error"] == "unauthorized" and isinstance(body["detail"], str)
    if detail is not None:
        assert detail in body["detail"]


# --- 401 ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("call", sorted(CALLS))
def test_no_key_is_401_with_www_authenticate_and_the_error_shape(client: TestClient, call: str) -> None:
    assert_401(CALLS[call](client, {}), "an API key is required")


def test_every_operation_but_the_probes_and_metrics_needs_a_key(client: TestClient) -> None:
    """Walk the OpenAPI document: a route added later without a scope fails here."""
    spec = client.get("/openapi.json").json()
    checked = 0
    for path, operations in spec["paths"].items():
        if path in OPEN:
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        for method in operations:
            assert_401(client.request(method.upper(), url))
            checked += 1
    assert checked >= 25


def test_bad_keys_are_401(settings: Settings, client: TestClient) -> None:
    key = make_key(settings, "admin")
    public_id = key.split("_")[1]
    wrong_secret = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    unknown_id = "vpt_Zzzzzzzz_" + key.split("_", 2)[2]
    for presented, detail in [("nonsense", "not an API key"), (key + "x", "not an API key"),
                              (wrong_secret, "invalid API key"), (unknown_id, "invalid API key")]:
        assert_401(client.get("/api/v1/regions", headers=bearer(presented)), detail)
        assert_401(client.get("/api/v1/regions", headers={"X-API-Key": presented}), detail)
    assert_401(client.get("/api/v1/regions", headers={"Authorization": f"Basic {key}"}))  # not a bearer
    assert client.get("/api/v1/regions", headers=bearer(key)).status_code == 200
    assert client.get("/api/v1/regions", headers={"X-API-Key": key}).status_code == 200
    assert public_id in key


def test_a_revoked_key_is_401_at_once_through_the_api(settings: Settings, client: TestClient) -> None:
    admin, reader = make_key(settings, "admin"), make_key(settings, "read", name="reader")
    assert client.get("/api/v1/regions", headers=bearer(reader)).status_code == 200  # now cached
    public_id = reader.split("_")[1]
    revoked = client.delete(f"/api/v1/keys/{public_id}", headers=bearer(admin))
    assert revoked.status_code == 200 and revoked.json()["revoked_by"].startswith("key:test:")
    assert_401(client.get("/api/v1/regions", headers=bearer(reader)), "revoked")
    again = client.delete(f"/api/v1/keys/{public_id}", headers=bearer(admin))  # idempotent, same revocation
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert client.delete("/api/v1/keys/Nosuchid", headers=bearer(admin)).status_code == 404


def test_a_key_revoked_elsewhere_works_until_the_cache_expires(session_factory: sessionmaker[Session]) -> None:
    """The documented revocation latency: at most ``auth_cache_seconds`` (here 10 s of a fake clock)."""
    key = make_key(session_factory, "read")
    now = [0.0]
    authenticator = Authenticator(session_factory, 10, clock=lambda: now[0])
    assert authenticator.authenticate(key).name == "test"
    with transaction(session_factory) as session:  # another process (the CLI) revokes it
        row = find_key(session, key.split("_")[1])
        assert row is not None and revoke_key(session, row, actor="cli:test")
    now[0] = 9.9
    assert authenticator.authenticate(key).name == "test"  # still trusted from the cache
    now[0] = 10.0
    with pytest.raises(HTTPException) as refused:
        authenticator.authenticate(key)
    assert refused.value.status_code == 401 and "revoked" in str(refused.value.detail)


def test_an_expired_key_is_401_even_from_the_cache(settings: Settings, session_factory: sessionmaker[Session],
                                                   client: TestClient) -> None:
    key = make_key(settings, "read")
    with transaction(session_factory) as session:
        session.execute(update(ApiKey).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert_401(client.get("/api/v1/regions", headers=bearer(key)), "expired")

    # Both clocks pinned: with a real half-second expiry, a slow first lookup on a loaded machine found the key
    # already expired. The cache clock stands still, so the second call is certainly served from the cache.
    soon = make_key(session_factory, "read", name="soon")
    expires = datetime.now(UTC) + timedelta(hours=1)
    with transaction(session_factory) as session:
        session.execute(update(ApiKey).where(ApiKey.name == "soon").values(expires_at=expires))
    wall = [expires - timedelta(seconds=1)]
    authenticator = Authenticator(session_factory, 10, clock=lambda: 0.0, utc_now=lambda: wall[0])
    assert authenticator.authenticate(soon).name == "soon"  # now cached, with its expiry
    with transaction(session_factory) as session:  # a lookup would now say "revoked": only the cache can say "expired"
        row = find_key(session, soon.split("_")[1])
        assert row is not None and revoke_key(session, row, actor="cli:test")
    wall[0] = expires
    with pytest.raises(HTTPException) as refused:
        authenticator.authenticate(soon)
    assert refused.value.status_code == 401 and "expired" in str(refused.value.detail)


# --- 403: scopes -------------------------------------------------------------------------------------------

ALLOWED = {
    ("read",): {"read"},
    ("ingest",): {"ingest"},  # ingest does not imply read
    ("admin",): {"read", "ingest", "admin", "admin-read"},  # admin implies both
    ("ingest", "read"): {"read", "ingest"},
}


@pytest.mark.parametrize("scopes", sorted(ALLOWED))
def test_each_scope_opens_exactly_its_endpoints(settings: Settings, client: TestClient,
                                                scopes: tuple[str, ...]) -> None:
    headers = bearer(make_key(settings, *scopes))
    for call, request in CALLS.items():
        response = request(client, headers)
        if call in ALLOWED[scopes]:
            assert response.status_code == 200, (scopes, call, response.text)
        else:
            assert response.status_code == 403, (scopes, call, response.text)
            needed = "admin" if call.startswith("admin") else call
            assert response.json() == {"error": "forbidden", "detail": f"this API key lacks the '{needed}' scope"}
            assert "www-authenticate" not in response.headers


def test_a_forbidden_write_changes_nothing(settings: Settings, session_factory: sessionmaker[Session],
                                           client: TestClient) -> None:
    assert CALLS["admin"](client, bearer(make_key(settings, "read", "ingest"))).status_code == 403
    assert CALLS["ingest"](client, bearer(make_key(settings, "read"))).status_code == 403
    with session_factory() as session:
        assert session.scalar(text("SELECT count(*) FROM targets")) == 44
        assert session.scalar(text("SELECT count(*) FROM ingest_runs")) == 0


# --- public reads, probes, metrics -------------------------------------------------------------------------


def test_public_read_opens_gets_but_no_write(settings: Settings) -> None:
    with client_for(settings, public_read=True) as client:
        assert CALLS["read"](client, {}).status_code == 200
        assert client.get("/api/v1/scorecards/2025-10").status_code == 200
        assert_401(CALLS["ingest"](client, {}))
        assert_401(CALLS["admin"](client, {}))
        assert_401(CALLS["admin-read"](client, {}))  # the audit log is an admin read
        assert_401(client.post("/api/v1/silences", json={"scope": "SE-AC", "duration_minutes": 5, "reason": "x"}))
        assert_401(client.delete("/api/v1/silences/1"))
        assert_401(client.get("/api/v1/regions", headers=bearer("vpt_Zzzzzzzz_" + "A" * 43)))  # a bad key is bad
        ingest_only = bearer(make_key(settings, "ingest"))
        assert CALLS["read"](client, ingest_only).status_code == 200  # anyone may read, so its holder may too


@pytest.mark.parametrize("public_read", [False, True])
def test_probes_are_open(settings: Settings, public_read: bool) -> None:
    with client_for(settings, public_read=public_read) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert client.get("/metrics").status_code == 200  # no token set: open, as scrapers expect


def test_metrics_need_the_token_when_one_is_set(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[Any, Any]] = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    admin = make_key(settings, "admin")
    with client_for(settings, metrics_token=SecretStr("s3cret-scrape-token")) as client:
        assert_401(client.get("/metrics"), "VPT_METRICS_TOKEN")
        assert_401(client.get("/metrics", headers=bearer("wrong")))
        assert_401(client.get("/metrics", headers=bearer(admin)))  # an API key is not the scrape token
        ok = client.get("/metrics", headers=bearer("s3cret-scrape-token"))
    assert ok.status_code == 200 and "vpt_database_up 1.0" in ok.text
    assert (b"s3cret-scrape-token", b"s3cret-scrape-token") in compared  # constant-time comparison


def test_keys_are_compared_in_constant_time(settings: Settings, client: TestClient,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    key = make_key(settings, "read")
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    assert client.get("/api/v1/regions", headers=bearer(key)).status_code == 200
    assert_401(client.get("/api/v1/regions", headers=bearer(key[:-1] + ("A" if key[-1] != "A" else "B"))))
    assert len(calls) == 2 and all(len(a) == len(b) == 64 for a, b in calls)  # two hex HMACs, never the key


# --- storage -----------------------------------------------------------------------------------------------


def test_the_key_is_stored_only_as_a_salted_hash(settings: Settings, session_factory: sessionmaker[Session],
                                                 client: TestClient) -> None:
    admin = make_key(settings, "admin")
    made = client.post("/api/v1/keys", json={"name": "platform-norra", "scopes": ["ingest"]}, headers=bearer(admin))
    assert made.status_code == 200, made.text
    key = made.json()["key"]
    assert re.fullmatch(r"vpt_[A-Za-z][A-Za-z0-9]{7}_[A-Za-z0-9_-]{43}", key)
    secret = key.split("_", 2)[2]
    assert CALLS["ingest"](client, bearer(key)).status_code == 200
    with session_factory() as session:  # every column of every row of every table
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                for value in row:
                    assert secret not in str(value) and key not in str(value), table.name
        rows = session.scalars(select(ApiKey)).all()
    assert len({r.salt for r in rows}) == len(rows) == 2 and all(len(r.secret_hash) == 64 for r in rows)
    listed = client.get("/api/v1/keys", headers=bearer(admin))
    assert secret not in listed.text and "key" not in listed.json()[0] and "secret_hash" not in listed.json()[0]


def test_last_used_is_written_at_most_once_a_minute(settings: Settings, session_factory: sessionmaker[Session],
                                                    client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    key = make_key(settings, "read")
    authenticator: Authenticator = client.app.state.authenticator  # type: ignore[attr-defined]
    touches: list[int] = []
    real_touch = authenticator.touch
    monkeypatch.setattr(authenticator, "touch", lambda key_id: touches.append(key_id) or real_touch(key_id))
    for _ in range(5):
        assert client.get("/api/v1/regions", headers=bearer(key)).status_code == 200
    deadline = time.monotonic() + 60  # generous: a loaded CI machine; it ends as soon as the row is written
    while (used := last_used(session_factory)) is None and time.monotonic() < deadline:
        time.sleep(0.05)  # written by the authenticator's own thread, not by the request
    assert touches == [1]
    assert used is not None and datetime.now(UTC) - used < timedelta(minutes=1)


def last_used(session_factory: sessionmaker[Session]) -> datetime | None:
    with session_factory() as session:
        return session.scalar(select(ApiKey.last_used_at))


def test_a_busy_sqlite_writer_does_not_delay_an_admin_request(settings: Settings, client: TestClient) -> None:
    """The first use of a key is recorded while the request's own write transaction is open."""
    started = time.monotonic()
    assert CALLS["admin"](client, bearer(make_key(settings, "admin"))).status_code == 200
    # The fault waits out SQLite's 30 s busy timeout (app.db.session); a loaded CI machine takes well under 15 s.
    assert time.monotonic() - started < 15


# --- audit -------------------------------------------------------------------------------------------------


def test_admin_actions_over_the_api_are_audited(settings: Settings, client: TestClient) -> None:
    admin = make_key(settings, "admin", name="ops")
    actor = f"key:ops:{admin.split('_')[1]}"
    headers = bearer(admin)
    assert CALLS["admin"](client, headers).status_code == 200
    silence = client.post("/api/v1/silences", json={"scope": "SE-AC", "duration_minutes": 30, "reason": "test"},
                          headers=headers).json()
    assert client.delete(f"/api/v1/silences/{silence['id']}", headers=headers).status_code == 200
    assert client.delete(f"/api/v1/silences/{silence['id']}", headers=headers).status_code == 200  # no-op
    made = client.post("/api/v1/keys", json={"name": "grafana", "scopes": ["read"],
                                             "expires_at": "2099-01-01T00:00:00Z"}, headers=headers).json()
    assert client.delete(f"/api/v1/keys/{made['id']}", headers=headers).status_code == 200
    page = client.get("/api/v1/audit", headers=headers).json()
    entries = [e for e in page["entries"] if e["actor"] == actor]
    assert [e["action"] for e in entries] == ["key.revoke", "key.create", "silence.expire", "silence.create",
                                              "target.set"]
    assert {e["remote_addr"] for e in entries} == {"testclient"}
    revoke, create, expire, silenced, target = entries
    assert target["subject"] == "target:SE-AC/answer_rate"
    assert target["details"] | {"value": "0.9", "valid_from": "2026-01", "reason": "Regionstyrelsen",
                                "set_by": "ops"} == target["details"]
    assert silenced["subject"] == expire["subject"] == f"silence:{silence['id']}"
    assert create["subject"] == revoke["subject"] == f"key:{made['public_id']}"
    assert create["details"]["scopes"] == ["read"] and made["key"] not in str(page)
    assert page["entries"][-1]["action"] == "key.create" and page["entries"][-1]["actor"] == "test"  # make_key

    first = client.get("/api/v1/audit", params={"limit": 2}, headers=headers).json()
    second = client.get("/api/v1/audit", params={"limit": 2, "before": first["next_before_id"]},
                        headers=headers).json()
    assert [e["id"] for e in first["entries"] + second["entries"]] == [e["id"] for e in page["entries"][:4]]


def test_a_refused_admin_change_leaves_no_audit_row(settings: Settings, client: TestClient) -> None:
    headers = bearer(make_key(settings, "admin"))
    bad = client.put("/api/v1/targets/region/SE-AC/answer_rate", json={**TARGET, "value": 1.5}, headers=headers)
    assert bad.status_code == 422
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=headers).json()["entries"]]
    assert actions == ["key.create"]


def test_a_bad_key_request_is_422_naming_the_field(settings: Settings, client: TestClient) -> None:
    headers = bearer(make_key(settings, "admin"))
    for body, field in [({"name": "x", "scopes": ["root"]}, "scopes"), ({"name": "", "scopes": ["read"]}, "name"),
                        ({"name": "x", "scopes": []}, "scopes"),
                        ({"name": "x", "scopes": ["read"], "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
                        ({"name": "x", "scopes": ["read"], "expires_at": "2099-01-01T00:00:00"}, "expires_at")]:
        response = client.post("/api/v1/keys", json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"][:2] == ["body", field], (body, response.json())


# --- CORS and OpenAPI --------------------------------------------------------------------------------------

PREFLIGHT = {"Origin": "https://dashboard.example", "Access-Control-Request-Method": "GET",
             "Access-Control-Request-Headers": "authorization"}


def test_cors_is_closed_by_default_and_open_to_configured_origins(settings: Settings) -> None:
    with client_for(settings) as client:
        closed = client.options("/api/v1/regions", headers=PREFLIGHT)
        simple = client.get("/healthz", headers={"Origin": "https://dashboard.example"})
    assert "access-control-allow-origin" not in closed.headers
    assert "access-control-allow-origin" not in simple.headers
    with client_for(settings, cors_origins=["https://dashboard.example"]) as client:
        allowed = client.options("/api/v1/regions", headers=PREFLIGHT)
        other = client.options("/api/v1/regions", headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://dashboard.example"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in allowed.headers
    assert "access-control-allow-origin" not in other.headers


def test_cors_allows_every_method_the_api_serves(settings: Settings) -> None:
    """A method the API gains (PATCH /api/v1/sources/{name}) must not be one a configured origin cannot call."""
    with client_for(settings, cors_origins=["https://dashboard.example"]) as client:
        served = {method.upper() for item in client.get("/openapi.json").json()["paths"].values() for method in item}
        refused = [method for method in sorted(served)
                   if client.options("/api/v1/regions", headers={**PREFLIGHT, "Access-Control-Request-Method": method})
                   .status_code != 200]
    assert "PATCH" in served
    assert refused == []


def test_openapi_declares_the_security_schemes_and_the_scope_of_each_operation(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {**schemes["HTTPBearer"], "type": "http", "scheme": "bearer"}
    assert schemes["APIKeyHeader"] == {**schemes["APIKeyHeader"], "type": "apiKey", "in": "header",
                                       "name": "X-API-Key"}
    put = spec["paths"]["/api/v1/targets/{scope_kind}/{scope}/{kpi}"]["put"]
    assert put["security"] == [{"HTTPBearer": ["admin"]}, {"APIKeyHeader": ["admin"]}]
    assert spec["paths"]["/api/v1/ingest/calls"]["post"]["security"][0] == {"HTTPBearer": ["ingest"]}
    assert spec["paths"]["/api/v1/regions"]["get"]["security"][0] == {"HTTPBearer": ["read"]}
    assert "security" not in spec["paths"]["/healthz"]["get"]
