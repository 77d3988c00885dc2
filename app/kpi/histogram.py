"""Wait histogram with the fixed bucket edges of SPEC §5, and the percentile estimate.

The edges are fixed (not configurable) because hourly aggregates are summed across years: a histogram
is only additive when every hour uses the same edges. They match the Prometheus histogram we export,
so a percentile computed here equals PromQL's ``histogram_quantile`` over the same calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TypeVar

#: Upper bounds in seconds: 0, 30 s, 1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120 min, +Inf.
WAIT_BUCKET_EDGES: tuple[float, ...] = (
    0.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0, 5400.0, 7200.0,
    math.inf,
)
BUCKET_COUNT = len(WAIT_BUCKET_EDGES)
#: the finite edges as integers, for the exact percentile (every finite edge is a whole number of seconds)
_EXACT_EDGES: tuple[int, ...] = tuple(int(edge) for edge in WAIT_BUCKET_EDGES[:-1])
N = TypeVar("N", float, Fraction)


def bucket_index(wait_seconds: float) -> int:
    """Index of the first bucket whose edge the wait does not exceed (600 s is in le=600)."""
    for i, edge in enumerate(WAIT_BUCKET_EDGES):
        if wait_seconds <= edge:
            return i
    return BUCKET_COUNT - 1  # unreachable: the last edge is +Inf


def bucket_index_ms(wait_ms: int) -> int:
    """``bucket_index`` on whole milliseconds, compared exactly as integers."""
    for i, edge in enumerate(WAIT_BUCKET_EDGES[:-1]):
        if wait_ms <= int(edge) * 1000:
            return i
    return BUCKET_COUNT - 1  # longer than the last finite edge: +Inf


def empty_histogram() -> tuple[int, ...]:
    return (0,) * BUCKET_COUNT


def add_histograms(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def estimate_quantile(q: float, bucket_counts: Sequence[int]) -> float | None:
    """Prometheus ``histogram_quantile`` (bucketQuantile, v2.x) over non-cumulative bucket counts, in its float
    arithmetic: what PromQL over the exported histogram gives.

    Linear interpolation inside the bucket that holds the rank; the first bucket's lower bound is 0;
    a rank in the +Inf bucket returns the highest finite edge. ``None`` when there is nothing to rank.
    """
    return _ranked(q, bucket_counts, float)


def quantile(q: Fraction, bucket_counts: Sequence[int]) -> Fraction | None:
    """The same interpolation in exact arithmetic, for the scorecard: a target on a percentile is judged on the
    value §5 defines, so p90 = 900 + 300 × 4/10 is 1020 and meets a target of 1020 (in floats it is
    1020.0000000000001 and would miss it).

    It is ``_ranked`` in ``Fraction`` arithmetic, computed in integers with one ``Fraction`` at the end: a
    scorecard asks for two percentiles of each of some 60 scopes and spans, and the comparisons and divisions of
    ``Fraction`` were a third of its time. ``tests/kpi/test_histogram.py`` proves the two equal."""
    _check(q, bucket_counts)
    total = sum(bucket_counts)
    if total == 0:
        return None
    # rank = q × total = num × total / den; "cumulative ≥ rank" is compared multiplied by den, in integers.
    num, den = q.numerator, q.denominator
    scaled_rank = num * total
    before = 0  # the cumulative count of the buckets below the current one
    for b, count in enumerate(bucket_counts[:-1]):
        if (before + count) * den >= scaled_rank:
            if b == 0:  # the first bucket's edge is 0: nothing to interpolate
                return Fraction(_EXACT_EDGES[0])
            start, end = _EXACT_EDGES[b - 1], _EXACT_EDGES[b]
            scale = den * count  # the bucket's count, scaled like the rank; not 0, since before < rank
            return Fraction(start * scale + (end - start) * (scaled_rank - den * before), scale)
        before += count
    return Fraction(_EXACT_EDGES[-1])  # a rank in the +Inf bucket: the highest finite edge


def _check(q: float | Fraction, bucket_counts: Sequence[int]) -> None:
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must be within [0, 1], got {q}")
    if len(bucket_counts) != BUCKET_COUNT:
        raise ValueError(f"expected {BUCKET_COUNT} buckets, got {len(bucket_counts)}")


def _ranked(q: N, bucket_counts: Sequence[int], number: Callable[[float], N]) -> N | None:
    """The quantile ``q`` of the buckets in the arithmetic of ``number``; ``None`` when there is nothing to rank."""
    _check(q, bucket_counts)
    cumulative: list[int] = []
    running = 0
    for bucket in bucket_counts:
        running += bucket
        cumulative.append(running)
    if running == 0:
        return None
    return _interpolated(q * running, cumulative, number)


def _interpolated(rank: N, cumulative: list[int], number: Callable[[float], N]) -> N:
    """bucketQuantile's steps, in the arithmetic of ``number`` (float, or Fraction for exact values)."""
    # sort.Search over all buckets but the +Inf one: first whose cumulative count reaches the rank.
    b = next((i for i in range(BUCKET_COUNT - 1) if cumulative[i] >= rank), BUCKET_COUNT - 1)
    if b == BUCKET_COUNT - 1:
        return number(WAIT_BUCKET_EDGES[-2])
    if b == 0 and WAIT_BUCKET_EDGES[0] <= 0:
        return number(WAIT_BUCKET_EDGES[0])
    bucket_start = number(0.0)
    bucket_end = number(WAIT_BUCKET_EDGES[b])
    in_bucket = number(cumulative[b])
    if b > 0:
        bucket_start = number(WAIT_BUCKET_EDGES[b - 1])
        in_bucket -= cumulative[b - 1]
        rank -= cumulative[b - 1]
    return bucket_start + (bucket_end - bucket_start) * (rank / in_bucket)
