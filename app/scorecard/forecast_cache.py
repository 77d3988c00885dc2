"""The hours a forecast samples, kept a few minutes (``app.scorecard.service.forecasts_for``).

An object made where a process starts (the API app's ``lifespan``, the worker's start) and handed down, never
module state. Its own module because the service uses it and ``app.scorecard.cache`` uses the service.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

#: The sampled past hours of a forecast change only as hours complete, and late records for them are rare, so
#: their values are kept for a few minutes: a scrape or scorecard right after an ingest then reads only this
#: month's sums.
FORECAST_HISTORY_SECONDS = 300
T = TypeVar("T")


class ForecastHistoryCache:
    """The history the forecasts of the month in progress sample (``app.scorecard.service.forecasts_for``), per
    database, regions and hour, for ``seconds``."""

    def __init__(self, seconds: float = FORECAST_HISTORY_SECONDS) -> None:
        self.seconds = seconds
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and now - hit[0] < self.seconds:
                cached: T = hit[1]  # what ``compute`` of this key returned: the key decides the computation
                return cached
        value = compute()
        with self._lock:
            for stale in [k for k, (at, _) in self._entries.items() if now - at >= self.seconds]:
                del self._entries[stale]
            self._entries[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
