"""The monthly scorecard as typed values: what ``monthly_scorecard`` and ``monthly_series`` return and what every
reader (API, CLI, exports, board report, metrics, alerts) reads by attribute.

The values are those the JSON carries, in its units and spelling: ratios as floats 0..1, waits in seconds,
months as ``YYYY-MM`` and instants as ``…Z`` strings, so every reader shows the very numbers the API sends and
serialising is a plain walk over the fields (``app.api.schemas`` validates these objects by attribute; the CLI's
``--format json`` uses ``to_dict``). Field order is the JSON's key order. Exact fractions stay in
``app.kpi`` (``Kpis``), where targets are judged; the document only reports the outcome.

Frozen, so a cached document (``app.scorecard.cache``) can be handed to any number of readers at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from fractions import Fraction
from typing import Any, Literal

from app.kpi.catalog import KPI_KEYS
from app.kpi.counts import Definitions
from app.kpi.formulas import Kpis
from app.kpi.targets import Comparator, Status

ScopeKind = Literal["region", "collaboration"]


def _float(value: Fraction | float | None) -> float | None:
    """A fraction as ``float``, a float as it is (a percentile, a longest wait): what ``Kpis.as_dict`` gives.

    By exact type first: ``isinstance`` against ``Fraction`` goes through its ABC's ``__instancecheck__``, and this
    runs ~1 000 times in a process's first /metrics scrape."""
    kind = type(value)
    if kind is Fraction:
        return value.numerator / value.denominator  # type: ignore[union-attr]  # what float() of a Fraction does
    if value is None or kind is float or kind is int:
        return value  # type: ignore[return-value]  # not a Fraction: its exact type was just checked
    return float(value) if isinstance(value, Fraction) else value


@dataclass(frozen=True, slots=True)
class KpiFigures:
    """A scope's KPIs over a span, as published: the catalogue's keys in its order (``app.kpi.catalog.KPI_KEYS``).

    The KPIs that code reads by name are typed fields. A KPI added to the catalogue (and ``app.kpi.formulas``)
    without a field here is carried in ``more`` and read like a field (``figures.short_abandon_rate``,
    ``value()``, ``as_dict()``), so the API, exports and metrics publish it without an edit to this module.
    """

    offered: int
    answered: int
    abandoned: int
    short_abandons: int
    rejected: int
    answer_rate: float | None
    mean_wait: float | None
    mean_wait_all: float | None
    abandon_rate: float | None
    rejected_rate: float | None
    service_level: float | None
    wait_p50: float | None
    wait_p90: float | None
    longest_wait: float | None
    answered_by_other_regions: int | None
    answered_for_other_regions: int | None
    more: Mapping[str, float | int | None] = field(default_factory=dict)

    @classmethod
    def of(cls, kpis: Kpis) -> KpiFigures:
        """The exact figures as the floats the JSON carries (``float`` of each fraction)."""
        # positional, in field order: ~70 per /metrics scrape, where a dict of every KPI then two more cost twice this
        return cls(*[_float(getattr(kpis, key)) for key in _DECLARED],  # type: ignore[arg-type, misc]  # each declared field's type is the catalogue unit's, checked by tests/scorecard/test_document.py
                   more={key: _float(getattr(kpis, key)) for key in _MORE})

    def __getattr__(self, name: str) -> float | int | None:
        """A catalogue KPI without a field of its own (only called when ``name`` is not a field)."""
        try:
            return object.__getattribute__(self, "more")[name]  # type: ignore[no-any-return]  # a Mapping of that type
        except KeyError:
            raise AttributeError(name) from None

    def value(self, kpi: str) -> float | int | None:
        """The value of the KPI named ``kpi`` (a key of the KPI catalogue); ``KeyError`` for another name."""
        if kpi in _DECLARED_NAMES:
            return getattr(self, kpi)  # type: ignore[no-any-return]  # every declared field is float | int | None
        return self.more[kpi]

    def as_dict(self) -> dict[str, float | int | None]:
        return {key: self.value(key) for key in KPI_KEYS}


_DECLARED: tuple[str, ...] = tuple(f.name for f in fields(KpiFigures) if f.name != "more")
_DECLARED_NAMES = frozenset(_DECLARED)  # ``value`` runs ~1 500 times per scorecard (its deltas)
_MORE = tuple(key for key in KPI_KEYS if key not in _DECLARED_NAMES)  # in the catalogue's order


