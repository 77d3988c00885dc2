"""Small constructors for canonical records, so each test states only what it is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.kpi import CallRecord, IntervalRecord, Outcome

#: An arbitrary ordinary weekday morning (no DST nearby), in UTC.
T0 = datetime(2025, 10, 1, 6, 0, tzinfo=UTC)

_counter = iter(range(1, 10**9))


def _call_id() -> str:
    return f"c{next(_counter)}"


def answered(
    wait: float,
    *,
    region: str = "SE-AC",
    by: str | None = None,
    at: datetime = T0,
    talk: float | None = None,
    wrap: float | None = None,
) -> CallRecord:
    """An answered call that waited ``wait`` seconds."""
    return CallRecord(
        call_id=_call_id(),
        region=region,
        queue="vpt",
        arrived_at=at,
        outcome=Outcome.ANSWERED,
        answered_at=at + timedelta(seconds=wait),
        ended_at=at + timedelta(seconds=wait + (talk or 0)),
        answered_by_region=by,
        talk_seconds=talk,
        wrap_seconds=wrap,
    )


def abandoned(wait: float, *, region: str = "SE-AC", at: datetime = T0) -> CallRecord:
    """A caller who hung up after ``wait`` seconds in the queue."""
    return CallRecord(
        call_id=_call_id(),
        region=region,
        queue="vpt",
        arrived_at=at,
        outcome=Outcome.ABANDONED,
        ended_at=at + timedelta(seconds=wait),
    )


def rejected(*, region: str = "SE-AC", at: datetime = T0) -> CallRecord:
    """Queue full: never queued."""
    return CallRecord(
        call_id=_call_id(), region=region, queue="vpt", arrived_at=at, outcome=Outcome.REJECTED, ended_at=at
    )


def interval(
    *,
    offered: int | None = None,
    answered: int = 0,
    abandoned: int = 0,
    abandoned_short: int = 0,
    rejected: int = 0,
    answered_within_sl: int = 0,
    sl_seconds: int = 600,
    wait_answered: float | None = 0.0,
    wait_abandoned: float | None = 0.0,
    longest: float | None = None,
    start: datetime = T0,
    minutes: int = 15,
    region: str = "SE-Z",
) -> IntervalRecord:
    """An interval row; ``offered`` defaults to the consistent answered + abandoned + rejected.

    The wait sums default to 0 (present); pass ``None`` for a report without those columns.
    """
    return IntervalRecord(
        region=region,
        queue="vpt",
        interval_start=start,
        interval_minutes=minutes,
        offered=answered + abandoned + rejected if offered is None else offered,
        answered=answered,
        abandoned=abandoned,
        abandoned_short=abandoned_short,
        rejected=rejected,
        answered_within_sl=answered_within_sl,
        sl_seconds=sl_seconds,
        wait_answered_seconds_sum=wait_answered,
        wait_abandoned_seconds_sum=wait_abandoned,
        longest_wait_seconds=longest,
    )
