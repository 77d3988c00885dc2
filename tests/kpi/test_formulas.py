"""Hand-computed KPIs (SPEC §4) from call and interval records, through counts and formulas."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from app.kpi import (
    BUCKET_COUNT,
    CallRecord,
    Counts,
    Definitions,
    IntervalRecord,
    compute_kpis,
    counts_from_call,
    counts_from_interval,
    data_quality_notes,
    sum_counts,
)

from ._builders import T0, abandoned, answered, interval, rejected

DEFAULT = Definitions()
RATIOS = ("answer_rate", "mean_wait", "mean_wait_all", "abandon_rate", "rejected_rate", "service_level")


def calls_counts(calls: list[CallRecord], definitions: Definitions = DEFAULT) -> Counts:
    return sum_counts([counts_from_call(c, definitions) for c in calls])


def interval_counts(rows: list[IntervalRecord], definitions: Definitions = DEFAULT) -> Counts:
    return sum_counts([counts_from_interval(r, definitions) for r in rows])


# --- every KPI on a hand-computed case -------------------------------------------------------------

def se_ac_october() -> list[CallRecord]:
    """SE-AC's October 2025 calls of ../shared/fixtures/calls_october.csv, by their waits."""
    return [
        answered(300),  # c001 08:00 -> 08:05
        answered(1200),  # c002 08:10 -> 08:30
        abandoned(120),  # c003 09:00 -> 09:02
        abandoned(3),  # c004 09:01:00 -> 09:01:03
        rejected(),  # c005
        answered(60),  # c006 02:30 -> 02:31 (summer)
        answered(600),  # c007 02:30 -> 02:40 (winter)
        answered(600),  # c008 23:55 -> 00:05 next day
        answered(30, by="SE-BD"),  # c009 answered by another region
    ]


def test_every_kpi_of_a_region_month() -> None:
    k = compute_kpis(calls_counts(se_ac_october()))
    assert k.answered == 6  # c001 c002 c006 c007 c008 c009
    assert k.abandoned == 2  # c003 c004 (threshold 0: no abandon is short)
    assert k.short_abandons == 0
    assert k.rejected == 1  # c005
    assert k.offered == 9  # 6 + 2 + 1
    assert k.answer_rate == Fraction(6, 9)  # 0.666667
    # Σ answered waits = 300 + 1200 + 60 + 600 + 600 + 30 = 2790; 2790 / 6 = 465
    assert k.mean_wait == 465
    # (2790 + 120 + 3) / (6 + 2) = 2913 / 8 = 364.125
    assert k.mean_wait_all == Fraction(2913, 8)
    assert k.abandon_rate == Fraction(2, 9)  # 0.222222
    assert k.rejected_rate == Fraction(1, 9)  # 0.111111
    # waits <= 600: 300, 60, 600, 600, 30 -> 5 of 9 offered = 0.555556
    assert k.service_level == Fraction(5, 9)
    # histogram: 30->le30, 60->le60, 300->le300, 600 x2->le600, 1200->le1200
    # p50: rank 3 in (180,300] holding 1 of cum 2..3 -> 180 + 120 * 1/1 = 300
    assert k.wait_p50 == pytest.approx(300, abs=1e-9)
    # p90: rank 5.4 in (900,1200] holding 1 of cum 5..6 -> 900 + 300 * 0.4 = 1020
    assert k.wait_p90 == pytest.approx(1020, abs=1e-9)
    assert k.longest_wait == 1200
    assert k.answered_by_other_regions == 1  # c009, answered by SE-BD
    assert k.answered_for_other_regions == 0  # set only where the answering region is summed


