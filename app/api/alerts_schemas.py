"""Request and response models of alerts, their history, the notification outbox and silences (SPEC §8).

Times are ISO 8601 UTC with a ``Z`` (``utc_iso``), as everywhere in the service. A notification is shown
by what it said (title, text) and how its delivery went; the channel's configuration (URLs, keys) is not in
the outbox and never appears here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from app.alerts.queries import AlertDetail, AlertView, DeliverySummary, EventView, NotificationView
from app.alerts.silences import MAX_REASON
from app.db.alert_models import AlertEvent, AlertSilence, PhaseName
from app.db.alert_models import NotificationStatus as NotificationStatus  # the router's status filter, too
from app.kpi.localtime import utc_iso

Phase = PhaseName  # the columns' Literal: what is stored is what the schema's enum says
RULE_PATTERN = r"^[a-z0-9_]{1,40}$"
SCOPE_PATTERN = r"^[A-Za-z0-9._-]{1,128}$"  # region and collaboration codes, source names, worker ids
NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]+$"
MAX_SILENCE_MINUTES = 366 * 24 * 60


def _utc(moment: datetime) -> datetime:
    """Normalise to UTC here, so a year-9999 time with a negative offset is a 422 and not an overflow later."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


UtcTime = Annotated[
    datetime,
    PlainSerializer(utc_iso, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "description": "UTC, ISO 8601 with Z"}),
]
def _iso_text(value: object) -> object:
    """Pydantic reads a number (or a numeric string) as Unix time; the schema says an ISO 8601 date-time."""
    if isinstance(value, int | float) or (isinstance(value, str) and _looks_numeric(value)):
        raise ValueError("must be an ISO 8601 date-time with an offset, not a number")
    return value


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


AwareTime = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_utc)]


class DeliveryOut(BaseModel):
    """Was anyone told? Counts of notifications by status; ``last_error`` of one not (yet) delivered."""

    delivered: int
    pending: int = Field(description="Waiting for their first or next attempt")
    failed: int = Field(description="Given up: out of retry time or rejected for good")
    last_error: str | None
    last_delivered_at: UtcTime | None

    @classmethod
    def of(cls, summary: DeliverySummary) -> DeliveryOut:
        return cls(delivered=summary.delivered, pending=summary.pending, failed=summary.failed,
                   last_error=summary.last_error, last_delivered_at=summary.last_delivered_at)


class EventOut(BaseModel):
    id: int
    alert_id: int
    at: UtcTime
    old_phase: Phase
    new_phase: Phase
    value: float | None
    threshold: float | None
    details: dict[str, Any] | None = Field(description="The figures behind the evaluation")
    silence_id: int | None = Field(description="The silence that muted this change: no notification was written")

    @classmethod
    def of(cls, event: AlertEvent) -> EventOut:
        return cls(id=event.id, alert_id=event.alert_id, at=event.at, old_phase=event.old_phase,
                   new_phase=event.new_phase, value=event.value, threshold=event.threshold,
                   details=event.details, silence_id=event.silence_id)


class HistoryEventOut(EventOut):
    rule: str
    scope: str
    kpi: str
    period: str
    delivery: DeliveryOut = Field(description="The notifications this change caused")

    @classmethod
    def of_view(cls, view: EventView) -> HistoryEventOut:
        a = view.alert
        return cls(**EventOut.of(view.event).model_dump(), rule=a.rule, scope=a.scope, kpi=a.kpi, period=a.period,
                   delivery=DeliveryOut.of(view.delivery))


class AlertOut(BaseModel):
    """The current state of one alert key (rule, scope, kpi, period)."""

    id: int
    rule: str = Field(examples=["target_at_risk"])
    scope: str = Field(examples=["SE-AC"], description="Region or collaboration code, source name or worker id")
    kpi: str = Field(examples=["answer_rate"], description="Empty for rules not about a KPI")
    period: str = Field(examples=["2025-10"], description="YYYY-MM for month rules, empty otherwise")
    phase: Phase
    pending_since: UtcTime | None
    fired_at: UtcTime | None
    resolved_at: UtcTime | None
    value: float | None
    threshold: float | None
    details: dict[str, Any] | None
    evaluated_at: UtcTime
    changed_at: UtcTime
    latest_event: EventOut | None
    delivery: DeliveryOut = Field(description="Every notification of this alert, all its transitions")

    @classmethod
    def of(cls, view: AlertView) -> AlertOut:
        a = view.alert
        return cls(
            id=a.id, rule=a.rule, scope=a.scope, kpi=a.kpi, period=a.period, phase=a.phase,
            pending_since=a.pending_since, fired_at=a.fired_at, resolved_at=a.resolved_at, value=a.value,
            threshold=a.threshold, details=a.details, evaluated_at=a.evaluated_at, changed_at=a.changed_at,
            latest_event=EventOut.of(view.latest_event) if view.latest_event is not None else None,
            delivery=DeliveryOut.of(view.delivery),
        )


