"""``vpt_staffing_needed{region,hour}`` on /metrics: today's remaining hours, the advice's nurses, once an hour."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.config import Settings
from app.kpi.staffing import Goal, servers_needed
from app.metrics.staffing import StaffingCollector
from tests.staffing.history import NOW, THETA


def test_todays_remaining_hours_carry_the_advised_nurses(stored: sessionmaker[Session]) -> None:
    clock = [NOW]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StaffingCollector(stored, clock=lambda: clock[0]))
    text = generate_latest(registry).decode()
    nurses = servers_needed(40 / 3600, 1 / 570, THETA, Goal(0.85, 600)).servers
    assert f'vpt_staffing_needed{{hour="12",region="SE-Z"}} {float(nurses)}' in text
    assert 'vpt_staffing_needed{hour="11",region="SE-Z"} 0.0' in text  # no calls forecast
    assert 'vpt_staffing_needed{hour="09",region="SE-Z"}' not in text  # over before now (10:00)
    assert 'region="SE-AC"' not in text.split("vpt_staffing_needed")[1]  # a region without data has no advice
    recover = servers_needed(40 / 3600, 1 / 570, THETA, Goal(0.95, 600)).servers
    assert f'vpt_staffing_needed_to_recover{{hour="12",region="SE-Z"}} {float(recover)}' in text
    clock[0] = NOW + timedelta(hours=3)  # a later hour: worked out again, the hours before it gone
    later = generate_latest(registry).decode()
    assert 'vpt_staffing_needed{hour="12",region="SE-Z"}' not in later
    assert 'vpt_staffing_needed{hour="13",region="SE-Z"}' in later


def test_the_apps_metrics_endpoint_carries_them(stored: sessionmaker[Session], settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        text = client.get("/metrics").text
    assert "# TYPE vpt_staffing_needed gauge" in text  # registered beside the scorecard's collector
    assert "vpt_answer_rate_ratio" in text