def test_se_bd_october_one_second_over_service_level() -> None:
    calls = [answered(600, region="SE-BD"), answered(601, region="SE-BD"),  # c101, c102
             abandoned(1800, region="SE-BD"), answered(0, region="SE-BD")]  # c103, c104
    k = compute_kpis(calls_counts(calls))
    assert (k.offered, k.answered, k.abandoned, k.rejected) == (4, 3, 1, 0)
    assert k.answer_rate == Fraction(3, 4)
    assert k.mean_wait == Fraction(1201, 3)  # (600 + 601 + 0) / 3 = 400.333333
    assert k.mean_wait_all == Fraction(3001, 4)  # (1201 + 1800) / 4 = 750.25
    assert k.service_level == Fraction(2, 4)  # 600 and 0 are within 600 s, 601 is not
    assert k.wait_p50 == pytest.approx(450, abs=1e-9)  # rank 1.5 in (300,600]: 300 + 300 * 0.5
    assert k.wait_p90 == pytest.approx(810, abs=1e-9)  # rank 2.7 in (600,900]: 600 + 300 * 0.7
    assert k.longest_wait == 601


def test_answered_for_other_regions_and_cross_region_flag() -> None:
    call = answered(30, region="SE-AC", by="SE-BD")
    c = counts_from_call(call, DEFAULT)
    assert (c.answered_by_other_regions, c.answered_for_other_regions) == (1, 0)
    same = counts_from_call(answered(30, region="SE-AC", by="SE-AC"), DEFAULT)
    unknown = counts_from_call(answered(30, region="SE-AC", by=None), DEFAULT)
    assert same.answered_by_other_regions == unknown.answered_by_other_regions == 0
    # SE-BD's side: whoever sums across regions adds the help it gave.
    se_bd = calls_counts([answered(10, region="SE-BD")]) + Counts(answered_for_other_regions=1)
    assert compute_kpis(se_bd).answered_for_other_regions == 1
    assert compute_kpis(se_bd).answered_by_other_regions == 0
    both = compute_kpis(c + se_bd, cross_region=False)
    assert both.answered_by_other_regions is None
    assert both.answered_for_other_regions is None
    assert both.answered == 2  # the rest is unaffected


def test_talk_and_wrap_are_summed_and_rejected_calls_have_no_wait() -> None:
    c = calls_counts([answered(10, talk=400, wrap=120), answered(20, talk=360), rejected()])
    assert (c.talk_sum, c.wrap_sum) == (760, 120)
    assert c.wait_answered_ms == 30_000  # 10 s + 20 s in ms, the rejected call adds nothing
    assert rejected().wait_ms is None


# --- edges --------------------------------------------------------------------------------------

def test_zero_calls_every_ratio_is_none() -> None:
    k = compute_kpis(Counts())
    assert (k.offered, k.answered, k.abandoned, k.short_abandons, k.rejected) == (0, 0, 0, 0, 0)
    for key in (*RATIOS, "wait_p50", "wait_p90", "longest_wait"):
        assert getattr(k, key) is None, key
    assert all(v is None or v == 0 for v in k.as_dict().values())  # no NaN anywhere


def test_only_rejected_calls() -> None:
    k = compute_kpis(calls_counts([rejected(), rejected(), rejected()]))
    assert (k.offered, k.rejected, k.answered, k.abandoned) == (3, 3, 0, 0)
    assert k.answer_rate == 0  # 0 / 3
    assert k.abandon_rate == 0  # 0 / 3
    assert k.rejected_rate == 1  # 3 / 3
    assert k.service_level == 0  # 0 within SL / 3
    assert k.mean_wait is None  # 0 answered
    assert k.mean_wait_all is None  # 0 answered + 0 abandoned
    assert (k.wait_p50, k.wait_p90, k.longest_wait) == (None, None, None)


@pytest.mark.parametrize(("sl", "wait", "within"), [
    (600, 600, 1), (600, 601, 0), (600, 599.999, 1), (600, 600.001, 0), (30, 30, 1), (30, 31, 0),
    (0, 0, 1), (0, 1, 0),
    # compared in whole ms, rounded half up from microseconds: 600_000.4 ms -> 600_000, 600_000.5 -> 600_001
    (600, 600.0004, 1), (600, 600.0005, 0), (0, 0.0004, 1), (0, 0.0005, 0),
])
def test_service_level_threshold_is_inclusive(sl: int, wait: float, within: int) -> None:
    c = counts_from_call(answered(wait), Definitions(sl_seconds=sl))
    assert c.answered_within_sl == within
    assert compute_kpis(c).service_level == within  # within / 1 offered


