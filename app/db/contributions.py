"""What each stored record brings to its hour's aggregate row (SPEC §5), in portable SQL.

The per-record rules are those of ``app.kpi.counts`` (``counts_from_call``/``counts_from_interval``),
expressed in SQL so that a million-row ingest never ships its rows back to Python. The test suite
checks the two against each other on random records, on both databases.

Kept apart from the refresh (app.db.aggregates) and the change a delivery makes to its hours (app.db.hour_deltas)
because both sum the same contributions: each imports them from here, and neither has to import the other.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, FromClause, Integer, Select, and_, case, false, func, literal, or_, select

from app.db.models import (
    Call,
    HourlyAggregate,
    HourlyAnsweredBy,
    IntervalRow,
    MonthlyAggregate,
    MonthlyAnsweredBy,
    table_of,
)
from app.kpi.counts import Definitions
from app.kpi.histogram import WAIT_BUCKET_EDGES
from app.kpi.records import DAY_MINUTES

calls = table_of(Call)
intervals = table_of(IntervalRow)
aggregates = table_of(HourlyAggregate)
answered_by = table_of(HourlyAnsweredBy)
monthly = table_of(MonthlyAggregate)
monthly_answered_by = table_of(MonthlyAnsweredBy)

BUCKET_COLUMNS = [f"wait_bucket_{i:02d}" for i in range(len(WAIT_BUCKET_EDGES))]
SUMMED_COLUMNS = [
    "answered", "abandoned", "short_abandons", "rejected", "answered_within_sl", "answered_sl_unknown",
    "wait_answered_ms", "wait_abandoned_ms", "call_wait_answered_ms", "answered_wait_unknown",
    "abandoned_wait_unknown",
    "longest_wait_unknown", "talk_sum", "wrap_sum", "call_records", "interval_records",
    "reported_offered", "interval_counted_offered", *BUCKET_COLUMNS, "day_records", "month_records",
]
MAX_COLUMNS = ["longest_wait_ms", "latest_record_at"]


def _one(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def call_contributions(definitions: Definitions, source: FromClause = calls) -> Select[*tuple[Any, ...]]:
    """Each call's contribution to its hour's row, from ``source`` (``calls`` or rows of its shape)."""
    c = source.c
    answered = c.outcome == "answered"
    short_ms = definitions.short_abandon_seconds * 1000
    abandoned = and_(c.outcome == "abandoned", c.wait_ms >= short_ms)
    short = and_(c.outcome == "abandoned", c.wait_ms < short_ms)
    buckets = []
    lower: float | None = None
    for name, edge in zip(BUCKET_COLUMNS, WAIT_BUCKET_EDGES, strict=True):
        conditions = [answered]
        if lower is not None:
            conditions.append(c.wait_ms > int(lower) * 1000)
        if edge != float("inf"):
            conditions.append(c.wait_ms <= int(edge) * 1000)
        buckets.append(_one(and_(*conditions)).label(name))
        lower = edge
    zero = literal(0, Integer)
    return select(
        c.region,
        c.hour_start,
        _one(answered).label("answered"),
        _one(abandoned).label("abandoned"),
        _one(short).label("short_abandons"),
        _one(c.outcome == "rejected").label("rejected"),
        _one(and_(answered, c.wait_ms <= definitions.sl_seconds * 1000)).label("answered_within_sl"),
        zero.label("answered_sl_unknown"),
        case((answered, c.wait_ms), else_=0).label("wait_answered_ms"),
        case((abandoned, c.wait_ms), else_=0).label("wait_abandoned_ms"),
        case((answered, c.wait_ms), else_=0).label("call_wait_answered_ms"),
        zero.label("answered_wait_unknown"),
        zero.label("abandoned_wait_unknown"),
        zero.label("longest_wait_unknown"),
        case((answered, func.coalesce(c.talk_seconds, 0.0)), else_=0.0).label("talk_sum"),
        case((answered, func.coalesce(c.wrap_seconds, 0.0)), else_=0.0).label("wrap_sum"),
        literal(1, Integer).label("call_records"),
        zero.label("interval_records"),
        zero.label("reported_offered"),
        zero.label("interval_counted_offered"),
        *buckets,
        zero.label("day_records"),
        zero.label("month_records"),
        case((answered, c.wait_ms), else_=None).label("longest_wait_ms"),
        c.arrived_at.label("latest_record_at"),
    ).select_from(source)


def interval_contributions(definitions: Definitions) -> Select[*tuple[Any, ...]]:
    """Each interval record's contribution to its hour's row (superseded ones count nowhere); the caller joins
    the hours it wants, as it does with ``call_contributions``."""
    i = intervals.c
    split_short = 1 if definitions.short_abandon_seconds > 0 else 0
    short = i.abandoned_short * split_short
    sl_known = i.sl_seconds == definitions.sl_seconds
    zero = literal(0, Integer)
    return select(
        i.region,
        i.hour_start,
        i.answered.label("answered"),
        (i.abandoned - short).label("abandoned"),
        short.label("short_abandons"),
        i.rejected.label("rejected"),
        case((sl_known, i.answered_within_sl), else_=0).label("answered_within_sl"),
        case((sl_known, 0), else_=i.answered).label("answered_sl_unknown"),
        func.coalesce(i.wait_answered_ms, 0).label("wait_answered_ms"),
        # split-off short abandons' waits are inside the abandoned wait sum: the others' waits are then unknown
        case((short > 0, 0), else_=func.coalesce(i.wait_abandoned_ms, 0)).label("wait_abandoned_ms"),
        zero.label("call_wait_answered_ms"),
        case((i.wait_answered_ms.is_(None), i.answered), else_=0).label("answered_wait_unknown"),
        case((or_(i.wait_abandoned_ms.is_(None), short > 0), i.abandoned - short), else_=0).label(
            "abandoned_wait_unknown"
        ),
        case((i.longest_wait_ms.is_(None), i.answered), else_=0).label("longest_wait_unknown"),
        func.coalesce(i.talk_seconds_sum, 0.0).label("talk_sum"),
        func.coalesce(i.wrap_seconds_sum, 0.0).label("wrap_sum"),
        zero.label("call_records"),
        literal(1, Integer).label("interval_records"),
        i.offered.label("reported_offered"),
        (i.answered + i.abandoned + i.rejected).label("interval_counted_offered"),
        *[zero.label(name) for name in BUCKET_COLUMNS],
        _one(i.interval_minutes == DAY_MINUTES).label("day_records"),
        _one(i.interval_minutes > DAY_MINUTES).label("month_records"),
        i.longest_wait_ms.label("longest_wait_ms"),
        i.interval_end.label("latest_record_at"),
    ).select_from(intervals).where(i.superseded.is_(false()))


__all__ = [
    "BUCKET_COLUMNS",
    "MAX_COLUMNS",
    "SUMMED_COLUMNS",
    "aggregates",
    "answered_by",
    "call_contributions",
    "calls",
    "interval_contributions",
    "intervals",
    "monthly",
    "monthly_answered_by",
]
