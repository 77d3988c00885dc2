"""The demo's history as months of records, planned so that it loads in seconds, not minutes.

Twenty-five months are needed for year-over-year deltas on every point of the 13-month chart. Parsing a
million CSV rows was most of the demo's start-up (82 s on a quiet 2-core machine), so the demo hands these
records to the loader directly, and only the months people look at closely are call by call: the month in
progress and the twelve before it (percentiles, answered by other regions, every drill-down). The twelve months
before those only give last year's figures, so they arrive as a platform's hourly queue report (60-minute
interval records, SPEC §3): the same counts and wait sums, hour breakdowns intact, a tenth of the rows; their
percentiles are null, as SPEC §5 says of interval-only data.

``month_records`` is a plain function of picklable arguments so the demo can run it in a second process while
the first one stores the month before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from app.kpi.localtime import next_month
from app.kpi.records import CallRecord, IntervalRecord
from app.sim.model import SimConfig, simulate
from app.sim.writers import interval_records

#: Months of history in the demo before the current one: 24, so the 13 months on screen each have last year's.
DEFAULT_HISTORY_MONTHS = 24
#: Of those, how many (before the current month) are call by call; older ones are hourly interval records.
DEFAULT_CALL_MONTHS = 12
INTERVAL_MINUTES = 60


@dataclass(frozen=True)
class HistoryMonth:
    """One delivery of history: local days ``first``..``last`` of one month, as calls or as hourly intervals."""

    first: date
    last: date
    kind: str  # "calls" | "intervals"

    @property
    def label(self) -> str:
        return f"{self.first:%Y-%m}"


def plan_history(today: date, months: int, call_months: int) -> list[HistoryMonth]:
    """Deliveries from ``months`` months before ``today``'s up to yesterday, newest call months last.

    The oldest months come first so that each ingest appends; the current month (up to yesterday) and the
    ``call_months`` before it are calls, the rest intervals. Empty when today is the first day and ``months`` is 0.
    """
    first = today.replace(day=1)
    for _ in range(months):
        first = (first - timedelta(days=1)).replace(day=1)
    current = today.replace(day=1)
    calls_from = current
    for _ in range(call_months):
        calls_from = (calls_from - timedelta(days=1)).replace(day=1)
    yesterday = today - timedelta(days=1)
    plan = []
    month = first
    while month <= yesterday:
        last = min(yesterday, next_month(month) - timedelta(days=1))
        plan.append(HistoryMonth(month, last, "calls" if month >= calls_from else "intervals"))
        month = next_month(month)
    return plan


def month_records(config: SimConfig, month: HistoryMonth) -> list[CallRecord] | list[IntervalRecord]:
    """The month's records: every simulated call, or the hourly queue report made from them."""
    calls = simulate(config, month.first, month.last)
    if month.kind == "calls":
        return list(calls)
    return list(interval_records(calls, interval_minutes=INTERVAL_MINUTES))