def test_short_abandons_threshold_zero_means_none() -> None:
    calls = [answered(100), abandoned(0), abandoned(3), abandoned(5)]
    k = compute_kpis(calls_counts(calls, Definitions(short_abandon_seconds=0)))
    assert (k.offered, k.abandoned, k.short_abandons) == (4, 3, 0)  # 1 + 3 + 0, a 0 s wait is not < 0
    assert k.mean_wait_all == 27  # (100 + 0 + 3 + 5) / 4 = 108 / 4


def test_short_abandons_threshold_five_seconds() -> None:
    calls = [answered(100), abandoned(3), abandoned(5), abandoned(4.999)]
    k = compute_kpis(calls_counts(calls, Definitions(short_abandon_seconds=5)))
    assert k.short_abandons == 2  # 3 s and 4.999 s are < 5 (4999 ms < 5000 ms)
    assert k.abandoned == 1  # 5 s is not short: short means wait < threshold
    assert k.offered == 2  # 1 answered + 1 abandoned, the short ones excluded
    assert k.answer_rate == Fraction(1, 2)
    assert k.abandon_rate == Fraction(1, 2)
    assert k.mean_wait_all == Fraction(105, 2)  # (100 + 5) / 2: the 3 s and 4.999 s waits left out
    assert k.mean_wait == 100


@pytest.mark.parametrize(("wait", "short"), [
    (4.999, 1), (4.9994, 1), (4.9995, 0), (5, 0),  # 4999.4 ms -> 4999 < 5000; 4999.5 ms -> 5000, not short
])
def test_short_abandon_is_decided_in_whole_ms(wait: float, short: int) -> None:
    c = counts_from_call(abandoned(wait), Definitions(short_abandon_seconds=5))
    assert (c.short_abandons, c.abandoned) == (short, 1 - short)
    assert c.wait_abandoned_ms == (0 if short else 5000)  # a short abandon's wait is left out


def test_call_waits_are_whole_ms_rounded_half_up() -> None:
    assert answered(600).wait_ms == 600_000
    assert answered(0.0004).wait_ms == 0  # 400 µs
    assert answered(0.0005).wait_ms == 1  # 500 µs rounds half up
    assert abandoned(1.2345).wait_ms == 1235  # 1_234_500 µs
    assert answered(0.1).wait_ms == 100
    c = calls_counts([answered(0.1), answered(0.2), abandoned(0.3)])
    assert (c.wait_answered_ms, c.wait_abandoned_ms, c.longest_wait_ms) == (300, 300, 200)
    assert compute_kpis(c).mean_wait == Fraction(3, 20)  # 300 ms / 2 = 0.15 s, exactly
    assert compute_kpis(c).mean_wait_all == Fraction(1, 5)  # 600 ms / 3 = 0.2 s, exactly
    assert compute_kpis(c).longest_wait == 0.2


@pytest.mark.parametrize(("wait", "index"), [
    (0, 0), (0.0004, 0), (0.0005, 1), (30, 1), (30.001, 2), (600, 6), (600.0004, 6), (600.001, 7), (7200.001, 14),
])
def test_call_wait_lands_in_the_bucket_of_its_whole_ms(wait: float, index: int) -> None:
    c = counts_from_call(answered(wait), DEFAULT)
    assert c.wait_histogram == tuple(int(i == index) for i in range(BUCKET_COUNT))


def test_definitions_reject_negative_settings() -> None:
    with pytest.raises(ValueError, match="short_abandon_seconds"):
        Definitions(short_abandon_seconds=-1)
    with pytest.raises(ValueError, match="sl_seconds"):
        Definitions(sl_seconds=-1)


# --- interval records ---------------------------------------------------------------------------

def _busy_row() -> IntervalRecord:
    # the 2025-10-27 08:00 row of intervals_october.csv
    return interval(answered=5, abandoned=2, abandoned_short=1, rejected=3, answered_within_sl=5,
                    wait_answered=1000, wait_abandoned=100, longest=400)


