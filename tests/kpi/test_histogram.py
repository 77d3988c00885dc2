"""Wait histogram buckets and the histogram_quantile estimate (SPEC §5)."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.kpi import BUCKET_COUNT, WAIT_BUCKET_EDGES, bucket_index, estimate_quantile
from app.kpi.formulas import ratio
from app.kpi.histogram import _ranked, add_histograms, bucket_index_ms, empty_histogram, quantile

MIN = 60.0


def hist(waits: list[float]) -> list[int]:
    counts = [0] * BUCKET_COUNT
    for wait in waits:
        counts[bucket_index(wait)] += 1
    return counts


def test_edges_are_the_spec_edges() -> None:
    # 0, 30 s, 1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120 min, +Inf
    minutes = (1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120)
    spec = (0.0, 30.0, *(m * MIN for m in minutes), math.inf)
    assert spec == WAIT_BUCKET_EDGES
    assert BUCKET_COUNT == 15
    assert empty_histogram() == (0,) * 15


@pytest.mark.parametrize(("wait", "index"), [
    (0, 0), (0.001, 1), (30, 1), (30.5, 2), (60, 2), (600, 6), (600.5, 7), (601, 7), (7200, 13),
    (7200.5, 14), (86400, 14), (math.inf, 14),
])
def test_bucket_index_named_cases(wait: float, index: int) -> None:
    assert bucket_index(wait) == index


@pytest.mark.parametrize("i", range(BUCKET_COUNT - 1))
def test_bucket_index_at_every_edge_and_just_above(i: int) -> None:
    edge = WAIT_BUCKET_EDGES[i]
    assert bucket_index(edge) == i  # a wait falls in the first bucket whose edge it does not exceed
    assert bucket_index(math.nextafter(edge, math.inf)) == i + 1
    assert bucket_index(edge + 0.5) == i + 1
    if i > 0:
        assert bucket_index(math.nextafter(edge, 0)) == i


@pytest.mark.parametrize(("wait_ms", "index"), [
    (0, 0), (1, 1), (30_000, 1), (30_001, 2), (30_500, 2), (60_000, 2), (600_000, 6), (600_001, 7), (601_000, 7),
    (7_200_000, 13), (7_200_001, 14), (86_400_000, 14),
])
def test_bucket_index_ms_named_cases(wait_ms: int, index: int) -> None:
    assert bucket_index_ms(wait_ms) == index


@pytest.mark.parametrize("i", range(BUCKET_COUNT - 1))
def test_bucket_index_ms_at_every_edge_and_one_ms_either_side(i: int) -> None:
    edge_ms = int(WAIT_BUCKET_EDGES[i]) * 1000
    assert bucket_index_ms(edge_ms) == i  # the edge itself is in le=edge, compared exactly as integers
    assert bucket_index_ms(edge_ms + 1) == i + 1
    if i > 0:
        assert bucket_index_ms(edge_ms - 1) == i
    assert bucket_index_ms(edge_ms) == bucket_index(WAIT_BUCKET_EDGES[i])  # agrees with the seconds version
    assert bucket_index_ms(edge_ms + 1) == bucket_index((edge_ms + 1) / 1000)


def test_add_histograms() -> None:
    a = tuple(range(BUCKET_COUNT))
    assert add_histograms(a, empty_histogram()) == a
    assert add_histograms(a, a) == tuple(2 * x for x in a)
    with pytest.raises(ValueError):
        add_histograms(a, (1, 2))


def test_fixture_se_ac_october_percentiles() -> None:
    h = hist([300, 1200, 60, 600, 600, 30])
    # cumulative: le30 1, le60 2, le300 3, le600 5, le1200 6
    # p50: rank 0.5 * 6 = 3 -> bucket (180, 300], 1 call, rank 3 - 2 = 1: 180 + 120 * 1 / 1 = 300
    assert estimate_quantile(0.5, h) == pytest.approx(300, abs=1e-9)
    # p90: rank 5.4 -> bucket (900, 1200], 1 call, rank 5.4 - 5 = 0.4: 900 + 300 * 0.4 = 1020
    assert estimate_quantile(0.9, h) == pytest.approx(1020, abs=1e-9)


def test_fixture_se_bd_october_percentiles() -> None:
    h = hist([600, 601, 0])
    # cumulative: le0 1, le600 2, le900 3
    # p50: rank 1.5 -> (300, 600], rank 0.5 of 1: 300 + 300 * 0.5 = 450
    assert estimate_quantile(0.5, h) == pytest.approx(450, abs=1e-9)
    # p90: rank 2.7 -> (600, 900], rank 0.7 of 1: 600 + 300 * 0.7 = 810
    assert estimate_quantile(0.9, h) == pytest.approx(810, abs=1e-9)


def test_single_wait_of_a_minute() -> None:
    h = hist([60])
    assert estimate_quantile(0.5, h) == pytest.approx(45, abs=1e-9)  # (30, 60]: 30 + 30 * 0.5
    assert estimate_quantile(0.9, h) == pytest.approx(57, abs=1e-9)  # 30 + 30 * 0.9


def test_empty_histogram_has_no_quantile() -> None:
    assert estimate_quantile(0.5, empty_histogram()) is None
    assert estimate_quantile(0.9, [0] * BUCKET_COUNT) is None


def test_all_in_inf_bucket_gives_highest_finite_edge() -> None:
    h = hist([7201, 9000, 86400])
    assert estimate_quantile(0.5, h) == 7200
    assert estimate_quantile(0.9, h) == 7200
    assert estimate_quantile(1.0, h) == 7200


def test_all_zero_waits_give_zero() -> None:
    h = hist([0, 0, 0, 0])
    assert estimate_quantile(0.5, h) == 0
    assert estimate_quantile(0.9, h) == 0
    assert estimate_quantile(1.0, h) == 0


def test_quantile_extremes() -> None:
    h = hist([45, 500])  # le60 1, le600 1
    assert estimate_quantile(0.0, h) == 0  # rank 0 lands in the le0 bucket
    assert estimate_quantile(1.0, h) == 600  # upper edge of the highest non-empty bucket
    assert estimate_quantile(0.5, h) == 60  # rank 1 = the whole of (30, 60]: 30 + 30 * 1 / 1


def test_several_calls_in_one_bucket_interpolate() -> None:
    h = hist([100, 110, 115, 119])  # four in (60, 120]
    assert estimate_quantile(0.5, h) == pytest.approx(90)  # rank 2 of 4: 60 + 60 * 2 / 4
    assert estimate_quantile(0.25, h) == pytest.approx(75)  # rank 1 of 4: 60 + 60 / 4


@pytest.mark.parametrize("q", [-0.01, 1.01, math.nan])
def test_quantile_out_of_range(q: float) -> None:
    with pytest.raises(ValueError, match="quantile"):
        estimate_quantile(q, hist([1]))


def test_wrong_bucket_count() -> None:
    with pytest.raises(ValueError, match="buckets"):
        estimate_quantile(0.5, [1, 2, 3])


def test_the_scorecards_percentiles_are_exact_where_floats_are_not() -> None:
    """§5's interpolation in exact arithmetic: p90 of SE-AC's October is 900 + 300 × 4/10 = 1020 exactly, where
    the float steps give 1020.0000000000001; the float estimate stays PromQL's."""
    h = hist([300, 1200, 60, 600, 600, 30])
    assert quantile(Fraction(9, 10), h) == 1020
    assert quantile(Fraction(1, 2), h) == 300
    assert estimate_quantile(0.9, h) == 900.0 + 300.0 * (5.4 - 5)  # the float arithmetic, as PromQL does it
    assert quantile(Fraction(9, 10), hist([600, 601, 0])) == Fraction(810)
    assert quantile(Fraction(1, 2), empty_histogram()) is None
    assert quantile(Fraction(1), hist([7201, 9000])) == 7200
    assert quantile(Fraction(0), hist([0, 5])) == 0


