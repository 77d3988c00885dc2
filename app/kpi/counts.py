"""Additive counts: the only thing ever summed across hours, days, months and regions (SPEC §4–§5).

A ratio is computed once, from summed counts, at the very end. ``Counts`` therefore has no ratio
fields at all: there is nothing in it that could be averaged by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from app.kpi.histogram import add_histograms, bucket_index_ms, empty_histogram
from app.kpi.records import CallRecord, IntervalRecord, Outcome, seconds_to_ms


@dataclass(frozen=True, slots=True)
class Definitions:
    """The settings that change how a record is counted; aggregates are built under one set of them."""

    short_abandon_seconds: int = 0
    sl_seconds: int = 600

    def __post_init__(self) -> None:
        if self.short_abandon_seconds < 0:
            raise ValueError("short_abandon_seconds must be >= 0")
        if self.sl_seconds < 0:
            raise ValueError("sl_seconds must be >= 0")


def _max_optional(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


@dataclass(frozen=True, slots=True)
class Counts:
    answered: int = 0
    abandoned: int = 0  # waited at least short_abandon_seconds
    short_abandons: int = 0
    rejected: int = 0
    answered_within_sl: int = 0
    #: answered calls from interval rows whose sl_seconds differs from ours: service level unknown
    answered_sl_unknown: int = 0
    #: waits in whole milliseconds: integer sums are exact in any order of addition
    wait_answered_ms: int = 0
    wait_abandoned_ms: int = 0  # excludes short abandons where the split is known (call data)
    #: calls whose waits are not in the sums (an interval report without the optional sum columns):
    #: a mean over them would be silently wrong, so it becomes unknown instead
    answered_wait_unknown: int = 0
    abandoned_wait_unknown: int = 0
    longest_wait_unknown: int = 0
    longest_wait_ms: int | None = None
    talk_sum: float = 0.0
    wrap_sum: float = 0.0
    wait_histogram: tuple[int, ...] = field(default_factory=empty_histogram)
    answered_by_other_regions: int = 0
    answered_for_other_regions: int = 0
    call_records: int = 0
    interval_records: int = 0
    #: of ``interval_records``, those of a whole local day or a calendar month (coarse statistics, SPEC §3): their
    #: calls have no hour, so a span holding any has no hour breakdown below their resolution
    day_records: int = 0
    month_records: int = 0
    #: offered as the platform reported it, and answered + abandoned + rejected of the same rows
    reported_offered: int = 0
    interval_counted_offered: int = 0
    latest_record_at: datetime | None = None

    @property
    def offered(self) -> int:
        return self.answered + self.abandoned + self.rejected

    @property
    def has_interval_data(self) -> bool:
        return self.interval_records > 0

    @property
    def resolution(self) -> str | None:
        """The coarsest resolution of the records summed here: ``month``, ``day``, ``hour`` (call records and
        15–60-minute intervals) or None without data."""
        if self.month_records:
            return "month"
        if self.day_records:
            return "day"
        return "hour" if self.has_data else None

    @property
    def has_data(self) -> bool:
        return self.call_records + self.interval_records > 0

    def __add__(self, other: Counts) -> Counts:
        values: dict[str, Any] = {}  # each field's own type: a getattr of it, or the sum of two
        for f in fields(self):
            a = getattr(self, f.name)
            b = getattr(other, f.name)
            if f.name == "longest_wait_ms":
                values[f.name] = _max_optional(a, b)
            elif f.name == "latest_record_at":
                values[f.name] = _latest(a, b)
            elif f.name == "wait_histogram":
                values[f.name] = add_histograms(a, b)
            else:
                values[f.name] = a + b
        return Counts(**values)


def sum_counts(items: list[Counts] | tuple[Counts, ...]) -> Counts:
    total = Counts()
    for item in items:
        total = total + item
    return total


def counts_from_call(call: CallRecord, definitions: Definitions) -> Counts:
    """What one call contributes to its caller region's hour.

    ``answered_for_other_regions`` is not set here: it belongs to the answering region's figures and
    is added there by whoever sums across regions.
    """
    wait = call.wait_ms
    latest = call.arrived_at
    if call.outcome is Outcome.REJECTED:
        return Counts(rejected=1, call_records=1, latest_record_at=latest)
    if call.outcome is Outcome.ABANDONED:
        assert wait is not None
        if wait < definitions.short_abandon_seconds * 1000:
            return Counts(short_abandons=1, call_records=1, latest_record_at=latest)
        return Counts(abandoned=1, wait_abandoned_ms=wait, call_records=1, latest_record_at=latest)
    assert wait is not None
    histogram = [0] * len(empty_histogram())
    histogram[bucket_index_ms(wait)] = 1
    by_other = int(call.answered_by_region is not None and call.answered_by_region != call.region)
    return Counts(
        answered=1,
        answered_within_sl=int(wait <= definitions.sl_seconds * 1000),
        wait_answered_ms=wait,
        longest_wait_ms=wait,
        talk_sum=call.talk_seconds or 0.0,
        wrap_sum=call.wrap_seconds or 0.0,
        wait_histogram=tuple(histogram),
        answered_by_other_regions=by_other,
        call_records=1,
        latest_record_at=latest,
    )


def counts_from_interval(record: IntervalRecord, definitions: Definitions) -> Counts:
    """What one platform interval row contributes.

    Short abandons are the platform's own ``abandoned_short`` and are split off only when we use a
    threshold at all (SPEC §4). Their waits cannot be separated from the abandoned wait sum, so where any are
    split off the other abandoned calls' waits are unknown: counted in that sum, they would lengthen mean_wait_all,
    whose denominator leaves the short abandons out.
    """
    short = record.abandoned_short if definitions.short_abandon_seconds > 0 else 0
    abandoned_waits = None if short else record.wait_abandoned_seconds_sum
    sl_known = record.sl_seconds == definitions.sl_seconds
    return Counts(
        answered=record.answered,
        abandoned=record.abandoned - short,
        short_abandons=short,
        rejected=record.rejected,
        answered_within_sl=record.answered_within_sl if sl_known else 0,
        answered_sl_unknown=0 if sl_known else record.answered,
        wait_answered_ms=seconds_to_ms(record.wait_answered_seconds_sum or 0.0),
        wait_abandoned_ms=seconds_to_ms(abandoned_waits or 0.0),
        answered_wait_unknown=record.answered if record.wait_answered_seconds_sum is None else 0,
        abandoned_wait_unknown=(record.abandoned - short) if abandoned_waits is None else 0,
        longest_wait_ms=None if record.longest_wait_seconds is None else seconds_to_ms(record.longest_wait_seconds),
        longest_wait_unknown=record.answered if record.longest_wait_seconds is None else 0,
        talk_sum=record.talk_seconds_sum or 0.0,
        wrap_sum=record.wrap_seconds_sum or 0.0,
        interval_records=1,
        day_records=int(record.resolution == "day"),
        month_records=int(record.resolution == "month"),
        reported_offered=record.offered,
        interval_counted_offered=record.answered + record.abandoned + record.rejected,
        latest_record_at=record.interval_end,
    )
