"""The pure parts of the advice: estimates with their guards and fallbacks, the hourly forecast, one hour's advice."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from fractions import Fraction

import pytest

from app.kpi.forecast import forecast_rest, sample_plan
from app.kpi.localtime import HOUR, STOCKHOLM
from app.kpi.staffing import Goal, servers_needed
from app.staffing.estimates import MIN_ABANDONED, MIN_HANDLED, HourSums, estimate
from app.staffing.forecast import hourly_forecast
from app.staffing.plan import advise_hour, totals


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=STOCKHOLM).astimezone(UTC)


def hour(slot: tuple[int, int], answered: int, abandoned: int, handling: float = 570.0, wait: float = 100.0,
         known: bool = True) -> HourSums:
    return HourSums(slot, answered, abandoned, answered * handling, (answered + abandoned) * wait, known)


def test_patience_is_abandons_over_every_callers_wait() -> None:
    rows = [hour((0, 9), 100, 25, wait=200.0)] * 2
    parameters = estimate(rows).at((0, 9))
    assert parameters.patience_rate.value == pytest.approx(50 / (2 * 125 * 200.0))
    assert (parameters.patience_rate.calls, parameters.patience_rate.events, parameters.patience_rate.basis) == (
        250, 50, "slot")
    assert parameters.patience_seconds == pytest.approx(1000.0)
    assert parameters.handling_seconds.value == 570.0 and parameters.handling_seconds.calls == 200


def test_a_thin_slot_takes_its_regions_value_and_says_so() -> None:
    rows = [hour((0, 9), 200, 60, handling=600.0, wait=100.0), hour((0, 3), MIN_HANDLED - 1, MIN_ABANDONED - 1,
                                                                     handling=300.0, wait=50.0)]
    night = estimate(rows).at((0, 3))
    assert night.handling_seconds.basis == "region" and night.patience_rate.basis == "region"
    assert night.handling_seconds.calls == 200 + MIN_HANDLED - 1
    assert night.handling_seconds.value == pytest.approx((200 * 600 + 29 * 300) / 229)
    assert estimate(rows).at((6, 23)) == estimate(rows).overall  # an hour never seen


def test_hours_without_handling_or_waits_are_left_out() -> None:
    rows = [hour((1, 8), 100, 20), HourSums((1, 8), 100, 20, 0.0, 0.0, False)]  # a report without the sums
    parameters = estimate(rows).at((1, 8))
    assert parameters.handling_seconds.calls == 100 and parameters.handling_seconds.value == 570.0
    assert parameters.patience_rate.calls == 120


def test_no_abandons_in_the_region_means_erlang_c() -> None:
    rows = [hour((1, 8), 100, 0)]
    parameters = estimate(rows).at((1, 8))
    assert parameters.patience_rate.value == 0.0 and parameters.patience_rate.basis == "none"
    advice = advise_hour(local(2025, 3, 3, 8), 30.0, parameters, Goal(0.85, 600), None)
    assert advice.target is not None and advice.target.nurses == advice.erlang_c_nurses
    assert advice.note is not None and "Erlang C" in str(advice.note)


def test_no_data_at_all_gives_no_advice_rather_than_a_guess() -> None:
    parameters = estimate([]).overall
    assert parameters.handling_seconds.value is None and parameters.handling_seconds.basis == "none"
    advice = advise_hour(local(2025, 3, 3, 8), 30.0, parameters, Goal(0.85, 600), None)
    assert advice.target is None and str(advice.note) == "no handling times to estimate from"


def test_hourly_forecast_sums_to_the_scorecards_forecast() -> None:
    rng = random.Random(17)
    history: dict[datetime, int] = {}
    moment = local(2025, 9, 1)
    while moment < local(2025, 10, 26, 14):
        history[moment] = rng.randint(0, 60)
        moment += HOUR
    now = local(2025, 10, 26, 13, 20)  # the autumn DST day: the repeated 02 hour is its own slot
    end = local(2025, 11, 1)
    for first in (local(2025, 9, 1), local(2025, 10, 3, 7)):
        plan = sample_plan(now, end)
        whole = forecast_rest(history, now, end, first, plan=plan)
        first_hour = local(2025, 10, 26, 13)
        hourly = hourly_forecast(history, plan, first, first_hour, end)
        assert all(value is not None for value in hourly.values())
        share = Fraction(40, 60)
        total = sum((value or 0) * (share if moment == first_hour else 1) for moment, value in hourly.items())
        assert total == whole.expected_rest


def test_hourly_forecast_is_none_for_an_hour_of_the_week_never_seen() -> None:
    history = {local(2025, 10, 20, 9): 10}
    now = local(2025, 10, 21, 12)
    plan = sample_plan(now, local(2025, 11, 1))
    hourly = hourly_forecast(history, plan, local(2025, 10, 20, 9), local(2025, 10, 21, 12), local(2025, 11, 1))
    assert hourly[local(2025, 10, 27, 9)] == 10
    assert hourly[local(2025, 10, 21, 12)] is None  # Tuesday 12: no sample at or after the first data


def test_totals_add_up_hours() -> None:
    parameters = estimate([hour((0, h), 100, 30) for h in range(24)]).overall
    hours = [advise_hour(local(2025, 3, 3, h), 20.0 + h, parameters, Goal(0.85, 600), Goal(0.9, 600))
             for h in range(3)]
    total = totals(hours, recovering=True)
    assert total.hours == 3 and total.offered == pytest.approx(63.0)
    assert total.nurse_hours == sum(h.target.nurses for h in hours if h.target)
    assert total.nurse_hours_recover == sum(h.recover.nurses for h in hours if h.recover)
    want = servers_needed(20 / 3600, 1 / 570, parameters.patience_rate.value or 0, Goal(0.85, 600))
    assert hours[0].target is not None and hours[0].target.nurses == want.servers
