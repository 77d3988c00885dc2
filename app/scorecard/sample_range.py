"""The forecast's sampled hours as PostgreSQL's range read gives them, summed without a dict per region (issue 15).

A process's first /metrics scrape read ~14 000 region-hours into a dict per region keyed by hour, then summed each
scope's ~700 hours through dict lookups (~2 ms of its client time), for a forecast that in nearly every scope is one
weighted sum (``app.kpi.forecast``'s flat plan). Here a region's rows stay the integer arrays the statement returned:
its offered calls in hour order, and only where the region has holes in the range each row's offset. A weighted sum
puts the plan's coefficients at their offsets once per plan and sums each region in C; a scope's sum is its regions'
sums. ``by_hour`` gives the reference dict for the scopes that need it (data younger than the samples).
tests/scorecard/test_forecast_sums.py holds the forecasts equal to ``forecast_rest`` over the stored hourly rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from itertools import repeat
from operator import mul

from app.kpi.forecast import DEFAULT_WEEKS, Forecast, SamplePlan

_KEPT = 16
_PlanKey = tuple[tuple[datetime, ...], tuple[int, ...] | None]  # a plan's hours and coefficients
_SCALE = math.lcm(*range(1, DEFAULT_WEEKS + 1))  # what ``forecast_rest`` requires of a flat plan it sums


@dataclass(frozen=True, slots=True)
class SampleRange:
    """Offered calls of the regions over the range [first, first + len(slots) hours), as read.

    ``slots[k]`` is the asked-for hour ``k`` hours after ``first`` (None: in the range, not asked for; a row there is
    never a sample). ``rows``: per region asked for, its rows' offsets and offered calls; offsets None when the region
    has a row at every hour of the range (the k-th value is hour k's)."""

    first: datetime
    slots: list[datetime | None]
    rows: dict[str, tuple[Sequence[int] | None, Sequence[int]]]
    _sums: dict[_PlanKey, dict[str, int]] = field(default_factory=dict, compare=False, repr=False)
    _index: dict[datetime, int] = field(init=False, compare=False, repr=False)  # asked-for hour -> its offset

    def __post_init__(self) -> None:
        # whole before it is seen: the read is shared by the API's threads through the history cache
        object.__setattr__(self, "_index", {hour: k for k, hour in enumerate(self.slots) if hour is not None})

    def by_hour(self, region: str) -> dict[datetime, int]:
        """The region's offered calls keyed by the asked-for hours: ``offered_by_region_hour``'s dict of it."""
        offsets, values = self.rows.get(region, ((), ()))
        hours = self.slots if offsets is None else map(self.slots.__getitem__, offsets)
        found: dict[datetime | None, int] = dict(zip(hours, values, strict=True))
        found.pop(None, None)  # an hour of the range that was not asked for
        return found  # type: ignore[return-value]  # None was just taken out

    def weighted(self, hours: tuple[datetime, ...], coefficients: tuple[int, ...] | None = None) -> dict[str, int]:
        """Per region, the sum of each hour's offered calls times its coefficient (1 without ``coefficients``; an hour
        not asked for, or without a row, counts 0, as ``dict.get(hour, 0)`` of ``by_hour``). Kept by the plan's own
        tuples, so the scopes of a scrape, and later scrapes of the hour while this read is kept, share one pass."""
        key = (hours, coefficients)
        sums = self._sums.get(key)
        if sums is not None:
            return sums
        weights = [0] * len(self.slots)
        index = self._index
        for hour, coefficient in zip(hours, repeat(1, len(hours)) if coefficients is None else coefficients,
                                     strict=True):
            k = index.get(hour)
            if k is not None:
                weights[k] += coefficient
        get = weights.__getitem__
        sums = {region: sum(map(mul, weights if offsets is None else map(get, offsets), values))
                for region, (offsets, values) in self.rows.items()}
        if len(self._sums) >= _KEPT:  # a plan per hour and start: a handful while the read is kept
            self._sums.clear()
        self._sums[key] = sums
        return sums


def flat_forecast(
    samples: SampleRange, plan: SamplePlan, regions: Sequence[str], now: datetime, end: datetime,
    first_data: datetime | None,
) -> Forecast | None:
    """``forecast_rest(offered, now, end, first_data, plan=plan)`` of the regions' summed offered calls where it takes
    its flat plan (every sample counts), from sums per region; None where it would not (then the caller takes the
    reference). The same integers in the same exact arithmetic: a scope's sum of hours is its regions' sums."""
    flat = plan.flat
    if (first_data is None or now >= end or flat is None or flat.scale != _SCALE or flat.oldest is None
            or first_data > flat.oldest):
        return None
    whole = samples.weighted(flat.hours, flat.coefficients)
    scaled = sum(whole.get(region, 0) for region in regions)
    partial = Fraction(0)
    for hours, weight in flat.partial:
        sums = samples.weighted(hours)
        partial += Fraction(sum(sums.get(region, 0) for region in regions), len(hours)) * weight
    return Forecast(Fraction(scaled, flat.scale) + partial, flat.used)