@pytest.mark.parametrize("seed", range(20))
def test_exact_and_float_percentiles_differ_by_rounding_only(seed: int) -> None:
    rng = random.Random(seed)
    h = [rng.randrange(0, 50) for _ in range(BUCKET_COUNT)]
    for q in (Fraction(1, 2), Fraction(9, 10)):
        exact, estimate = quantile(q, h), estimate_quantile(float(q), h)
        if exact is None:
            assert estimate is None
        else:
            assert estimate == pytest.approx(float(exact), rel=1e-12)


# The scorecard's exact percentile is computed in integers (app.kpi.histogram.quantile); the reference is the
# bucketQuantile steps done in Fraction arithmetic (_ranked), which the float estimate shares.
_counts = st.lists(st.one_of(st.integers(0, 3), st.integers(0, 10**9)), min_size=BUCKET_COUNT, max_size=BUCKET_COUNT)
_quantiles = st.one_of(st.sampled_from([Fraction(0), Fraction(1, 2), Fraction(9, 10), Fraction(1)]),
                       st.fractions(min_value=0, max_value=1, max_denominator=10**6))


@settings(max_examples=2000, deadline=None)
@given(_counts, _quantiles)
def test_the_exact_percentile_equals_the_reference_steps_in_fractions(counts: list[int], q: Fraction) -> None:
    assert quantile(q, counts) == _ranked(q, counts, Fraction)


@pytest.mark.parametrize("q", [Fraction(-1, 100), Fraction(101, 100)])
def test_the_exact_percentile_refuses_a_quantile_outside_0_to_1(q: Fraction) -> None:
    with pytest.raises(ValueError, match="quantile"):
        quantile(q, hist([1]))
    with pytest.raises(ValueError, match="buckets"):
        quantile(Fraction(1, 2), [1, 2, 3])


@settings(max_examples=500, deadline=None)
@given(st.integers(-(10**12), 10**12), st.integers(-(10**12), 10**12).filter(bool))
def test_a_ratio_of_integers_is_the_exact_fraction(numerator: int, denominator: int) -> None:
    assert ratio(numerator, denominator) == Fraction(numerator) / Fraction(denominator)
    assert ratio(float(numerator), denominator) == Fraction(float(numerator)) / Fraction(denominator)
    assert ratio(numerator, 0) is None
