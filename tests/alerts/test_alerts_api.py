"""Alerts, history, the outbox and silences over HTTP (SPEC §8), on SQLite and PostgreSQL.

The write side (evaluation, outbox, delivery) is not exercised here: ``seed`` writes the rows it would have
written, so these tests pin what the read side makes of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.config import Settings
from app.db.alert_models import Alert, AlertEvent, AlertSilence, Notification
from app.db.session import transaction
from tests.auth import admin_headers

T0 = datetime(2025, 10, 6, 8, 0, tzinfo=UTC)  # 10:00 in Stockholm
MINUTE = timedelta(minutes=1)


@dataclass
class Seeded:
    at_risk: int  # firing; notified to slack (delivered), webhook (failed), email (pending, retrying)
    slip: int  # fired and resolved; both notified to slack
    stale: int  # pending: nobody told yet
    missed: int  # inactive: pending once, then cleared
    worker: int  # firing while silenced: no notification
    silence: int
    events: list[int]  # every event id, oldest first


def _alert(session: Session, rule: str, scope: str, kpi: str, period: str, phase: str, **extra: Any) -> Alert:
    alert = Alert(rule=rule, scope=scope, kpi=kpi, period=period, phase=phase, evaluated_at=T0 + 30 * MINUTE,
                  changed_at=T0, **extra)
    session.add(alert)
    session.flush()
    return alert


def _event(session: Session, alert: Alert, at: datetime, old: str, new: str, **extra: Any) -> AlertEvent:
    event = AlertEvent(alert_id=alert.id, at=at, old_phase=old, new_phase=new, value=alert.value,
                       threshold=alert.threshold, details={"offered": 120}, **extra)
    session.add(event)
    session.flush()
    return event


def _notify(session: Session, event: AlertEvent, channel: str, status: str, *, attempts: int = 1,
            error: str | None = None, created: datetime | None = None) -> Notification:
    created = created or event.at
    notification = Notification(
        event_id=event.id, channel=channel, idempotency_key=f"{event.id}-{channel}",
        payload={"title": f"{event.new_phase} title", "text": f"text for {channel}", "facts": [],
                 "link": "https://example.org"},
        status=status, attempts=attempts, created_at=created, next_attempt_at=created + 5 * MINUTE,
        expires_at=created + timedelta(hours=24), last_attempt_at=created + MINUTE if attempts else None,
        delivered_at=created + MINUTE if status == "delivered" else None, last_error=error,
    )
    session.add(notification)
    session.flush()
    return notification


def seed(factory: sessionmaker[Session]) -> Seeded:
    """Five alerts in every phase, their events and notifications, as the evaluator and delivery would leave them."""
    events: list[AlertEvent] = []
    with transaction(factory) as s:
        risk = _alert(s, "target_at_risk", "SE-AC", "answer_rate", "2025-10", "firing", pending_since=T0,
                      fired_at=T0 + 30 * MINUTE, value=0.81, threshold=0.85, details={"needed": 0.9})
        events += [_event(s, risk, T0, "inactive", "pending"), _event(s, risk, T0 + 30 * MINUTE, "pending", "firing")]
        _notify(s, events[-1], "slack", "delivered")
        _notify(s, events[-1], "webhook", "failed", attempts=9, error="HTTP 500 from receiver")
        _notify(s, events[-1], "email", "pending", attempts=2, error="connection refused")

        slip = _alert(s, "fast_slip", "SE-BD", "mean_wait", "", "resolved", fired_at=T0 + 10 * MINUTE,
                      resolved_at=T0 + 50 * MINUTE, value=400.0, threshold=900.0)
        events += [_event(s, slip, T0 + 5 * MINUTE, "inactive", "pending"),
                   _event(s, slip, T0 + 10 * MINUTE, "pending", "firing")]
        _notify(s, events[-1], "slack", "delivered")
        events.append(_event(s, slip, T0 + 50 * MINUTE, "firing", "resolved"))
        _notify(s, events[-1], "slack", "delivered")

        stale = _alert(s, "data_stale", "platform", "", "", "pending", pending_since=T0 + 40 * MINUTE,
                       value=7200.0, threshold=3600.0)
        events.append(_event(s, stale, T0 + 40 * MINUTE, "inactive", "pending"))
        missed = _alert(s, "target_missed", "SE-Z", "answer_rate", "2025-09", "inactive")
        events += [_event(s, missed, T0 + 41 * MINUTE, "inactive", "pending"),
                   _event(s, missed, T0 + 42 * MINUTE, "pending", "inactive")]

        silence = AlertSilence(rule="worker_stale", scope=None, starts_at=T0, ends_at=T0 + timedelta(days=3650),
                               reason="decommissioning", created_by="ops", created_at=T0)
        s.add(silence)
        s.flush()
        worker = _alert(s, "worker_stale", "worker-2", "", "", "firing", fired_at=T0 + 45 * MINUTE, value=900.0,
                        threshold=300.0)
        events.append(_event(s, worker, T0 + 45 * MINUTE, "pending", "firing", silence_id=silence.id))
        return Seeded(risk.id, slip.id, stale.id, missed.id, worker.id, silence.id, [e.id for e in events])


@pytest.fixture
def seeded(session_factory: sessionmaker[Session]) -> Seeded:
    return seed(session_factory)


@pytest.fixture
def client(settings: Settings) -> Any:
    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        yield client


def get(client: TestClient, url: str, **params: Any) -> Any:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["id"] for row in rows]


def test_list_filters_and_pages(client: TestClient, seeded: Seeded) -> None:
    body = get(client, "/api/v1/alerts")
    assert ids(body["alerts"]) == [seeded.at_risk, seeded.slip, seeded.stale, seeded.worker]  # not inactive
    assert body["next_after_id"] is None
    assert ids(get(client, "/api/v1/alerts", phase="all")["alerts"]) == [
        seeded.at_risk, seeded.slip, seeded.stale, seeded.missed, seeded.worker]
    assert ids(get(client, "/api/v1/alerts", phase="inactive")["alerts"]) == [seeded.missed]
    assert ids(get(client, "/api/v1/alerts", phase="firing")["alerts"]) == [seeded.at_risk, seeded.worker]
    assert ids(get(client, "/api/v1/alerts", rule="fast_slip")["alerts"]) == [seeded.slip]
    assert ids(get(client, "/api/v1/alerts", scope="SE-Z", phase="all")["alerts"]) == [seeded.missed]
    assert get(client, "/api/v1/alerts", scope="SE-Z")["alerts"] == []

    first = get(client, "/api/v1/alerts", limit=3)
    assert ids(first["alerts"]) == [seeded.at_risk, seeded.slip, seeded.stale]
    assert first["next_after_id"] == seeded.stale
    rest = get(client, "/api/v1/alerts", limit=3, after=first["next_after_id"])
    assert ids(rest["alerts"]) == [seeded.worker] and rest["next_after_id"] is None


def test_an_alert_says_whether_anyone_was_told(client: TestClient, seeded: Seeded) -> None:
    by_id = {a["id"]: a for a in get(client, "/api/v1/alerts")["alerts"]}
    risk = by_id[seeded.at_risk]
    assert risk == {**risk, "rule": "target_at_risk", "scope": "SE-AC", "kpi": "answer_rate", "period": "2025-10",
                    "phase": "firing", "value": 0.81, "threshold": 0.85, "details": {"needed": 0.9},
                    "pending_since": "2025-10-06T08:00:00Z", "fired_at": "2025-10-06T08:30:00Z",
                    "resolved_at": None}
    assert risk["delivery"] == {"delivered": 1, "pending": 1, "failed": 1, "last_error": "connection refused",
                                "last_delivered_at": "2025-10-06T08:31:00Z"}
    assert risk["latest_event"] == {**risk["latest_event"], "id": seeded.events[1], "old_phase": "pending",
                                    "new_phase": "firing", "at": "2025-10-06T08:30:00Z", "silence_id": None}
    assert by_id[seeded.slip]["delivery"] == {**by_id[seeded.slip]["delivery"], "delivered": 2, "failed": 0,
                                              "last_error": None}
    worker = by_id[seeded.worker]
    assert worker["latest_event"]["silence_id"] == seeded.silence  # muted: that is why nobody was told
    assert worker["delivery"] == {"delivered": 0, "pending": 0, "failed": 0, "last_error": None,
                                  "last_delivered_at": None}


def test_one_alert_with_its_events_and_notifications(client: TestClient, seeded: Seeded) -> None:
    body = get(client, f"/api/v1/alerts/{seeded.slip}")
    assert body["phase"] == "resolved" and body["more_events"] is False
    assert [(e["old_phase"], e["new_phase"]) for e in body["events"]] == [
        ("firing", "resolved"), ("pending", "firing"), ("inactive", "pending")]
    assert [(n["transition"], n["channel"], n["status"]) for n in body["notifications"]] == [
        ("resolved", "slack", "delivered"), ("firing", "slack", "delivered")]
    for missing in (999_999, 2**63 - 1):
        response = client.get(f"/api/v1/alerts/{missing}")
        assert response.status_code == 404 and response.json() == {"error": "not_found",
                                                                   "detail": f"no alert {missing}"}
    for bad in ("0", "x", str(2**63)):
        assert client.get(f"/api/v1/alerts/{bad}").status_code == 422


def test_history_newest_first_paged_and_filtered(client: TestClient, seeded: Seeded) -> None:
    every = get(client, "/api/v1/alerts/history")
    assert ids(every["events"]) == seeded.events[::-1] and every["next_before_id"] is None
    newest = every["events"][0]
    assert newest == {**newest, "rule": "worker_stale", "scope": "worker-2", "kpi": "", "period": "",
                      "new_phase": "firing", "silence_id": seeded.silence, "at": "2025-10-06T08:45:00Z"}
    firing = next(e for e in every["events"] if e["id"] == seeded.events[1])
    assert firing["delivery"] == {**firing["delivery"], "delivered": 1, "pending": 1, "failed": 1}

    page = get(client, "/api/v1/alerts/history", limit=3)
    assert ids(page["events"]) == seeded.events[::-1][:3] and page["next_before_id"] == seeded.events[-3]
    page = get(client, "/api/v1/alerts/history", limit=3, before=page["next_before_id"])
    assert ids(page["events"]) == seeded.events[::-1][3:6]

    since = get(client, "/api/v1/alerts/history", since="2025-10-06T10:41:00+02:00")["events"]
    assert ids(since) == [seeded.events[i] for i in (8, 7, 6, 4)]  # 08:41 UTC and later
    assert ids(get(client, "/api/v1/alerts/history", alert=seeded.at_risk)["events"]) == seeded.events[1::-1]


def test_notifications_show_delivered_failed_and_pending(client: TestClient, seeded: Seeded) -> None:
    body = get(client, "/api/v1/notifications")
    rows = body["notifications"]
    assert [(n["channel"], n["status"]) for n in rows] == [
        ("slack", "delivered"), ("slack", "delivered"), ("email", "pending"), ("webhook", "failed"),
        ("slack", "delivered")]
    email = rows[2]
    assert email == {**email, "alert_id": seeded.at_risk, "event_id": seeded.events[1], "rule": "target_at_risk",
                     "scope": "SE-AC", "transition": "firing", "title": "firing title", "text": "text for email",
                     "attempts": 2, "last_error": "connection refused", "delivered_at": None,
                     "next_attempt_at": "2025-10-06T08:35:00Z", "expires_at": "2025-10-07T08:30:00Z",
                     "idempotency_key": f"{seeded.events[1]}-email"}
    assert "payload" not in email and "link" not in email
    assert [n["status"] for n in get(client, "/api/v1/notifications", status="failed")["notifications"]] == ["failed"]
    assert len(get(client, "/api/v1/notifications", channel="slack")["notifications"]) == 3
    assert {n["alert_id"] for n in get(client, "/api/v1/notifications", alert=seeded.slip)["notifications"]} == {
        seeded.slip}
    first = get(client, "/api/v1/notifications", limit=2)
    second = get(client, "/api/v1/notifications", limit=2, before=first["next_before_id"])
    assert ids(second["notifications"]) == ids(rows[2:4]) and second["next_before_id"] == rows[3]["id"]


@pytest.mark.parametrize(("url", "params", "field"), [
    ("/api/v1/alerts", {"limit": 0}, "limit"),
    ("/api/v1/alerts", {"limit": 501}, "limit"),
    ("/api/v1/alerts", {"phase": "burning"}, "phase"),
    ("/api/v1/alerts", {"rule": "DROP TABLE"}, "rule"),
    ("/api/v1/alerts", {"after": 0}, "after"),
    ("/api/v1/alerts/history", {"since": "2025-10-06T10:00:00"}, "since"),  # naive
    ("/api/v1/alerts/history", {"before": 2**63}, "before"),
    ("/api/v1/notifications", {"status": "lost"}, "status"),
    ("/api/v1/notifications", {"channel": "a\x00b"}, "channel"),
    ("/api/v1/notifications", {"limit": -1}, "limit"),
])
def test_bad_parameters_are_422_naming_the_field(client: TestClient, url: str, params: dict[str, Any],
                                                  field: str) -> None:
    response = client.get(url, params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error" and [d["loc"] for d in body["detail"]] == [["query", field]]


def test_silence_create_list_expire_round_trip(client: TestClient, seeded: Seeded) -> None:
    response = client.post("/api/v1/silences", json={"rule": "fast_slip", "scope": "SE-BD", "duration_minutes": 120,
                                                     "reason": "  Planerat underhåll  "})
    assert response.status_code == 200, response.text
    made = response.json()
    assert made == {**made, "rule": "fast_slip", "scope": "SE-BD", "active": True, "reason": "Planerat underhåll",
                    "created_by": "test"}
    length = datetime.fromisoformat(made["ends_at"]) - datetime.fromisoformat(made["starts_at"])
    assert length == timedelta(minutes=120) and made["ends_at"].endswith("Z")

    until = client.post("/api/v1/silences", json={"scope": "SE-AC", "ends_at": "2099-01-01T12:00:00+01:00",
                                                   "reason": "x"})
    assert until.status_code == 200 and until.json()["ends_at"] == "2099-01-01T11:00:00Z"
    assert until.json()["rule"] is None

    in_force = get(client, "/api/v1/silences")
    assert ids(in_force) == [until.json()["id"], seeded.silence, made["id"]]  # latest ending first

    ended = client.delete(f"/api/v1/silences/{made['id']}")
    assert ended.status_code == 200 and ended.json()["active"] is False
    assert made["id"] not in ids(get(client, "/api/v1/silences"))
    assert made["id"] in ids(get(client, "/api/v1/silences", include_ended=True))
    again = client.delete(f"/api/v1/silences/{made['id']}")
    assert again.status_code == 200 and again.json()["ends_at"] == ended.json()["ends_at"]  # left as it was
    missing = client.delete("/api/v1/silences/424242")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert client.delete("/api/v1/silences/0").status_code == 422


@pytest.mark.parametrize(("body", "field"), [
    ({"duration_minutes": 60, "reason": "r"}, "rule"),  # neither rule nor scope
    ({"rule": None, "scope": None, "duration_minutes": 60, "reason": "r"}, "rule"),
    ({"rule": "fast_slip", "ends_at": "2020-01-01T00:00:00+00:00", "reason": "r"}, "ends_at"),  # past
    ({"rule": "fast_slip", "ends_at": "2099-01-01T00:00:00", "reason": "r"}, "ends_at"),  # naive
    ({"rule": "fast_slip", "ends_at": "9999-12-31T23:59:00-05:00", "reason": "r"}, "ends_at"),  # overflows UTC
    ({"rule": "fast_slip", "reason": "r"}, "ends_at"),  # neither end
    ({"rule": "fast_slip", "ends_at": "2099-01-01T00:00:00Z", "duration_minutes": 5, "reason": "r"}, "ends_at"),
    ({"rule": "fast_slip", "duration_minutes": 0, "reason": "r"}, "duration_minutes"),
    ({"rule": "fast_slip", "duration_minutes": 10**9, "reason": "r"}, "duration_minutes"),
    ({"rule": "fast_slip", "duration_minutes": 60, "reason": ""}, "reason"),
    ({"rule": "fast_slip", "duration_minutes": 60, "reason": "   "}, "reason"),
    ({"rule": "fast_slip", "duration_minutes": 60, "reason": "x" * 513}, "reason"),
    ({"rule": "fast_slip", "duration_minutes": 60}, "reason"),
    ({"rule": "Fast Slip!", "duration_minutes": 60, "reason": "r"}, "rule"),
    ({"rule": "fast_slip", "duration_minutes": 60, "reason": "r", "until": "tomorrow"}, "until"),
])
def test_a_bad_silence_is_422_naming_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    response = client.post("/api/v1/silences", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert [d["loc"] for d in detail] == [["body", field]], detail
    assert get(client, "/api/v1/silences", include_ended=True) == []


def test_openapi_declares_errors_and_limits(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, methods in paths.items():
        if not any(part in path for part in ("/alerts", "/notifications", "/silences")):
            continue
        for method, operation in methods.items():
            assert "422" in operation["responses"], (method, path)
            if "{" in path:
                assert "404" in operation["responses"], (method, path)
    limit = next(p for p in paths["/api/v1/alerts"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 500)
    assert "200" in paths["/api/v1/silences"]["post"]["responses"]
