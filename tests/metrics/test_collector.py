"""/metrics: every family read from the database at scrape time, checked against hand-computed figures."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.config import Settings
from app.kpi.localtime import STOCKHOLM
from app.metrics.collector import VptCollector
from tests.conftest import IN_CI
from tests.helpers import ingest_text
from tests.pgserver import _free_port

NOW = datetime(2025, 10, 15, 12, 0, tzinfo=STOCKHOLM).astimezone(UTC)
CALLS = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n" + "\n".join([
    "t1,SE-AC,q,2025-10-15T08:00:00+02:00,answered,2025-10-15T08:02:00+02:00,",  # today, 120 s
    "t2,SE-AC,q,2025-10-15T09:00:00+02:00,abandoned,,2025-10-15T09:05:00+02:00",  # today
    "m1,SE-AC,q,2025-10-03T10:00:00+02:00,answered,2025-10-03T10:01:00+02:00,",  # this month, 60 s
    "p1,SE-AC,q,2025-09-10T10:00:00+02:00,answered,2025-09-10T10:00:30+02:00,",  # previous month, 30 s
    "p2,SE-AC,q,2025-09-10T11:00:00+02:00,rejected,,",
]) + "\n"


def registry_at_now(factory: sessionmaker[Session], settings: Settings) -> CollectorRegistry:
    """A registry with a fresh collector (nothing cached: a process's first scrape) whose clock stands at ``NOW``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VptCollector(factory, settings, clock=lambda: NOW))
    return registry


def scrape(factory: sessionmaker[Session], settings: Settings) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry_at_now(factory, settings)).decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, metric: str, **labels: str) -> float:  # type: ignore[type-arg]
    return samples[(metric, tuple(sorted(labels.items())))]


def test_scorecard_gauges_for_each_window(session_factory: sessionmaker[Session], settings: Settings) -> None:
    ingest_text(session_factory, settings, "calls", CALLS)
    s = scrape(session_factory, settings)
    ac = {"scope": "SE-AC", "scope_kind": "region"}
    assert value(s, "vpt_offered_calls", **ac, window="today") == 2
    assert value(s, "vpt_answer_rate_ratio", **ac, window="today") == 0.5
    assert value(s, "vpt_mean_wait_seconds", **ac, window="today") == 120
    assert value(s, "vpt_offered_calls", **ac, window="month_to_date") == 3
    assert value(s, "vpt_answer_rate_ratio", **ac, window="month_to_date") == pytest.approx(2 / 3)
    assert value(s, "vpt_mean_wait_seconds", **ac, window="month_to_date") == 90
    assert value(s, "vpt_rejected_calls", **ac, window="previous_month") == 1
    assert value(s, "vpt_answer_rate_ratio", **ac, window="previous_month") == 0.5
    assert value(s, "vpt_target_answer_rate_ratio", **ac) == 0.85
    assert value(s, "vpt_target_mean_wait_seconds", **ac) == 600
    closed = {state: value(s, "vpt_target_status", **ac, kpi="answer_rate", window="previous_month", status=state)
              for state in ("met", "missed", "no_data")}
    assert closed == {"met": 0, "missed": 1, "no_data": 0}
    assert value(s, "vpt_target_status", **ac, kpi="mean_wait", window="previous_month", status="met") == 1
    current = [value(s, "vpt_target_status", **ac, kpi="answer_rate", window="month_to_date", status=state)
               for state in ("on_track", "at_risk", "unreachable", "no_data")]
    assert sorted(current) == [0, 0, 0, 1]  # a state set: exactly one state holds
    assert value(s, "vpt_target_status", **ac, kpi="answer_rate", window="month_to_date", status="on_track") == 0
    assert ("vpt_needed_answer_rate_ratio", tuple(sorted(ac.items()))) in s
    norra = {"scope": "norra", "scope_kind": "collaboration"}
    assert value(s, "vpt_offered_calls", **norra, window="month_to_date") == 3
    assert value(s, "vpt_scope_info", **ac, name="Västerbotten") == 1
    assert value(s, "vpt_database_up") == 1


