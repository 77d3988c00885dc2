"""Alert and outbox families on /metrics, read at scrape time, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.metrics.collector import VptCollector
from tests.alerts.test_alerts_api import T0, seed

NOW = T0 + timedelta(hours=2)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(factory: sessionmaker[Session], settings: Settings, now: datetime = NOW) -> tuple[Samples, dict[str, str]]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VptCollector(factory, settings, clock=lambda: now))
    samples: Samples = {}
    types = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    assert samples[("vpt_database_up", ())] == 1  # a failing family would otherwise hide behind database_up 0
    return samples, types


def of(samples: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {labels: v for (metric, labels), v in samples.items() if metric == name}


def test_alert_and_outbox_families(session_factory: sessionmaker[Session], settings: Settings) -> None:
    seed(session_factory)
    samples, types = scrape(session_factory, settings)
    assert of(samples, "vpt_alert_firing") == {
        (("kpi", "answer_rate"), ("period", "2025-10"), ("rule", "target_at_risk"), ("scope", "SE-AC")): 1,
        (("kpi", ""), ("period", ""), ("rule", "worker_stale"), ("scope", "worker-2")): 1,  # muted, still firing
    }
    assert of(samples, "vpt_alerts") == {(("phase", "firing"),): 2, (("phase", "pending"),): 1,
                                         (("phase", "resolved"),): 1, (("phase", "inactive"),): 1}
    assert of(samples, "vpt_notifications") == {
        (("channel", "email"), ("status", "delivered")): 0, (("channel", "email"), ("status", "failed")): 0,
        (("channel", "email"), ("status", "pending")): 1,
        (("channel", "slack"), ("status", "delivered")): 3, (("channel", "slack"), ("status", "failed")): 0,
        (("channel", "slack"), ("status", "pending")): 0,
        (("channel", "webhook"), ("status", "delivered")): 0, (("channel", "webhook"), ("status", "failed")): 1,
        (("channel", "webhook"), ("status", "pending")): 0,
    }
    # the email notification was written at T0 + 30 min and is still pending at T0 + 2 h
    assert samples[("vpt_notification_oldest_pending_seconds", ())] == 90 * 60
    assert {types[name] for name in ("vpt_alert_firing", "vpt_alerts", "vpt_notifications",
                                     "vpt_notification_oldest_pending_seconds")} == {"gauge"}


def test_an_empty_outbox(session_factory: sessionmaker[Session], settings: Settings) -> None:
    samples, types = scrape(session_factory, settings)
    assert "vpt_alert_firing" in types and of(samples, "vpt_alert_firing") == {}
    assert set(of(samples, "vpt_alerts").values()) == {0} and len(of(samples, "vpt_alerts")) == 4
    assert of(samples, "vpt_notifications") == {}
    assert samples[("vpt_notification_oldest_pending_seconds", ())] == 0
