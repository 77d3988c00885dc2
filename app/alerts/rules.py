"""Alert rules as pure functions from figures to observations (SPEC §8). Thresholds are explicit settings.

Each rule states when it is breached and when it has *recovered*: past the threshold by a margin, so the
engine (``app.alerts.engine``) can hold an alert firing through the band in between instead of flapping.
Every rule's settings can be overridden per scope (``app.alerts.rulebook``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from app.alerts.engine import AlertKey, Observation
from app.kpi.catalog import SECONDS_KPIS
from app.scorecard.document import ScorecardDocument


@dataclass(frozen=True)
class RuleSettings:
    enabled: bool = True
    for_minutes: float = 0.0  # how long a breach must last before anyone is told

    @property
    def for_duration(self) -> timedelta:
        return timedelta(minutes=self.for_minutes)


@dataclass(frozen=True)
class AtRiskSettings(RuleSettings):
    for_minutes: float = 30.0
    # The first night of a month has a handful of calls: a month so far of 4 calls says nothing about the
    # month. Below this many offered calls the rule gives no verdict (the alert keeps its phase).
    min_offered: int = 300
    answer_rate_margin: float = 0.005  # recovered once a ratio KPI is this far on the right side of the target
    mean_wait_margin_seconds: float = 15.0  # … or a KPI in seconds this far below it


@dataclass(frozen=True)
class UnreachableSettings(RuleSettings):
    for_minutes: float = 15.0
    min_offered: int = 300
    needed_margin: float = 0.02  # recovered once the needed answer rate is this far below 100 %
    needed_wait_margin_seconds: float = 15.0  # … or the needed mean wait this far above 0 s


@dataclass(frozen=True)
class MissedSettings(RuleSettings):
    # Calls of the month's last hour still arrive after midnight (pull cadence, platform lag): the verdict on a
    # closed month waits this long, so late data that turns "missed" into "met" never sends both.
    for_minutes: float = 180.0


@dataclass(frozen=True)
class FastSlipSettings(RuleSettings):
    for_minutes: float = 10.0
    hours: int = 2
    min_calls: int = 30  # below this many offered calls the window cannot fire (small regions at night)
    answer_rate_margin: float = 0.10  # breached below target − margin
    answer_rate_hysteresis: float = 0.05  # recovered at or above target − margin + hysteresis
    mean_wait_factor: float = 1.5  # breached above target × factor
    mean_wait_hysteresis_factor: float = 0.25  # recovered at or below target × (factor − this)


@dataclass(frozen=True)
class DataStaleSettings(RuleSettings):
    # None: pull sources are watched with the default below and other sources not at all (a one-off file
    # load has no cadence to miss); set it for a push or file source that should deliver regularly.
    max_age_minutes: float | None = None


@dataclass(frozen=True)
class WorkerStaleSettings(RuleSettings):
    max_age_seconds: float | None = None  # None: three heartbeats and five seconds


PULL_SOURCE_MAX_AGE_MINUTES = 30.0  # never less than three pull cadences
RULE_SETTINGS: dict[str, type[RuleSettings]] = {
    "target_at_risk": AtRiskSettings,
    "target_unreachable": UnreachableSettings,
    "target_missed": MissedSettings,
    "fast_slip": FastSlipSettings,
    "data_stale": DataStaleSettings,
    "worker_stale": WorkerStaleSettings,
}
SettingsFor = Callable[[str, str], Any]  # (rule, scope) -> that rule's settings for that scope


def month_target_observations(document: ScorecardDocument, settings_for: SettingsFor) -> Iterator[Observation]:
    """From a monthly scorecard document: at risk and unreachable while the month runs, missed once closed.

    When a month closes its at-risk and unreachable alerts are recovered (their question is settled), and
    ``target_missed`` takes over.
    """
    month = document.month
    for scope in document.scopes:
        code = scope.scope
        offered = scope.kpis.offered or 0
        for target in scope.targets:
            kpi, status, value = target.kpi, target.status, scope.kpis.value(target.kpi)
            bound = target.value
            at_risk: AtRiskSettings = settings_for("target_at_risk", code)
            unreachable: UnreachableSettings = settings_for("target_unreachable", code)
            missed: MissedSettings = settings_for("target_missed", code)
            if document.closed:
                if missed.enabled:
                    yield Observation(AlertKey("target_missed", code, kpi, month), breached=status == "missed",
                                      recovered=status == "met", value=value, threshold=bound)
                for rule, enabled in (("target_at_risk", at_risk.enabled),
                                      ("target_unreachable", unreachable.enabled)):
                    if enabled:
                        yield Observation(AlertKey(rule, code, kpi, month), False, True, value, bound)
                continue
            if at_risk.enabled:
                key = AlertKey("target_at_risk", code, kpi, month)
                if offered < at_risk.min_offered:
                    yield Observation(key, False, False, value, bound)  # too early in the month to say
                else:
                    margin = at_risk.mean_wait_margin_seconds if kpi in SECONDS_KPIS else at_risk.answer_rate_margin
                    clear = status == "on_track" and value is not None and (
                        value >= bound + margin if target.comparator == ">=" else value <= bound - margin)
                    yield Observation(key, breached=status == "at_risk", recovered=clear, value=value,
                                      threshold=bound)
            if unreachable.enabled:
                key = AlertKey("target_unreachable", code, kpi, month)
                needed = target.needed
                threshold = 1.0 if kpi == "answer_rate" else 0.0
                if offered < unreachable.min_offered:
                    yield Observation(key, False, False, needed, threshold)
                    continue
                reachable = status in ("on_track", "at_risk") and (
                    needed is None or (needed <= 1 - unreachable.needed_margin if kpi == "answer_rate"
                                       else needed >= unreachable.needed_wait_margin_seconds))
                yield Observation(key, breached=status == "unreachable", recovered=reachable, value=needed,
                                  threshold=threshold)


@dataclass(frozen=True)
class WindowFigures:
    """One scope over the fast-slip window: summed counts, and the month's targets in force."""

    scope: str
    offered: int
    answered: int
    wait_answered_ms: int
    answer_rate_target: float | None
    mean_wait_target: float | None


