"""The month in progress (SPEC §6): how many calls are still to come, and what it takes to meet a target.

The rest of the month is forecast hour by hour as the mean of the same local weekday and hour over the
last few weeks (four by default) — the pattern that dominates 1177 traffic (§10). Weeks before the scope's
first data are left out rather than counted as silent, so a new source is not forecast to fall quiet.

``needed = (target × (offered_so_far + expected_rest) − answered_so_far) / expected_rest`` is the answer
rate the remaining calls must reach for the month to end on target; above 1 the target is unreachable.
All arithmetic is exact (``Fraction``), so a hand-computed expectation can be compared with ``==``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from app.kpi.localtime import HOUR, STOCKHOLM, floor_hour, is_nonexistent, local_to_utc
from app.kpi.targets import Comparator, Status, Target

DEFAULT_WEEKS = 4
MAX_WEEKS_AHEAD = 6  # a month's last hour lies at most five weeks after any moment of it
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Forecast:
    expected_rest: Fraction  # offered calls expected from ``now`` to the end of the month
    weeks: int  # weeks of history the forecast could use (0: none, so no forecast)


def _same_hour_weeks_ago(hour: datetime, weeks: int) -> datetime | None:
    """The UTC start of the same local weekday and hour ``weeks`` weeks earlier (None in a spring gap)."""
    local = hour.astimezone(STOCKHOLM)
    naive = local.replace(tzinfo=None) - timedelta(days=7 * weeks)
    if is_nonexistent(naive):
        return None
    return local_to_utc(naive, fold=local.fold)


def _samples(
    offered_by_hour: Mapping[datetime, int], hour: datetime, now: datetime, first_data: datetime, weeks: int
) -> list[int]:
    """The same local weekday and hour in the latest ``weeks`` weeks that are over (an hour later this
    month may look back past weeks still to come) and not before the first data."""
    samples: list[int] = []
    k = 1
    while len(samples) < weeks and k <= weeks + MAX_WEEKS_AHEAD:
        sample = _same_hour_weeks_ago(hour, k)
        k += 1
        if sample is None or sample + HOUR > now:
            continue
        if sample < first_data:
            break
        samples.append(offered_by_hour.get(sample, 0))
    return samples


def forecast_rest(
    offered_by_hour: Mapping[datetime, int],
    now: datetime,
    end: datetime,
    first_data: datetime | None,
    weeks: int = DEFAULT_WEEKS,
) -> Forecast:
    """Expected offered calls in [now, end), from ``offered_by_hour`` (UTC hour start → offered).

    The hour in progress counts with the share of it still to come. Only sample hours at or after
    ``first_data`` are used; with none at all the forecast is empty (weeks = 0).
    """
    if first_data is None or now >= end:
        return Forecast(Fraction(0), 0)
    total = Fraction(0)
    used = 0
    hour = floor_hour(now)
    # Every hour of one local weekday-and-hour slot has the same samples: the latest occurrences that are
    # over (a later week's hour skips the occurrences still to come). So each slot is sampled once.
    by_slot: dict[tuple[int, int, int], list[int]] = {}
    while hour < end:
        local = hour.astimezone(STOCKHOLM)
        slot = (local.weekday(), local.hour, local.fold)
        if slot not in by_slot:
            by_slot[slot] = _samples(offered_by_hour, hour, now, first_data, weeks)
        samples = by_slot[slot]
        if samples:
            used = max(used, len(samples))
            share = Fraction(1)
            if hour < now:  # the hour in progress: only what is left of it
                share = Fraction((hour + HOUR - now) // _MICROSECOND, HOUR // _MICROSECOND)
            total += Fraction(sum(samples), len(samples)) * share
        hour += HOUR
    return Forecast(total, used)


def needed_answer_rate(target: Fraction, offered: int, answered: int, expected_rest: Fraction) -> Fraction | None:
    """The answer rate the remaining calls need for the month to end at ``target`` (None: nothing to come)."""
    if expected_rest <= 0:
        return None
    return (target * (offered + expected_rest) - answered) / expected_rest


def needed_mean_wait(
    target_seconds: Fraction, answered: int, wait_answered_ms: int, expected_answered_rest: Fraction
) -> Fraction | None:
    """The mean wait (seconds) the calls still to be answered may have for the month to end at the target."""
    if expected_answered_rest <= 0:
        return None
    allowed_ms = target_seconds * 1000 * (answered + expected_answered_rest) - wait_answered_ms
    return allowed_ms / expected_answered_rest / 1000


def in_progress_status(target: Target, month_to_date: Fraction | None, needed: Fraction | None) -> Status:
    """``unreachable`` when even perfect service on the rest cannot make it (needed > 1, or a negative
    mean wait); otherwise ``on_track`` while the month so far meets the target, ``at_risk`` when not."""
    if month_to_date is None and needed is None:
        return Status.NO_DATA
    if needed is not None:
        if target.comparator is Comparator.AT_LEAST and target.kpi == "answer_rate" and needed > 1:
            return Status.UNREACHABLE
        if target.comparator is Comparator.AT_MOST and target.kpi == "mean_wait" and needed < 0:
            return Status.UNREACHABLE
    if month_to_date is None:
        return Status.ON_TRACK  # nothing yet, but the calls to come can still meet it
    return Status.ON_TRACK if target.comparator.holds(month_to_date, target.bound) else Status.AT_RISK