def test_interval_kpis() -> None:
    k = compute_kpis(interval_counts([_busy_row()]))
    assert (k.offered, k.answered, k.abandoned, k.short_abandons, k.rejected) == (10, 5, 2, 0, 3)
    assert k.answer_rate == Fraction(5, 10)
    assert k.abandon_rate == Fraction(2, 10)
    assert k.rejected_rate == Fraction(3, 10)
    assert k.service_level == Fraction(5, 10)
    assert k.mean_wait == 200  # 1000 / 5
    assert k.mean_wait_all == Fraction(1100, 7)  # (1000 + 100) / (5 + 2)
    assert k.longest_wait == 400
    assert (k.wait_p50, k.wait_p90) == (None, None)  # interval data: no percentiles


def test_interval_seconds_become_whole_ms() -> None:
    c = counts_from_interval(_busy_row(), DEFAULT)
    assert (c.wait_answered_ms, c.wait_abandoned_ms, c.longest_wait_ms) == (1_000_000, 100_000, 400_000)
    # platform sums with sub-second parts, rounded half up to ms; 0.1 + 0.2 is 0.30000000000000004 as a float
    row = interval(answered=2, abandoned=1, wait_answered=0.1 + 0.2, wait_abandoned=12.3455, longest=0.2)
    c = counts_from_interval(row, DEFAULT)
    assert (c.wait_answered_ms, c.wait_abandoned_ms, c.longest_wait_ms) == (300, 12_346, 200)
    assert compute_kpis(c).mean_wait == Fraction(3, 20)  # 300 ms / 2
    assert compute_kpis(c).longest_wait == 0.2
    none = counts_from_interval(interval(answered=1, longest=None), DEFAULT)
    assert none.longest_wait_ms is None


def test_interval_short_abandons_subtracted_only_with_a_threshold() -> None:
    at_zero = compute_kpis(interval_counts([_busy_row()], Definitions(short_abandon_seconds=0)))
    assert (at_zero.abandoned, at_zero.short_abandons, at_zero.offered) == (2, 0, 10)
    at_five = compute_kpis(interval_counts([_busy_row()], Definitions(short_abandon_seconds=5)))
    assert (at_five.abandoned, at_five.short_abandons, at_five.offered) == (1, 1, 9)  # 2 - 1; 10 - 1
    assert at_five.answer_rate == Fraction(5, 9)
    assert at_five.abandon_rate == Fraction(1, 9)
    # the platform's abandoned wait sum cannot be split: (1000 + 100) / (5 + 1) would count the short abandon's wait
    # over calls that leave it out, so the remaining abandoned call's wait is unknown
    assert at_five.mean_wait_all is None and at_five.mean_wait == Fraction(1000, 5)
    assert at_zero.mean_wait_all == Fraction(1100, 7)


def test_interval_with_another_service_level_threshold() -> None:
    row = interval(answered=4, abandoned=1, answered_within_sl=3, sl_seconds=20, wait_answered=80)
    c = interval_counts([row])
    k = compute_kpis(c)
    assert k.service_level is None  # 3 answered within 20 s says nothing about 600 s
    assert k.answer_rate == Fraction(4, 5)  # the rest is computed
    assert k.mean_wait == 20  # 80 / 4
    notes = data_quality_notes(c)
    assert len(notes) == 1
    assert "4 answered calls" in notes[0]
    assert "service-level threshold" in notes[0]
    # mixed with call data of the right threshold: still unknown for the span
    mixed = c + calls_counts([answered(10)])
    assert compute_kpis(mixed).service_level is None
    # the same row under sl_seconds=20 is fine
    ok = interval_counts([row], Definitions(sl_seconds=20))
    assert compute_kpis(ok).service_level == Fraction(3, 5)
    assert data_quality_notes(ok) == []


def test_reported_offered_mismatch_is_a_note_not_the_denominator() -> None:
    row = interval(offered=12, answered=5, abandoned=2, rejected=3, answered_within_sl=5)
    c = interval_counts([row])
    assert compute_kpis(c).offered == 10  # 5 + 2 + 3, not the reported 12
    assert compute_kpis(c).answer_rate == Fraction(5, 10)
    notes = data_quality_notes(c)
    assert len(notes) == 1
    assert "12 offered" in notes[0]
    assert "is 10" in notes[0]
    assert data_quality_notes(interval_counts([_busy_row()])) == []  # consistent: 10 == 5 + 2 + 3


