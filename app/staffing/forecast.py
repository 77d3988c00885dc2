"""The scorecard's forecast (``app.kpi.forecast``), hour by hour: the calls each remaining hour should bring.

``forecast_rest`` gives the month's remaining calls as one sum; staffing needs them per hour. Every hour of one local
weekday-and-hour slot has the same samples in a ``SamplePlan``, so an hour's forecast is its slot's sample mean, and
these summed with the plan's weights are exactly ``forecast_rest`` (tests/staffing/test_forecast.py holds them equal).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction

from app.kpi.forecast import SamplePlan
from app.kpi.localtime import HOUR, STOCKHOLM


def slot_of(hour: datetime) -> tuple[int, int, int]:
    """The plan's key of a UTC hour: local weekday, hour and fold (the repeated autumn hour is its own slot)."""
    local = hour.astimezone(STOCKHOLM)
    return local.weekday(), local.hour, local.fold


def hourly_forecast(
    offered_by_hour: Mapping[datetime, int], plan: SamplePlan, first_data: datetime | None, start: datetime,
    end: datetime,
) -> dict[datetime, Fraction | None]:
    """Calls expected in each whole UTC hour of [start, end) (``start`` on the hour); None where the slot has no
    sample at or after ``first_data`` (an hour of the week never seen yet) or the plan does not cover it."""
    out: dict[datetime, Fraction | None] = {}
    means: dict[tuple[int, int, int], Fraction | None] = {}
    hour = start
    while hour < end:
        slot = slot_of(hour)
        if slot not in means:
            candidates = plan.candidates.get(slot)
            samples = [] if candidates is None or first_data is None else [
                offered_by_hour.get(sample, 0) for sample in candidates if sample >= first_data]
            means[slot] = Fraction(sum(samples), len(samples)) if samples else None
        out[hour] = means[slot]
        hour += HOUR
    return out
