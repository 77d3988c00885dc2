"""How many decimals a figure needs beside its verdict, in every output (terminal, web, CSV, XLSX).

A figure is written with its output's usual decimals, and with more only where those would round it across its
target: 84.996 % is written 84.996 (not 85.00) next to "ej uppfyllt", a mean wait of 600.04 s is written 10:00.04
(not 10:00.0). The written figure is then judged as the figure is. ``MOST`` bounds the decimals: two counts of at
most 10^8 calls differ from a target of two decimals by at least 10^-9.
"""

from __future__ import annotations

import math
from fractions import Fraction

from app.kpi.targets import Comparator

MOST = 9


def holds(value: float, comparator: str, bound: float) -> bool:
    """The targets' own comparison (``Comparator.holds``), on the exact values of the floats."""
    return Comparator(comparator).holds(Fraction(value), Fraction(bound))


def decimals(value: float, comparator: str | None, bound: float | None, *, scale: float = 1, least: int = 0,
             most: int = MOST, truncated_too: bool = False) -> int:
    """The fewest decimals from ``least`` at which ``value`` × ``scale``, rounded, is judged against ``bound`` as
    ``value`` is (``least`` when there is no target). ``truncated_too``: and cut off there as well, for a reader
    (a spreadsheet's time format) that may cut rather than round."""
    if comparator is None or bound is None:
        return least
    verdict = holds(value, comparator, bound)
    for digits in range(least, most + 1):
        shown = [round(value * scale, digits)]
        if truncated_too:
            shown.append(math.trunc(value * scale * 10**digits) / 10**digits)
        if all(holds(written / scale, comparator, bound) == verdict for written in shown):
            return digits
    return most


class Judged(float):
    """A figure that has a target on its scope, with the target it is judged against: the spreadsheet writers
    give it the decimals ``decimals`` asks for. Still a float to everything else."""

    comparator: str
    bound: float

    def __new__(cls, value: float, comparator: str, bound: float) -> Judged:
        judged = super().__new__(cls, value)
        judged.comparator, judged.bound = comparator, bound
        return judged


__all__ = ["MOST", "Judged", "decimals", "holds"]
