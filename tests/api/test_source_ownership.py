"""Who may make, write and remove sources, over HTTP on SQLite and PostgreSQL (issue 12, item 6).

Pushes create no source but the default ``push``: an ingest key cannot take over a name a drop folder, a file
ingest or a pull source needs. Admins make push sources and remove sources (audited); an ingest key bound to
sources writes only those.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.config import Settings
from app.db.auth_models import AuditEntry
from app.db.models import Call, IngestRun, IntervalRow, RejectedRow, Source
from app.db.session import transaction
from app.ingest.service import ingest_bytes
from app.ingest.sources import PullSourceConfig, save_source
from tests.auth import make_key
from tests.source_helpers import (
    KEPT_HOUR,
    OTHER_ONLY_HOUR,
    aggregate_state,
    assert_equal_to_a_recompute,
    fill_two_sources,
    hours,
)

CSV = {"Content-Type": "text/csv"}
HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
ONE_CALL = (HEADER + "k1,SE-AC,vpt,2025-10-01T08:00:00+02:00,rejected,,\n").encode()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def push(client: TestClient, key: str, source: str | None = None, body: bytes = ONE_CALL) -> httpx.Response:
    params = {"source": source} if source is not None else {}
    return client.post("/api/v1/ingest/calls", content=body, params=params, headers={**CSV, **bearer(key)})


def source_kinds(factory: sessionmaker[Session]) -> dict[str, str]:
    with factory() as session:
        return {name: kind for name, kind in session.execute(select(Source.name, Source.kind))}


def audit(factory: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with factory() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def assert_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and body["detail"], body
    assert isinstance(body["detail"], list if error == "validation_error" else str), body


# --- pushes no longer make sources -------------------------------------------------------------------------


def test_a_push_cannot_take_over_the_drop_directory_s_source(
    settings: Settings, session_factory: sessionmaker[Session], client: TestClient
) -> None:
    """The takeover of the issue: `?source=drop-calls` made a push source, and every drop scan then failed."""
    key = make_key(session_factory, "ingest", name="platform")
    for name in ("drop-calls", "files", "platform-norra"):  # a drop folder's, file ingests', a future pull's
        assert_error(push(client, key, name), 404, "not_found")
    assert source_kinds(session_factory) == {}
    for name in ("drop-calls", None):  # as the drop directory and `vpt ingest` deliver: under their own names
        report = ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(ONE_CALL), fmt="csv",
                              origin="october.csv", source_name=name, source_kind="file")
        assert report.rows_stored == 1
    assert source_kinds(session_factory) == {"drop-calls": "file", "files": "file"}


def test_the_default_push_source_is_made_by_the_first_push_only(
    session_factory: sessionmaker[Session], client: TestClient
) -> None:
    key = make_key(session_factory, "ingest")
    first = push(client, key)
    assert first.status_code == 200 and first.json()["source"] == "push", first.text
    assert push(client, key, "push").json()["rows_unchanged"] == 1
    assert source_kinds(session_factory) == {"push": "push"}


def test_a_push_to_a_file_or_pull_source_is_409_and_stores_nothing(
    settings: Settings, session_factory: sessionmaker[Session], client: TestClient
) -> None:
    ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(ONE_CALL), fmt="csv",
                 origin="f.csv", source_name="files")
    with transaction(session_factory) as session:
        save_source(session, PullSourceConfig(name="platform", kind="calls", base_url="http://127.0.0.1:9"))
    key = make_key(session_factory, "ingest")
    for name in ("files", "platform"):
        assert_error(push(client, key, name), 409, "source_kind_mismatch")
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 1
        assert session.scalar(select(func.count()).select_from(IngestRun)) == 1


# --- admins make push sources ------------------------------------------------------------------------------


def test_an_admin_makes_a_push_source_once_and_an_ingest_key_may_then_push_to_it(
    session_factory: sessionmaker[Session], client: TestClient
) -> None:
    admin, ingest = make_key(session_factory, "admin"), make_key(session_factory, "ingest", name="platform")
    assert_error(client.post("/api/v1/sources", json={"name": "norra"}, headers=bearer(ingest)), 403, "forbidden")
    made = client.post("/api/v1/sources", json={"name": "norra", "kind": "push"}, headers=bearer(admin))
    assert made.status_code == 201, made.text
    assert (made.json()["name"], made.json()["kind"]) == ("norra", "push")
    again = client.post("/api/v1/sources", json={"name": "norra"}, headers=bearer(admin))
    assert again.status_code == 200 and again.json()["created_at"] == made.json()["created_at"]
    entries = audit(session_factory, "source.create")
    assert [(e.subject, e.details, e.actor.startswith("key:test:")) for e in entries] == [
        ("source:norra", {"kind": "push"}, True)]
    assert entries[0].remote_addr is not None
    assert push(client, ingest, "norra").status_code == 200


def test_an_admin_cannot_make_a_push_source_over_another_kind_or_a_reserved_name(
    settings: Settings, session_factory: sessionmaker[Session], client: TestClient
) -> None:
    ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(ONE_CALL), fmt="csv",
                 origin="f.csv", source_name="history")
    admin = bearer(make_key(session_factory, "admin"))
    assert_error(client.post("/api/v1/sources", json={"name": "history"}, headers=admin), 409, "source_kind_mismatch")
    for reserved in ("drop-calls", "drop-queue-log", settings.default_source):
        assert_error(client.post("/api/v1/sources", json={"name": reserved}, headers=admin), 409,
                     "source_name_reserved")
    for bad in ({"name": "a b"}, {"name": "x" * 129}, {"name": "ok", "kind": "http"}, {}):
        assert_error(client.post("/api/v1/sources", json=bad, headers=admin), 422, "validation_error")
    assert source_kinds(session_factory) == {"history": "file"}
    assert audit(session_factory, "source.create") == []


# --- keys bound to sources ---------------------------------------------------------------------------------


def test_a_key_bound_to_sources_writes_only_those(session_factory: sessionmaker[Session], client: TestClient) -> None:
    admin = bearer(make_key(session_factory, "admin"))
    for name in ("norra", "södra".replace("ö", "o")):
        assert client.post("/api/v1/sources", json={"name": name}, headers=admin).status_code == 201
    made = client.post("/api/v1/keys", json={"name": "norra-platform", "scopes": ["ingest"], "sources": ["norra"]},
                       headers=admin)
    assert made.status_code == 200 and made.json()["sources"] == ["norra"], made.text
    bound, unbound = made.json()["key"], make_key(session_factory, "ingest", name="any")
    assert push(client, bound, "norra").status_code == 200
    for elsewhere in ("sodra", "push", "nosuch"):  # another, the default, unknown: all 403, naming nothing else
        assert_error(push(client, bound, elsewhere), 403, "forbidden")
    assert_error(push(client, bound), 403, "forbidden")  # no source: the default
    assert push(client, unbound, "sodra").status_code == 200  # unbound: every push source
    listed = {k["name"]: k["sources"] for k in client.get("/api/v1/keys", headers=admin).json()}
    assert listed == {"test": None, "norra-platform": ["norra"], "any": None}
    created = audit(session_factory, "key.create")
    assert [e.details.get("sources") for e in created if e.details] == [None, ["norra"], None]
    with session_factory() as session:
        assert session.execute(select(Source.name, Source.rows_stored_total).order_by(Source.name)).all() == [
            ("norra", 1), ("sodra", 1)]


def test_binding_a_key_checks_the_sources(
    settings: Settings, session_factory: sessionmaker[Session], client: TestClient
) -> None:
    ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(ONE_CALL), fmt="csv",
                 origin="f.csv", source_name="history")
    admin = bearer(make_key(session_factory, "admin"))
    assert client.post("/api/v1/sources", json={"name": "norra"}, headers=admin).status_code == 201

    def make(scopes: list[str], sources: list[str]) -> httpx.Response:
        return client.post("/api/v1/keys", json={"name": "k", "scopes": scopes, "sources": sources}, headers=admin)

    assert_error(make(["ingest"], ["norra", "nosuch"]), 404, "not_found")
    assert_error(make(["ingest"], ["history"]), 409, "source_kind_mismatch")
    for scopes in (["read"], ["admin"], ["ingest", "admin"]):
        refused = make(scopes, ["norra"])
        assert_error(refused, 422, "validation_error")
        assert refused.json()["detail"][0]["loc"] == ["body", "sources"]
    assert_error(make(["ingest"], ["bad name"]), 422, "validation_error")
    assert [k["name"] for k in client.get("/api/v1/keys", headers=admin).json()] == ["test"]
    both = make(["ingest", "read"], ["norra", "norra"])
    assert both.status_code == 200 and both.json()["sources"] == ["norra"]


# --- removing sources --------------------------------------------------------------------------------------


def test_removing_a_source_with_records_needs_purge_which_leaves_aggregates_as_a_recompute_would(
    settings: Settings, session_factory: sessionmaker[Session], client: TestClient
) -> None:
    fill_two_sources(session_factory, settings, kept="kept", other="other")
    full = aggregate_state(session_factory)
    admin, ingest = bearer(make_key(session_factory, "admin")), bearer(make_key(session_factory, "ingest"))
    assert_error(client.delete("/api/v1/sources/other", params={"purge": "true"}, headers=ingest), 403, "forbidden")
    refused = client.delete("/api/v1/sources/other", headers=admin)
    assert_error(refused, 409, "source_not_empty")
    assert "2 calls, 11 interval records and 2 ingest runs" in refused.json()["detail"]
    assert aggregate_state(session_factory) == full and "other" in source_kinds(session_factory)

    removed = client.delete("/api/v1/sources/other", params={"purge": "true"}, headers=admin)
    assert removed.status_code == 200, removed.text
    assert removed.json() == {"name": "other", "kind": "push", "purged": True, "calls": 2, "intervals": 11,
                              "runs": 2, "rejected_rows": 1, "hours_refreshed": removed.json()["hours_refreshed"],
                              "restored": 0}
    assert removed.json()["hours_refreshed"] >= 3
    after = aggregate_state(session_factory)
    assert KEPT_HOUR in hours(after) and OTHER_ONLY_HOUR in hours(full) and OTHER_ONLY_HOUR not in hours(after)
    assert after != full
    assert_equal_to_a_recompute(session_factory, settings)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 14
        assert session.scalar(select(func.count()).select_from(IntervalRow)) == 0
        assert session.scalar(select(func.count()).select_from(RejectedRow)) == 0
        assert session.scalar(select(func.count()).select_from(IngestRun)) == 1
    assert set(source_kinds(session_factory)) == {"kept"}
    entries = audit(session_factory, "source.remove")
    assert [(e.subject, e.details) for e in entries] == [("source:other", {
        "kind": "push", "purged": True, "calls": 2, "intervals": 11, "runs": 2, "rejected_rows": 1,
        "hours_refreshed": removed.json()["hours_refreshed"], "restored": 0})]
    assert_error(client.delete("/api/v1/sources/other", headers=admin), 404, "not_found")


def test_removing_an_empty_source_needs_no_purge_and_a_key_stays_bound_to_its_name(
    session_factory: sessionmaker[Session], client: TestClient
) -> None:
    admin = bearer(make_key(session_factory, "admin"))
    assert client.post("/api/v1/sources", json={"name": "norra"}, headers=admin).status_code == 201
    bound = client.post("/api/v1/keys", json={"name": "k", "scopes": ["ingest"], "sources": ["norra"]},
                        headers=admin).json()["key"]
    removed = client.delete("/api/v1/sources/norra", headers=admin)
    assert removed.status_code == 200 and removed.json()["purged"] is False and removed.json()["calls"] == 0
    assert_error(push(client, bound, "norra"), 404, "not_found")  # still bound: not free to write elsewhere
    assert_error(push(client, bound, "push"), 403, "forbidden")
    assert client.post("/api/v1/sources", json={"name": "norra"}, headers=admin).status_code == 201
    assert push(client, bound, "norra").status_code == 200
    assert_error(client.delete("/api/v1/sources/bad%20name", headers=admin), 422, "validation_error")
