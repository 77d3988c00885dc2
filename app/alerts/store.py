"""Apply one evaluation to the stored alerts: new phases, history, and the outbox, in one transaction.

The notification rows are written in the same transaction as the phase change they announce. Either both
are committed or neither: a crash right after an alert fires cannot leave it firing with no one told, and a
crash before the commit leaves it pending, so the next evaluation fires it again, once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.alerts.channel_config import ChannelConfig
from app.alerts.engine import AlertKey, AlertState, Observation, Phase, Transition, step
from app.alerts.messages import render
from app.alerts.silences import active_silences, matching_silence
from app.db.alert_models import Alert, AlertEvent, AlertSilence, Notification

log = logging.getLogger(__name__)

LinkFor = Callable[[AlertKey, dict[str, Any]], str]


@dataclass(frozen=True)
class Evaluated:
    """One rule's verdict on one key, with the figures behind it (what the message will quote)."""

    observation: Observation
    for_duration: timedelta
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class ApplyReport:
    evaluated: int = 0
    transitions: list[Transition] = field(default_factory=list)
    notifications: int = 0
    silenced: int = 0

    @property
    def fired(self) -> list[str]:
        return [str(t.key) for t in self.transitions if t.new is Phase.FIRING]

    @property
    def resolved(self) -> list[str]:
        return [str(t.key) for t in self.transitions if t.new is Phase.RESOLVED]


def _key(row: Alert) -> AlertKey:
    return AlertKey(row.rule, row.scope, row.kpi, row.period)


def _state(row: Alert) -> AlertState:
    return AlertState(_key(row), Phase(row.phase), row.pending_since, row.fired_at, row.resolved_at, row.value,
                      row.threshold)


def _load(session: Session, keys: Iterable[AlertKey]) -> dict[AlertKey, Alert]:
    """The rows of the observed keys and every alert still pending or firing (they may not be observed)."""
    periods = {key.period for key in keys}
    rows = session.scalars(
        select(Alert).where(or_(Alert.phase.in_(("pending", "firing")), Alert.period.in_(periods)))
    )
    return {_key(row): row for row in rows}


def apply_evaluation(
    session: Session, evaluated: list[Evaluated], now: datetime, *, channels: list[ChannelConfig],
    link_for: LinkFor, retry_for: timedelta,
) -> ApplyReport:
    report = ApplyReport(evaluated=len(evaluated))
    rows = _load(session, [e.observation.key for e in evaluated])
    observed = {e.observation.key for e in evaluated}
    silences = active_silences(session, now)
    for item in list(evaluated) + _unobserved(rows, observed):
        key = item.observation.key
        row = rows.get(key)
        state, transition = step(None if row is None else _state(row), item.observation, now, item.for_duration)
        if row is None:
            if state.phase is Phase.INACTIVE:
                continue  # never breached: no row, so the table holds alerts, not every key ever evaluated
            row = Alert(rule=key.rule, scope=key.scope, kpi=key.kpi, period=key.period, changed_at=now)
            session.add(row)
            rows[key] = row
        row.phase, row.pending_since, row.fired_at = state.phase.value, state.pending_since, state.fired_at
        row.resolved_at, row.value, row.threshold = state.resolved_at, state.value, state.threshold
        row.details, row.evaluated_at = item.details, now
        if transition is None:
            continue
        row.changed_at = now
        report.transitions.append(transition)
        if transition.notifies:
            session.flush()  # the alert's id
            _record(session, row, transition, item.details, now, silences, channels, link_for, retry_for, report)
    _announce_after_silence(session, rows, now, silences, channels, link_for, retry_for, report)
    if report.transitions:
        log.info("alerts.applied", extra={"fired": report.fired, "resolved": report.resolved,
                                          "notifications": report.notifications})
    return report


def _unobserved(rows: dict[AlertKey, Alert], observed: set[AlertKey]) -> list[Evaluated]:
    """Alerts no rule spoke about this time: a disabled rule, a removed source, a month now long closed.

    They resolve, so a receiver's incident closes, with words that say the watch ended rather than that
    the value recovered (``no_longer_evaluated``; a missed month two months back is ``archived``).
    """
    out = []
    for key, row in rows.items():
        if key in observed or row.phase not in ("pending", "firing"):
            continue
        details = dict(row.details or {})
        details["archived" if key.rule == "target_missed" else "no_longer_evaluated"] = True
        out.append(Evaluated(Observation(key, breached=False, recovered=True, value=row.value,
                                         threshold=row.threshold), timedelta(0), details))
    return out


