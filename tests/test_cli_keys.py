"""``vpt keys`` and ``vpt audit``, and the audit rows of the CLI's admin commands, on both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app
from app.config import Settings
from app.db.auth_models import ApiKey, AuditEntry
from app.kpi.localtime import next_month
from app.scorecard.targets import current_month

runner = CliRunner(env={"VPT_LANG": "en"})  # these tests read the English wording (tests/cli: both)
KEY = re.compile(r"vpt_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    monkeypatch.setattr("getpass.getuser", lambda: "operatör")
    monkeypatch.setattr("app.cli.keys.console", Console(width=400))  # no wrapping inside cells


def invoke(*args: str, code: int = 0) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output)
    return result


def audit(session_factory: sessionmaker[Session]) -> list[AuditEntry]:
    with session_factory() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_keys_round_trip(env: None, settings: Settings, session_factory: sessionmaker[Session]) -> None:
    made = invoke("keys", "create", "--name", "platform-norra", "--scope", "ingest", "--scope", "read",
                  "--expires", "90d")
    key = made.stdout.strip()
    assert KEY.fullmatch(key), made.stdout
    assert "only time the key is shown" in made.stderr and "cannot be shown again" in made.stderr
    public_id = key.split("_")[1]
    with session_factory() as session:
        row = session.scalars(select(ApiKey)).one()
    assert (row.public_id, row.name, row.scopes, row.created_by) == (public_id, "platform-norra", "ingest read",
                                                                     "cli:operatör")
    assert row.expires_at is not None
    assert abs(row.expires_at - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=10)  # a slow CI machine

    with TestClient(create_app(settings), headers={"X-API-Key": key}) as client:
        assert client.get("/api/v1/regions").status_code == 200
        assert client.get("/api/v1/audit").status_code == 403  # not admin

    listed = invoke("keys", "list").stdout
    assert public_id in listed and "platform-norra" in listed and "ingest read" in listed
    assert key.split("_", 2)[2] not in listed and "cli:operatör" in listed

    admin = invoke("keys", "create", "--name", "ops", "--scope", "admin").stdout.strip()
    revoked = invoke("keys", "revoke", public_id).stdout
    assert f"({public_id}) revoked at" in revoked
    assert "already been revoked" in invoke("keys", "revoke", str(row.id)).stdout
    missing = invoke("keys", "revoke", "Nosuchid", code=1)
    assert "no key 'Nosuchid'" in missing.stderr
    with TestClient(create_app(settings)) as client:  # a new process: nothing cached
        assert client.get("/api/v1/regions", headers={"X-API-Key": key}).status_code == 401
        assert client.get("/api/v1/audit", headers={"X-API-Key": admin}).status_code == 200

    entries = audit(session_factory)
    assert [(e.actor, e.action, e.subject) for e in entries] == [
        ("cli:operatör", "key.create", f"key:{public_id}"),
        ("cli:operatör", "key.create", f"key:{admin.split('_')[1]}"),
        ("cli:operatör", "key.revoke", f"key:{public_id}"),  # once: the second revoke changed nothing
    ]
    assert all(e.remote_addr is None for e in entries)
    shown = invoke("audit", "--limit", "2").stdout
    assert "key.revoke" in shown and "cli:operatör" in shown and "newest 2 shown" in shown


@pytest.mark.parametrize(("args", "message"), [
    (["--name", "x", "--scope", "root"], "--scope: unknown scope 'root'"),
    (["--name", "", "--scope", "read"], "--name: "),
    (["--name", "x", "--scope", "read", "--expires", "soon"], "--expires: must be a duration like 90d"),
    (["--name", "x", "--scope", "read", "--expires", "2020-01-01"], "--expires: must be a time in the future"),
    (["--name", "x", "--scope", "read", "--expires", "0d"], "--expires: must be longer than zero"),
])
def test_bad_create_options_name_the_option(env: None, session_factory: sessionmaker[Session], args: list[str],
                                            message: str) -> None:
    result = invoke("keys", "create", *args, code=1)
    assert message in result.stderr
    assert audit(session_factory) == []


def test_cli_admin_commands_write_audit_rows(env: None, session_factory: sessionmaker[Session]) -> None:
    start = next_month(current_month())
    invoke("targets", "set", "SE-AC", "answer_rate", "0.9", "--from", f"{start:%Y-%m}", "--reason", "Beslut",
           "--by", "Regionstyrelsen")
    invoke("silences", "add", "--scope", "SE-AC", "--for", "2h", "--reason", "Underhåll")
    invoke("silences", "expire", "1")
    invoke("silences", "expire", "1")  # had ended already: nothing to audit
    entries = audit(session_factory)
    assert [(e.actor, e.action, e.subject) for e in entries] == [
        ("cli:operatör", "target.set", "target:SE-AC/answer_rate"),
        ("cli:operatör", "silence.create", "silence:1"),
        ("cli:operatör", "silence.expire", "silence:1"),
    ]
    assert entries[0].details is not None
    assert entries[0].details["set_by"] == "Regionstyrelsen" and entries[0].details["value"] == "0.9"
    assert entries[1].details is not None and entries[1].details["reason"] == "Underhåll"
    shown = invoke("audit").stdout
    assert "target.set" in shown and "silence.expire" in shown and "Regionstyrelsen" in shown


def test_an_empty_audit_log_and_key_list(env: None) -> None:
    assert "no admin actions recorded yet" in invoke("audit").stdout
    assert "no keys" in invoke("keys", "list").stdout
