"""Canonical records (SPEC §3): every input format is normalised to one of these two shapes.

They carry no caller identity by construction: there is simply no field for one, so a parser that
drops unknown columns cannot leak a phone number into storage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from app.kpi.localtime import STOCKHOLM

#: The canonical columns (SPEC §3) in their documented order: what the parsers read and the simulator writes.
CALL_COLUMNS: tuple[str, ...] = (
    "call_id", "region", "queue", "arrived_at", "outcome", "answered_at", "ended_at",
    "answered_by_region", "talk_seconds", "wrap_seconds",
)
INTERVAL_COLUMNS: tuple[str, ...] = (
    "region", "queue", "interval_start", "interval_minutes", "offered", "answered", "abandoned",
    "abandoned_short", "rejected", "answered_within_sl", "sl_seconds", "wait_answered_seconds_sum",
    "wait_abandoned_seconds_sum", "longest_wait_seconds", "talk_seconds_sum", "wrap_seconds_sum", "agents_staffed",
)
#: The longest ``call_id`` and ``queue`` a record may have: the widths of their columns in storage, checked by the
#: parsers so that a longer value is a rejected row rather than a failed delivery.
CALL_ID_LENGTH = 128
QUEUE_LENGTH = 128
#: A source's name, which a call's identity is unique within: what every way of naming one accepts (a push, a pull
#: source's config, a key bound to sources, a file ingest's ``--source`` and ``VPT_DEFAULT_SOURCE``), so a name is
#: safe in a URL, a log line and a terminal wherever it is shown.
SOURCE_NAME_PATTERN = r"^[A-Za-z0-9._-]{1,128}$"
SOURCE_NAME_RULE = "1–128 characters of A–Z, a–z, 0–9, '.', '_', '-'"

#: Coarse statistics (SPEC §3): a local day is stored as ``interval_minutes`` 1440 and a calendar month as its days
#: times 1440 — the nominal calendar length, whatever the DST changes inside make it in real minutes; the exact
#: end (the next local midnight, in UTC) is ``interval_end``. So 1440 is a day and more than 1440 is a month.
DAY_MINUTES = 1440
#: What a month's length in days can be, as stored: the values the storage's CHECK admits beside 15, 30, 60, 1440.
MONTH_MINUTES = tuple(days * DAY_MINUTES for days in (28, 29, 30, 31))
#: The word the canonical formats take for a calendar month in ``interval_minutes``.
MONTH_WORD = "month"
Resolution = Literal["interval", "day", "month"]


def resolution_of(interval_minutes: int) -> Resolution:
    if interval_minutes < DAY_MINUTES:
        return "interval"
    return "day" if interval_minutes == DAY_MINUTES else "month"


def month_minutes(first: date) -> int:
    """The stored ``interval_minutes`` of the local calendar month that starts on ``first``."""
    following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return (following - first).days * DAY_MINUTES


def local_days_later(start: datetime, days: int) -> datetime:
    """UTC instant of the local midnight ``days`` calendar days after the local day of ``start`` (23, 24 or 25
    hours a day)."""
    following = start.astimezone(STOCKHOLM).date() + timedelta(days=days)
    return datetime(following.year, following.month, following.day, tzinfo=STOCKHOLM).astimezone(UTC)


class Outcome(StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    REJECTED = "rejected"  # queue full, "call later": never queued


@dataclass(frozen=True, slots=True)
class CallRecord:
    call_id: str
    region: str
    queue: str | None
    arrived_at: datetime  # aware, UTC
    outcome: Outcome
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    answered_by_region: str | None = None
    talk_seconds: float | None = None
    wrap_seconds: float | None = None

    @property
    def wait_ms(self) -> int | None:
        """Answered: until answer. Abandoned: until hang-up. Rejected calls never waited in queue.

        Whole milliseconds, so that sums are exact integers: a float sum of sub-second waits depends on
        the order of addition, and recomputed figures must be identical (SPEC §5).
        """
        if self.outcome is Outcome.ANSWERED and self.answered_at is not None:
            return to_ms(self.answered_at - self.arrived_at)
        if self.outcome is Outcome.ABANDONED and self.ended_at is not None:
            return to_ms(self.ended_at - self.arrived_at)
        return None


def to_ms(span: timedelta) -> int:
    """A duration in whole milliseconds, rounding half up (microsecond input)."""
    return (span // timedelta(microseconds=1) + 500) // 1000


def seconds_to_ms(seconds: float) -> int:
    """Non-negative seconds (as a platform reports them) in whole milliseconds, rounding half up."""
    return math.floor(seconds * 1000 + 0.5)


def optional_ms(seconds: float | None) -> int | None:
    return None if seconds is None else seconds_to_ms(seconds)


@dataclass(frozen=True, slots=True)
class IntervalRecord:
    region: str
    queue: str  # "" when the source has no queue: keeps the natural key NOT NULL and unique
    interval_start: datetime  # aware, UTC
    interval_minutes: int
    offered: int  # as reported by the platform; compared, never used as the KPI denominator
    answered: int
    abandoned: int
    abandoned_short: int
    rejected: int
    answered_within_sl: int
    sl_seconds: int
    wait_answered_seconds_sum: float | None = None
    wait_abandoned_seconds_sum: float | None = None
    longest_wait_seconds: float | None = None
    talk_seconds_sum: float | None = None
    wrap_seconds_sum: float | None = None
    #: Staffed positions, the average over the interval, where the platform reports them: compared with the
    #: staffing advice (issue 17), never part of a KPI or an aggregate.
    agents_staffed: float | None = None

    @property
    def resolution(self) -> Resolution:
        return resolution_of(self.interval_minutes)

    @property
    def interval_end(self) -> datetime:
        """A day or month ends at the local midnight that ends it, not ``interval_minutes`` later (DST)."""
        if self.interval_minutes < DAY_MINUTES:
            return self.interval_start + timedelta(minutes=self.interval_minutes)
        return local_days_later(self.interval_start, self.interval_minutes // DAY_MINUTES)
