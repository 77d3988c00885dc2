"""Properties of the KPI core: additivity of counts across any grouping, ratios, quantiles (§4–§5)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from app.kpi import (
    BUCKET_COUNT,
    WAIT_BUCKET_EDGES,
    CallRecord,
    Counts,
    Definitions,
    IntervalRecord,
    Outcome,
    compute_kpis,
    counts_from_call,
    counts_from_interval,
    estimate_quantile,
    sum_counts,
)
from app.kpi.histogram import bucket_index_ms
from app.kpi.localtime import floor_hour, local_month_of

from ._builders import answered

PROPS = settings(max_examples=200, deadline=None)
BASE = datetime(2025, 10, 24, tzinfo=UTC)  # the days around the autumn DST change
REGIONS = ("SE-AC", "SE-BD", "SE-Z")
EDGE_WAITS = (0, 3, 5, 29, 30, 31, 600, 601, 7200, 7201)

definitions = st.builds(
    Definitions, short_abandon_seconds=st.sampled_from([0, 5, 30]), sl_seconds=st.sampled_from([20, 600])
)
waits = st.one_of(st.integers(0, 9000), st.sampled_from(EDGE_WAITS))
US = 1_000_000  # microseconds in a second
#: the edges in microseconds, and just around the half-millisecond where rounding to whole ms flips
EDGE_WAITS_US = tuple(sorted({
    w * US + d for w in EDGE_WAITS for d in (-501, -500, -499, -1, 0, 1, 499, 500, 501) if w * US + d >= 0
} | {100_000, 200_000, 300_000}))
waits_us = st.one_of(st.integers(0, 9000 * US), st.sampled_from(EDGE_WAITS_US))


@st.composite
def call_records(draw: st.DrawFn, sub_second: bool = False) -> CallRecord:
    """A valid call: aware UTC times, answered_at/ended_at not before arrival.

    Whole seconds by default; ``sub_second`` draws arrival and wait in microseconds, as a platform
    that reports fractional seconds delivers them.
    """
    if sub_second:
        arrived = BASE + timedelta(microseconds=draw(st.integers(0, 4 * 86400 * US)))
        wait = timedelta(microseconds=draw(waits_us))
    else:
        arrived = BASE + timedelta(seconds=draw(st.integers(0, 4 * 86400)))
        wait = timedelta(seconds=draw(waits))
    outcome = draw(st.sampled_from(Outcome))
    region = draw(st.sampled_from(REGIONS))
    talk = draw(st.none() | st.integers(0, 3600))
    if outcome is Outcome.ANSWERED:
        answered_at = arrived + wait
        ended_at = draw(st.none() | st.just(answered_at + timedelta(seconds=talk or 0)))
        by = draw(st.none() | st.sampled_from(REGIONS))
    elif outcome is Outcome.ABANDONED:
        answered_at, ended_at, by, talk = None, arrived + wait, None, None
    else:
        answered_at, ended_at, by, talk = None, draw(st.none() | st.just(arrived)), None, None
    return CallRecord(
        call_id=f"c{draw(st.integers(0, 10**6))}",
        region=region,
        queue=draw(st.none() | st.just("vpt")),
        arrived_at=arrived,
        outcome=outcome,
        answered_at=answered_at,
        ended_at=ended_at,
        answered_by_region=by,
        talk_seconds=talk,
        wrap_seconds=draw(st.none() | st.integers(0, 600)) if outcome is Outcome.ANSWERED else None,
    )


#: calls in whole seconds or in microseconds
any_call = st.one_of(call_records(), call_records(sub_second=True))


def optional_sum(draw: st.DrawFn, n: int) -> float | None:
    """An optional talk/wrap sum of n calls, whole seconds (exact in binary floating point)."""
    return draw(st.none() | st.integers(0, 3600 * n).map(float))


def optional_wait_sum(draw: st.DrawFn, n: int) -> float | None:
    """An optional wait sum of n calls as a platform reports it: seconds, possibly with a ms fraction."""
    return draw(st.none() | st.integers(0, 3600 * n).map(float) | st.integers(0, 3600 * n * 1000).map(
        lambda ms: ms / 1000))


@st.composite
def interval_records(draw: st.DrawFn) -> IntervalRecord:
    n_answered = draw(st.integers(0, 30))
    n_abandoned = draw(st.integers(0, 10))
    n_rejected = draw(st.integers(0, 10))
    counted = n_answered + n_abandoned + n_rejected
    return IntervalRecord(
        region=draw(st.sampled_from(REGIONS)),
        queue=draw(st.sampled_from(["", "vpt"])),
        interval_start=BASE + timedelta(minutes=15 * draw(st.integers(0, 4 * 96))),
        interval_minutes=draw(st.sampled_from([15, 30, 60])),
        offered=max(0, counted + draw(st.sampled_from([0, 0, 0, -1, 2]))),  # sometimes inconsistent
        answered=n_answered,
        abandoned=n_abandoned,
        abandoned_short=draw(st.integers(0, n_abandoned)),
        rejected=n_rejected,
        answered_within_sl=draw(st.integers(0, n_answered)),
        sl_seconds=draw(st.sampled_from([20, 600, 600])),
        wait_answered_seconds_sum=optional_wait_sum(draw, n_answered),
        wait_abandoned_seconds_sum=optional_wait_sum(draw, n_abandoned),
        longest_wait_seconds=draw(
            st.none() | st.integers(0, 9000).map(float) | st.integers(0, 9000 * 1000).map(lambda ms: ms / 1000)
        ),
        talk_seconds_sum=optional_sum(draw, n_answered),
        wrap_seconds_sum=optional_sum(draw, n_answered),
    )


@st.composite
def any_counts(draw: st.DrawFn) -> Counts:
    """Counts as the core produces them: sums of calls, interval rows and help given to others."""
    d = draw(definitions)
    parts = [counts_from_call(c, d) for c in draw(st.lists(any_call, max_size=8))]
    parts += [counts_from_interval(r, d) for r in draw(st.lists(interval_records(), max_size=3))]
    parts.append(Counts(answered_for_other_regions=draw(st.integers(0, 3))))
    return sum_counts(draw(st.permutations(parts)))


def group(items: list, key: Callable[[int], Hashable]) -> list[list]:
    groups: dict[Hashable, list] = defaultdict(list)
    for i, item in enumerate(items):
        groups[key(i)].append(item)
    return list(groups.values())


def partitions(draw: st.DrawFn, items: list, start: Callable[[object], datetime]) -> list[list]:
    how = draw(st.sampled_from(["hour", "region-month", "random", "one", "singletons"]))
    if how == "hour":
        return group(items, lambda i: (items[i].region, floor_hour(start(items[i]))))
    if how == "region-month":
        return group(items, lambda i: (items[i].region, local_month_of(start(items[i]))))
    if how == "one":
        return [items]
    if how == "singletons":
        return [[item] for item in items]
    labels = draw(st.lists(st.integers(0, 4), min_size=len(items), max_size=len(items)))
    return group(items, lambda i: labels[i])


# --- additivity ---------------------------------------------------------------------------------

@PROPS
@given(calls=st.lists(any_call, max_size=40), d=definitions, data=st.data())
def test_calls_sum_of_groups_equals_whole(calls: list[CallRecord], d: Definitions, data: st.DataObject) -> None:
    whole = sum_counts([counts_from_call(c, d) for c in calls])
    groups = partitions(data.draw, calls, lambda c: c.arrived_at)
    per_group = [sum_counts([counts_from_call(c, d) for c in g]) for g in groups]
    rolled_up = sum_counts(data.draw(st.permutations(per_group)))
    assert rolled_up == whole
    assert compute_kpis(rolled_up) == compute_kpis(whole)
    assert compute_kpis(rolled_up, cross_region=False) == compute_kpis(whole, cross_region=False)


@PROPS
@given(rows=st.lists(interval_records(), max_size=25), d=definitions, data=st.data())
def test_intervals_sum_of_groups_equals_whole(
    rows: list[IntervalRecord], d: Definitions, data: st.DataObject
) -> None:
    whole = sum_counts([counts_from_interval(r, d) for r in rows])
    groups = partitions(data.draw, rows, lambda r: r.interval_start)
    per_group = [sum_counts([counts_from_interval(r, d) for r in g]) for g in groups]
    rolled_up = sum_counts(data.draw(st.permutations(per_group)))
    assert rolled_up == whole
    assert compute_kpis(rolled_up) == compute_kpis(whole)


@PROPS
@given(a=any_counts(), b=any_counts(), c=any_counts())
def test_counts_form_a_commutative_monoid(a: Counts, b: Counts, c: Counts) -> None:
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a
    assert Counts() + a == a == a + Counts()
    assert sum_counts([a, b, c]) == a + b + c
    assert sum_counts([]) == Counts()


def test_sub_second_waits_are_exactly_additive_in_the_simplest_case() -> None:
    # 0.5 and 0.25 are exact binary fractions: any grouping gives the same sum
    d = Definitions()
    calls = [answered(0.5), answered(0.25), answered(0.75)]
    whole = sum_counts([counts_from_call(c, d) for c in calls])
    parts = counts_from_call(calls[0], d) + sum_counts([counts_from_call(c, d) for c in calls[1:]])
    assert parts == whole


def test_sub_second_waits_0_1_0_2_0_3_sum_identically() -> None:
    # as binary floats ((0 + 0.1) + 0.2) + 0.3 != 0.1 + (0.2 + 0.3); as whole ms 100 + 200 + 300 in any order
    d = Definitions()
    calls = [answered(0.1), answered(0.2), answered(0.3)]
    whole = sum_counts([counts_from_call(c, d) for c in calls])
    by_hour = counts_from_call(calls[0], d) + sum_counts([counts_from_call(c, d) for c in calls[1:]])
    assert by_hour == whole
    assert whole.wait_answered_ms == 600
    assert compute_kpis(by_hour).mean_wait == compute_kpis(whole).mean_wait == Fraction(1, 5)  # 0.6 / 3


@PROPS
@given(calls=st.lists(call_records(sub_second=True), max_size=40), d=definitions, data=st.data())
def test_sub_second_waits_sum_identically_in_any_grouping(
    calls: list[CallRecord], d: Definitions, data: st.DataObject
) -> None:
    """Microsecond timestamps: every grouping and order of summing gives identical counts and figures."""
    counts = [counts_from_call(c, d) for c in calls]
    whole = sum_counts(counts)
    reversed_whole = sum_counts(counts[::-1])
    groups = partitions(data.draw, calls, lambda c: c.arrived_at)
    per_group = [sum_counts([counts_from_call(c, d) for c in g]) for g in groups]
    rolled_up = sum_counts(data.draw(st.permutations(per_group)))
    for other in (reversed_whole, rolled_up):
        assert other == whole
        assert compute_kpis(other) == compute_kpis(whole)
        assert compute_kpis(other).as_dict() == compute_kpis(whole).as_dict()
        assert compute_kpis(other, cross_region=False) == compute_kpis(whole, cross_region=False)


# --- ratios -------------------------------------------------------------------------------------

@PROPS
@given(counts=any_counts())
def test_zero_denominators_give_none_and_rates_partition_offered(counts: Counts) -> None:
    k = compute_kpis(counts)
    assert k.offered == k.answered + k.abandoned + k.rejected
    if k.offered == 0:
        assert k.answer_rate is None
        assert k.abandon_rate is None
        assert k.rejected_rate is None
        assert k.service_level is None
    else:
        rates = (k.answer_rate, k.abandon_rate, k.rejected_rate)
        assert all(isinstance(r, Fraction) and 0 <= r <= 1 for r in rates)
        assert sum(rates) == 1  # exactly, as Fractions
        assert k.service_level is None or 0 <= k.service_level <= k.answer_rate
    if k.answered == 0:
        assert k.mean_wait is None
        assert (k.wait_p50, k.wait_p90) == (None, None)
    if k.answered + k.abandoned == 0:
        assert k.mean_wait_all is None
    for key, value in k.as_dict().items():
        assert value is None or value == value, key  # never NaN


def wait_of(call: CallRecord) -> int:
    """The wait in ms of an answered or abandoned call, which always has one."""
    assert call.wait_ms is not None
    return call.wait_ms


@PROPS
@given(calls=st.lists(any_call, min_size=1, max_size=30), d=definitions)
def test_call_level_kpis_are_consistent(calls: list[CallRecord], d: Definitions) -> None:
    k = compute_kpis(sum_counts([counts_from_call(c, d) for c in calls]))
    answered_waits = [wait_of(c) for c in calls if c.outcome is Outcome.ANSWERED]  # whole ms
    short = [c for c in calls if c.outcome is Outcome.ABANDONED and wait_of(c) < d.short_abandon_seconds * 1000]
    abandoned_waits = [wait_of(c) for c in calls if c.outcome is Outcome.ABANDONED and c not in short]
    assert k.answered == len(answered_waits)
    assert k.short_abandons == len(short)
    assert k.abandoned == len(abandoned_waits)
    assert k.offered == len(calls) - len(short)
    assert k.longest_wait == (max(answered_waits) / 1000 if answered_waits else None)
    if k.offered:
        within = sum(w <= d.sl_seconds * 1000 for w in answered_waits)
        assert k.service_level == Fraction(within, k.offered)
    if answered_waits or abandoned_waits:
        assert k.mean_wait_all == Fraction(sum(answered_waits) + sum(abandoned_waits),
                                           1000 * (len(answered_waits) + len(abandoned_waits)))
    if answered_waits:
        assert k.mean_wait == Fraction(sum(answered_waits), 1000 * len(answered_waits))
        assert k.wait_p50 is not None
        assert k.wait_p90 is not None
        assert 0 <= k.wait_p50 <= k.wait_p90 <= 7200
        # a quantile never lies beyond the upper edge of the bucket of the longest wait
        assert k.wait_p90 <= WAIT_BUCKET_EDGES[min(bucket_index_ms(max(answered_waits)), BUCKET_COUNT - 2)]


@PROPS
@given(call=any_call)
def test_wait_ms_is_the_wait_in_microseconds_rounded_half_up(call: CallRecord) -> None:
    end = call.answered_at if call.outcome is Outcome.ANSWERED else call.ended_at
    if call.outcome is Outcome.REJECTED:
        assert call.wait_ms is None
        return
    assert end is not None
    micros = (end - call.arrived_at) // timedelta(microseconds=1)
    assert call.wait_ms == int((Decimal(micros) / 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- quantiles ----------------------------------------------------------------------------------

histograms = st.lists(st.integers(0, 20), min_size=BUCKET_COUNT, max_size=BUCKET_COUNT)
quantiles = st.floats(0, 1, allow_nan=False)


@PROPS
@given(h=histograms, q1=quantiles, q2=quantiles)
def test_quantile_is_monotone_and_bounded(h: list[int], q1: float, q2: float) -> None:
    lo, hi = sorted((q1, q2))
    a, b = estimate_quantile(lo, h), estimate_quantile(hi, h)
    if sum(h) == 0:
        assert a is None
        assert b is None
        return
    assert a is not None
    assert b is not None
    assert 0 <= a <= b <= 7200


@PROPS
@given(h=histograms)
def test_quantile_sweep_is_monotone(h: list[int]) -> None:
    values = [estimate_quantile(i / 100, h) for i in range(101)]
    if sum(h) == 0:
        assert set(values) == {None}
        return
    assert values == sorted(values)
    assert all(0 <= v <= 7200 for v in values)
