"""Alert and outbox metrics, read at scrape time (SPEC §7, §8).

So the built-in alerts can be watched (and graphed) from Prometheus like everything else, and so a stuck
outbox — a receiver down, or no delivery job running — is itself visible to Alertmanager users:

- ``vpt_alert_firing{rule,scope,kpi,period}`` = 1 per firing alert; absent otherwise (the Prometheus
  ``ALERTS`` convention), so a resolved alert's series simply ends.
- ``vpt_alerts{phase}``: alerts per phase, every phase present.
- ``vpt_notifications{channel,status}``: notifications per channel and status. A gauge, not a counter: old
  rows may be pruned, so the number can go down.
- ``vpt_notification_oldest_pending_seconds``: age of the oldest notification not yet delivered; 0 when
  none is waiting.

Label cardinality stays bounded: ``rule`` is one of a handful of built-in rules, ``scope`` a region or
collaboration code, a configured source name or a worker id, ``kpi`` one of the targetable KPIs, and ``period``
a month. Only *firing* alerts are exported, so the series are as many as the alerts firing now, and a month's
series end when its alerts resolve. ``phase`` and ``status`` are fixed sets; ``channel`` is a configured
channel name (its URL or address is never a label).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.orm import Session

from app.alerts.queries import firing_alerts, notification_counts, oldest_pending_age_seconds, phase_counts
from app.db.alert_models import NOTIFICATION_STATUSES


def alert_families(session: Session, now: datetime) -> Iterator[Metric]:
    firing = GaugeMetricFamily("vpt_alert_firing", "1 for each built-in alert that is firing",
                               labels=["rule", "scope", "kpi", "period"])
    for alert in firing_alerts(session):
        firing.add_metric([alert.rule, alert.scope, alert.kpi, alert.period], 1)
    yield firing

    phases = GaugeMetricFamily("vpt_alerts", "Built-in alerts per phase", labels=["phase"])
    for phase, n in phase_counts(session).items():
        phases.add_metric([phase], n)
    yield phases

    counts = notification_counts(session)
    notifications = GaugeMetricFamily("vpt_notifications", "Notifications in the outbox per channel and status",
                                      labels=["channel", "status"])
    for channel in sorted({channel for channel, _ in counts}):
        for status in NOTIFICATION_STATUSES:  # every status of a known channel, zero included, for rate()s
            notifications.add_metric([channel, status], counts.get((channel, status), 0))
    yield notifications

    oldest = GaugeMetricFamily("vpt_notification_oldest_pending_seconds",
                               "Age of the oldest notification not yet delivered (0: none waiting)")
    oldest.add_metric([], oldest_pending_age_seconds(session, now) or 0.0)
    yield oldest
