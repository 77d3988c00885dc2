"""Purging a preferred source gives back what it superseded (SPEC §3, §5): the other source's interval records count
again, the hours are rebuilt as a recompute would, and the audit row says how many, in the removal's transaction;
on SQLite and PostgreSQL, through the CLI and the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app as cli
from app.config import Settings
from app.db.auth_models import AuditEntry
from app.db.models import IntervalRow, Source
from app.db.session import transaction
from app.ingest.conflicts import prefer_source
from tests.auth import admin_headers
from tests.helpers import ingest_text, scorecard
from tests.source_helpers import assert_equal_to_a_recompute

HEADER = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
          "answered_within_sl,sl_seconds,wait_answered_seconds_sum\n")
HOUR_A = HEADER + "SE-AC,vpt,2025-10-01T08:00:00,60,10,8,2,0,0,8,600,800\n"
HALF_B = HEADER + "SE-AC,vpt,2025-10-01T08:00:00,30,6,6,0,0,0,6,600,600\n"
HALF_C = HEADER + "SE-AC,vpt,2025-10-01T08:30:00,30,6,5,1,0,0,5,600,500\n"


def _prefer(factory: sessionmaker[Session], name: str) -> None:
    """Made as a file ingest makes its source, then preferred before its first delivery."""
    with transaction(factory) as session:
        session.add(Source(name=name, kind="file"))
        session.flush()
        prefer_source(session.connection(), name, True)


def _se_ac(factory: sessionmaker[Session], settings: Settings) -> tuple[int | None, int | None]:
    entry = scorecard(factory, settings, "2025-10").scope("region", "SE-AC")
    return (None, None) if entry is None else (entry.kpis.offered, entry.kpis.answered)


def _superseded(factory: sessionmaker[Session], source: str) -> list[bool]:
    with factory() as session:
        return list(session.scalars(select(IntervalRow.superseded).join(Source, Source.id == IntervalRow.source_id)
                                    .where(Source.name == source)))


def _a_superseded_by_b(factory: sessionmaker[Session], settings: Settings) -> None:
    ingest_text(factory, settings, "intervals", HOUR_A, source="a")
    _prefer(factory, "b")
    assert ingest_text(factory, settings, "intervals", HALF_B, source="b").rows_stored == 1
    assert _superseded(factory, "a") == [True]
    assert _se_ac(factory, settings) == (6, 6)  # only b's half hour counts


def test_purging_a_preferred_source_with_the_cli_counts_what_it_superseded_again(
    session_factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VPT_DATABASE_URL", settings.database_url)
    monkeypatch.setattr("getpass.getuser", lambda: "operator")
    _a_superseded_by_b(session_factory, settings)

    result = CliRunner().invoke(cli, ["sources", "remove", "b", "--purge"])
    assert result.exit_code == 0, result.output

    assert _superseded(session_factory, "a") == [False]
    assert _se_ac(session_factory, settings) == (10, 8)  # a's hour is counted again, not left empty
    assert_equal_to_a_recompute(session_factory, settings)
    with session_factory() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "source.remove")).one()
    assert entry.subject == "source:b" and entry.details is not None
    assert (entry.details["purged"], entry.details["intervals"], entry.details["restored"]) == (True, 1, 1)


def test_purging_a_preferred_source_over_the_api_says_what_it_restored(
    session_factory: sessionmaker[Session], settings: Settings,
) -> None:
    _a_superseded_by_b(session_factory, settings)
    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        response = client.delete("/api/v1/sources/b", params={"purge": "true"})
        again = client.delete("/api/v1/sources/b", params={"purge": "true"})
    assert response.status_code == 200, response.text
    assert (response.json()["intervals"], response.json()["restored"]) == (1, 1)
    assert again.status_code == 404 and again.json()["error"] == "not_found"
    assert _se_ac(session_factory, settings) == (10, 8)
    assert_equal_to_a_recompute(session_factory, settings)


def test_a_superseded_row_another_kept_source_still_overlaps_stays_superseded(
    session_factory: sessionmaker[Session], settings: Settings,
) -> None:
    _a_superseded_by_b(session_factory, settings)
    _prefer(session_factory, "c")  # c's half hour lies beside b's, inside a's (superseded) hour
    assert ingest_text(session_factory, settings, "intervals", HALF_C, source="c").rows_stored == 1
    assert _se_ac(session_factory, settings) == (12, 11)

    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        response = client.delete("/api/v1/sources/b", params={"purge": "true"})
    assert response.status_code == 200, response.text
    assert response.json()["restored"] == 0
    assert _superseded(session_factory, "a") == [True]  # restoring it would count c's half hour twice
    assert _se_ac(session_factory, settings) == (6, 5)
    assert_equal_to_a_recompute(session_factory, settings)


def test_a_daily_record_superseded_by_a_purged_source_stays_out_where_calls_arrived_meanwhile(
    session_factory: sessionmaker[Session], settings: Settings,
) -> None:
    day = HEADER + "SE-AC,vpt,2025-10-01T00:00:00,1440,40,30,10,0,0,30,600,9000\n"
    ingest_text(session_factory, settings, "intervals", day, source="national")
    _prefer(session_factory, "b")
    assert ingest_text(session_factory, settings, "intervals", HALF_B, source="b").rows_stored == 1
    assert _superseded(session_factory, "national") == [True]
    calls = ("call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
             "c1,SE-AC,vpt,2025-10-01T12:00:00,answered,2025-10-01T12:01:00,\n")
    assert ingest_text(session_factory, settings, "calls", calls, source="platform").rows_stored == 1

    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        response = client.delete("/api/v1/sources/b", params={"purge": "true"})
    assert response.status_code == 200 and response.json()["restored"] == 0
    assert _superseded(session_factory, "national") == [True]  # one resolution per region and period
    assert _se_ac(session_factory, settings) == (1, 1)
    assert_equal_to_a_recompute(session_factory, settings)
