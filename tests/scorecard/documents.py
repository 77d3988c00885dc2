"""Typed scorecard documents from the JSON shape, for tests that write a document by hand.

Only what a test states is given; everything else takes a neutral default (no KPI value, no targets, a complete
month), so a test shows just the figures it is about.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from app.kpi.counts import Definitions
from app.kpi.targets import Comparator, Status
from app.scorecard.document import (
    Comparison,
    Comparisons,
    Completeness,
    ForecastEntry,
    KpiFigures,
    MemberCompleteness,
    ScopeEntry,
    ScorecardDocument,
    SourceDelivery,
    TargetEntry,
)

COUNTS = ("offered", "answered", "abandoned", "short_abandons", "rejected")


def kpis(values: dict[str, Any] | None) -> KpiFigures:
    given = values or {}
    declared = [f.name for f in fields(KpiFigures) if f.name != "more"]
    return KpiFigures(**{name: given.get(name, 0 if name in COUNTS else None) for name in declared},
                      more={k: v for k, v in given.items() if k not in declared})


def target(row: dict[str, Any]) -> TargetEntry:
    return TargetEntry(kpi=row["kpi"], comparator=Comparator(row["comparator"]), value=row["value"],
                       valid_from=row.get("valid_from", "2000-01"), status=Status(row["status"]),
                       needed=row.get("needed"))


def completeness(values: dict[str, Any] | None) -> Completeness:
    given = values or {}
    return Completeness(
        hours_with_data=given.get("hours_with_data", 744), hours_in_month=given.get("hours_in_month", 744),
        latest_record_at=given.get("latest_record_at"), partial=given.get("partial", False),
        first_hour_with_data=given.get("first_hour_with_data"), starts_late=given.get("starts_late", False),
        ends_early=given.get("ends_early", False),
        members=tuple(MemberCompleteness(**{**m, "sources": sources(m.get("sources"))})
                      for m in given.get("members") or ()),
        members_without_data=tuple(given.get("members_without_data") or ()),
        resolution=given.get("resolution"), days_with_data=given.get("days_with_data"),
        days_in_month=given.get("days_in_month"), sources=sources(given.get("sources")),
    )


def sources(given: list[dict[str, Any]] | None) -> tuple[SourceDelivery, ...]:
    return tuple(SourceDelivery(**s) for s in given or ())


def _comparison(values: dict[str, Any]) -> Comparison:
    return Comparison(month=values["month"], kpis=None if values.get("kpis") is None else kpis(values["kpis"]),
                      delta=dict(values.get("delta") or {}), span=values.get("span", "month"),
                      until=values.get("until"))


def scope(values: dict[str, Any]) -> ScopeEntry:
    comparisons = values.get("comparisons")
    forecast = values.get("forecast")
    return ScopeEntry(
        scope=values["scope"], kind=values.get("kind", "region"), name=values.get("name", values["scope"]),
        kpis=kpis(values.get("kpis")), targets=tuple(target(t) for t in values.get("targets") or ()),
        forecast=None if not forecast else ForecastEntry(**forecast),
        comparisons=None if not comparisons else Comparisons(
            previous_month=_comparison(comparisons["previous_month"]),
            previous_year=_comparison(comparisons["previous_year"])),
        completeness=completeness(values.get("completeness")),
        data_quality=tuple(values.get("data_quality") or ()),
    )


def document(values: dict[str, Any]) -> ScorecardDocument:
    """``ScorecardDocument`` of a dict in the API's JSON shape (keys left out take the defaults above)."""
    return ScorecardDocument(
        month=values["month"], closed=values.get("closed", True),
        definitions=Definitions(**values.get("definitions", {})),
        generated_at=values.get("generated_at", "2025-11-03T07:00:00Z"),
        scopes=tuple(scope(s) for s in values.get("scopes") or ()),
    )
