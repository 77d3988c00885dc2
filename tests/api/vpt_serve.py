"""The real ``vpt serve`` in a child process on 127.0.0.1, for tests of what only the serving layer decides
(forwarded addresses, slow clients): an in-process ``TestClient`` never goes through uvicorn at all."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers import free_port


@contextmanager
def vpt_serve(env: dict[str, str], log: Path) -> Iterator[int]:
    """Run ``python -m app serve`` with ``env`` added to a clean ``VPT_``-free environment; yields its port.

    It runs in ``log``'s folder, so no ``.env`` of a checkout is read; its output goes to ``log``."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VPT_") and k != "FORWARDED_ALLOW_IPS"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=log.parent, env={**clean, "VPT_LOG_LEVEL": "INFO", **env}, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120  # importing the app takes seconds, many more on a loaded CI machine
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"vpt serve exited with {process.returncode}: {log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"vpt serve did not start: {log.read_text()}") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
