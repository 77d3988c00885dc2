"""Alerting as the worker runs it: evaluate after every ingest and on a schedule, send the outbox.

Rules and channels are read once, when the worker starts (a configuration error stops it with a message
naming the key, rather than running without alerts). Each job takes a database lease, so with several
workers one evaluates and one delivers at a time; a thread lock does the same within one worker, where an
after-ingest evaluation and the scheduled one may coincide.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from app.alerts.channel_config import ChannelConfig, load_channels
from app.alerts.delivery import DeliveryReport, Sender, deliver_due
from app.alerts.evaluate import evaluate_alerts
from app.alerts.rulebook import RuleBook, load_rulebook
from app.alerts.store import ApplyReport
from app.config import Settings
from app.db.leases import leased, renew_lease
from app.scorecard.forecast_cache import ForecastHistoryCache

log = logging.getLogger(__name__)

EVALUATE_LEASE = "alerts:evaluate"
DELIVER_LEASE = "alerts:deliver"


class Alerting:
    def __init__(
        self, settings: Settings, factory: sessionmaker[Session], holder: str, *,
        rulebook: RuleBook | None = None, channels: list[ChannelConfig] | None = None,
        clock: Callable[[], datetime] | None = None, sender: Sender | None = None,
        stopping: threading.Event | None = None, history: ForecastHistoryCache | None = None,
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.holder = holder
        self.rulebook = rulebook if rulebook is not None else load_rulebook(settings.alerts_file)
        self.channels = channels if channels is not None else load_channels(settings)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.sender = sender
        self.stopping = stopping or threading.Event()
        # The forecast's sampled hours, kept between evaluations: the worker's own cache, made at its start.
        self.history = history if history is not None else ForecastHistoryCache()
        self._evaluating = threading.Lock()
        self._delivering = threading.Lock()

    def evaluate(self) -> ApplyReport | None:
        with self._evaluating, leased(self.factory, EVALUATE_LEASE, self.holder, self.settings.lease_seconds) as taken:
            if not taken:
                return None
            report = evaluate_alerts(self.factory, self.settings, self.rulebook, self.channels, now=self.clock(),
                                     worker_id=self.holder, history=self.history)
        if report.notifications:
            self.deliver()  # do not wait for the next delivery tick to tell people
        return report

    def deliver(self) -> DeliveryReport | None:
        with self._delivering, leased(self.factory, DELIVER_LEASE, self.holder, self.settings.lease_seconds) as taken:
            if not taken:
                return None
            return deliver_due(self.factory, self.channels, now=self.clock, sender=self.sender,
                               first_retry_seconds=self.settings.alert_first_retry_seconds,
                               keep_going=self._still_ours(DELIVER_LEASE))

    def _still_ours(self, lease: str) -> Callable[[], bool]:
        """Before each send: not stopping, and the lease renewed when a third of it has passed (a pass over a
        slow SMTP server can outlast it, and another worker must not take the same rows meanwhile)."""
        renewed = [time.monotonic()]

        def check() -> bool:
            if self.stopping.is_set():
                return False
            if time.monotonic() - renewed[0] > self.settings.lease_seconds / 3:
                if not renew_lease(self.factory, lease, self.holder, self.settings.lease_seconds):
                    log.warning("alerts.lease_lost", extra={"lease": lease})
                    return False
                renewed[0] = time.monotonic()
            return True

        return check

    def describe(self) -> list[str]:
        return [channel.describe() for channel in self.channels]
