"""Alerts end to end on a real database and real receivers: a month that slips fires once and resolves once,
small regions at night stay quiet, a receiver that is down gets its notification exactly once when it is back."""

from __future__ import annotations

import hashlib
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.alerts.channel_config import ChannelConfig
from app.alerts.channels import verify_signature
from app.alerts.delivery import deliver_due
from app.alerts.engine import AlertKey, Observation
from app.alerts.rulebook import rulebook_from_mapping
from app.alerts.service import Alerting
from app.alerts.silences import SilenceRequest, create_silence
from app.alerts.store import Evaluated, apply_evaluation
from app.config import Settings
from app.db.alert_models import Alert, AlertEvent, Notification
from app.db.session import transaction
from tests.alerts.receivers import recording_http_receiver, smtp_receiver
from tests.helpers import ingest_text

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"
SECRET = "webhook-test-secret"
ONLY_AT_RISK = {"rules": {"fast_slip": {"enabled": False}, "target_unreachable": {"enabled": False},
                          "data_stale": {"enabled": False}, "worker_stale": {"enabled": False}}}


def calls(region: str, hour: datetime, offered: int, answered: int, *, wait: int = 30) -> str:
    """``offered`` calls spread over one UTC hour; the first ``answered`` answered after ``wait`` s, the rest
    abandoned after two minutes."""
    rows = []
    for n in range(offered):
        arrived = hour + timedelta(seconds=n * 3600 // max(offered, 1))
        call_id = hashlib.sha1(f"{region}{arrived.isoformat()}{n}".encode()).hexdigest()[:16]
        if n < answered:
            start = arrived + timedelta(seconds=wait)
            rows.append(f"{call_id},{region},vpt,{arrived.isoformat()},answered,{start.isoformat()},"
                        f"{(start + timedelta(seconds=300)).isoformat()},{region},300,60")
        else:
            rows.append(f"{call_id},{region},vpt,{arrived.isoformat()},abandoned,,"
                        f"{(arrived + timedelta(seconds=120)).isoformat()},,,")
    return "\n".join(rows) + "\n"


def webhook(url: str, **overrides: Any) -> ChannelConfig:
    return ChannelConfig(name=overrides.pop("name", "ops"), kind="webhook", url=url + "/hook",
                         secret=SecretStr(SECRET), **overrides)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def received(receiver: Any) -> list[tuple[str, str, str, str]]:
    """(status, alertname, scope, kpi) of every webhook request, in order."""
    out = []
    for request in receiver.requests:
        (alert,) = request.json["alerts"]
        labels = alert["labels"]
        out.append((alert["status"], labels["alertname"], labels["scope"], labels.get("kpi", "")))
    return out


def test_a_month_that_slips_fires_once_and_resolves_once(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """October 2025 in SE-AC: three bad days (70 % answered), then every call answered. The month so far
    drops under 85 % (at risk: fires once, after its 30 min), climbs back through the band 85–85.5 % without
    resolving, and resolves once above 85.5 %. Hand count: after 72 h, 720 offered / 504 answered; each
    good hour adds 10/10. After 72 good hours (hour index 143) the month is exactly 1224/1440 = 85.0 %: on
    track, but inside the band; after 76 (index 147) 1264/1480 = 85.41 %, still in it; after 77 (index 148)
    1274/1490 = 85.503 %: resolved."""
    clock = Clock(datetime(2025, 9, 30, 22, 0, tzinfo=UTC))  # 2025-10-01 00:00 in Stockholm
    with recording_http_receiver() as receiver:
        alerting = Alerting(settings, session_factory, "test-worker", clock=clock,
                            rulebook=rulebook_from_mapping(ONLY_AT_RISK), channels=[webhook(receiver.url)])
        rates = []
        for hour in range(72 + 96):
            start = clock.now
            ingest_text(session_factory, settings, "calls", HEADER + calls("SE-AC", start, 10,
                                                                           7 if hour < 72 else 10))
            clock.now = start + timedelta(minutes=59)
            if hour % 3 == 2 or 70 <= hour <= 80 or 140 <= hour <= 152:
                alerting.evaluate()
            clock.now = start + timedelta(hours=1)
            if hour in (71, 143, 147, 148):
                with session_factory() as session:
                    rates.append(session.scalar(select(Alert.phase).where(
                        Alert.rule == "target_at_risk", Alert.scope == "SE-AC", Alert.kpi == "answer_rate")))
        assert rates == ["firing", "firing", "firing", "resolved"]  # 143 and 147 are in the band
        messages = received(receiver)
        assert sorted(messages) == sorted([
            ("firing", "target_at_risk", "SE-AC", "answer_rate"),
            ("firing", "target_at_risk", "norra", "answer_rate"),
            ("resolved", "target_at_risk", "SE-AC", "answer_rate"),
            ("resolved", "target_at_risk", "norra", "answer_rate"),
        ]), messages
        first = receiver.requests[0]
        assert verify_signature(SECRET.encode(), first.headers["x-vpt-timestamp"], first.body,
                                first.headers["x-vpt-signature"], now=datetime.fromtimestamp(
                                    int(first.headers["x-vpt-timestamp"]), UTC))
        annotations = first.json["alerts"][0]["annotations"]
        assert "riskerar att missa målet för oktober 2025" in annotations["summary"]
        assert "85,0 %" in annotations["description"]


def test_three_night_calls_do_not_fire_the_fast_slip_but_a_busy_slip_does(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Every rule on, as deployed: neither the fast slip nor the month rules (under 300 calls this month) may
    say anything about a month of three calls."""
    book = rulebook_from_mapping({"rules": {"fast_slip": {"for_minutes": 0}}})
    night = datetime(2025, 10, 7, 0, 0, tzinfo=UTC)  # 02:00 in Stockholm
    ingest_text(session_factory, settings, "calls", HEADER + calls("SE-Z", night, 3, 0))  # every call lost
    clock = Clock(night + timedelta(minutes=50))
    with recording_http_receiver() as receiver:
        alerting = Alerting(settings, session_factory, "w", clock=clock, rulebook=book,
                            channels=[webhook(receiver.url)])
        report = alerting.evaluate()
        assert report is not None and not report.transitions
        with session_factory() as session:
            assert session.scalar(select(func.count()).select_from(Alert)) == 0  # not even pending
        day = datetime(2025, 10, 7, 8, 0, tzinfo=UTC)  # 10:00: 40 calls, 20 answered (50 % < 75 %)
        ingest_text(session_factory, settings, "calls", HEADER + calls("SE-AC", day, 40, 20))
        clock.now = day + timedelta(minutes=50)
        alerting.evaluate()
        assert ("firing", "fast_slip", "SE-AC", "answer_rate") in received(receiver)
        assert not [m for m in received(receiver) if m[2] == "SE-Z"]
        (request,) = [r for r in receiver.requests if r.json["alerts"][0]["labels"]["scope"] == "SE-AC"]
        assert request.json["alerts"][0]["annotations"]["description"].startswith(
            "Sedan kl. 08:00 är svarsfrekvensen 50,0 % av 40 samtal (mål 85,0 %, larmgräns 75,0 %).")


def test_a_receiver_that_is_down_gets_the_notification_exactly_once_when_it_returns(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    clock = Clock(datetime(2025, 10, 3, 10, 0, tzinfo=UTC))
    ingest_text(session_factory, settings, "calls", HEADER + calls("SE-AC", clock.now - timedelta(hours=1), 20, 10))
    with recording_http_receiver() as receiver:
        receiver.stop()
        channel = webhook(receiver.url)
        book = rulebook_from_mapping({"rules": {"target_at_risk": {"for_minutes": 0, "min_offered": 0}}})
        first = Alerting(settings, session_factory, "worker-1", clock=clock, rulebook=book, channels=[channel])
        report = first.evaluate()
        assert report is not None and report.notifications >= 1
        pending = _notifications(session_factory)
        # the first attempt found the receiver down; the rest of the channel waits its turn behind it
        assert [n.status for n in pending] == ["pending"] * len(pending) and len(pending) == 2
        assert [n.attempts for n in pending] == [1, 0]
        for minutes in (1, 3, 7, 20, 60):  # the worker keeps trying while the receiver is down
            clock.now += timedelta(minutes=minutes)
            first.deliver()
        attempts = [n.attempts for n in _notifications(session_factory)]
        assert receiver.requests == [] and attempts[0] > 1
        # the worker restarts: a new process with a new id finds the outbox as it was left
        receiver.start()
        second = Alerting(settings, session_factory, "worker-2", clock=clock, rulebook=book, channels=[channel])
        clock.now += timedelta(hours=1)
        second.deliver()
        second.deliver()
        clock.now += timedelta(hours=2)
        second.evaluate()  # nothing changed: nothing new is written or sent
        second.deliver()
        rows = _notifications(session_factory)
        assert [n.status for n in rows] == ["delivered"] * len(rows)
        keys = [r.headers["idempotency-key"] for r in receiver.requests]
        assert sorted(keys) == sorted(n.idempotency_key for n in rows)  # each exactly once


def test_a_notification_is_given_up_after_its_retry_window_and_a_bad_request_at_once(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    now = datetime(2025, 10, 3, 10, 0, tzinfo=UTC)
    clock = Clock(now)
    with recording_http_receiver() as receiver:
        receiver.stop()
        channel = webhook(receiver.url)
        _fire(session_factory, [channel], now, "SE-AC")
        while clock.now < now + timedelta(hours=25):
            deliver_due(session_factory, [channel], now=clock)
            clock.now += timedelta(minutes=30)
        (row,) = _notifications(session_factory)
        assert row.status == "failed" and row.last_error is not None and "gave up" in row.last_error
        receiver.start()
        receiver.respond_with(400)
        _fire(session_factory, [channel], clock.now, "SE-Z")
        deliver_due(session_factory, [channel], now=clock)
        rows = _notifications(session_factory)
        assert rows[1].status == "failed" and rows[1].attempts == 1 and "400" in (rows[1].last_error or "")


def test_per_channel_order_holds_and_a_silence_mutes_without_losing_history(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    now = datetime(2025, 10, 3, 10, 0, tzinfo=UTC)
    with recording_http_receiver() as receiver:
        channel = webhook(receiver.url)
        with transaction(session_factory) as session:
            whole = create_silence(session, SilenceRequest(rule=None, scope="SE-Z", ends_at=now + timedelta(hours=1),
                                                           reason="planned outage", created_by="test"), now=now)
            short = create_silence(session, SilenceRequest(rule="fast_slip", scope="SE-BD", reason="short",
                                                           ends_at=now + timedelta(minutes=2), created_by="test"),
                                   now=now)
            ids = (whole.id, short.id)
        for scope in ("SE-Z", "SE-AC", "SE-BD"):
            _fire(session_factory, [channel], now, scope)
        for scope in ("SE-BD", "SE-Z", "SE-AC"):  # SE-BD resolves in the first evaluation after its silence
            _resolve(session_factory, [channel], now + timedelta(minutes=5), scope)
        deliver_due(session_factory, [channel], now=lambda: now + timedelta(minutes=6))
        # SE-BD's resolution comes after its silence ended, but no one was told it fired: no one hears it ended
        assert received(receiver) == [("firing", "fast_slip", "SE-AC", "answer_rate"),
                                      ("resolved", "fast_slip", "SE-AC", "answer_rate")]
        with session_factory() as session:
            events = session.scalars(select(AlertEvent).order_by(AlertEvent.id)).all()
            by_scope = {}
            for event in events:
                alert = session.get(Alert, event.alert_id)
                assert alert is not None
                by_scope.setdefault(alert.scope, []).append((event.new_phase, event.silence_id))
        assert by_scope == {"SE-Z": [("firing", ids[0]), ("resolved", None)],
                            "SE-AC": [("firing", None), ("resolved", None)],
                            "SE-BD": [("firing", ids[1]), ("resolved", None)]}


def test_a_silenced_firing_is_announced_when_the_silence_ends_and_its_resolution_is_never_muted(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    now = datetime(2025, 10, 3, 10, 0, tzinfo=UTC)
    with recording_http_receiver() as receiver:
        channel = webhook(receiver.url)
        with transaction(session_factory) as session:
            create_silence(session, SilenceRequest(rule="fast_slip", scope="SE-AC", reason="maintenance",
                                                   ends_at=now + timedelta(minutes=10), created_by="test"), now=now)
        _fire(session_factory, [channel], now, "SE-AC")
        _fire(session_factory, [channel], now + timedelta(minutes=5), "SE-AC")  # still breached, still silenced
        assert _notifications(session_factory) == []
        _fire(session_factory, [channel], now + timedelta(minutes=11), "SE-AC")  # the silence is over
        _fire(session_factory, [channel], now + timedelta(minutes=12), "SE-AC")  # … and it is said once
        deliver_due(session_factory, [channel], now=lambda: now + timedelta(minutes=12))
        assert received(receiver) == [("firing", "fast_slip", "SE-AC", "answer_rate")]
        with transaction(session_factory) as session:  # muted again, then it resolves: the receiver still hears
            create_silence(session, SilenceRequest(rule=None, scope="SE-AC", reason="again",
                                                   ends_at=now + timedelta(hours=2), created_by="test"),
                           now=now + timedelta(minutes=13))
        _resolve(session_factory, [channel], now + timedelta(minutes=20), "SE-AC")
        deliver_due(session_factory, [channel], now=lambda: now + timedelta(minutes=21))
        assert received(receiver) == [("firing", "fast_slip", "SE-AC", "answer_rate"),
                                      ("resolved", "fast_slip", "SE-AC", "answer_rate")]
        first, _second = receiver.requests
        assert first.json["alerts"][0]["startsAt"] == "2025-10-03T10:00:00Z"  # when it fired, not when told


def test_one_channel_down_with_a_backlog_does_not_hold_up_another(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    now = datetime(2025, 10, 3, 10, 0, tzinfo=UTC)
    with recording_http_receiver() as up, recording_http_receiver() as down:
        down.stop()
        channels = [webhook(down.url, name="a-down"), webhook(up.url, name="b-up")]
        for n, scope in enumerate(["SE-AC", "SE-BD", "SE-Z", "SE-Y"]):
            _fire(session_factory, channels, now + timedelta(minutes=n), scope)
        report = deliver_due(session_factory, channels, now=lambda: now + timedelta(minutes=5))
        assert report.delivered == 4 and report.retrying == 1 and report.waiting_channels == ["a-down"]
        down.start()
        deliver_due(session_factory, channels, now=lambda: now + timedelta(hours=1))
        assert [m[2] for m in received(down)] == ["SE-AC", "SE-BD", "SE-Z", "SE-Y"]  # in order, once each


def test_a_damaged_outbox_row_fails_alone(session_factory: sessionmaker[Session], settings: Settings) -> None:
    now = datetime(2025, 10, 3, 10, 0, tzinfo=UTC)
    with recording_http_receiver() as receiver:
        channel = webhook(receiver.url)
        _fire(session_factory, [channel], now, "SE-AC")
        _fire(session_factory, [channel], now, "SE-BD")
        with transaction(session_factory) as session:
            first = session.scalars(select(Notification).order_by(Notification.id)).first()
            assert first is not None
            first.payload = {"status": "firing"}  # damaged: most fields missing
        deliver_due(session_factory, [channel], now=lambda: now)
        rows = _notifications(session_factory)
        assert [r.status for r in rows] == ["failed", "delivered"]
        assert "unreadable notification" in (rows[0].last_error or "")
        assert [m[2] for m in received(receiver)] == ["SE-BD"]


def test_e_mail_in_english_reaches_a_real_smtp_server(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with smtp_receiver() as smtp:
        channel = ChannelConfig(name="mail", kind="email", lang="en", smtp_host="127.0.0.1", smtp_port=smtp.port,
                                smtp_from="vpt@example.org", smtp_to=("ops@example.org",), starttls=False)
        now = datetime(2025, 10, 3, 10, 0, tzinfo=UTC)
        _fire(session_factory, [channel], now, "SE-AC")
        deliver_due(session_factory, [channel], now=lambda: now)
        (mail,) = smtp.wait_for(1)
        assert "has dropped sharply over the last 2 hours" in mail.message["Subject"]
        body = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "Answer rate needed: 91.0%" in body


def _notifications(factory: sessionmaker[Session]) -> list[Notification]:
    with factory() as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def _details(scope: str) -> dict[str, Any]:
    return {"scope_name": f"Region {scope}", "scope_kind": "region", "hours": 2, "offered": 40, "answered": 20,
            "value": 0.5, "target": 0.85, "comparator": ">=", "threshold": 0.75, "needed_answer_rate": 0.91}


_BREACHED: weakref.WeakKeyDictionary[sessionmaker[Session], dict[str, bool]] = weakref.WeakKeyDictionary()


def _apply(factory: sessionmaker[Session], channels: list[ChannelConfig], now: datetime, scope: str,
           breached: bool) -> None:
    """One evaluation in which every scope this test has touched is observed again (as the worker observes
    every scope every time), with ``scope`` now breached or recovered."""
    states = _BREACHED.setdefault(factory, {})
    states[scope] = breached
    evaluated = [Evaluated(Observation(AlertKey("fast_slip", name, "answer_rate"), state, not state, 0.5, 0.75),
                           timedelta(0), _details(name)) for name, state in states.items()]
    with transaction(factory) as session:
        apply_evaluation(session, evaluated, now, channels=channels, link_for=lambda k, d: "http://127.0.0.1/x",
                         retry_for=timedelta(hours=24))


def _fire(factory: sessionmaker[Session], channels: list[ChannelConfig], now: datetime, scope: str) -> None:
    _apply(factory, channels, now, scope, True)


def _resolve(factory: sessionmaker[Session], channels: list[ChannelConfig], now: datetime, scope: str) -> None:
    _apply(factory, channels, now, scope, False)


@pytest.mark.parametrize("values, expected", [
    ([0.74, 0.76] * 12, []),  # never breached for the whole for-duration (10 min at 5 min steps): nothing
    ([0.74, 0.73, 0.74] + [0.76, 0.74, 0.79, 0.70, 0.77, 0.745, 0.799] * 3, ["firing"]),  # fires, never resolves
    ([0.74, 0.73, 0.74, 0.76, 0.80, 0.74, 0.76], ["firing", "resolved"]),  # resolves at 0.80, re-breach is pending
])
def test_a_value_oscillating_around_the_threshold_does_not_flap(
    session_factory: sessionmaker[Session], values: list[float], expected: list[str]
) -> None:
    """Stored state, not just the pure engine: breached under 0.75 for 10 min, recovered only at 0.80."""
    now = datetime(2025, 10, 3, 10, 0, tzinfo=UTC)
    channel = ChannelConfig(name="ops", kind="webhook", url="http://127.0.0.1:9/unused")
    key = AlertKey("fast_slip", "SE-AC", "answer_rate")
    for n, value in enumerate(values):
        with transaction(session_factory) as session:
            apply_evaluation(session, [Evaluated(Observation(key, value < 0.75, value >= 0.80, value, 0.75),
                                                 timedelta(minutes=10), _details("SE-AC"))],
                             now + timedelta(minutes=5 * n), channels=[channel], link_for=lambda k, d: "",
                             retry_for=timedelta(hours=24))
    rows = _notifications(session_factory)
    assert [r.payload["status"] for r in rows] == expected