def _record(
    session: Session, row: Alert, transition: Transition, details: dict[str, Any], now: datetime,
    silences: list[AlertSilence], channels: list[ChannelConfig], link_for: LinkFor, retry_for: timedelta,
    report: ApplyReport,
) -> None:
    """History, and the outbox rows. A silence mutes a firing; a resolution goes to exactly the channels that
    were told of the firing (silenced or not now), so no incident a receiver opened is left open."""
    key = _key(row)
    firing = transition.new is Phase.FIRING
    silence = matching_silence(silences, key.rule, key.scope) if firing else None
    event = AlertEvent(alert_id=row.id, at=now, old_phase=transition.old.value, new_phase=transition.new.value,
                       value=row.value, threshold=row.threshold, details=details,
                       silence_id=None if silence is None else silence.id)
    session.add(event)
    session.flush()
    if silence is not None:
        report.silenced += 1
        return
    if firing:
        targets = [c for c in channels if c.accepts(key.rule, key.scope)]
    else:
        told = _channels_told_of_firing(session, row.id)
        targets = [c for c in channels if c.name in told]
    _write(session, row, event.id, "firing" if firing else "resolved", details, targets, now, link_for,
           retry_for, report)


def _write(
    session: Session, row: Alert, event_id: int, status: Literal["firing", "resolved"], details: dict[str, Any],
    targets: list[ChannelConfig], now: datetime, link_for: LinkFor, retry_for: timedelta, report: ApplyReport,
) -> None:
    key = _key(row)
    assert row.fired_at is not None
    link = link_for(key, details)
    for channel in targets:
        message = render(key, status, details, lang=channel.lang, starts_at=row.fired_at,
                         ends_at=row.resolved_at if status == "resolved" else None, channel=channel.name, link=link)
        session.add(Notification(event_id=event_id, channel=channel.name, idempotency_key=message.idempotency_key,
                                 payload=message.to_json(), status="pending", attempts=0, created_at=now,
                                 next_attempt_at=now, expires_at=now + retry_for))
        report.notifications += 1


def _announce_after_silence(
    session: Session, rows: dict[AlertKey, Alert], now: datetime, silences: list[AlertSilence],
    channels: list[ChannelConfig], link_for: LinkFor, retry_for: timedelta, report: ApplyReport,
) -> None:
    """An alert that fired under a silence and is still firing when the silence ends is announced then."""
    firing = {row.id: row for row in rows.values() if row.phase == "firing"}
    if not firing or not channels:
        return
    latest: dict[int, tuple[int, int | None]] = {}
    for event_id, alert_id, silence_id in session.execute(
        select(AlertEvent.id, AlertEvent.alert_id, AlertEvent.silence_id)
        .where(AlertEvent.alert_id.in_(list(firing)), AlertEvent.new_phase == "firing").order_by(AlertEvent.id)
    ):
        latest[alert_id] = (event_id, silence_id)
    muted = {alert_id: event_id for alert_id, (event_id, silence_id) in latest.items() if silence_id is not None}
    if not muted:
        return
    told = set(session.scalars(select(Notification.event_id).where(Notification.event_id.in_(list(muted.values())))))
    for alert_id, event_id in muted.items():
        row = firing[alert_id]
        key = _key(row)
        if event_id in told or matching_silence(silences, key.rule, key.scope) is not None:
            continue
        targets = [c for c in channels if c.accepts(key.rule, key.scope)]
        _write(session, row, event_id, "firing", dict(row.details or {}), targets, now, link_for, retry_for, report)


def _channels_told_of_firing(session: Session, alert_id: int) -> set[str]:
    firing = session.scalar(
        select(AlertEvent.id).where(AlertEvent.alert_id == alert_id, AlertEvent.new_phase == "firing")
        .order_by(AlertEvent.id.desc()).limit(1)
    )
    if firing is None:
        return set()
    return set(session.scalars(select(Notification.channel).where(Notification.event_id == firing)))
