"""The service that changes a target, a silence or a source writes its audit row itself, as the actor its entry
point names, in the same transaction (issue 13); on SQLite and PostgreSQL. Keys did so already (test_cli_keys)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.alerts.silences import SilenceRequest, create_silence, expire_silence
from app.config import Settings
from app.db.auth_models import AuditEntry
from app.db.session import transaction
from app.ingest.source_admin import SourceNotEmpty, create_push_source, remove_source
from app.scorecard.targets import set_target
from tests.source_helpers import fill_two_sources

ACTOR = "key:ops:Abcd1234"
ADDR = "192.0.2.7"


def entries(factory: sessionmaker[Session]) -> list[tuple[str, str, str, str | None, dict[str, Any] | None]]:
    with factory() as session:
        return [(e.actor, e.action, e.subject, e.remote_addr, e.details)
                for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_setting_a_target_writes_target_set_as_the_actor_given(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        first = set_target(session, "SE-AC", "answer_rate", value="0.9", valid_from="2030-01", reason="högre mål",
                           set_by="Styrgruppen", actor=ACTOR, remote_addr=ADDR)
    with transaction(session_factory) as session:
        second = set_target(session, "SE-AC", "answer_rate", value="0.88", valid_from="2030-01", reason="rättelse",
                            set_by="Styrgruppen", actor="cli:operatör")
    assert entries(session_factory) == [
        (ACTOR, "target.set", "target:SE-AC/answer_rate", ADDR, {
            "version_id": first.version.id, "scope_kind": "region", "comparator": ">=", "value": "0.9",
            "valid_from": "2030-01", "reason": "högre mål", "set_by": "Styrgruppen",
            "previous_version_id": first.previous.id if first.previous else None, "affects_closed_months": False}),
        ("cli:operatör", "target.set", "target:SE-AC/answer_rate", None, {
            "version_id": second.version.id, "scope_kind": "region", "comparator": ">=", "value": "0.88",
            "valid_from": "2030-01", "reason": "rättelse", "set_by": "Styrgruppen",
            "previous_version_id": first.version.id, "affects_closed_months": False}),
    ]


def test_a_change_made_by_code_without_an_actor_writes_no_row(session_factory: sessionmaker[Session]) -> None:
    """A test's or a seed's setup is nobody's action; every API and CLI entry point names its actor."""
    with transaction(session_factory) as session:
        set_target(session, "SE-AC", "mean_wait", value="500", valid_from="2030-01", reason="r", set_by="t")
        create_push_source(session, "seeded")
    assert entries(session_factory) == []


def test_making_and_ending_a_silence_write_their_rows_and_ending_an_ended_one_writes_none(
    session_factory: sessionmaker[Session],
) -> None:
    now = datetime(2030, 1, 6, 10, 0, tzinfo=UTC)
    ends_at = now + timedelta(hours=2)
    with transaction(session_factory) as session:
        silence = create_silence(session, SilenceRequest(rule="fast_slip", scope="SE-BD", ends_at=ends_at,
                                                         reason="planerat avbrott", created_by="Kim"),
                                 now, actor=ACTOR, remote_addr=ADDR)
        silence_id = silence.id
    ended = now + timedelta(minutes=30)
    with transaction(session_factory) as session:
        assert expire_silence(session, silence_id, ended, actor="cli:operatör") is not None
    with transaction(session_factory) as session:  # ended already: nothing changes, nothing to audit
        assert expire_silence(session, silence_id, ended + timedelta(minutes=1), actor=ACTOR) is not None
    details = {"rule": "fast_slip", "scope": "SE-BD", "reason": "planerat avbrott"}
    rows = entries(session_factory)
    assert [(actor, action, subject, addr) for actor, action, subject, addr, _ in rows] == [
        (ACTOR, "silence.create", f"silence:{silence_id}", ADDR),
        ("cli:operatör", "silence.expire", f"silence:{silence_id}", None),
    ]
    created, expired = (row[4] or {} for row in rows)
    assert {k: created[k] for k in details} == details and {k: expired[k] for k in details} == details
    assert datetime.fromisoformat(created["ends_at"]) == ends_at
    assert datetime.fromisoformat(expired["ends_at"]).replace(tzinfo=UTC) == ended


def test_making_and_removing_a_source_write_their_rows_and_a_refusal_writes_none(
    session_factory: sessionmaker[Session], settings: Settings,
) -> None:
    with transaction(session_factory) as session:
        assert create_push_source(session, "norra", actor=ACTOR, remote_addr=ADDR)[1]
    with transaction(session_factory) as session:  # exists already: a no-op, nothing to audit
        assert not create_push_source(session, "norra", actor=ACTOR, remote_addr=ADDR)[1]
    with transaction(session_factory) as session:
        removal = remove_source(session, "norra", actor="cli:operatör")
    fill_two_sources(session_factory, settings, kept="kept", other="other")
    with pytest.raises(SourceNotEmpty), transaction(session_factory) as session:
        remove_source(session, "other", actor=ACTOR)
    assert entries(session_factory) == [
        (ACTOR, "source.create", "source:norra", ADDR, {"kind": "push"}),
        ("cli:operatör", "source.remove", "source:norra", None, removal.details()),
    ]
    assert removal.details() == {"kind": "push", "calls": 0, "intervals": 0, "runs": 0, "rejected_rows": 0,
                                 "hours_refreshed": 0, "purged": False}
