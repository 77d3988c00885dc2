"""The life of one alert, as a pure function: pending → firing → resolved, with a for-duration and hysteresis.

A rule turns figures into an ``Observation`` per alert key: is the condition breached now, and has the value
recovered *past the threshold by a margin*? Between the two the alert keeps whatever it was. That band is what
stops a value oscillating around a threshold from firing and resolving on every evaluation: it fires once when
the breach has lasted ``for_duration``, and resolves once when the value is clearly back.

Only two transitions notify anyone: to ``firing`` and from ``firing`` to ``resolved``. A pending alert that
clears before its for-duration never existed as far as people are concerned.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.db.alert_models import PhaseName


class Phase(StrEnum):
    _value_: PhaseName  # mypy: ``.value`` is the stored column's Literal, and every member must be one of it
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True, order=True)
class AlertKey:
    rule: str  # e.g. target_at_risk, fast_slip_answer_rate, data_stale
    scope: str  # region or collaboration code, or a source name
    kpi: str = ""
    period: str = ""  # "2025-10" for month rules; "" for rules that are not about one month

    def __str__(self) -> str:
        return "/".join(part for part in (self.rule, self.scope, self.kpi, self.period) if part)


@dataclass(frozen=True, slots=True)
class Observation:
    key: AlertKey
    breached: bool
    recovered: bool  # back past the threshold by the hysteresis margin; never together with breached
    value: float | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.breached and self.recovered:
            raise ValueError(f"{self.key}: an observation cannot be breached and recovered at once")


@dataclass(frozen=True, slots=True)
class AlertState:
    key: AlertKey
    phase: Phase
    pending_since: datetime | None = None
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    value: float | None = None
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    key: AlertKey
    old: Phase
    new: Phase
    at: datetime

    @property
    def notifies(self) -> bool:
        return self.new is Phase.FIRING or (self.old is Phase.FIRING and self.new is Phase.RESOLVED)


def step(
    state: AlertState | None, observation: Observation, now: datetime, for_duration: timedelta
) -> tuple[AlertState, Transition | None]:
    """The next state of one alert after one evaluation, and the transition if its phase changed."""
    current = state or AlertState(observation.key, Phase.INACTIVE)
    if current.key != observation.key:
        raise ValueError(f"state of {current.key} given an observation of {observation.key}")
    latest = replace(current, value=observation.value, threshold=observation.threshold)
    phase = current.phase
    if phase in (Phase.INACTIVE, Phase.RESOLVED):
        if not observation.breached:
            return latest, None
        # the previous firing's times stay until it fires again: a breach that clears while pending returns
        # the alert to what it was (resolved stays resolved, with its history), not to "never happened"
        pending = replace(latest, phase=Phase.PENDING, pending_since=now)
        if for_duration <= timedelta(0):
            return _fire(pending, phase, now)
        return pending, Transition(current.key, phase, Phase.PENDING, now)
    if phase is Phase.PENDING:
        if not observation.breached:
            back = Phase.RESOLVED if current.resolved_at is not None else Phase.INACTIVE
            return replace(latest, phase=back, pending_since=None), Transition(current.key, phase, back, now)
        assert current.pending_since is not None
        if now - current.pending_since >= for_duration:
            return _fire(latest, phase, now)
        return latest, None
    # firing: only a clear recovery resolves it; a value between threshold and margin keeps it firing
    if observation.recovered:
        return replace(latest, phase=Phase.RESOLVED, resolved_at=now), Transition(
            current.key, phase, Phase.RESOLVED, now)
    return latest, None


def _fire(state: AlertState, old: Phase, now: datetime) -> tuple[AlertState, Transition]:
    return replace(state, phase=Phase.FIRING, fired_at=now, resolved_at=None), Transition(
        state.key, old, Phase.FIRING, now)
