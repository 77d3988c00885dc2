"""Nurses per local hour for a goal, with what Erlang A predicts at that staffing (pure: no I/O).

Each hour is taken as stationary: the forecast calls arrive as a Poisson stream at a constant rate within it and the
queue reaches its steady state. That errs where an hour starts with a queue left by the one before (after a peak) and
in hours with few calls, where a steady state is never reached; it is the standard planning assumption.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from app.kpi.staffing import Goal, QueueFigures, StaffingError, servers_needed
from app.staffing.estimates import Parameters
from app.staffing.notes import Note, note

HOUR_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class Staffing:
    """Nurses for a goal and what Erlang A predicts with them (answer rate, mean wait of answered calls, seconds)."""

    nurses: int
    answer_rate: float
    mean_wait_seconds: float


@dataclass(frozen=True, slots=True)
class HourAdvice:
    start: datetime  # UTC start of the local hour
    offered: float | None  # forecast calls in the hour (None: no forecast)
    parameters: Parameters
    target: Staffing | None  # for the targets in force
    recover: Staffing | None  # for what the rest of the month needs, when that is stricter than the target
    erlang_c_nurses: int | None  # what Erlang C (nobody hangs up) asks for the same goal
    note: Note | None = None  # worded by whoever shows it (app.staffing.notes)
    staffed: float | None = None  # staffed positions the platform reported for the hour (None: none reported)

    @property
    def difference(self) -> float | None:
        """Staffed positions less the nurses the targets need: negative is short of plan."""
        if self.staffed is None or self.target is None:
            return None
        return self.staffed - self.target.nurses


def _staffing(figures: QueueFigures) -> Staffing:
    return Staffing(figures.servers, figures.answer_rate, figures.mean_wait_answered)


def _none_staffing() -> Staffing:
    return Staffing(0, 1.0, 0.0)


def advise_hour(
    start: datetime, offered: float | None, parameters: Parameters, goal: Goal, recover: Goal | None,
) -> HourAdvice:
    """One hour's advice. ``recover``: the stricter goal that saves the month (None: the target is enough)."""
    handling = parameters.handling_seconds.value
    theta = parameters.patience_rate.value or 0.0
    if offered is None:
        return HourAdvice(start, None, parameters, None, None, None, note("no_hour_forecast"))
    if handling is None or handling <= 0:
        return HourAdvice(start, offered, parameters, None, None, None, note("no_handling_times"))
    if offered <= 0:
        return HourAdvice(start, offered, parameters, _none_staffing(), None, 0, note("no_calls_forecast"))
    lam, mu = offered / HOUR_SECONDS, 1.0 / handling
    said = None if theta > 0 else note("erlang_c")
    try:
        target = _staffing(servers_needed(lam, mu, theta, goal))
        erlang_c = servers_needed(lam, mu, 0.0, goal).servers
    except StaffingError as error:
        return HourAdvice(start, offered, parameters, None, None, None, note("model_limit", detail=str(error)))
    saved: Staffing | None = None
    if recover is not None:
        try:
            saved = _staffing(servers_needed(lam, mu, theta, recover, at_least=target.nurses))
        except StaffingError as error:
            said = note("model_limit", detail=str(error))
    return HourAdvice(start, offered, parameters, target, saved, erlang_c, said)


def advise_hours(
    hours: Iterable[tuple[datetime, float | None, Parameters]], goal: Goal, recover: Goal | None,
) -> list[HourAdvice]:
    """``advise_hour`` for many hours: the hours of one weekday-and-hour slot share forecast and parameters, so each
    distinct pair is worked out once (a month has about 4.4 hours of each of the week's 168)."""
    seen: dict[tuple[float | None, Parameters], HourAdvice] = {}
    out = []
    for start, offered, parameters in hours:
        known = seen.get((offered, parameters))
        if known is None:
            known = seen[(offered, parameters)] = advise_hour(start, offered, parameters, goal, recover)
        out.append(known if known.start == start else HourAdvice(  # a constructor: replace() is several times slower
            start, known.offered, known.parameters, known.target, known.recover, known.erlang_c_nurses, known.note))
    return out


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over a run of hours: nurse-hours at each goal, forecast calls and the calls Erlang A expects answered."""

    hours: int
    offered: float
    nurse_hours: int
    answered: float  # at the target's staffing
    nurse_hours_recover: int | None  # None: no recovery goal
    answered_recover: float | None
    nurse_hours_erlang_c: int

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.offered if self.offered > 0 else None


def totals(hours: Iterable[HourAdvice], recovering: bool) -> Totals:
    count = 0
    offered = answered = answered_recover = 0.0
    nurse_hours = nurse_hours_recover = nurse_hours_c = 0
    for hour in hours:
        count += 1
        if hour.offered is None or hour.target is None:
            continue
        offered += hour.offered
        nurse_hours += hour.target.nurses
        answered += hour.offered * hour.target.answer_rate
        nurse_hours_c += hour.erlang_c_nurses or 0
        chosen = hour.recover or hour.target
        nurse_hours_recover += chosen.nurses
        answered_recover += hour.offered * chosen.answer_rate
    return Totals(count, offered, nurse_hours, answered, nurse_hours_recover if recovering else None,
                  answered_recover if recovering else None, nurse_hours_c)
