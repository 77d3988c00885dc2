"""The read side of alerts: current state, history and the outbox, as the API, the CLI and /metrics see them.

Plain functions over a Session, read only. Each alert in a listing carries its latest event and a summary of
its notifications' delivery, because the question an operator brings is not only "what is firing?" but
"was anyone told?" — and the answer lives in the outbox, two joins away from the alert.

Paging is by keyset on ids (``after_id`` for alerts, oldest first; ``before_id`` for events and
notifications, newest first): stable while rows are added, and each page costs the same however deep it is.
Rows are returned as ORM objects wrapped in small dataclasses; rendering them is the caller's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.db.alert_models import NOTIFICATION_STATUSES, PHASES, Alert, AlertEvent, Notification

ALL = "all"  # the phase filter that includes inactive alerts
PhaseFilter = Literal["inactive", "pending", "firing", "resolved", "all"]


@dataclass
class DeliverySummary:
    """How the notifications of an alert (or of one event) fared. ``last_error`` is the newest error of a
    notification not (yet) delivered: a delivered one's earlier failures are no longer anyone's problem."""

    delivered: int = 0
    pending: int = 0
    failed: int = 0
    last_error: str | None = None
    last_delivered_at: datetime | None = None

    @property
    def total(self) -> int:
        return self.delivered + self.pending + self.failed

    def describe(self) -> str:
        """One line for a terminal: "2 delivered, 1 failed (timeout)"; "none" when nothing was sent."""
        parts = [f"{n} {name}" for name, n in
                 (("delivered", self.delivered), ("pending", self.pending), ("failed", self.failed)) if n]
        text = ", ".join(parts) or "none"
        return f"{text} ({self.last_error})" if self.last_error else text


@dataclass
class AlertView:
    alert: Alert
    latest_event: AlertEvent | None
    delivery: DeliverySummary


@dataclass
class AlertPage:
    alerts: list[AlertView]
    next_after_id: int | None


@dataclass
class EventView:
    event: AlertEvent
    alert: Alert
    delivery: DeliverySummary


@dataclass
class EventPage:
    events: list[EventView]
    next_before_id: int | None


@dataclass
class NotificationView:
    notification: Notification
    event: AlertEvent
    alert: Alert

    @property
    def title(self) -> str:
        return _text(self.notification.payload, "title")

    @property
    def text(self) -> str:
        return _text(self.notification.payload, "text")


@dataclass
class NotificationPage:
    notifications: list[NotificationView]
    next_before_id: int | None


@dataclass
class AlertDetail:
    view: AlertView
    events: list[EventView] = field(default_factory=list)
    notifications: list[NotificationView] = field(default_factory=list)
    more_events: bool = False


def _text(payload: Any, key: str) -> str:
    """A payload field as text; the payload is a rendered AlertMessage but is read defensively."""
    value = payload.get(key) if isinstance(payload, dict) else None
    return value if isinstance(value, str) else ""


def _summaries(session: Session, key: InstrumentedAttribute[int], ids: Sequence[int]) -> dict[int, DeliverySummary]:
    """Delivery summaries keyed by alert id (``key`` = AlertEvent.alert_id) or event id (Notification.event_id)."""
    out = {i: DeliverySummary() for i in ids}
    if not ids:
        return out
    base = select(key).select_from(Notification).join(AlertEvent, AlertEvent.id == Notification.event_id)
    for owner, status, n, delivered_at in session.execute(
        base.add_columns(Notification.status, func.count(), func.max(Notification.delivered_at))
        .where(key.in_(ids)).group_by(key, Notification.status)
    ):
        summary = out[owner]
        if status in NOTIFICATION_STATUSES:
            setattr(summary, status, n)
        if status == "delivered":
            summary.last_delivered_at = delivered_at
    for owner, error in session.execute(
        base.add_columns(Notification.last_error)
        .where(key.in_(ids), Notification.last_error.is_not(None), Notification.status != "delivered")
        .order_by(Notification.id.desc())
    ):
        if out[owner].last_error is None:
            out[owner].last_error = error
    return out


def _views(session: Session, alerts: Sequence[Alert]) -> list[AlertView]:
    ids = [a.id for a in alerts]
    if not ids:
        return []
    newest = select(func.max(AlertEvent.id)).where(AlertEvent.alert_id.in_(ids)).group_by(AlertEvent.alert_id)
    latest = {e.alert_id: e for e in session.scalars(select(AlertEvent).where(AlertEvent.id.in_(newest)))}
    delivery = _summaries(session, AlertEvent.alert_id, ids)
    return [AlertView(a, latest.get(a.id), delivery[a.id]) for a in alerts]


def _phase_clause(phase: str | None) -> ColumnElement[bool] | None:
    if phase is None:
        return Alert.phase != "inactive"
    if phase == ALL:
        return None
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}")
    return Alert.phase == phase


def list_alerts(
    session: Session, *, phase: str | None = None, rule: str | None = None, scope: str | None = None,
    limit: int = 50, after_id: int | None = None,
) -> AlertPage:
    """Alerts oldest key first. ``phase`` None means every phase but inactive (an alert that never got past
    a passing glance); ``"all"`` includes those too."""
    query = select(Alert)
    clause = _phase_clause(phase)
    if clause is not None:
        query = query.where(clause)
    if rule is not None:
        query = query.where(Alert.rule == rule)
    if scope is not None:
        query = query.where(Alert.scope == scope)
    if after_id is not None:
        query = query.where(Alert.id > after_id)
    rows = session.scalars(query.order_by(Alert.id).limit(limit + 1)).all()
    page = _views(session, rows[:limit])
    return AlertPage(page, page[-1].alert.id if len(rows) > limit else None)


def get_alert(session: Session, alert_id: int, *, events: int = 100) -> AlertDetail | None:
    """One alert with its newest ``events`` events (the rest: ``alert_history``) and their notifications."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        return None
    history = alert_history(session, alert_id, limit=events)
    event_ids = [v.event.id for v in history.events]
    notifications = _notifications(session, select(Notification).where(Notification.event_id.in_(event_ids))
                                   .order_by(Notification.id.desc())) if event_ids else []
    return AlertDetail(_views(session, [alert])[0], history.events, notifications,
                       more_events=history.next_before_id is not None)