def _plain(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``asdict``'s dict factory: a ``KpiFigures`` (the only class with ``more``) as the catalogue's keys in order."""
    values = dict(pairs)
    if "more" in values and "offered" in values:
        values.update(values.pop("more"))
        return {key: values[key] for key in KPI_KEYS}
    return values


@dataclass(frozen=True, slots=True)
class TargetEntry:
    """A target in force in the month and how the month stands against it."""

    kpi: str
    comparator: Comparator
    value: float  # a ratio 0..1 or seconds
    valid_from: str  # YYYY-MM of the version in force
    status: Status
    needed: float | None = None  # month in progress: what the calls still to come must achieve


@dataclass(frozen=True, slots=True)
class ForecastEntry:
    """Month in progress: the calls expected for the rest of the month (SPEC §6)."""

    expected_remaining_offered: float
    expected_total_offered: float
    weeks: int  # weeks of the same weekday and hour averaged (at most 4)
    #: ``weekday_hour``, or ``daily_average`` for daily figures (no hours to sample: the mean day so far)
    basis: str = "weekday_hour"
    days: int = 0  # daily_average: the days the mean is taken over


@dataclass(frozen=True, slots=True)
class Comparison:
    """The month against an earlier one: its figures (None: no data then) and this month's minus those."""

    month: str
    kpis: KpiFigures | None
    delta: Mapping[str, float | None]  # per KPI key, in catalogue order; None where either value is missing
    #: ``month``: the whole earlier month; ``same_days`` (a month in progress): its same days and hours as the month
    #: so far, up to ``until`` (exclusive, UTC), so like is compared with like (``app.scorecard.like_for_like``)
    span: str = "month"
    until: str | None = None


@dataclass(frozen=True, slots=True)
class Comparisons:
    previous_month: Comparison
    previous_year: Comparison

    def against(self, name: str) -> Comparison:
        """``previous_month`` or ``previous_year``; ``KeyError`` for another name."""
        if name == "previous_month":
            return self.previous_month
        if name == "previous_year":
            return self.previous_year
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class SourceDelivery:
    """A source with records in the scope's month, and how far it has delivered (SPEC §5): an auditor sees which
    feeds a figure is built on, and whether one of them stopped short of the month's end."""

    name: str  # sanitised (app.sanitize.clean) where it is read
    kind: str  # file | push | http
    #: the source's own clock, UTC: a pull source's feed position, a file's or a push's newest record (None: none yet)
    delivered_until: str | None


@dataclass(frozen=True, slots=True)
class MemberCompleteness:
    """One member region of a collaboration, judged on its own data."""

    code: str
    name: str
    hours_with_data: int  # 0: no data in the month
    first_hour_with_data: str | None
    latest_record_at: str | None
    partial: bool
    sources: tuple[SourceDelivery, ...] = ()  # the sources with records of this region in the month, by name


@dataclass(frozen=True, slots=True)
class Completeness:
    """How complete the scope's month is (``app.scorecard.completeness``)."""

    hours_with_data: int
    hours_in_month: int
    latest_record_at: str | None
    partial: bool
    first_hour_with_data: str | None
    starts_late: bool
    ends_early: bool
    members: tuple[MemberCompleteness, ...]  # a collaboration's member regions; empty for a region
    members_without_data: tuple[str, ...]  # their codes; empty for a region
    #: the coarsest resolution of the data: ``hour`` (calls, intervals), ``day`` or ``month`` figures; None: no data
    resolution: str | None = None
    days_with_data: int | None = None  # daily figures only: the days they cover
    days_in_month: int | None = None
    #: the sources with records in the scope's month (a collaboration: of any member), by name
    sources: tuple[SourceDelivery, ...] = ()

    def member(self, code: str) -> MemberCompleteness | None:
        return next((m for m in self.members if m.code == code), None)


def _target(targets: tuple[TargetEntry, ...], kpi: str) -> TargetEntry | None:
    return next((t for t in targets if t.kpi == kpi), None)


@dataclass(frozen=True, slots=True)
class ScopeEntry:
    """One region or collaboration in the month's scorecard."""

    scope: str
    kind: ScopeKind
    name: str
    kpis: KpiFigures
    targets: tuple[TargetEntry, ...]  # by KPI key
    forecast: ForecastEntry | None  # month in progress with enough history only
    comparisons: Comparisons | None  # None when the caller asked for none (metrics, alerts)
    completeness: Completeness
    data_quality: tuple[str, ...]  # English notes; those on member regions are worded again by ``member_notes``

    def target(self, kpi: str) -> TargetEntry | None:
        return _target(self.targets, kpi)

    def delta(self, kpi: str, against: str = "previous_month") -> float | None:
        """This month's value of ``kpi`` minus that of the month ``against`` names (see ``Comparisons.against``);
        None without comparisons or where either value is missing."""
        if self.comparisons is None:
            return None
        return self.comparisons.against(against).delta.get(kpi)


@dataclass(frozen=True, slots=True)
class ScorecardDocument:
    """The scorecard of one local month: every region and collaboration with data."""

    month: str  # YYYY-MM, local
    closed: bool
    definitions: Definitions  # those the stored figures were counted under
    generated_at: str  # the moment the figures describe, UTC
    scopes: tuple[ScopeEntry, ...]  # regions by code, then collaborations by code

    def scope(self, kind: str, code: str) -> ScopeEntry | None:
        return next((s for s in self.scopes if s.kind == kind and s.scope == code), None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape as plain Python values (lists are tuples), for ``json.dumps``."""
        return asdict(self, dict_factory=_plain)


@dataclass(frozen=True, slots=True)
class SeriesMonth:
    """One month of a scope's monthly series."""

    month: str
    closed: bool
    kpis: KpiFigures
    targets: tuple[TargetEntry, ...]  # empty for a month still to come
    completeness: Completeness

    def target(self, kpi: str) -> TargetEntry | None:
        return _target(self.targets, kpi)


@dataclass(frozen=True, slots=True)
class SeriesDocument:
    """A region's or collaboration's months, oldest first."""

    scope: str
    kind: ScopeKind
    name: str
    months: tuple[SeriesMonth, ...]
