"""Target decisions with exact arithmetic, and which target version is in force (SPEC §6)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from app.kpi import (
    Comparator,
    Counts,
    Definitions,
    Kpis,
    Status,
    Target,
    closed_month_status,
    compute_kpis,
    counts_from_call,
    month_to_date_status,
    sum_counts,
)
from app.kpi.targets import target_in_force

from ._builders import answered

ANSWER_RATE = Target("answer_rate", Comparator.AT_LEAST, Decimal("0.85"), date(2025, 1, 1))
MEAN_WAIT = Target("mean_wait", Comparator.AT_MOST, Decimal("600"), date(2025, 1, 1))


def kpis(answered: int = 0, abandoned: int = 0, rejected: int = 0, wait_answered_ms: int = 0) -> Kpis:
    return compute_kpis(Counts(answered=answered, abandoned=abandoned, rejected=rejected,
                               wait_answered_ms=wait_answered_ms, call_records=1))


def test_bound_is_exact() -> None:
    assert ANSWER_RATE.bound == Fraction(17, 20)  # Decimal("0.85") exactly, not the binary float
    assert ANSWER_RATE.bound != Fraction(0.85)


def test_34_of_40_meets_85_percent() -> None:
    k = kpis(answered=34, abandoned=6)  # SE-Z on 2025-10-26: 34 / 40 = 0.85 exactly
    assert k.answer_rate == Fraction(17, 20)
    assert ANSWER_RATE.comparator.holds(k.answer_rate, ANSWER_RATE.bound)
    assert closed_month_status(k, ANSWER_RATE) is Status.MET


def test_33_of_40_misses_85_percent() -> None:
    k = kpis(answered=33, abandoned=7)  # 33 / 40 = 0.825 < 0.85
    assert closed_month_status(k, ANSWER_RATE) is Status.MISSED


@pytest.mark.parametrize(("n_answered", "offered", "status"), [
    (17, 20, Status.MET),  # 0.85
    (85, 100, Status.MET),  # 0.85
    (849, 1000, Status.MISSED),  # 0.849
    (8499999, 10000000, Status.MISSED),  # 0.8499999: one call short in ten million
    (1, 1, Status.MET),
    (0, 5, Status.MISSED),
])
def test_answer_rate_boundary(n_answered: int, offered: int, status: Status) -> None:
    k = kpis(answered=n_answered, abandoned=offered - n_answered)
    assert closed_month_status(k, ANSWER_RATE) is status


def test_mean_wait_exactly_600_meets_at_most_600() -> None:
    # three calls waiting 500, 600, 700 s: 1800 / 3 = 600 exactly
    counts = sum_counts([counts_from_call(answered(w), Definitions()) for w in (500, 600, 700)])
    k = compute_kpis(counts)
    assert k.mean_wait == 600
    assert closed_month_status(k, MEAN_WAIT) is Status.MET
    # one second more in total: 1801 / 3 = 600.33 > 600
    assert closed_month_status(kpis(answered=3, wait_answered_ms=1_801_000), MEAN_WAIT) is Status.MISSED
    # one millisecond more in total is already over: 1800.001 / 3 > 600
    assert closed_month_status(kpis(answered=3, wait_answered_ms=1_800_001), MEAN_WAIT) is Status.MISSED
    assert closed_month_status(kpis(answered=3, wait_answered_ms=1_800_000), MEAN_WAIT) is Status.MET


def test_mean_wait_exactly_600_from_sub_second_waits_meets() -> None:
    # 500.1 + 700.2 + 599.7 = 1800.0 exactly; 1800 / 3 = 600 (as binary floats the sum was 1800.0000000000002)
    counts = sum_counts([counts_from_call(answered(w), Definitions()) for w in (500.1, 700.2, 599.7)])
    assert counts.wait_answered_ms == 1_800_000  # 500_100 + 700_200 + 599_700
    assert compute_kpis(counts).mean_wait == 600
    assert closed_month_status(compute_kpis(counts), MEAN_WAIT) is Status.MET


def test_closed_month_no_data() -> None:
    empty = compute_kpis(Counts())
    assert closed_month_status(empty, ANSWER_RATE) is Status.NO_DATA  # 0 offered
    assert closed_month_status(empty, MEAN_WAIT) is Status.NO_DATA  # 0 answered
    all_abandoned = kpis(abandoned=4)
    assert closed_month_status(all_abandoned, ANSWER_RATE) is Status.MISSED  # 0 / 4
    assert closed_month_status(all_abandoned, MEAN_WAIT) is Status.NO_DATA  # no answered wait


def test_month_to_date_status() -> None:
    assert month_to_date_status(kpis(answered=34, abandoned=6), ANSWER_RATE) is Status.ON_TRACK  # 0.85
    assert month_to_date_status(kpis(answered=33, abandoned=7), ANSWER_RATE) is Status.AT_RISK  # 0.825
    assert month_to_date_status(compute_kpis(Counts()), ANSWER_RATE) is Status.NO_DATA
    assert month_to_date_status(kpis(answered=2, wait_answered_ms=1_200_000), MEAN_WAIT) is Status.ON_TRACK  # 600
    assert month_to_date_status(kpis(answered=2, wait_answered_ms=1_202_000), MEAN_WAIT) is Status.AT_RISK  # 601


def test_comparators() -> None:
    assert Comparator.AT_LEAST.holds(Fraction(1), Fraction(1))
    assert not Comparator.AT_LEAST.holds(Fraction(0), Fraction(1))
    assert Comparator.AT_MOST.holds(Fraction(1), Fraction(1))
    assert not Comparator.AT_MOST.holds(Fraction(2), Fraction(1))
    assert Comparator(">=") is Comparator.AT_LEAST
    assert Comparator("<=") is Comparator.AT_MOST


def test_target_on_a_float_kpi() -> None:
    k = compute_kpis(counts_from_call(answered(60), Definitions()))  # longest 60, p90 57
    assert closed_month_status(k, Target("longest_wait", Comparator.AT_MOST, Decimal(60),
                                         date(2025, 1, 1))) is Status.MET
    assert closed_month_status(k, Target("wait_p90", Comparator.AT_MOST, Decimal(56),
                                         date(2025, 1, 1))) is Status.MISSED


# --- target_in_force ----------------------------------------------------------------------------

def _versions() -> list[Target]:
    return [
        Target("answer_rate", Comparator.AT_LEAST, Decimal("0.80"), date(2024, 1, 1)),
        Target("answer_rate", Comparator.AT_LEAST, Decimal("0.85"), date(2025, 1, 1)),
        Target("answer_rate", Comparator.AT_LEAST, Decimal("0.90"), date(2025, 11, 1)),
        Target("mean_wait", Comparator.AT_MOST, Decimal("600"), date(2025, 6, 1)),
    ]


@pytest.mark.parametrize(("month", "value"), [
    (date(2023, 12, 1), None),  # before any version
    (date(2024, 1, 1), Decimal("0.80")),  # valid_from is the month itself: in force
    (date(2024, 12, 1), Decimal("0.80")),
    (date(2025, 10, 1), Decimal("0.85")),  # a past month keeps the target valid then
    (date(2025, 11, 1), Decimal("0.90")),
    (date(2026, 3, 1), Decimal("0.90")),
])
def test_target_in_force_picks_latest_valid_from_not_after(month: date, value: Decimal | None) -> None:
    versions = _versions()
    random.Random(month.toordinal()).shuffle(versions)  # order of the list does not matter
    found = target_in_force(versions, "answer_rate", month)
    assert (found.value if found else None) == value


def test_target_in_force_filters_by_kpi() -> None:
    assert target_in_force(_versions(), "mean_wait", date(2025, 5, 1)) is None
    mean_wait = target_in_force(_versions(), "mean_wait", date(2025, 6, 1))
    assert mean_wait is not None
    assert mean_wait.value == 600
    assert target_in_force(_versions(), "service_level", date(2025, 6, 1)) is None
    assert target_in_force([], "answer_rate", date(2025, 6, 1)) is None


def test_target_in_force_day_before_month() -> None:
    month = date(2025, 11, 1)
    assert target_in_force(_versions(), "answer_rate", month - timedelta(days=1)).value == Decimal("0.85")


def test_a_percentile_exactly_at_its_target_meets_it() -> None:
    """SE-AC's October p90 is 1020 s by §5's interpolation; a target of at most 1020 s is met (it was missed when
    the float 1020.0000000000001 was judged)."""
    waits = [300, 1200, 60, 600, 600, 30]
    month = compute_kpis(sum_counts([counts_from_call(answered(wait), Definitions()) for wait in waits]))
    at_most = Target("wait_p90", Comparator.AT_MOST, Decimal("1020"), date(2025, 1, 1))
    assert month.exact("wait_p90") == 1020
    assert closed_month_status(month, at_most) is Status.MET
    assert closed_month_status(month, Target("wait_p90", Comparator.AT_MOST, Decimal("1019.99"),
                                             date(2025, 1, 1))) is Status.MISSED
    assert month.as_dict()["wait_p90"] == 1020.0
