"""The real thing: a Prometheus (Debian package) scraping vpt-monitor on 127.0.0.1, every dashboard panel's
query answered with data through Prometheus' HTTP API, and a slipping region's alert delivered by the
project's rules to a real Alertmanager, which passes it on to a webhook receiver."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.api.app import create_app
from app.config import Settings
from app.db.leases import beat
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory
from app.ingest.pull import pull_source
from app.ingest.service import ingest_bytes
from app.ingest.sources import PullSourceConfig
from app.kpi.localtime import STOCKHOLM
from app.sim.model import SimConfig, simulate
from app.sim.server import PlatformOptions, create_platform_app
from app.sim.writers import write_calls_csv
from tests.conftest import IN_CI
from tests.servers import free_port, running_server

ROOT = Path(__file__).resolve().parents[2]
SLIPPING = "SE-Z"


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} (Debian packages prometheus, prometheus-alertmanager) must be installed in CI")
        pytest.skip(f"{name} is not installed")
    return path


@contextmanager
def process(args: list[str], ready_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{args[0]} did not become ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def load_history(settings: Settings, now: datetime) -> None:
    """Five weeks of simulated Norra traffic up to now, and a bad morning in Jämtland Härjedalen."""
    factory = make_session_factory(make_engine(settings))
    today = now.astimezone(STOCKHOLM).date()
    calls = [c for c in simulate(SimConfig(regions=("SE-AC", SLIPPING)), today - timedelta(days=35), today)
             if c.arrived_at < now - timedelta(hours=1)]
    text = io.StringIO()
    write_calls_csv(calls, text)
    ingest_bytes(factory, settings, record_kind="calls", raw=io.BytesIO(text.getvalue().encode()), fmt="csv",
                 origin="history.csv", source_name="history")
    start = now - timedelta(hours=2)
    slip = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n" + "".join(
        f"slip{n},{SLIPPING},q,{(start + timedelta(seconds=n)).isoformat()},abandoned,,"
        f"{(start + timedelta(seconds=n + 900)).isoformat()}\n" for n in range(3000)
    )
    ingest_bytes(factory, settings, record_kind="calls", raw=io.BytesIO(slip.encode()), fmt="csv",
                 origin="slip.csv", source_name="history")
    beat(factory, "integration-worker", now, "running")


class Receiver:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []

    async def handle(self, request: Request) -> Response:
        self.posts.append(json.loads(await request.body()))
        return Response("ok")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/", self.handle, methods=["POST"])])


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    body = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert body["status"] == "success", (expr, body)
    return body["data"]["result"]  # type: ignore[no-any-return]


def test_prometheus_scrapes_every_panel_has_data_and_a_slip_reaches_alertmanager(tmp_path: Path) -> None:
    from tests.deploy.panels import panel_queries

    prometheus_bin, alertmanager_bin = binary("prometheus"), binary("prometheus-alertmanager")
    now = datetime.now(UTC)
    database = f"sqlite:///{tmp_path / 'vpt.db'}"
    upgrade(database)
    settings = Settings(database_url=database, _env_file=None)  # type: ignore[call-arg]
    load_history(settings, now)

    receiver = Receiver()
    platform = PlatformOptions(config=SimConfig(regions=("SE-AC",)), start=now - timedelta(hours=3),
                               clock_origin=now, speed=0)
    with (
        running_server(create_app(settings)) as api,
        running_server(create_platform_app(platform)) as platform_url,
        running_server(receiver.app()) as receiver_url,
    ):
        factory = make_session_factory(make_engine(settings))
        with httpx.Client() as client:  # a pull source, so the source-health panels have a pull to show
            pull_source(factory, settings, PullSourceConfig(name="platform", kind="calls", base_url=platform_url,
                                                            cadence_seconds=60), client)
        am_port, prom_port = free_port(), free_port()
        (tmp_path / "am.yml").write_text(yaml.safe_dump({
            "route": {"receiver": "test", "group_by": ["alertname", "scope"], "group_wait": "1s",
                      "group_interval": "1s", "repeat_interval": "1h"},
            "receivers": [{"name": "test", "webhook_configs": [{"url": receiver_url + "/"}]}],
        }))
        rules = yaml.safe_load((ROOT / "deploy/prometheus/rules.yml").read_text())
        for group in rules["groups"]:  # the real rules, with their waiting times taken out for the test
            group["interval"] = "1s"
            for rule in group["rules"]:
                rule.pop("for", None)
        (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(tmp_path / "rules.yml")],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
            "scrape_configs": [{"job_name": "vpt", "static_configs": [{"targets": [api.removeprefix("http://")]}]}],
        }))
        alertmanager_args = [
            alertmanager_bin, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'am'}",
            f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
        ]
        prometheus_args = [
            prometheus_bin, f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}",
        ]
        prometheus = f"http://127.0.0.1:{prom_port}"
        with (
            process(alertmanager_args, f"http://127.0.0.1:{am_port}/-/ready", tmp_path / "am.log"),
            process(prometheus_args, f"{prometheus}/-/ready", tmp_path / "prometheus.log"),
        ):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(query(prometheus, "vpt_calls_ingested_total")) == 0:
                time.sleep(0.5)
            time.sleep(4)  # a few more scrapes, so rate() and increase() have two samples
            targets = httpx.get(f"{prometheus}/api/v1/targets").json()["data"]["activeTargets"]
            assert [t["health"] for t in targets] == ["up"], targets

            empty = [f"{dashboard} / {panel}: {expr}" for dashboard, panel, expr in panel_queries()
                     if not query(prometheus, expr)]
            assert empty == [], "panel queries without data:\n" + "\n".join(empty)

            slipping = [a for a in wait_for_alerts(f"http://127.0.0.1:{am_port}", deadline)
                        if a["labels"].get("scope") == SLIPPING]
            assert slipping, "the slipping region's alert never reached Alertmanager"
            assert {a["labels"]["alertname"] for a in slipping} & {"VptTargetAtRisk", "VptTargetUnreachable"}
            while time.monotonic() < deadline and not receiver.posts:
                time.sleep(0.2)
            delivered = [alert for post in receiver.posts for alert in post["alerts"]]
            assert any(alert["labels"].get("scope") == SLIPPING for alert in delivered)


def wait_for_alerts(alertmanager: str, deadline: float) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        alerts = httpx.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
        if any(a["labels"].get("scope") == SLIPPING for a in alerts):
            return alerts
        time.sleep(0.5)
    return alerts


def test_prometheus_scrapes_with_the_metrics_token(tmp_path: Path) -> None:
    """With VPT_METRICS_TOKEN set, a scrape job with `authorization: {credentials: ...}` is up; one without is
    refused (401), as is one with another token."""
    prometheus_bin = binary("prometheus")
    database = f"sqlite:///{tmp_path / 'vpt.db'}"
    upgrade(database)
    settings = Settings(database_url=database, metrics_token="scrape-secret", _env_file=None)  # type: ignore[call-arg]
    prom_port = free_port()
    with running_server(create_app(settings)) as api:
        target = {"static_configs": [{"targets": [api.removeprefix("http://")]}]}
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s"},
            "scrape_configs": [
                {"job_name": "with-token", "authorization": {"credentials": "scrape-secret"}, **target},
                {"job_name": "without-token", **target},
                {"job_name": "wrong-token", "authorization": {"credentials": "guess"}, **target},
            ],
        }))
        prometheus = f"http://127.0.0.1:{prom_port}"
        args = [prometheus_bin, f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}"]
        with process(args, f"{prometheus}/-/ready", tmp_path / "prometheus.log"):
            deadline = time.monotonic() + 30
            health: dict[str, str] = {}
            while time.monotonic() < deadline:
                targets = httpx.get(f"{prometheus}/api/v1/targets").json()["data"]["activeTargets"]
                health = {t["labels"]["job"]: t["health"] for t in targets}
                if len(health) == 3 and "unknown" not in health.values():
                    break
                time.sleep(0.3)
            assert health == {"with-token": "up", "without-token": "down", "wrong-token": "down"}
            assert query(prometheus, 'vpt_database_up{job="with-token"}')
