"""Helpers shared by the fault tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from app.config import Settings

T = TypeVar("T")

#: Reads without an API key, for a server process started by a test (pydantic-settings ignores an unknown
#: VPT_ variable, so this is harmless where the setting does not exist).
PUBLIC_READ_ENV = {"VPT_PUBLIC_READ": "true"}


def public_read(settings: Settings) -> Settings:
    """``settings`` with reads open to callers without an API key, where the setting exists."""
    if "public_read" in type(settings).model_fields:
        return settings.model_copy(update={"public_read": True})
    return settings


def wait_for(condition: Callable[[], T | None], timeout: float, interval: float = 0.1, what: str = "condition") -> T:
    """Poll until ``condition`` returns something truthy; that value, or AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(interval)
