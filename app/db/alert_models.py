"""Alert state, history, silences and the notification outbox (SPEC §8).

The outbox is the reason these live in the database at all: a notification row is written in the same
transaction as the phase change it announces, so a crash between "the alert fired" and "someone was told"
cannot lose the message, and a receiver that is down only delays it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models import Base, BigId, utcnow
from app.db.types import UTCDateTime

PhaseName = Literal["inactive", "pending", "firing", "resolved"]
NotificationStatus = Literal["pending", "delivered", "failed"]
PHASES: tuple[PhaseName, ...] = get_args(PhaseName)
NOTIFICATION_STATUSES: tuple[NotificationStatus, ...] = get_args(NotificationStatus)


class Alert(Base):
    """The current state of one alert key. Rows are kept after they resolve: the key's history hangs off it."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("rule", "scope", "kpi", "period"),
        CheckConstraint(f"phase IN {PHASES}", name="phase"),
        Index("ix_alerts_phase", "phase"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(String(128))
    kpi: Mapped[str] = mapped_column(String(40), default="")
    period: Mapped[str] = mapped_column(String(16), default="")
    phase: Mapped[PhaseName] = mapped_column(String(16))
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the figures behind the latest evaluation
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertEvent(Base):
    """One phase change of one alert: the history auditors read, and what notifications are about."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    old_phase: Mapped[PhaseName] = mapped_column(String(16))
    new_phase: Mapped[PhaseName] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    silence_id: Mapped[int | None] = mapped_column(ForeignKey("alert_silences.id"))  # muted: no notifications


class AlertSilence(Base):
    """Mute a rule, a scope, or a rule in a scope, until a time. Empty fields match everything."""

    __tablename__ = "alert_silences"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule: Mapped[str | None] = mapped_column(String(40))
    scope: Mapped[str | None] = mapped_column(String(128))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reason: Mapped[str] = mapped_column(String(512))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    """The outbox: one row per (event, channel), sent by the delivery job until delivered or out of time."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(f"status IN {NOTIFICATION_STATUSES}", name="status"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_events.id"), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the rendered AlertMessage
    status: Mapped[NotificationStatus] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # retried until then, then failed
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
