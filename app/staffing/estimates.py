"""Handling time and caller patience per local hour of the week, from the hourly sums (pure: no I/O).

Handling time is talk + wrap of answered calls over the answered calls: the hourly aggregates already hold call
records' sums and, where a region has only interval reports, their ``talk_seconds_sum``/``wrap_seconds_sum``. An
hour with answered calls and no talk or wrap at all has no handling data (a report without those columns) and is left
out rather than read as instant calls.

Patience: with exponential patience of rate θ every waiting caller hangs up at rate θ, so the abandons over the time
all callers spent waiting, answered and abandoned alike, is the maximum-likelihood estimate θ̂ = abandoned / Σ waits
(each caller's wait is time at risk; an answered caller's is censored). Hours whose waits are not all in the sums are
left out. A slot (weekday, hour) with too few calls takes its region's value over all hours instead, and says so: each
estimate carries the calls it rests on and its basis.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

#: A local hour of the week: (Monday = 0 .. Sunday = 6, hour 0..23). The repeated autumn hour shares its slot.
Slot = tuple[int, int]
Basis = Literal["slot", "region", "none"]

#: Fewest answered calls with handling data a slot's own handling time may rest on.
MIN_HANDLED = 30
#: Fewest abandons, and callers whose waits are known, a slot's own patience may rest on (θ̂'s relative error is
#: about 1/√abandoned, so 20 abandons give about ±22 %).
MIN_ABANDONED = 20
MIN_CALLERS = 100
#: Below these over all of a region's hours there is no estimate (handling) or no abandonment model (patience:
#: the advice then uses Erlang C, which assumes nobody hangs up).
MIN_REGION_HANDLED = 30
MIN_REGION_ABANDONED = 10


@dataclass(frozen=True, slots=True)
class HourSums:
    """What one stored hour of one region says about handling and patience."""

    slot: Slot
    answered: int
    abandoned: int
    handling_seconds: float  # talk + wrap of its answered calls
    wait_seconds: float  # every queued caller's wait, answered and abandoned
    waits_known: bool  # no call of the hour lacks its wait in the sums


@dataclass(frozen=True, slots=True)
class Estimate:
    """A value with what it rests on: ``calls`` (answered calls for handling; callers for patience), ``events``
    (abandons, patience only) and whether it is the slot's own or its region's (``basis``)."""

    value: float | None
    calls: int
    events: int
    basis: Basis


@dataclass(frozen=True, slots=True)
class Parameters:
    handling_seconds: Estimate
    patience_rate: Estimate  # θ per second; value 0.0 when nobody was seen hanging up (Erlang C)

    @property
    def patience_seconds(self) -> float | None:
        rate = self.patience_rate.value
        return None if rate is None or rate == 0 else 1.0 / rate


@dataclass
class _Sums:
    handled_calls: int = 0
    handling: float = 0.0
    callers: int = 0
    abandoned: int = 0
    waits: float = 0.0

    def add(self, hour: HourSums) -> None:
        if hour.answered > 0 and hour.handling_seconds > 0:
            self.handled_calls += hour.answered
            self.handling += hour.handling_seconds
        if hour.waits_known and hour.answered + hour.abandoned > 0:
            self.callers += hour.answered + hour.abandoned
            self.abandoned += hour.abandoned
            self.waits += hour.wait_seconds

    def handling_estimate(self, least: int, basis: Basis) -> Estimate | None:
        if self.handled_calls < least:
            return None
        return Estimate(self.handling / self.handled_calls, self.handled_calls, 0, basis)

    def patience_estimate(self, least_abandoned: int, least_callers: int, basis: Basis) -> Estimate | None:
        if self.abandoned < least_abandoned or self.callers < least_callers or self.waits <= 0:
            return None
        return Estimate(self.abandoned / self.waits, self.callers, self.abandoned, basis)


@dataclass(frozen=True, slots=True)
class RegionParameters:
    overall: Parameters
    slots: dict[Slot, Parameters]

    def at(self, slot: Slot) -> Parameters:
        return self.slots.get(slot, self.overall)


def estimate(hours: Iterable[HourSums]) -> RegionParameters:
    """Per slot and over all hours; a slot below the minimum volumes takes the region's value (basis ``region``)."""
    by_slot: dict[Slot, _Sums] = {}
    total = _Sums()
    for hour in hours:
        by_slot.setdefault(hour.slot, _Sums()).add(hour)
        total.add(hour)
    handling = total.handling_estimate(MIN_REGION_HANDLED, "region") or Estimate(None, total.handled_calls, 0, "none")
    patience = total.patience_estimate(MIN_REGION_ABANDONED, 1, "region") or Estimate(
        0.0 if total.callers else None, total.callers, total.abandoned, "none")
    overall = Parameters(handling, patience)
    slots = {
        slot: Parameters(
            sums.handling_estimate(MIN_HANDLED, "slot") or handling,
            sums.patience_estimate(MIN_ABANDONED, MIN_CALLERS, "slot") or patience,
        )
        for slot, sums in by_slot.items()
    }
    return RegionParameters(overall, slots)
