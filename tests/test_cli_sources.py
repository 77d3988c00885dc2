"""``vpt sources add --kind push``, ``vpt sources remove [--purge]`` and ``vpt keys create --source``, on both
databases: admins make and remove sources (audited as ``cli:<os user>``), keys are bound to what they may write."""

from __future__ import annotations

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app
from app.config import Settings
from app.db.auth_models import AuditEntry
from app.db.models import Call, IngestRun, IntervalRow, RejectedRow, Source
from tests.source_helpers import (
    KEPT_HOUR,
    OTHER_ONLY_HOUR,
    aggregate_state,
    assert_equal_to_a_recompute,
    fill_two_sources,
    hours,
)

runner = CliRunner(env={"VPT_LANG": "en"})  # these tests read the English wording (tests/cli: both)
CALL = b"call_id,region,queue,arrived_at,outcome\nk1,SE-AC,vpt,2025-10-01T08:00:00+02:00,rejected\n"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    monkeypatch.setattr("getpass.getuser", lambda: "operatör")
    monkeypatch.setattr("app.cli.keys.console", Console(width=400))
    monkeypatch.setattr("app.cli.sim.console", Console(width=400))


def invoke(*args: str, code: int = 0) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output)
    return result


def audit(factory: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with factory() as session:
        return [(e.actor, e.action, e.subject) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def sources(factory: sessionmaker[Session]) -> dict[str, str]:
    with factory() as session:
        return {name: kind for name, kind in session.execute(select(Source.name, Source.kind))}


def test_add_a_push_source_once_and_bind_a_key_to_it(
    env: None, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    assert "push source norra made" in invoke("sources", "add", "norra", "--kind", "push").stdout
    assert "exists already" in invoke("sources", "add", "norra", "--kind", "push").stdout
    made = invoke("keys", "create", "--name", "norra-platform", "--scope", "ingest", "--source", "norra")
    assert "may write norra" in made.stderr
    key = made.stdout.strip()
    assert "norra" in invoke("keys", "list").stdout
    with TestClient(create_app(settings), headers={"X-API-Key": key, "Content-Type": "text/csv"}) as client:
        assert client.post("/api/v1/ingest/calls", params={"source": "norra"}, content=CALL).status_code == 200
        assert client.post("/api/v1/ingest/calls", content=CALL).status_code == 403  # the default: not bound
    assert sources(session_factory) == {"norra": "push"}
    assert audit(session_factory)[0] == ("cli:operatör", "source.create", "source:norra")
    assert [action for _, action, _ in audit(session_factory)] == ["source.create", "key.create"]


@pytest.mark.parametrize(("args", "code", "message"), [
    (["sources", "add", "drop-calls", "--kind", "push"], 1, "reserved for file ingests"),
    (["sources", "add", "files", "--kind", "push"], 1, "reserved for file ingests"),
    (["sources", "add", "a/b", "--kind", "push"], 1, "a source name is 1–128 characters"),
    (["sources", "add", "x", "--kind", "push", "--url", "http://127.0.0.1:9"], 2, "a push source takes no --url"),
    (["sources", "add", "x"], 2, "--url is required for a pull source"),
    (["keys", "create", "--name", "k", "--scope", "ingest", "--source", "nosuch"], 1, "--source: no source 'nosuch'"),
    (["keys", "create", "--name", "k", "--scope", "read", "--source", "x"], 1, "--source: only a key with the ingest"),
    (["sources", "remove", "nosuch"], 1, "no source 'nosuch'"),
])
def test_refusals_change_nothing(
    env: None, session_factory: sessionmaker[Session], args: list[str], code: int, message: str
) -> None:
    result = invoke(*args, code=code)
    assert message in " ".join(result.output.split()), result.output
    assert sources(session_factory) == {} and audit(session_factory) == []


def test_remove_refuses_a_source_with_records_and_purge_leaves_aggregates_as_a_recompute_would(
    env: None, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    fill_two_sources(session_factory, settings, kept="kept", other="other")
    full = aggregate_state(session_factory)
    refused = invoke("sources", "remove", "other", code=1)
    assert "holds 2 calls, 11 interval records and 2 ingest runs" in " ".join(refused.stderr.split())
    assert aggregate_state(session_factory) == full and audit(session_factory) == []

    removed = invoke("sources", "remove", "other", "--purge").stdout
    assert "push source other removed: deleted 2 calls, 11 interval records, 2 ingest runs and 1 rejected row" \
        in " ".join(removed.split())
    after = aggregate_state(session_factory)
    assert KEPT_HOUR in hours(after) and OTHER_ONLY_HOUR not in hours(after) and after != full
    assert_equal_to_a_recompute(session_factory, settings)
    with session_factory() as session:
        counts = [session.scalar(select(func.count()).select_from(model))
                  for model in (Call, IntervalRow, RejectedRow, IngestRun)]
    assert counts == [14, 0, 0, 1]
    assert sources(session_factory) == {"kept": "push"}
    assert audit(session_factory) == [("cli:operatör", "source.remove", "source:other")]
    with session_factory() as session:
        details = session.scalars(select(AuditEntry.details)).one()
    assert details is not None and (details["purged"], details["calls"], details["rejected_rows"]) == (True, 2, 1)


def test_remove_an_empty_source_without_purge(env: None, session_factory: sessionmaker[Session]) -> None:
    invoke("sources", "add", "norra", "--kind", "push")
    assert "push source norra removed" in invoke("sources", "remove", "norra").stdout
    assert sources(session_factory) == {}
    assert [action for _, action, _ in audit(session_factory)] == ["source.create", "source.remove"]
