"""When people call 1177 (SPEC §10): hour-of-day, weekday and seasonal demand, and how planners see it.

Everything here is a pure function of the date, the local hour and the seed, so the simulator can rebuild
any day in isolation and a server generating day by day gets exactly the calls a history file holds.
The planners' view (``planned_season_factor``) is deliberately a little wrong: it follows the flu season
with a lag, which is how real rosters miss their targets in February.
"""

from __future__ import annotations

import hashlib
import math
from datetime import date, timedelta
from functools import lru_cache

# Relative call intensity per local hour (00..23). Peaks 07–09, around noon and 16–19, when primary care
# is closed or busy; the night (22–07) runs at about a quarter of the day level (07–22).
_RAW_HOUR_PROFILE: tuple[float, ...] = (
    0.30, 0.22, 0.18, 0.16, 0.17, 0.24,  # 00–05
    0.48, 1.30, 1.55, 1.35, 1.10, 1.20,  # 06–11
    1.28, 1.12, 0.95, 0.98, 1.18, 1.32,  # 12–17
    1.30, 1.12, 0.88, 0.70, 0.52, 0.38,  # 18–23
)
HOUR_PROFILE: tuple[float, ...] = tuple(v * 24 / sum(_RAW_HOUR_PROFILE) for v in _RAW_HOUR_PROFILE)

# Rosters are built from shifts of several hours, so staffing follows a smoothed version of the profile:
# the sharp peaks are understaffed and the shoulders overstaffed, which is where waits come from.
PLANNED_HOUR_PROFILE: tuple[float, ...] = tuple(
    0.25 * HOUR_PROFILE[h - 1] + 0.5 * HOUR_PROFILE[h] + 0.25 * HOUR_PROFILE[(h + 1) % 24] for h in range(24)
)

# Monday..Sunday: Monday carries the weekend's postponed worries; weekends are quieter.
_RAW_WEEKDAY: tuple[float, ...] = (1.20, 1.04, 1.00, 0.98, 1.00, 0.88, 0.90)
WEEKDAY_FACTOR: tuple[float, ...] = tuple(v * 7 / sum(_RAW_WEEKDAY) for v in _RAW_WEEKDAY)

# Christmas and New Year: families are together and fewer people call (SPEC §10 "Christmas dip").
_HOLIDAYS: dict[tuple[int, int], float] = {
    (12, 20): 0.96, (12, 21): 0.95, (12, 22): 0.94, (12, 23): 0.90, (12, 24): 0.70, (12, 25): 0.72,
    (12, 26): 0.80, (12, 27): 0.88, (12, 28): 0.88, (12, 29): 0.88, (12, 30): 0.88, (12, 31): 0.72,
    (1, 1): 0.76, (1, 2): 0.90, (1, 3): 0.92, (1, 4): 0.94, (1, 5): 0.93, (1, 6): 0.88,
}

_FLU_NOMINAL_PEAK = (2, 15)  # month, day
_FLU_WIDTH_DAYS = 24.0
_SUMMER_DIP = 0.12
_AUTUMN_RISE = 0.06


def _unit_floats(key: str, count: int) -> tuple[float, ...]:
    """Stable pseudo-random numbers in [0, 1) derived from a text key (never Python's salted hash())."""
    digest = hashlib.sha256(key.encode()).digest()
    return tuple(int.from_bytes(digest[4 * i : 4 * i + 4], "big") / 2**32 for i in range(count))


@lru_cache(maxsize=256)
def flu_season(seed: int, season_year: int) -> tuple[date, float]:
    """Peak day and amplitude of the flu season that peaks in ``season_year``.

    Each winter differs (earlier or later, milder or harsher); both are derived from the seed so that a
    simulated history is reproducible, and planners cannot know them in advance.
    """
    shift, strength = _unit_floats(f"{seed}|flu|{season_year}", 2)
    peak = date(season_year, *_FLU_NOMINAL_PEAK) + timedelta(days=round(-12 + 24 * shift))
    return peak, 0.32 + 0.18 * strength


def _flu_bump(day: date, seed: int) -> float:
    season_year = day.year + (1 if day.month >= 8 else 0)
    peak, amplitude = flu_season(seed, season_year)
    distance = (day - peak).days / _FLU_WIDTH_DAYS
    return amplitude * math.exp(-0.5 * distance * distance)


def _bump(day: date, month: int, dom: int, width_days: float) -> float:
    distance = (day - date(day.year, month, dom)).days / width_days
    return math.exp(-0.5 * distance * distance)


def holiday_factor(day: date) -> float:
    return _HOLIDAYS.get((day.month, day.day), 1.0)


def _known_season(day: date) -> float:
    """The parts of the season that recur every year and that planners know: summer lull, autumn rise."""
    return 1.0 - _SUMMER_DIP * _bump(day, 7, 18, 25.0) + _AUTUMN_RISE * _bump(day, 11, 25, 20.0)


def season_factor(day: date, seed: int) -> float:
    """Actual demand of a day relative to an average day (before weekday and random day effects)."""
    return (_known_season(day) + _flu_bump(day, seed)) * holiday_factor(day)


def planned_season_factor(day: date, seed: int, flu_lag_days: int) -> float:
    """What the roster was planned for: the flu season as it looked ``flu_lag_days`` earlier."""
    lagged = day - timedelta(days=flu_lag_days)
    return (_known_season(day) + _flu_bump(lagged, seed)) * holiday_factor(day)


def vacation_factor(day: date, depth: float) -> float:
    """Share of the planned roster actually on duty: Swedish summer holidays thin it out (ramps in June
    and August, full depth from July to early August)."""
    start_ramp, full_from, full_to, end_ramp = (
        date(day.year, 6, 20), date(day.year, 7, 1), date(day.year, 8, 8), date(day.year, 8, 20),
    )
    if day < start_ramp or day > end_ramp:
        return 1.0
    if full_from <= day <= full_to:
        return depth
    if day < full_from:
        share = (day - start_ramp).days / (full_from - start_ramp).days
    else:
        share = (end_ramp - day).days / (end_ramp - full_to).days
    return 1.0 - (1.0 - depth) * share


def _nominal_annual_mean() -> float:
    """Mean of weekday × season over a year with a nominal flu season: the divisor that makes the
    configured calls per inhabitant and year come out on average (single years differ a few per cent)."""
    total = 0.0
    for offset in range(365):
        day = date(2025, 1, 1) + timedelta(days=offset)
        peak = date(day.year + (1 if day.month >= 8 else 0), *_FLU_NOMINAL_PEAK)
        distance = (day - peak).days / _FLU_WIDTH_DAYS
        flu = 0.41 * math.exp(-0.5 * distance * distance)
        total += WEEKDAY_FACTOR[day.weekday()] * (_known_season(day) + flu) * holiday_factor(day)
    return total / 365


ANNUAL_MEAN_FACTOR = _nominal_annual_mean()
