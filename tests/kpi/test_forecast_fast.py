"""``forecast_rest``'s one-sum path (the plan flattened once per moment) gives exactly the per-slot means of before.

The reference below is the implementation the fast path replaced, kept verbatim: the property compares the
``Forecast`` (an exact ``Fraction`` and the weeks used) for generated moments around both DST changes, month
ends, hours in progress, sparse histories, first data anywhere in (or after) the sampled weeks, and plans made for
another number of weeks than the forecast's.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from app.kpi.forecast import Forecast, SamplePlan, _slots, forecast_rest, sample_plan
from app.kpi.localtime import HOUR, STOCKHOLM, floor_hour

PROPS = settings(max_examples=300, deadline=None)
# Moments near the spring and autumn changes of 2025 and a month end, so the slots meet both folds and the gap.
ANCHORS = (datetime(2025, 3, 30, 1, tzinfo=UTC), datetime(2025, 10, 26, 1, tzinfo=UTC),
           datetime(2025, 12, 15, 11, tzinfo=UTC), datetime(2026, 2, 27, 23, tzinfo=UTC))


def reference_forecast_rest(
    offered_by_hour: Mapping[datetime, int], now: datetime, end: datetime, first_data: datetime | None,
    weeks: int, plan: SamplePlan,
) -> Forecast:
    """The per-slot implementation before the one-sum path (app/kpi/forecast.py at da64d78)."""
    if first_data is None or now >= end:
        return Forecast(Fraction(0), 0)
    scale = math.lcm(*range(1, weeks + 1))
    scaled = 0
    partial = Fraction(0)
    used = 0
    for slot, weight in plan.weights.items():
        samples = [offered_by_hour.get(sample, 0) for sample in plan.candidates[slot] if sample >= first_data]
        if not samples:
            return Forecast(Fraction(0), 0)
        used = max(used, len(samples))
        if weight.denominator == 1:
            scaled += weight.numerator * sum(samples) * (scale // len(samples))
        else:
            partial += Fraction(sum(samples), len(samples)) * weight
    return Forecast(Fraction(scaled, scale) + partial, used)


def reference_sample_plan(now: datetime, end: datetime, weeks: int) -> SamplePlan:
    """The plan's weights as summed before the whole hours were kept per hour (da64d78)."""
    first = floor_hour(now)
    slots, candidates = _slots(first, end, weeks)
    weights: dict[tuple[int, int, int], Fraction] = {}
    for index, slot in enumerate(slots):
        share = Fraction(1)
        if index == 0 and first < now:
            share = Fraction((first + HOUR - now) // timedelta(microseconds=1), HOUR // timedelta(microseconds=1))
        weights[slot] = weights.get(slot, Fraction(0)) + share
    return SamplePlan(weights, candidates)


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[datetime, int], datetime, datetime, datetime | None, int, int]:
    anchor = draw(st.sampled_from(ANCHORS))
    now = anchor + timedelta(minutes=draw(st.integers(-60 * 24 * 10, 60 * 24 * 10)),
                             microseconds=draw(st.sampled_from([0, 0, 1, 999_999])))
    end = now + timedelta(minutes=draw(st.integers(-30, 60 * 24 * 35)))
    plan_weeks = draw(st.integers(1, 6))
    weeks = draw(st.sampled_from([plan_weeks, plan_weeks, plan_weeks, draw(st.integers(1, 6))]))
    hours = sorted({hour for hours in sample_plan(now, end, plan_weeks).candidates.values() for hour in hours}) \
        if now < end else []
    # ~700 counts: from a drawn seed, since lists that long overrun hypothesis's buffer (few valid examples).
    rng = random.Random(draw(st.integers(0, 2**32)))
    density = draw(st.sampled_from([0.0, 0.3, 1.0]))
    offered = {hour: rng.randint(0, 500) for hour in hours if rng.random() < density}
    first_kind = draw(st.sampled_from(["none", "long_ago", "long_ago", "oldest", "a_sample", "after_all", "between"]))
    first_data: datetime | None
    if first_kind == "none":
        first_data = None
    elif first_kind == "long_ago" or not hours:
        first_data = now - timedelta(days=400)
    elif first_kind == "oldest":
        first_data = hours[0]
    elif first_kind == "a_sample":
        first_data = draw(st.sampled_from(hours))
    elif first_kind == "after_all":
        first_data = hours[-1] + HOUR
    else:
        first_data = draw(st.sampled_from(hours)) + timedelta(minutes=draw(st.integers(1, 59)))
    return offered, now, end, first_data, weeks, plan_weeks


@PROPS
@given(cases())
def test_the_one_sum_path_equals_the_per_slot_means(
    case: tuple[dict[datetime, int], datetime, datetime, datetime | None, int, int],
) -> None:
    offered, now, end, first_data, weeks, plan_weeks = case
    plan = sample_plan(now, end, plan_weeks)
    reference = reference_sample_plan(now, end, plan_weeks)
    assert list(plan.weights.items()) == list(reference.weights.items())  # the same weights, in the same order
    assert plan.candidates == reference.candidates
    got = forecast_rest(offered, now, end, first_data, weeks, plan=plan)
    want = reference_forecast_rest(offered, now, end, first_data, weeks, reference)
    assert got == want
    assert type(got.expected_rest) is Fraction


def test_the_bench_moment_with_real_counts_takes_the_one_sum_path_and_agrees() -> None:
    """15 December 12:00, every sampled hour with calls (as at a scrape): the path taken is the flat one."""
    now = datetime(2025, 12, 15, 12, 0, tzinfo=STOCKHOLM).astimezone(UTC)
    end = datetime(2026, 1, 1, tzinfo=STOCKHOLM).astimezone(UTC)
    plan = sample_plan(now + timedelta(minutes=20), end)
    assert plan.flat is not None and plan.flat.partial  # the hour in progress is fractional
    offered = {hour: (hour.hour * 7 + hour.day) % 53 for hour in plan.sample_hours}
    first = plan.sample_hours[0]
    got = forecast_rest(offered, now + timedelta(minutes=20), end, first, plan=plan)
    assert got == reference_forecast_rest(offered, now + timedelta(minutes=20), end, first, 4, plan)
    assert got.weeks == 4 and got.expected_rest.denominator != 1
