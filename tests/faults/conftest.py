"""Fault tests: real processes and servers on 127.0.0.1 (a dedicated PostgreSQL that is stopped and started
again, `vpt` processes killed with SIGKILL, HTTP feeds that misbehave for a simulated hour)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes several seconds (real servers, processes, big files)")
