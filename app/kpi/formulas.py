"""The KPI formulas of SPEC §4, computed once from summed ``Counts``.

Ratios are kept as exact fractions next to their float value, so a target comparison such as
34/40 ≥ 0.85 is decided exactly and never by binary floating-point rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from app.kpi.catalog import KPI_KEYS
from app.kpi.counts import Counts
from app.kpi.glossary import NOTES
from app.kpi.histogram import quantile

__all__ = ["KPI_KEYS", "Kpis", "compute_kpis", "data_quality_notes", "ratio"]


def ratio(numerator: float, denominator: float) -> Fraction | None:
    """Exact ratio, or ``None`` for a zero denominator (SPEC §4: never 0, never NaN)."""
    if denominator == 0:
        return None
    if type(numerator) is int and type(denominator) is int:  # the usual case: one Fraction, not three
        return Fraction(numerator, denominator)
    return Fraction(numerator) / Fraction(denominator)


@dataclass(frozen=True, slots=True)
class Kpis:
    """One field per KPI of ``app.kpi.catalog``, in its order (a test holds the two together)."""

    offered: int
    answered: int
    abandoned: int
    short_abandons: int
    rejected: int
    answer_rate: Fraction | None
    mean_wait: Fraction | None
    mean_wait_all: Fraction | None
    abandon_rate: Fraction | None
    rejected_rate: Fraction | None
    service_level: Fraction | None
    wait_p50: Fraction | None
    wait_p90: Fraction | None
    longest_wait: float | None
    answered_by_other_regions: int | None
    answered_for_other_regions: int | None

    def exact(self, key: str) -> Fraction | None:
        """The value of a KPI as an exact number, for comparisons with a target."""
        value = getattr(self, key)
        if value is None:
            return None
        return value if isinstance(value, Fraction) else Fraction(value)

    def as_dict(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {}
        for key in KPI_KEYS:
            value = getattr(self, key)
            out[key] = float(value) if isinstance(value, Fraction) else value
        return out


def compute_kpis(counts: Counts, *, cross_region: bool = True) -> Kpis:
    """All §4 KPIs of one scope over one span.

    ``cross_region=False`` for collaborations: calls answered by "another region" inside the same
    collaboration are not help from outside, so the per-region figures would mislead when summed.
    Percentiles need call-level waits: a span with any interval-report data has none (§5).
    """
    offered = counts.offered
    sl_known = counts.answered_sl_unknown == 0
    quantiles_possible = not counts.has_interval_data
    histogram = counts.wait_histogram
    answered_waits_known = counts.answered_wait_unknown == 0
    return Kpis(
        offered=offered,
        answered=counts.answered,
        abandoned=counts.abandoned,
        short_abandons=counts.short_abandons,
        rejected=counts.rejected,
        answer_rate=ratio(counts.answered, offered),
        mean_wait=ratio(counts.wait_answered_ms, 1000 * counts.answered) if answered_waits_known else None,
        mean_wait_all=ratio(
            counts.wait_answered_ms + counts.wait_abandoned_ms, 1000 * (counts.answered + counts.abandoned)
        )
        if answered_waits_known and counts.abandoned_wait_unknown == 0
        else None,
        abandon_rate=ratio(counts.abandoned, offered),
        rejected_rate=ratio(counts.rejected, offered),
        service_level=ratio(counts.answered_within_sl, offered) if sl_known else None,
        wait_p50=quantile(Fraction(1, 2), histogram) if quantiles_possible else None,
        wait_p90=quantile(Fraction(9, 10), histogram) if quantiles_possible else None,
        longest_wait=(
            counts.longest_wait_ms / 1000
            if counts.longest_wait_ms is not None and counts.longest_wait_unknown == 0
            else None
        ),
        answered_by_other_regions=counts.answered_by_other_regions if cross_region else None,
        answered_for_other_regions=counts.answered_for_other_regions if cross_region else None,
    )


def data_quality_notes(counts: Counts, *, region: bool = True) -> list[str]:
    """Things an auditor must see next to the figures rather than have silently corrected."""
    notes: list[str] = []
    if counts.reported_offered != counts.interval_counted_offered:
        notes.append(NOTES["offered_mismatch"].en.format(reported=counts.reported_offered,
                                                          counted=counts.interval_counted_offered))
    if counts.answered_sl_unknown:
        notes.append(NOTES["sl_unknown"].en.format(count=counts.answered_sl_unknown))
    unknown = counts.answered_wait_unknown + counts.abandoned_wait_unknown
    if unknown:
        notes.append(NOTES["wait_unknown"].en.format(count=unknown))
    if counts.month_records:
        notes.append(NOTES["month_records"].en.format(count=counts.month_records))
    if counts.day_records:
        notes.append(NOTES["day_records"].en.format(count=counts.day_records))
    if region and counts.call_records and counts.interval_records:
        notes.append(NOTES["mixed_sources"].en)
    return notes
