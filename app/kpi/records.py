"""Canonical records (SPEC §3): every input format is normalised to one of these two shapes.

They carry no caller identity by construction: there is simply no field for one, so a parser that
drops unknown columns cannot leak a phone number into storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


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
    def wait_seconds(self) -> float | None:
        """Answered: until answer. Abandoned: until hang-up. Rejected calls never waited in queue."""
        if self.outcome is Outcome.ANSWERED and self.answered_at is not None:
            return (self.answered_at - self.arrived_at).total_seconds()
        if self.outcome is Outcome.ABANDONED and self.ended_at is not None:
            return (self.ended_at - self.arrived_at).total_seconds()
        return None


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
