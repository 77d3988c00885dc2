"""`vpt demo` as a newcomer runs it: history, the platform, the worker and the API in one process, with
month-to-date figures that grow while it runs, and Ctrl-C stopping everything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx

from app.kpi.localtime import STOCKHOLM
from tests.servers import free_port


def month_to_date_offered(client: httpx.Client, base: str) -> int:
    month = datetime.now(STOCKHOLM).strftime("%Y-%m")
    document = client.get(f"{base}/api/v1/scorecards/{month}").json()
    return sum(scope["kpis"]["offered"] for scope in document["scopes"] if scope["kind"] == "region")


def test_the_demo_grows_while_it_runs_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port, platform_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "demo", "--database", str(tmp_path / "demo.db"), "--port", str(port),
         "--platform-port", str(platform_port), "--months", "0", "--speed", "120", "--cadence", "2"],
        cwd=tmp_path, env=os.environ | {"VPT_LOG_LEVEL": "WARNING"}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=10) as client:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if client.get(f"{base}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.3)
            sources = {}
            while time.monotonic() < deadline and "platform-norra" not in sources:
                sources = {s["name"]: s for s in client.get(f"{base}/api/v1/sources").json()}
                time.sleep(0.3)
            while time.monotonic() < deadline and not sources["platform-norra"]["last_success_at"]:
                sources = {s["name"]: s for s in client.get(f"{base}/api/v1/sources").json()}
                time.sleep(0.3)
            before = month_to_date_offered(client, base)
            after = before
            while time.monotonic() < deadline and after <= before:
                time.sleep(1)
                after = month_to_date_offered(client, base)
            ready = client.get(f"{base}/readyz").json()
        assert after > before, "month-to-date figures must grow as the simulated day goes on"
        assert ready["worker"]["worker_id"] == "demo-worker" and not ready["worker"]["stale"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    output = process.stdout.read().decode() if process.stdout else ""
    assert f"{base}/api/v1/scorecards/" in output and "stopped" in output