def test_mismatch_survives_summing_with_consistent_rows() -> None:
    rows = [_busy_row(), interval(offered=3, answered=4)]
    notes = data_quality_notes(interval_counts(rows))
    assert any("13 offered" in n and "is 14" in n for n in notes)  # 10 + 3 vs 10 + 4


def test_percentiles_none_when_any_interval_data_is_in_the_sum() -> None:
    calls = calls_counts([answered(60)])
    assert compute_kpis(calls).wait_p50 == pytest.approx(45)  # 30 + 30 * 0.5
    empty_row = interval_counts([interval()])  # a row with no calls at all still is interval data
    mixed = calls + empty_row
    k = compute_kpis(mixed)
    assert (k.wait_p50, k.wait_p90) == (None, None)
    assert k.mean_wait == 60  # the rest is unaffected
    assert any("both call records and interval reports contribute" in n for n in data_quality_notes(mixed))


def test_call_data_alone_has_no_notes() -> None:
    assert data_quality_notes(calls_counts(se_ac_october())) == []
    assert data_quality_notes(Counts()) == []


def test_as_dict_gives_floats_in_kpi_order() -> None:
    d = compute_kpis(calls_counts(se_ac_october())).as_dict()
    assert list(d)[:5] == ["offered", "answered", "abandoned", "short_abandons", "rejected"]
    assert d["answer_rate"] == pytest.approx(0.666667, abs=1e-6)
    assert isinstance(d["mean_wait"], float)
    assert d["offered"] == 9


def test_interval_without_wait_sums_gives_unknown_means_not_zero() -> None:
    row = interval(answered=4, abandoned=1, answered_within_sl=4, wait_answered=None, wait_abandoned=None)
    c = interval_counts([row])
    k = compute_kpis(c)
    assert k.mean_wait is None  # not 0 / 4
    assert k.mean_wait_all is None
    assert k.longest_wait is None  # no longest_wait_seconds column either
    assert k.answer_rate == Fraction(4, 5)  # counts are still known
    assert any("cover 5 calls" in n for n in data_quality_notes(c))  # 4 + 1
    # the unknown survives summing with complete data
    assert compute_kpis(c + calls_counts([answered(10)])).mean_wait is None


def test_latest_record_at_is_the_latest_arrival_or_interval_end() -> None:
    c = calls_counts([answered(5, at=T0), rejected(at=T0 + timedelta(hours=2))])
    assert c.latest_record_at == T0 + timedelta(hours=2)  # arrivals, not answer times
    row = counts_from_interval(interval(answered=1, start=T0, minutes=30), DEFAULT)
    assert row.latest_record_at == T0 + timedelta(minutes=30)  # the end of the interval
    assert (c + row).latest_record_at == T0 + timedelta(hours=2)
    assert Counts().latest_record_at is None
    assert (Counts() + row).latest_record_at == T0 + timedelta(minutes=30)


def test_split_off_short_abandons_make_the_other_abandoned_waits_unknown() -> None:
    """The platform's abandoned wait sum holds the short abandons' waits: with them split off, mean_wait_all would
    put 300 s over 19 calls; it is not computed, and the note counts the 2 calls whose waits are unknown."""
    row = interval(answered=17, abandoned=3, abandoned_short=1, wait_answered=10200.0, wait_abandoned=300.0)
    c = interval_counts([row], Definitions(short_abandon_seconds=5))
    k = compute_kpis(c)
    assert (k.offered, k.abandoned, k.short_abandons) == (19, 2, 1)
    assert k.mean_wait == Fraction(10200, 17) and k.mean_wait_all is None
    assert any("short abandons inside the abandoned wait sum" in n and "cover 2 calls" in n
               for n in data_quality_notes(c))
    assert compute_kpis(interval_counts([row])).mean_wait_all == Fraction(10500, 20)  # no threshold: as reported
    all_short = interval(answered=17, abandoned=1, abandoned_short=1, wait_answered=10200.0, wait_abandoned=3.0)
    assert compute_kpis(interval_counts([all_short], Definitions(short_abandon_seconds=5))).mean_wait_all == Fraction(
        10200, 17)
