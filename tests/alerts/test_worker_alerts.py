"""A real ``vpt worker`` process fires an alert while the receiver is down, is killed, and a new worker
delivers the notification exactly once when the receiver is back: the outbox survives the restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.alert_models import Notification
from app.db.session import make_engine, make_session_factory, transaction
from app.ingest.sources import PullSourceConfig, save_source
from tests.alerts.receivers import recording_http_receiver
from tests.servers import free_port

ALERTS = """
[rules.data_stale.scopes.platform]
max_age_minutes = 0.05   # three seconds
"""


def _notifications(factory: sessionmaker[Session]) -> list[Notification]:
    with factory() as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def _wait(condition, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    """Poll until ``condition()``; generous, as a worker process on a loaded CI machine takes long to start."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_a_worker_restart_between_firing_and_delivery_loses_nothing(settings: Settings, tmp_path: Path) -> None:
    factory = make_session_factory(make_engine(settings))
    with transaction(factory) as session:  # a platform that never answers: no data will ever arrive
        save_source(session, PullSourceConfig(name="platform", kind="calls", cadence_seconds=60,
                                              base_url=f"http://127.0.0.1:{free_port()}"))
    alerts = tmp_path / "alerts.toml"
    alerts.write_text(ALERTS)
    with recording_http_receiver() as receiver:
        receiver.stop()
        env = os.environ | {
            "VPT_DATABASE_URL": settings.database_url, "VPT_ALERTS_FILE": str(alerts),
            "VPT_ALERT_WEBHOOK_URL": receiver.url + "/hook", "VPT_ALERT_WEBHOOK_SECRET": "s3cret-key-for-test",
            "VPT_ALERT_EVALUATE_SECONDS": "5", "VPT_ALERT_DELIVER_SECONDS": "1",
            "VPT_ALERT_FIRST_RETRY_SECONDS": "1", "VPT_WORKER_HEARTBEAT_SECONDS": "1", "VPT_LOG_LEVEL": "INFO",
        }
        # Output to files, not pipes read only at the end: a long wait must not fill a pipe and stall the worker.
        with (tmp_path / "first.log").open("wb") as out:
            first = subprocess.Popen([sys.executable, "-m", "app", "worker"], env=env, stdout=out,
                                     stderr=subprocess.STDOUT)
        try:
            _wait(lambda: any(n.attempts >= 2 for n in _notifications(factory)))
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        first_output = (tmp_path / "first.log").read_text(errors="replace")
        assert "alerts.delivery_failed" in first_output  # it did try, and said so …
        (row,) = _notifications(factory)
        assert row.status == "pending" and row.channel == "webhook" and receiver.requests == []
        receiver.start()
        with (tmp_path / "second.log").open("wb") as out:
            second = subprocess.Popen([sys.executable, "-m", "app", "worker"], env=env, stdout=out,
                                      stderr=subprocess.STDOUT)
        try:
            _wait(lambda: len(receiver.requests) >= 1)
            time.sleep(7)  # more delivery passes and another evaluation: nothing new may be sent
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=60) == 0
        finally:
            if second.poll() is None:
                second.kill()
        output = (tmp_path / "second.log").read_text(errors="replace")
    (request,) = receiver.requests
    (alert,) = request.json["alerts"]
    assert alert["labels"]["alertname"] == "data_stale" and alert["status"] == "firing"
    assert request.headers["idempotency-key"] == row.idempotency_key
    (row,) = _notifications(factory)
    assert row.status == "delivered"
    assert "s3cret-key-for-test" not in first_output + output  # … without the key, in either worker
