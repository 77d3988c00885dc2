"""`vpt demo` as a newcomer runs it (issue 16 part 4): history, the platform, the worker, a webhook receiver and the
API in one real process on 127.0.0.1; an alert delivered, signed and shown within the demo's timings, its link on the
demo's own port; `vpt` commands in the same directory finding the demo database through the .env it wrote; Ctrl-C
stopping everything.

One demo serves the tests of this module (it takes a few seconds to start), shrunk with its own options: one month
of history, the simulated day at 120 × speed, and nurses at 0.8 per Erlang, so that in any month of the year a
region misses its target and an alert is certain."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from app.kpi.localtime import STOCKHOLM
from tests.servers import free_port

#: The demo's promise: an alert delivered within two minutes of starting (here with a month of history).
ALERT_WITHIN_SECONDS = 120


def clean_env() -> dict[str, str]:
    """The environment of a newcomer's shell: no VPT_ variable set (the .env the demo writes must do)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("VPT_")}


@dataclass
class RunningDemo:
    process: subprocess.Popen[bytes]
    directory: Path
    base: str
    hook: str
    started: float  # time.monotonic() when the process was started
    month: str  # the demo's "today" is this month's: read once, as a run may pass midnight into the next month


def wait_ready(client: httpx.Client, url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if client.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    directory = tmp_path_factory.mktemp("demo")
    port, platform_port, hook_port = free_port(), free_port(), free_port()
    started = time.monotonic()
    month = datetime.now(STOCKHOLM).strftime("%Y-%m")
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "demo", "--port", str(port), "--platform-port", str(platform_port),
         "--hook-port", str(hook_port), "--months", "1", "--call-months", "1", "--speed", "120", "--cadence", "2",
         "--staffing", "0.8"],
        cwd=directory, env=clean_env() | {"VPT_LOG_LEVEL": "WARNING"}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    running = RunningDemo(process, directory, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{hook_port}", started,
                          month)
    try:
        with httpx.Client(timeout=30) as client:
            wait_ready(client, f"{running.base}/readyz", time.monotonic() + 180)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def month_to_date_offered(client: httpx.Client, base: str, month: str) -> int:
    document = client.get(f"{base}/api/v1/scorecards/{month}").json()
    return sum(scope["kpis"]["offered"] for scope in document["scopes"] if scope["kind"] == "region")


def test_an_alert_is_delivered_signed_and_shown_with_a_link_on_the_demos_own_port(demo: RunningDemo) -> None:
    deliveries: list[dict[str, object]] = []
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < demo.started + ALERT_WITHIN_SECONDS and not deliveries:
            deliveries = client.get(f"{demo.hook}/deliveries").json()
            time.sleep(0.5)
        page = client.get(f"{demo.hook}/").text
        assert deliveries, f"no alert delivered within {ALERT_WITHIN_SECONDS} s of starting the demo"
        first = deliveries[-1]
        assert first["verified"] is True and first["status"] == "firing"
        # Swedish text (the demo's alert_lang), and the link names the port the demo's API really listens on,
        # pointing at the region's own section of the report.
        assert re.search(r"[åäöÅÄÖ]|målet|svarsfrekvens", f"{first['title']} {first['text']}"), first
        link = str(first["link"])
        assert link.startswith(f"{demo.base}/"), link
        if first["rule"] in ("target_missed", "target_at_risk", "target_unreachable"):
            assert link.endswith(f"?scope={first['scope']}"), link
        assert client.get(link).status_code == 200  # reachable: reads are public in the demo
        assert "✓ verifierad" in page and str(first["title"]).split(":")[0][:30] in page


def test_the_receiver_refuses_a_webhook_whose_signature_does_not_verify(demo: RunningDemo) -> None:
    with httpx.Client(timeout=30) as client:
        answer = client.post(f"{demo.hook}/hook", content=b'{"status":"firing"}',
                             headers={"X-VPT-Timestamp": str(int(time.time())), "X-VPT-Signature": "sha256=00",
                                      "Idempotency-Key": "forged"})
        assert answer.status_code == 401 and answer.json()["error"] == "bad_signature"
        forged = [d for d in client.get(f"{demo.hook}/deliveries").json() if d["idempotency_key"] == "forged"]
    assert forged and forged[0]["verified"] is False and forged[0]["text"] == ""


def run_vpt_together(directory: Path, *commands: list[str]) -> list[tuple[int, str, str]]:
    """Each ``vpt`` command in its own process, all at once (each spends seconds importing the app)."""
    processes = [subprocess.Popen([sys.executable, "-m", "app", *args], cwd=directory, env=clean_env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for args in commands]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=300)  # ~20 s on a quiet machine, minutes on a loaded one
        results.append((process.returncode, out, err))
    return results


def test_vpt_commands_in_the_demos_directory_find_its_database_without_a_variable(demo: RunningDemo) -> None:
    month = demo.month
    env_file = (demo.directory / ".env").read_text()
    assert f"VPT_DATABASE_URL=sqlite:///{demo.directory / 'vpt-demo.db'}" in env_file
    scorecard, report, key = run_vpt_together(
        demo.directory, ["scorecard", month, "--format", "json"], ["report", month, "--out", "styrkort.html"],
        ["keys", "create", "--name", "demo-test", "--scope", "read"],
    )
    assert scorecard[0] == 0 and '"SE-Z"' in scorecard[1], scorecard[2]
    assert report[0] == 0 and "Jämtland" in (demo.directory / "styrkort.html").read_text(), report[2]
    assert key[0] == 0 and "vpt_" in key[1], key[2]
    assert not (demo.directory / "vpt.db").exists()


def test_the_demo_grows_while_it_runs_and_stops_on_ctrl_c(demo: RunningDemo) -> None:
    """Last in this module: it stops the demo."""
    process, base = demo.process, demo.base
    with httpx.Client(timeout=30) as client:
        deadline = time.monotonic() + 300  # ends as soon as the figures grew; generous for a loaded CI machine
        sources: dict[str, dict[str, object]] = {}
        while time.monotonic() < deadline and not (sources.get("platform-norra") or {}).get("last_success_at"):
            sources = {s["name"]: s for s in client.get(f"{base}/api/v1/sources").json()}
            time.sleep(0.3)
        before = month_to_date_offered(client, base, demo.month)
        after = before
        while time.monotonic() < deadline and after <= before:
            time.sleep(1)
            after = month_to_date_offered(client, base, demo.month)
        ready = client.get(f"{base}/readyz").json()
    assert after > before, "month-to-date figures must grow as the simulated day goes on"
    assert ready["worker"]["worker_id"] == "demo-worker" and not ready["worker"]["stale"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    output = process.stdout.read().decode() if process.stdout else ""
    assert f"{base}/api/v1/scorecards/" in output and "stängd" in output  # the run's language: Swedish by default
    assert f"{demo.hook}/" in output and ".env" in output and "historiken klar på" in output
