"""PATCH /api/v1/sources/{name}: preferring a source over the API, the same change (and audit row) as
``vpt sources prefer``; bad input is a JSON 4xx, never a 500; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app as cli
from app.config import Settings
from app.db.auth_models import AuditEntry
from app.db.models import Source
from app.db.session import transaction
from tests.auth import admin_headers, key_headers
from tests.helpers import ingest_text

HEADER = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
          "answered_within_sl,sl_seconds,wait_answered_seconds_sum\n")
HOUR_A = HEADER + "SE-AC,vpt,2025-10-01T08:00:00,60,10,8,2,0,0,8,600,800\n"
HALF_B = HEADER + "SE-AC,vpt,2025-10-01T08:00:00,30,6,6,0,0,0,6,600,600\n"


def _make(factory: sessionmaker[Session], name: str) -> None:
    with transaction(factory) as session:
        session.add(Source(name=name, kind="file"))


def _audit(factory: sessionmaker[Session]) -> list[tuple[str, str, dict[str, Any] | None]]:
    with factory() as session:
        return [(e.action, e.subject, e.details) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("source.%")).order_by(AuditEntry.id))]


def _preferred(factory: sessionmaker[Session], name: str) -> bool:
    with factory() as session:
        return bool(session.scalar(select(Source.preferred).where(Source.name == name)))


def test_patch_prefers_a_source_once_with_an_audit_row(
    session_factory: sessionmaker[Session], settings: Settings,
) -> None:
    ingest_text(session_factory, settings, "intervals", HOUR_A, source="a")
    _make(session_factory, "b")
    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        first = client.patch("/api/v1/sources/b", json={"preferred": True})
        again = client.patch("/api/v1/sources/b", json={"preferred": True})
        listed = {s["name"]: s["preferred"] for s in client.get("/api/v1/sources").json()}
    assert first.status_code == 200, first.text
    assert (first.json()["name"], first.json()["preferred"]) == ("b", True)
    assert again.status_code == 200 and again.json()["preferred"] is True
    assert listed == {"a": False, "b": True}
    assert _audit(session_factory) == [("source.update", "source:b", {"preferred": True, "previous_preferred": False})]
    # what the mark is for: b's delivery now supersedes a's overlapped hour instead of being refused
    won = ingest_text(session_factory, settings, "intervals", HALF_B, source="b")
    assert (won.rows_stored, won.rows_rejected) == (1, 0)


def test_the_cli_and_the_api_are_one_change(
    session_factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VPT_DATABASE_URL", settings.database_url)
    monkeypatch.setattr("getpass.getuser", lambda: "operator")
    _make(session_factory, "b")
    result = CliRunner().invoke(cli, ["sources", "prefer", "b"])
    assert result.exit_code == 0, result.output
    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        response = client.patch("/api/v1/sources/b", json={"preferred": False})
    assert response.status_code == 200 and response.json()["preferred"] is False
    assert not _preferred(session_factory, "b")
    with session_factory() as session:
        actors = [e.actor for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "source.update")
                                                   .order_by(AuditEntry.id))]
    assert actors[0] == "cli:operator" and actors[1].startswith("key:test:") and len(actors) == 2


@pytest.mark.parametrize(("body", "content_type"), [
    ('{"preferred": true, "enabled": false}', "application/json"),  # unknown field: refused, not ignored
    ('{"preferred": "yes"}', "application/json"),
    ('{"preferred": 1}', "application/json"),
    ("{}", "application/json"),
    ("[true]", "application/json"),
    ('{"preferred": tru', "application/json"),
    ("preferred=true", "application/x-www-form-urlencoded"),
    ("", "application/json"),
])
def test_a_bad_body_is_a_json_422_and_changes_nothing(
    session_factory: sessionmaker[Session], settings: Settings, body: str, content_type: str,
) -> None:
    _make(session_factory, "b")
    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        response = client.patch("/api/v1/sources/b", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 422, response.text
    assert set(response.json()) == {"error", "detail"}
    assert not _preferred(session_factory, "b") and _audit(session_factory) == []


def test_unknown_source_bad_name_and_missing_scope(session_factory: sessionmaker[Session], settings: Settings) -> None:
    _make(session_factory, "b")
    with TestClient(create_app(settings)) as client:
        admin, reader = admin_headers(settings), key_headers(settings, "read", "ingest", name="reader")
        unknown = client.patch("/api/v1/sources/nobody", json={"preferred": True}, headers=admin)
        bad_name = client.patch("/api/v1/sources/b%0Ax", json={"preferred": True}, headers=admin)
        too_long = client.patch(f"/api/v1/sources/{'b' * 129}", json={"preferred": True}, headers=admin)
        not_admin = client.patch("/api/v1/sources/b", json={"preferred": True}, headers=reader)
        no_key = client.patch("/api/v1/sources/b", json={"preferred": True})
    assert (unknown.status_code, unknown.json()) == (404, {"error": "not_found", "detail": "no source 'nobody'"})
    assert bad_name.status_code == 422 and too_long.status_code == 422
    assert "\n" not in bad_name.text.replace("\\n", "")
    assert not_admin.status_code == 403 and no_key.status_code == 401
    for response in (bad_name, too_long, not_admin, no_key):
        assert set(response.json()) == {"error", "detail"}
    assert not _preferred(session_factory, "b") and _audit(session_factory) == []


def test_openapi_documents_the_patch() -> None:
    spec = create_app(Settings(_env_file=None)).openapi()  # type: ignore[call-arg]
    patch = spec["paths"]["/api/v1/sources/{name}"]["patch"]
    assert patch["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/"
                                                                                          "SourceOut"}
    assert {"404", "422", "503"} <= set(patch["responses"])
    body = spec["components"]["schemas"]["SourcePatch"]
    assert body["additionalProperties"] is False and body["required"] == ["preferred"]
