"""Send the outbox: each notification until its channel accepts it, with backoff, for up to a day.

Delivery is at least once; exactly once is up to the receiver, which gets the same idempotency key (and, for
e-mail, the same Message-ID) on every attempt of the same notification. The status is written after the
send in its own small transaction: a crash in between means one repeat with the same key, never a loss.

Per channel, notifications leave in the order they were written, so a resolution never overtakes its
firing. The first failure that may pass (connection refused, timeout, 5xx, 429) ends that channel's pass:
a receiver that is down costs one attempt per pass, not one per waiting message.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.alerts.channel_config import ChannelConfig
from app.alerts.channels import DeliveryError, send
from app.alerts.message import AlertMessage
from app.db.alert_models import Notification
from app.db.session import transaction

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 30.0
LONGEST_RETRY_SECONDS = 30 * 60.0
PASS_LIMIT = 500  # pending rows looked at per pass; the rest wait for the next one
Sender = Callable[[ChannelConfig, AlertMessage], None]


def retry_delay(attempts: int, first: float = FIRST_RETRY_SECONDS, rng: random.Random | None = None) -> timedelta:
    """30 s, 1 min, 2 min … capped at 30 min, with jitter so many waiting messages do not retry in step."""
    base = min(first * 2 ** max(attempts - 1, 0), LONGEST_RETRY_SECONDS)
    return timedelta(seconds=base * (rng or random).uniform(0.75, 1.0))


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    waiting_channels: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Due:
    id: int
    channel: str
    payload: dict[str, object]
    attempts: int
    expires_at: datetime


def _due(session: Session, now: datetime) -> dict[str, list[_Due]]:
    """Per channel, the pending rows in order up to the first that is not due yet (first in, first out).

    Read channel by channel, so a long backlog of one channel whose receiver is down never hides another's.
    """
    channels = list(session.scalars(
        select(Notification.channel).where(Notification.status == "pending").distinct().order_by(Notification.channel)
    ))
    out: dict[str, list[_Due]] = {}
    for channel in channels:
        rows = session.execute(
            select(Notification.id, Notification.payload, Notification.attempts, Notification.expires_at,
                   Notification.next_attempt_at)
            .where(Notification.status == "pending", Notification.channel == channel)
            .order_by(Notification.id).limit(PASS_LIMIT)
        ).all()
        due = []
        for row in rows:
            if row.next_attempt_at > now:
                break
            due.append(_Due(row.id, channel, row.payload, row.attempts, row.expires_at))
        if due:
            out[channel] = due
    return out


def deliver_due(
    factory: sessionmaker[Session], channels: list[ChannelConfig], *, now: Callable[[], datetime] | None = None,
    sender: Sender | None = None, first_retry_seconds: float = FIRST_RETRY_SECONDS,
    keep_going: Callable[[], bool] | None = None,
) -> DeliveryReport:
    """One pass over the due notifications. ``keep_going`` is asked before each send: the worker answers no
    when it is stopping or has lost its delivery lease, so two workers never send the same row at once."""
    clock = now or (lambda: datetime.now(UTC))
    sender = sender or send
    by_name = {channel.name: channel for channel in channels}
    report = DeliveryReport()
    with factory() as session:
        due = _due(session, clock())
    for name, rows in due.items():
        channel = by_name.get(name)
        for row in rows:
            if keep_going is not None and not keep_going():
                return report
            error = _attempt(channel, name, row, sender)
            try:
                if error is None:
                    _mark_delivered(factory, row, clock())
                    report.delivered += 1
                    continue
                if _mark_failed(factory, row, error, clock(), first_retry_seconds):
                    report.failed += 1
                else:
                    report.retrying += 1
            except Exception:  # e.g. SQLite busy: the row stays pending and is sent again, under the same key
                log.exception("alerts.delivery_status_not_saved", extra={"notification": row.id, "channel": name})
                return report
            if error.retryable:
                report.waiting_channels.append(name)
                break  # the receiver is down or busy: the rest of this channel waits its turn
    return report


def _attempt(channel: ChannelConfig | None, name: str, row: _Due, sender: Sender) -> DeliveryError | None:
    if channel is None:
        return DeliveryError(f"channel {name!r} is not configured (any more)", retryable=True)
    try:
        message = AlertMessage.from_json(dict(row.payload))
    except (TypeError, KeyError, ValueError) as exc:  # written by another version, or damaged: never sendable
        return DeliveryError(f"unreadable notification: {type(exc).__name__}", retryable=False)
    try:
        sender(channel, message)
    except DeliveryError as exc:
        return exc
    except Exception as exc:  # a bug in a channel must not stop the other channels; retried like an outage
        log.exception("alerts.channel_failed", extra={"notification": row.id, "channel": name})
        return DeliveryError(f"unexpected {type(exc).__name__} in channel {name!r}", retryable=True)
    return None


def _mark_delivered(factory: sessionmaker[Session], row: _Due, at: datetime) -> None:
    with transaction(factory) as session:
        session.execute(
            update(Notification).where(Notification.id == row.id, Notification.status == "pending")
            .values(status="delivered", delivered_at=at, last_attempt_at=at, attempts=row.attempts + 1,
                    last_error=None)
        )
    log.info("alerts.delivered", extra={"notification": row.id, "channel": row.channel})


def _mark_failed(
    factory: sessionmaker[Session], row: _Due, error: DeliveryError, at: datetime, first_retry_seconds: float
) -> bool:
    """Record the attempt; True when the notification has failed for good."""
    attempts = row.attempts + 1
    retry_at = at + retry_delay(attempts, first_retry_seconds)
    final = not error.retryable or retry_at >= row.expires_at
    detail = str(error)[:500]
    if final and error.retryable:
        detail = f"gave up after {attempts} attempts: {detail}"
    with transaction(factory) as session:
        session.execute(
            update(Notification).where(Notification.id == row.id, Notification.status == "pending")
            .values(status="failed" if final else "pending", attempts=attempts, last_attempt_at=at,
                    last_error=detail, next_attempt_at=at if final else retry_at)
        )
    log.warning("alerts.delivery_failed", extra={"notification": row.id, "channel": row.channel,
                                                 "attempts": attempts, "final": final, "error": detail})
    return final