def fast_slip_observations(window: WindowFigures, settings: FastSlipSettings) -> Iterator[Observation]:
    """The last hours far below target — only with enough calls to matter.

    A window that has gone quiet (under half the minimum volume) counts as recovered: a slip at 17:00 is not
    still news at 07:00. The gap between half and the full minimum keeps a volume near the limit from flapping.
    """
    if not settings.enabled:
        return
    enough = window.offered >= settings.min_calls
    quiet = 2 * window.offered < settings.min_calls
    if window.answer_rate_target is not None:
        key = AlertKey("fast_slip", window.scope, "answer_rate")
        rate = Fraction(window.answered, window.offered) if window.offered else None
        low = Fraction(str(window.answer_rate_target)) - Fraction(str(settings.answer_rate_margin))
        back = low + Fraction(str(settings.answer_rate_hysteresis))
        yield Observation(key, breached=enough and rate is not None and rate < low,
                          recovered=quiet or (enough and rate is not None and rate >= back),
                          value=None if rate is None else float(rate), threshold=float(low))
    if window.mean_wait_target is not None:
        key = AlertKey("fast_slip", window.scope, "mean_wait")
        mean = Fraction(window.wait_answered_ms, 1000 * window.answered) if window.answered else None
        target = Fraction(str(window.mean_wait_target))
        high = target * Fraction(str(settings.mean_wait_factor))
        back = target * (Fraction(str(settings.mean_wait_factor)) - Fraction(str(settings.mean_wait_hysteresis_factor)))
        yield Observation(key, breached=enough and mean is not None and mean > high,
                          recovered=quiet or (enough and mean is not None and mean <= back),
                          value=None if mean is None else float(mean), threshold=float(high))


def data_stale_observation(source: str, last_data_at: datetime | None, max_age: timedelta,
                           now: datetime) -> Observation:
    """No new or changed record from a source for longer than ``max_age``; recovered within half of it.

    ``last_data_at`` is when a delivery last stored or changed something; for a source that never has, the
    caller passes when it was registered, so a new source gets the same grace as a running one.
    """
    key = AlertKey("data_stale", source)
    limit = max_age.total_seconds()
    if last_data_at is None:
        return Observation(key, breached=True, recovered=False, value=None, threshold=limit)
    age = (now - last_data_at).total_seconds()
    return Observation(key, breached=age > limit, recovered=age <= limit / 2, value=age, threshold=limit)


def worker_stale_observation(worker_id: str, beat_at: datetime, running: bool, superseded: bool,
                             max_age: timedelta, now: datetime) -> Observation:
    """A worker that stopped beating without saying goodbye, and that no later worker has replaced.

    A clean stop, or a restart (a worker started after the last beat), is not an outage to report; a second
    worker still running when the first one dies is the case this rule is for. A deployment with one worker
    is watched from outside, by Prometheus (``VptWorkerDown``): a dead worker cannot send its own alert.
    """
    key = AlertKey("worker_stale", worker_id)
    age = (now - beat_at).total_seconds()
    limit = max_age.total_seconds()
    gone = running and not superseded
    return Observation(key, breached=gone and age > limit, recovered=not gone or age <= limit / 2,
                       value=age, threshold=limit)