def test_counters_and_the_wait_histogram(session_factory: sessionmaker[Session], settings: Settings) -> None:
    ingest_text(session_factory, settings, "calls", CALLS)
    s = scrape(session_factory, settings)
    assert value(s, "vpt_calls_ingested_total", region="SE-AC", outcome="answered") == 3
    assert value(s, "vpt_calls_ingested_total", region="SE-AC", outcome="abandoned") == 1
    assert value(s, "vpt_calls_ingested_total", region="SE-AC", outcome="rejected") == 1
    assert value(s, "vpt_calls_corrected_total", region="SE-AC", outcome="answered") == 0
    buckets = {le: value(s, "vpt_answered_wait_seconds_bucket", region="SE-AC", le=le)
               for le in ("0.0", "30.0", "60.0", "120.0", "180.0", "+Inf")}
    assert buckets == {"0.0": 0, "30.0": 1, "60.0": 2, "120.0": 3, "180.0": 3, "+Inf": 3}  # 30, 60, 120 s
    assert value(s, "vpt_answered_wait_seconds_count", region="SE-AC") == 3
    assert value(s, "vpt_answered_wait_seconds_sum", region="SE-AC") == 210
    source = {"source": settings.default_source}
    assert value(s, "vpt_ingest_rows_total", **source, result="stored") == 5
    assert value(s, "vpt_ingest_runs_total", **source, status="succeeded") == 1
    assert value(s, "vpt_source_consecutive_failures", **source) == 0
    assert value(s, "vpt_worker_up") == 0  # no worker has ever beaten


def test_the_endpoint_and_a_database_outage(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert "vpt_database_up 1.0" in response.text
    down = Settings(database_url=f"postgresql+psycopg://vpt@127.0.0.1:{_free_port()}/none?connect_timeout=2",
                    _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(down)) as client:
        outage = client.get("/metrics")
    assert outage.status_code == 200 and "vpt_database_up 0.0" in outage.text


def test_promtool_accepts_the_exposition(session_factory: sessionmaker[Session], settings: Settings) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if IN_CI:
            pytest.fail("promtool (Debian package prometheus) must be installed in CI")
        pytest.skip("promtool is not installed")
    ingest_text(session_factory, settings, "calls", CALLS)
    registry = registry_at_now(session_factory, settings)
    result = subprocess.run([promtool, "check", "metrics"], input=generate_latest(registry), capture_output=True,
                            timeout=30)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def test_a_new_ingest_or_target_is_seen_by_the_next_scrape(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    from app.scorecard.targets import set_target

    ingest_text(session_factory, settings, "calls", CALLS)
    registry = registry_at_now(session_factory, settings)

    def sample(metric: str, **labels: str) -> float | None:
        for family in text_string_to_metric_families(generate_latest(registry).decode()):
            for s in family.samples:
                if s.name == metric and s.labels == labels:
                    return s.value
        return None

    ac = {"scope": "SE-AC", "scope_kind": "region"}
    assert sample("vpt_offered_calls", **ac, window="month_to_date") == 3
    ingest_text(session_factory, settings, "calls", "call_id,region,queue,arrived_at,outcome\n"
                "late,SE-AC,q,2025-10-04T10:00:00+02:00,rejected\n")
    assert sample("vpt_offered_calls", **ac, window="month_to_date") == 4
    assert sample("vpt_target_answer_rate_ratio", **ac) == 0.85
    with session_factory.begin() as session:
        set_target(session, "SE-AC", "answer_rate", comparator=">=", value="0.9", valid_from="2025-10",
                   reason="test", set_by="test", scope_kind="region")
    assert sample("vpt_target_answer_rate_ratio", **ac) == 0.9


def test_the_wait_histogram_covers_call_records_only(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Interval reports carry wait sums but no per-call waits: they must not reach the histogram's sum while
    staying out of its buckets, or sum / count would be no mean at all."""
    from pathlib import Path

    samples = Path(__file__).resolve().parents[2] / "samples"
    ingest_text(session_factory, settings, "intervals", (samples / "intervals_october.csv").read_text())
    ingest_text(session_factory, settings, "calls", CALLS)
    s = scrape(session_factory, settings)
    assert value(s, "vpt_answered_wait_seconds_count", region="SE-AC") == 3
    assert value(s, "vpt_answered_wait_seconds_sum", region="SE-AC") == 210
    interval_regions = [labels for (metric, labels) in s if metric == "vpt_answered_wait_seconds_sum"
                        and dict(labels)["region"] != "SE-AC"]
    assert interval_regions  # SE-Z: interval reports only
    for labels in interval_regions:
        assert s[("vpt_answered_wait_seconds_sum", labels)] == 0
        assert s[("vpt_answered_wait_seconds_count", labels)] == 0
