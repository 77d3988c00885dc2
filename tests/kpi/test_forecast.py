"""The month-in-progress forecast and the answer rate needed (SPEC §6), with hand-computed expectations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from app.kpi.forecast import forecast_rest, in_progress_status, needed_answer_rate, needed_mean_wait
from app.kpi.localtime import HOUR, STOCKHOLM
from app.kpi.targets import Comparator, Status, Target

ANSWER_RATE = Target("answer_rate", Comparator.AT_LEAST, Decimal("0.85"), datetime(2000, 1, 1).date())
MEAN_WAIT = Target("mean_wait", Comparator.AT_MOST, Decimal("600"), datetime(2000, 1, 1).date())


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=STOCKHOLM).astimezone(UTC)


def every_hour(start: datetime, end: datetime, offered: int) -> dict[datetime, int]:
    history, hour = {}, start
    while hour < end:
        history[hour] = offered
        hour += HOUR
    return history


def test_a_steady_history_forecasts_the_same_rate_for_every_remaining_hour() -> None:
    history = every_hour(local(2025, 2, 1), local(2025, 3, 20, 12), 10)
    rest = forecast_rest(history, local(2025, 3, 20, 12), local(2025, 3, 21), first_data=local(2025, 2, 1))
    assert rest.expected_rest == 120 and rest.weeks == 4  # 12 hours × 10


def test_the_hour_in_progress_counts_with_what_is_left_of_it() -> None:
    history = every_hour(local(2025, 2, 1), local(2025, 3, 20, 12), 10)
    rest = forecast_rest(history, local(2025, 3, 20, 12, 30), local(2025, 3, 21), first_data=local(2025, 2, 1))
    assert rest.expected_rest == 115  # half of 10, then 11 × 10


def test_the_same_weekday_and_hour_is_averaged_over_four_weeks() -> None:
    now = local(2025, 3, 20, 9)  # a Thursday
    history = {now - timedelta(weeks=1): 12, now - timedelta(weeks=2): 8, now - timedelta(weeks=3): 13,
               now - timedelta(weeks=4): 7, now - timedelta(weeks=5): 100}  # week 5 is beyond the window
    rest = forecast_rest(history, now, now + HOUR, first_data=local(2025, 1, 1))
    assert rest.expected_rest == 10  # (12 + 8 + 13 + 7) / 4


def test_weeks_before_the_first_data_are_left_out_not_counted_as_silent() -> None:
    now = local(2025, 3, 20, 9)
    history = {now - timedelta(weeks=1): 20, now - timedelta(weeks=2): 30}
    rest = forecast_rest(history, now, now + HOUR, first_data=now - timedelta(weeks=2))
    assert rest.expected_rest == 25 and rest.weeks == 2
    assert forecast_rest(history, now, now + HOUR, first_data=None).weeks == 0


def test_local_hours_are_matched_across_the_spring_change() -> None:
    """09:00 on Wednesday 2 April (summer time, 07:00 UTC) is forecast from 09:00 on earlier Wednesdays,
    which were winter time (08:00 UTC) for 26, 19 and 12 March."""
    now = local(2025, 4, 2, 9)
    assert now.hour == 7
    history = {local(2025, 3, 26, 9): 40, local(2025, 3, 19, 9): 40, local(2025, 3, 12, 9): 40,
               local(2025, 3, 5, 9): 40, local(2025, 3, 26, 10): 999}
    assert local(2025, 3, 26, 9).hour == 8
    rest = forecast_rest(history, now, now + HOUR, first_data=local(2025, 1, 1))
    assert rest.expected_rest == 40


def test_needed_answer_rate_and_status() -> None:
    target = Fraction(85, 100)
    # 800 of 1 000 answered, 500 expected: (0.85 × 1 500 − 800) / 500 = 0.95
    needed = needed_answer_rate(target, 1000, 800, Fraction(500))
    assert needed == Fraction(95, 100)
    assert in_progress_status(ANSWER_RATE, Fraction(800, 1000), needed) is Status.AT_RISK
    # 700 of 1 000, 200 to come: (1 020 − 700) / 200 = 1.6, more than every call answered
    unreachable = needed_answer_rate(target, 1000, 700, Fraction(200))
    assert unreachable == Fraction(16, 10)
    assert in_progress_status(ANSWER_RATE, Fraction(700, 1000), unreachable) is Status.UNREACHABLE
    # 900 of 1 000: (1 275 − 900) / 500 = 0.75
    on_track = needed_answer_rate(target, 1000, 900, Fraction(500))
    assert on_track == Fraction(75, 100)
    assert in_progress_status(ANSWER_RATE, Fraction(900, 1000), on_track) is Status.ON_TRACK
    # exactly 1: still reachable (every remaining call answered)
    edge = needed_answer_rate(target, 100, 70, Fraction(100))  # (170 − 70) / 100
    assert edge == 1 and in_progress_status(ANSWER_RATE, Fraction(70, 100), edge) is Status.AT_RISK
    assert needed_answer_rate(target, 1000, 900, Fraction(0)) is None


def test_needed_mean_wait() -> None:
    # 100 answered with 700 s each, 50 more expected: (600 × 150 − 70 000) / 50 = 400 s
    needed = needed_mean_wait(Fraction(600), 100, 70_000_000, Fraction(50))
    assert needed == 400
    assert in_progress_status(MEAN_WAIT, Fraction(700), needed) is Status.AT_RISK
    # 1 000 s each: (90 000 − 100 000) / 50 = −200 s: not even zero waits would do
    hopeless = needed_mean_wait(Fraction(600), 100, 100_000_000, Fraction(50))
    assert hopeless == -200 and in_progress_status(MEAN_WAIT, Fraction(1000), hopeless) is Status.UNREACHABLE


def test_no_calls_yet() -> None:
    assert in_progress_status(ANSWER_RATE, None, None) is Status.NO_DATA
    needed = needed_answer_rate(Fraction(85, 100), 0, 0, Fraction(300))
    assert needed == Fraction(85, 100) and in_progress_status(ANSWER_RATE, None, needed) is Status.ON_TRACK


def test_an_hour_next_week_looks_past_the_week_still_to_come() -> None:
    now = local(2025, 3, 20, 9)
    next_week = now + timedelta(weeks=1)
    history = {now - timedelta(weeks=k): 10 * k for k in range(1, 6)}  # 10, 20, 30, 40, 50
    rest = forecast_rest(history, now, next_week + HOUR, first_data=local(2025, 1, 1))
    # this hour: weeks 1–4 (10+20+30+40)/4 = 25; next week's: this week's is not over, so weeks 2–5 of it,
    # which are these same hours 1–4 weeks ago: (10+20+30+40)/4 = 25 again → 50
    assert rest.expected_rest == 50


def test_an_hour_of_the_week_never_seen_gives_no_forecast_rather_than_silence() -> None:
    now = local(2025, 3, 20, 12)  # data began on Monday: Friday to Sunday have never been seen
    history = every_hour(local(2025, 3, 17, 8), now, 10)
    rest = forecast_rest(history, now, local(2025, 4, 1), first_data=local(2025, 3, 17, 8))
    assert rest.weeks == 0 and rest.expected_rest == 0
