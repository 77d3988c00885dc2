"""Targets and their status (SPEC §6).

A target is decided with exact arithmetic: 34 answered of 40 offered is exactly 0.85 and meets ≥ 0.85.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Literal

from app.kpi.formulas import Kpis

ComparatorText = Literal[">=", "<="]


class Comparator(StrEnum):
    _value_: ComparatorText  # mypy: ``.value`` is what the targets' comparator column holds
    AT_LEAST = ">="
    AT_MOST = "<="

    def holds(self, value: Fraction, bound: Fraction) -> bool:
        return value >= bound if self is Comparator.AT_LEAST else value <= bound


class Status(StrEnum):
    MET = "met"
    MISSED = "missed"
    NO_DATA = "no_data"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class Target:
    kpi: str
    comparator: Comparator
    value: Decimal
    valid_from: date  # first day of the month from which it applies

    @property
    def bound(self) -> Fraction:
        return Fraction(self.value)


def closed_month_status(kpis: Kpis, target: Target) -> Status:
    value = kpis.exact(target.kpi)
    if value is None:
        return Status.NO_DATA
    return Status.MET if target.comparator.holds(value, target.bound) else Status.MISSED


def month_to_date_status(kpis: Kpis, target: Target) -> Status:
    """Provisional status of a month in progress, judged on the month so far.

    The forecast-based status of §6 (expected remaining calls, needed answer rate) refines this; until
    a forecast is available the month-to-date value is the honest signal.
    """
    value = kpis.exact(target.kpi)
    if value is None:
        return Status.NO_DATA
    return Status.ON_TRACK if target.comparator.holds(value, target.bound) else Status.AT_RISK


def target_in_force(targets: list[Target], kpi: str, month_start: date) -> Target | None:
    """The version of a KPI's target valid in a month: the latest ``valid_from`` not after it."""
    candidates = [t for t in targets if t.kpi == kpi and t.valid_from <= month_start]
    if not candidates:
        return None
    return max(candidates, key=lambda t: t.valid_from)
