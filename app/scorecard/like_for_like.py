"""What a month's figures are compared with: the whole earlier month, or for a month in progress the same days.

Twenty days of October against all of September is not like with like: the count of calls is a third short and
the rates compare a part with a whole. For the month in progress, the previous month and the same month a year
before are therefore cut at the same local day and hour as now (the hour in progress included, as it is in the
month so far): 1–20 October up to 12:00 against 1–20 September up to 12:00. An earlier month shorter than the
day reached (the 31st against a 30-day month) is compared whole. ``span`` and ``until`` on each
``Comparison`` say which was done, so every surface can label it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from app.kpi.counts import Counts
from app.kpi.formulas import Kpis
from app.kpi.localtime import HOUR, STOCKHOLM, floor_hour, local_month_bounds, utc_iso
from app.scorecard.queries import counts_by_region
from app.scorecard.reads import ScopeNames

Span = Literal["month", "same_days"]


@dataclass(frozen=True)
class Earlier:
    """An earlier month's figures per scope, over the span compared."""

    month: date
    kpis: dict[tuple[str, str], Kpis]
    span: Span = "month"
    until: str | None = None  # same_days: the end of the span compared (exclusive), UTC


def same_days_end(earlier: date, now: datetime) -> datetime:
    """The end of ``earlier``'s span like the month so far at ``now``: its same local day and hour, that hour
    included; the end of ``earlier`` when it has no such day."""
    local = now.astimezone(STOCKHOLM)
    _start, end = local_month_bounds(earlier)
    try:
        wall = datetime(earlier.year, earlier.month, local.day, local.hour, tzinfo=STOCKHOLM)
    except ValueError:  # no such day in the earlier month
        return end
    return min(floor_hour(wall) + HOUR, end)


def earlier_months(
    session: Session, months: list[date], names: ScopeNames, whole: dict[date, dict[str, tuple[Counts, int]]],
    now: datetime | None, figures_of: Callable[..., list[Any]],
) -> list[Earlier]:
    """``months``' figures per scope: whole (``whole``, the roll-up already read) or, with ``now`` (the month in
    progress), up to ``same_days_end``. ``figures_of``: the service's ``region_and_collaboration_figures``."""
    out = []
    for month in months:
        start, end = local_month_bounds(month)
        span: Span = "month"
        until = end
        by_region = whole[month]
        if now is not None:
            span, until = "same_days", same_days_end(month, now)
            by_region = counts_by_region(session, None, start, until) if until < end else by_region
        figures = figures_of(session, start, until, collaboration_hours=False, names=names, by_region=by_region)
        out.append(Earlier(month, {(f.kind, f.scope): f.kpis for f in figures}, span,
                           utc_iso(until) if span == "same_days" else None))
    return out


def last_day_compared(until: str) -> date:
    """The last local day of a ``same_days`` span ending at ``until`` (exclusive, UTC)."""
    end = datetime.fromisoformat(until.replace("Z", "+00:00"))
    return (end - timedelta(seconds=1)).astimezone(STOCKHOLM).date()