def alert_history(
    session: Session, alert_id: int | None = None, *, since: datetime | None = None, limit: int = 100,
    before_id: int | None = None,
) -> EventPage:
    """Phase changes newest first, of one alert or of all; ``since`` keeps events at or after a time."""
    query = select(AlertEvent, Alert).join(Alert, Alert.id == AlertEvent.alert_id)
    if alert_id is not None:
        query = query.where(AlertEvent.alert_id == alert_id)
    if since is not None:
        query = query.where(AlertEvent.at >= since)
    if before_id is not None:
        query = query.where(AlertEvent.id < before_id)
    rows = session.execute(query.order_by(AlertEvent.id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    delivery = _summaries(session, Notification.event_id, [event.id for event, _ in page])
    events = [EventView(event, alert, delivery[event.id]) for event, alert in page]
    return EventPage(events, events[-1].event.id if len(rows) > limit else None)


def _notifications(session: Session, query: Any) -> list[NotificationView]:
    rows = session.execute(
        query.add_columns(AlertEvent, Alert).join(AlertEvent, AlertEvent.id == Notification.event_id)
        .join(Alert, Alert.id == AlertEvent.alert_id)
    ).all()
    return [NotificationView(n, e, a) for n, e, a in rows]


def list_notifications(
    session: Session, *, status: str | None = None, channel: str | None = None, alert_id: int | None = None,
    limit: int = 50, before_id: int | None = None,
) -> NotificationPage:
    """The outbox newest first, with the event and alert each notification announces."""
    query = select(Notification)
    if status is not None:
        query = query.where(Notification.status == status)
    if channel is not None:
        query = query.where(Notification.channel == channel)
    if alert_id is not None:
        query = query.where(Notification.event_id.in_(select(AlertEvent.id).where(AlertEvent.alert_id == alert_id)))
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    rows = _notifications(session, query.order_by(Notification.id.desc()).limit(limit + 1))
    page = rows[:limit]
    return NotificationPage(page, page[-1].notification.id if len(rows) > limit else None)


def notification_counts(session: Session) -> dict[tuple[str, str], int]:
    """Notifications per (channel, status): the outbox's backlog and its failures at a glance."""
    return {(channel, status): n for channel, status, n in session.execute(
        select(Notification.channel, Notification.status, func.count())
        .group_by(Notification.channel, Notification.status)
    )}


def phase_counts(session: Session) -> dict[str, int]:
    """Alerts per phase, every phase present (zero when none)."""
    counts: dict[str, int] = dict.fromkeys(PHASES, 0)
    for phase, n in session.execute(select(Alert.phase, func.count()).group_by(Alert.phase)):
        counts[phase] = n
    return counts


def oldest_pending_age_seconds(session: Session, now: datetime) -> float | None:
    """Age of the oldest notification still waiting to be delivered; None when the outbox is empty.

    A value that keeps growing means a receiver is down (or the delivery job is not running): the outbox
    delays, it does not lose, but someone should know that it is delaying.
    """
    oldest = session.scalar(select(func.min(Notification.created_at)).where(Notification.status == "pending"))
    if oldest is None:
        return None
    return max(0.0, (now - oldest).total_seconds())


def firing_alerts(session: Session) -> list[Alert]:
    return list(session.scalars(select(Alert).where(Alert.phase == "firing").order_by(Alert.id)))
