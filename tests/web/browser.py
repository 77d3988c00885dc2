"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``): the standard
library only, no WebDriver, no Playwright (which would download a browser of its own).

Chromium reads commands from its file descriptor 3 and writes answers to 4, each a JSON object ended by NUL.
Bash (dash takes single-digit descriptors only), started with the two pipe ends, moves them to 3 and 4 and
``exec``s Chromium, so no ``preexec_fn`` runs in this (threaded) test process.

axe-core (the accessibility engine, from npm) is installed once, pinned, in a cache outside the repository
(``$VPT_TEST_CACHE``, default ``~/.cache/vpt-monitor``); ``scripts/test`` does it ahead of the run.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.chromium import FLAGS
from tests.conftest import IN_CI

AXE_VERSION = "4.14.1"
TIMEOUT_SECONDS = 90  # per answer or event; generous, as a loaded CI machine renders slowly


def cache_dir() -> Path:
    return Path(os.environ.get("VPT_TEST_CACHE") or Path.home() / ".cache" / "vpt-monitor")


def axe_source() -> str:
    """axe.min.js of the pinned axe-core, installed with npm into the cache when missing (once, under a lock)."""
    prefix = cache_dir() / f"axe-core-{AXE_VERSION}"
    script = prefix / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            if IN_CI:
                pytest.fail("npm not found: scripts/test installs the Debian packages nodejs and npm")
            pytest.skip("npm not installed (Debian: apt-get install npm); the accessibility check needs axe-core")
        prefix.mkdir(parents=True, exist_ok=True)
        with open(prefix / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers: one installs, the others wait
            if not script.exists():
                done = subprocess.run([npm, "install", "--prefix", str(prefix), f"axe-core@{AXE_VERSION}",
                                       "--no-audit", "--no-fund", "--silent"],
                                      capture_output=True, text=True, timeout=300, check=False)
                if done.returncode != 0:
                    message = f"npm install axe-core@{AXE_VERSION} failed:\n{done.stderr[-2000:]}"
                    if IN_CI:
                        pytest.fail(message)
                    pytest.skip(message)
    return script.read_text(encoding="utf-8")


def _high(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class Browser:
    """One headless Chromium with one page."""

    def __init__(self, binary: str, profile: Path, width: int = 1280, height: int = 900) -> None:
        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()
        # Above 4, so that moving them to 3 and 4 cannot overwrite one with the other.
        commands_read, answers_write = _high(commands_read), _high(answers_write)
        arguments = [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe",
                     f"--window-size={width},{height}", "about:blank"]
        chromium = " ".join(shlex.quote(part) for part in arguments)
        self.process = subprocess.Popen(  # the shell only moves the pipe ends to 3 and 4, then is Chromium
            ["/bin/bash", "-c", f"exec {chromium} 3<&{commands_read} 4>&{answers_write}"],
            pass_fds=(commands_read, answers_write), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(commands_read)
        os.close(answers_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable")
        self.send("Network.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._answers, 1 << 16)
            if not chunk:
                raise RuntimeError(f"chromium exited ({self.process.poll()})")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)  # type: ignore[no-any-return]

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})  # type: ignore[no-any-return]
            self.events.append(answer)

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.call(method, params, self.session)

    def wait_for(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(index)
            self.events.append(self._read(deadline))

    def open(self, url: str) -> None:
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str, *, wait: bool = False) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": wait})
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def submit_and_wait(self, expression: str) -> None:
        """Run a script that submits a form, and wait for the page it leads to."""
        self.events.clear()
        self.evaluate(expression)
        self.wait_for("Page.loadEventFired")

    def text(self) -> str:
        return str(self.evaluate("document.body.innerText"))

    def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])
        path.write_bytes(data)
        return data

    def cookies(self) -> list[dict[str, Any]]:
        return self.send("Network.getCookies")["cookies"]  # type: ignore[no-any-return]

    def axe_violations(self, source: str) -> list[dict[str, Any]]:
        """axe-core's WCAG 2.1 A and AA rules on the page: each violation with its impact and the nodes."""
        self.evaluate(source)
        found = self.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', "
            "'best-practice']}}).then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, "
            "help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))))", wait=True)
        return json.loads(found)  # type: ignore[no-any-return]

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        os.close(self._commands)
        os.close(self._answers)
