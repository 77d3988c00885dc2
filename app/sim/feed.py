"""The simulated platform's change feed: what a contact-centre platform's API would publish, and when.

A platform does not publish a call once. It shows the call while it waits (``state: queued``, no outcome),
again when a nurse answers, and once more when the talk and documentation times are known. Some changes
reach the API late (replication lag): they carry their true ``updated_at`` but become visible only later,
so a client that reads strictly after its last cursor misses them. That is why pull sources re-read an
overlap window, and the feed reproduces it on purpose.

Everything is derived deterministically from the simulator, so a test can compare what was pulled with
what was simulated.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.kpi.localtime import STOCKHOLM, utc_iso
from app.kpi.records import CallRecord, IntervalRecord, Outcome
from app.sim.model import SimConfig, simulate_day
from app.sim.writers import interval_records

Record = dict[str, Any]


@dataclass
class SimClock:
    """Simulated time: ``origin`` at start, running ``speed`` times faster than the wall clock (0 = frozen)."""

    origin: datetime
    speed: float = 1.0
    _wall_origin: float = field(default_factory=time.monotonic)
    wall: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._wall_origin = self.wall()

    def now(self) -> datetime:
        return self.origin + timedelta(seconds=(self.wall() - self._wall_origin) * self.speed)


def _fraction(*parts: object) -> float:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True, slots=True)
class Change:
    updated_at: datetime
    visible_at: datetime
    key: str
    record: Record


def call_changes(call: CallRecord, lag_share: float, seed: int) -> list[Change]:
    """The versions of one call as the platform publishes them over time."""
    base: Record = {
        "call_id": call.call_id, "region": call.region, "queue": call.queue, "arrived_at": utc_iso(call.arrived_at),
        "outcome": None, "answered_at": None, "ended_at": None, "answered_by_region": None,
        "talk_seconds": None, "wrap_seconds": None,
    }
    versions: list[tuple[datetime, Record]] = []
    if call.outcome is Outcome.REJECTED:
        versions.append((call.arrived_at, {**base, "state": "rejected", "outcome": "rejected"}))
    else:
        versions.append((call.arrived_at, {**base, "state": "queued"}))
        if call.outcome is Outcome.ANSWERED and call.answered_at is not None:
            answered = {
                **base, "state": "talking", "outcome": "answered", "answered_at": utc_iso(call.answered_at),
                "answered_by_region": call.answered_by_region,
            }
            versions.append((call.answered_at, answered))
            if call.ended_at is not None:
                done = call.ended_at + timedelta(seconds=call.wrap_seconds or 0)
                versions.append((done, {
                    **answered, "state": "completed", "ended_at": utc_iso(call.ended_at),
                    "talk_seconds": call.talk_seconds, "wrap_seconds": call.wrap_seconds,
                }))
        elif call.ended_at is not None:
            versions.append((call.ended_at, {
                **base, "state": "abandoned", "outcome": "abandoned", "ended_at": utc_iso(call.ended_at),
            }))
    changes = []
    for n, (moment, record) in enumerate(versions):
        lag = timedelta(0)
        if _fraction(seed, call.call_id, n) < lag_share:
            lag = timedelta(seconds=30 + int(_fraction(seed, call.call_id, n, "lag") * 150))
        record["updated_at"] = utc_iso(moment)
        changes.append(Change(moment, moment + lag, f"{call.call_id}#{n}", record))
    return changes


def interval_changes(calls: list[CallRecord], interval_minutes: int, sl_seconds: int) -> list[Change]:
    """Interval reports: a provisional one when the interval closes, a final one once its last call ended."""
    changes: list[Change] = []
    by_interval: dict[tuple[str, str, datetime], list[CallRecord]] = {}
    step = timedelta(minutes=interval_minutes)
    for call in calls:
        epoch = call.arrived_at.timestamp()
        start = datetime.fromtimestamp(epoch - epoch % step.total_seconds(), UTC)
        by_interval.setdefault((call.region, call.queue or "", start), []).append(call)
    for (_region, _queue, start), members in sorted(by_interval.items(), key=lambda item: item[0][2]):
        closed = start + step + timedelta(minutes=1)
        final = max((_outcome_time(call) for call in members), default=closed)
        moments = [closed] if final <= closed else [closed, final]
        for n, moment in enumerate(moments):
            known = [call for call in members if _outcome_time(call) <= moment]
            for record in interval_records(known, interval_minutes=interval_minutes, sl_seconds=sl_seconds):
                row = _interval_dict(record)
                row["updated_at"] = utc_iso(moment)
                row["state"] = "final" if n == len(moments) - 1 else "provisional"
                changes.append(Change(moment, moment, f"{record.region}|{record.queue}|{utc_iso(start)}#{n}", row))
    return changes


def _outcome_time(call: CallRecord) -> datetime:
    if call.outcome is Outcome.ANSWERED and call.answered_at is not None:
        return call.answered_at
    if call.outcome is Outcome.ABANDONED and call.ended_at is not None:
        return call.ended_at
    return call.arrived_at


def _interval_dict(record: IntervalRecord) -> Record:
    return {
        "region": record.region, "queue": record.queue, "interval_start": utc_iso(record.interval_start),
        "interval_minutes": record.interval_minutes, "offered": record.offered, "answered": record.answered,
        "abandoned": record.abandoned, "abandoned_short": record.abandoned_short, "rejected": record.rejected,
        "answered_within_sl": record.answered_within_sl, "sl_seconds": record.sl_seconds,
        "wait_answered_seconds_sum": record.wait_answered_seconds_sum,
        "wait_abandoned_seconds_sum": record.wait_abandoned_seconds_sum,
        "longest_wait_seconds": record.longest_wait_seconds, "talk_seconds_sum": record.talk_seconds_sum,
        "wrap_seconds_sum": record.wrap_seconds_sum,
    }


@dataclass
class Page:
    records: list[Record]
    next_cursor: str | None
    has_more: bool
    remaining: int
    server_time: datetime


class Feed:
    """Changes of one kind in ``updated_at`` order, generated a local day at a time as the clock reaches it.

    The cursor is ``<updated_at>~<n>``: after the n-th change at that instant, so pages never split or
    repeat a group of changes that share a timestamp. A bare ISO timestamp is accepted too, meaning "changes
    at or after this instant" — what a client sends to re-read an overlap window.
    """

    def __init__(
        self, kind: str, config: SimConfig, start: datetime, clock: SimClock, *, lag_share: float = 0.03,
        interval_minutes: int = 15, sl_seconds: int = 600,
    ) -> None:
        self.kind = kind
        self.config = config
        self.start = start
        self.clock = clock
        self.lag_share = lag_share
        self.interval_minutes = interval_minutes
        self.sl_seconds = sl_seconds
        self._changes: list[Change] = []
        self._keys: list[tuple[datetime, str]] = []
        self._next_day: date = start.astimezone(STOCKHOLM).date()
        self._lock = threading.Lock()

    def _extend(self, now: datetime) -> None:
        """Generate every day whose calls can have changed by ``now`` (a call's last change can be next day)."""
        horizon = (now + timedelta(days=1)).astimezone(STOCKHOLM).date()
        fresh: list[Change] = []
        while self._next_day <= horizon:
            calls = [
                call for region in self.config.regions for call in simulate_day(region, self._next_day, self.config)
                if call.arrived_at >= self.start
            ]
            if self.kind == "calls":
                for call in calls:
                    fresh.extend(call_changes(call, self.lag_share, self.config.seed))
            else:
                fresh.extend(interval_changes(calls, self.interval_minutes, self.sl_seconds))
            self._next_day += timedelta(days=1)
        if fresh:
            self._changes.extend(fresh)
            self._changes.sort(key=lambda change: (change.updated_at, change.key))
            self._keys = [(change.updated_at, change.key) for change in self._changes]

    def page(self, since: str | None, limit: int) -> Page:
        now = self.clock.now()
        with self._lock:
            self._extend(now)
            begin = self._position(since)
            end = bisect.bisect_right(self._keys, (now, "\uffff"))
            records: list[Record] = []
            last: Change | None = None
            index = begin
            while index < end and len(records) < limit:
                change = self._changes[index]
                index += 1
                last = change
                if change.visible_at <= now:  # a lagged change is skipped now and visible to a later overlap
                    records.append(change.record)
            cursor = since if last is None else f"{utc_iso(last.updated_at)}~{last.key}"
            return Page(records, cursor, index < end, max(end - index, 0), now)

    def _position(self, since: str | None) -> int:
        if not since:
            return 0
        stamp, _, key = since.partition("~")
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError("since must carry a UTC offset")
        if key:
            return bisect.bisect_right(self._keys, (moment.astimezone(UTC), key))
        return bisect.bisect_left(self._keys, (moment.astimezone(UTC), ""))
