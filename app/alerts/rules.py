"""Alert rules as pure functions from figures to observations (SPEC §8). Thresholds are explicit settings.

Each rule states when it is breached and when it has *recovered*: past the threshold by a margin, so the
engine (``app.alerts.engine``) can hold an alert firing through the band in between instead of flapping.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from app.alerts.engine import AlertKey, Observation


@dataclass(frozen=True)
class MonthRuleSettings:
    answer_rate_margin: float = 0.005  # at_risk recovers once the month so far is this far above the target
    mean_wait_margin_seconds: float = 15.0
    needed_margin: float = 0.02  # unreachable recovers once the needed answer rate is this far below 1


@dataclass(frozen=True)
class FastSlipSettings:
    hours: int = 2
    min_calls: int = 30  # below this many offered calls the window says nothing (small regions at night)
    answer_rate_margin: float = 0.10  # breached below target − margin
    answer_rate_hysteresis: float = 0.05  # recovered at or above target − margin + hysteresis
    mean_wait_factor: float = 1.5  # breached above target × factor
    mean_wait_hysteresis_factor: float = 0.25  # recovered at or below target × (factor − this)


def month_target_observations(
    document: dict[str, Any], settings: MonthRuleSettings | None = None
) -> Iterator[Observation]:
    """From a monthly scorecard document: at risk, unreachable (month in progress), missed (closed month)."""
    settings = settings or MonthRuleSettings()
    month = document["month"]
    for scope in document["scopes"]:
        for target in scope["targets"]:
            kpi, status, value = target["kpi"], target["status"], scope["kpis"].get(target["kpi"])
            bound = target["value"]
            if document["closed"]:
                key = AlertKey("target_missed", scope["scope"], kpi, month)
                yield Observation(key, breached=status == "missed", recovered=False, value=value, threshold=bound)
                continue
            clear = status == "on_track" and value is not None and (
                value >= bound + settings.answer_rate_margin if target["comparator"] == ">="
                else value <= bound - settings.mean_wait_margin_seconds
            )
            yield Observation(AlertKey("target_at_risk", scope["scope"], kpi, month), breached=status == "at_risk",
                              recovered=clear, value=value, threshold=bound)
            needed = target.get("needed")
            reachable = status in ("on_track", "at_risk") and (
                needed is None or (needed <= 1 - settings.needed_margin if kpi == "answer_rate" else needed > 0)
            )
            yield Observation(AlertKey("target_unreachable", scope["scope"], kpi, month),
                              breached=status == "unreachable", recovered=reachable, value=needed, threshold=1.0)


@dataclass(frozen=True)
class WindowFigures:
    """Summed counts of one scope over the last ``FastSlipSettings.hours`` hours."""

    scope: str
    offered: int
    answered: int
    wait_answered_ms: int
    answer_rate_target: float | None
    mean_wait_target: float | None


def fast_slip_observations(window: WindowFigures, settings: FastSlipSettings | None = None) -> Iterator[Observation]:
    """The last hours far below target — but only with enough calls to matter; otherwise no verdict at all."""
    settings = settings or FastSlipSettings()
    enough = window.offered >= settings.min_calls
    if window.answer_rate_target is not None:
        key = AlertKey("fast_slip", window.scope, "answer_rate")
        rate = Fraction(window.answered, window.offered) if window.offered else None
        low = Fraction(str(window.answer_rate_target)) - Fraction(str(settings.answer_rate_margin))
        back = low + Fraction(str(settings.answer_rate_hysteresis))
        yield Observation(key, breached=enough and rate is not None and rate < low,
                          recovered=enough and rate is not None and rate >= back,
                          value=None if rate is None else float(rate), threshold=float(low))
    if window.mean_wait_target is not None:
        key = AlertKey("fast_slip", window.scope, "mean_wait")
        mean = Fraction(window.wait_answered_ms, 1000 * window.answered) if window.answered else None
        high = Fraction(str(window.mean_wait_target)) * Fraction(str(settings.mean_wait_factor))
        back = Fraction(str(window.mean_wait_target)) * (
            Fraction(str(settings.mean_wait_factor)) - Fraction(str(settings.mean_wait_hysteresis_factor)))
        yield Observation(key, breached=enough and mean is not None and mean > high,
                          recovered=enough and mean is not None and mean <= back,
                          value=None if mean is None else float(mean), threshold=float(high))


def data_stale_observation(
    source: str, last_success: datetime | None, cadence_seconds: float, now: datetime
) -> Observation:
    """No successful delivery for three cadences (at least five minutes); recovered within two cadences."""
    key = AlertKey("data_stale", source)
    limit = max(3 * cadence_seconds, 300.0)
    if last_success is None:
        return Observation(key, breached=True, recovered=False, value=None, threshold=limit)
    age = (now - last_success).total_seconds()
    return Observation(key, breached=age > limit, recovered=age <= 2 * cadence_seconds, value=age, threshold=limit)


def worker_stale_observation(beat_at: datetime | None, heartbeat_seconds: int, now: datetime) -> Observation:
    key = AlertKey("worker_stale", "worker")
    limit = timedelta(seconds=3 * heartbeat_seconds + 5)
    if beat_at is None:
        return Observation(key, breached=True, recovered=False, threshold=limit.total_seconds())
    age = now - beat_at
    return Observation(key, breached=age > limit, recovered=age <= timedelta(seconds=2 * heartbeat_seconds),
                       value=age.total_seconds(), threshold=limit.total_seconds())
