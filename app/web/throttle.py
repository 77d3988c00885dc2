"""A limit on failed sign-ins per client address, so the login form is no unlimited oracle for guessing keys.

A key's secret has 256 bits, so guessing is hopeless anyway; the limit keeps a script from using the form (one
database read and one HMAC per try) as a free verification service, and makes such a script visible in the log.
Only failures count (a wrong, revoked or expired key, or one without the read scope): signing in is never slowed
for someone who gets it right, and a success does not clear the count (else one valid key would let a client
guess on between its own sign-ins).

In memory, per process: ``VPT_LOGIN_MAX_FAILURES`` failures within ``VPT_LOGIN_WINDOW_SECONDS`` (a sliding
window), then 429 until the oldest failure leaves the window. Several API processes each keep their own count,
so a client gets at most that many times the limit. The table is bounded (``MAX_CLIENTS`` addresses): when full,
addresses whose failures have all left the window go first, then those that failed longest ago.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

#: Client addresses tracked at once: a few hundred kB at most, whatever a client sends.
MAX_CLIENTS = 10_000


class FailedSignIns:
    def __init__(self, limit: int, window_seconds: float, *, max_clients: int = MAX_CLIENTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window_seconds
        self.max_clients = max_clients
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()  # the least recently failed first
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until ``client`` may try again, or None when it may now."""
        with self._lock:
            times = self._recent(client, self.clock())
            if times is None or len(times) < self.limit:
                return None
            return max(1, math.ceil(times[0] + self.window - self.clock()))

    def failed(self, client: str) -> None:
        now = self.clock()
        with self._lock:
            times = self._recent(client, now)
            if times is None:
                self._make_room(now)
                times = self._failures[client] = deque(maxlen=self.limit)
            times.append(now)
            self._failures.move_to_end(client)

    def __len__(self) -> int:
        return len(self._failures)

    def _recent(self, client: str, now: float) -> deque[float] | None:
        """The client's failures still in the window (older ones dropped); None when it has none."""
        times = self._failures.get(client)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        return times

    def _make_room(self, now: float) -> None:
        if len(self._failures) < self.max_clients:
            return
        # ordered by last failure: those whose failures all left the window are at the front, then the oldest
        while self._failures and (len(self._failures) >= self.max_clients
                                  or next(iter(self._failures.values()))[-1] <= now - self.window):
            self._failures.popitem(last=False)