class AlertPageOut(BaseModel):
    alerts: list[AlertOut] = Field(description="Oldest alert key first")
    next_after_id: int | None = Field(description="Pass as after for the next page; null on the last page")


class HistoryPageOut(BaseModel):
    events: list[HistoryEventOut] = Field(description="Newest first")
    next_before_id: int | None = Field(description="Pass as before for the next page; null on the last page")


class NotificationOut(BaseModel):
    id: int
    alert_id: int
    event_id: int
    rule: str
    scope: str
    kpi: str
    period: str
    transition: Phase = Field(description="The phase the event announced: firing or resolved")
    channel: str
    idempotency_key: str = Field(description="Receivers drop a repeat of the same key")
    title: str
    text: str
    status: NotificationStatus
    attempts: int
    created_at: UtcTime
    next_attempt_at: UtcTime = Field(description="When a pending notification is tried next")
    expires_at: UtcTime = Field(description="Retried until then, then failed")
    last_attempt_at: UtcTime | None
    delivered_at: UtcTime | None
    last_error: str | None

    @classmethod
    def of(cls, view: NotificationView) -> NotificationOut:
        n, a = view.notification, view.alert
        return cls(
            id=n.id, alert_id=a.id, event_id=n.event_id, rule=a.rule, scope=a.scope, kpi=a.kpi, period=a.period,
            transition=view.event.new_phase, channel=n.channel, idempotency_key=n.idempotency_key,
            title=view.title, text=view.text, status=n.status, attempts=n.attempts,
            created_at=n.created_at, next_attempt_at=n.next_attempt_at, expires_at=n.expires_at,
            last_attempt_at=n.last_attempt_at, delivered_at=n.delivered_at, last_error=n.last_error,
        )


class NotificationPageOut(BaseModel):
    notifications: list[NotificationOut] = Field(description="Newest first")
    next_before_id: int | None = Field(description="Pass as before for the next page; null on the last page")


class AlertDetailOut(AlertOut):
    events: list[EventOut] = Field(description="Newest first, at most 100 (the rest: /alerts/history?alert=id)")
    more_events: bool = Field(description="True when older events exist than those listed")
    notifications: list[NotificationOut] = Field(description="Of the events listed, newest first")

    @classmethod
    def of_detail(cls, detail: AlertDetail) -> AlertDetailOut:
        return cls(**AlertOut.of(detail.view).model_dump(), events=[EventOut.of(v.event) for v in detail.events],
                   more_events=detail.more_events,
                   notifications=[NotificationOut.of(v) for v in detail.notifications])


class SilenceIn(BaseModel):
    """Mute a rule, a scope, or a rule in one scope, until ``ends_at`` or for ``duration_minutes`` (one)."""

    model_config = ConfigDict(extra="forbid")

    rule: str | None = Field(default=None, pattern=RULE_PATTERN, examples=["fast_slip"])
    scope: str | None = Field(default=None, pattern=SCOPE_PATTERN, examples=["SE-AC"])
    ends_at: AwareTime | None = Field(default=None, examples=["2025-10-06T18:00:00+02:00"],
                                      description="With an offset; must be in the future")
    duration_minutes: int | None = Field(default=None, ge=1, le=MAX_SILENCE_MINUTES, description="From now")
    reason: str = Field(min_length=1, max_length=MAX_REASON, pattern=r"^[^\x00]*$",
                        examples=["Planned maintenance of the telephony platform"])


class SilenceOut(BaseModel):
    id: int
    rule: str | None = Field(description="Null: every rule")
    scope: str | None = Field(description="Null: every scope")
    starts_at: UtcTime
    ends_at: UtcTime
    active: bool = Field(description="In force now")
    reason: str
    created_by: str
    created_at: UtcTime

    @classmethod
    def of(cls, silence: AlertSilence, now: datetime) -> SilenceOut:
        return cls(id=silence.id, rule=silence.rule, scope=silence.scope, starts_at=silence.starts_at,
                   ends_at=silence.ends_at, active=silence.starts_at <= now < silence.ends_at, reason=silence.reason,
                   created_by=silence.created_by, created_at=silence.created_at)
