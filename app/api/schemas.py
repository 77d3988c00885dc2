"""Response models: the OpenAPI document describes every field a client can rely on.

The scorecard's models (``Kpis`` to ``Scorecard``) are the serialisation of ``app.scorecard.document``: they are
validated from its dataclasses by attribute and have the same fields in the same order (a test holds them
together); they only add the descriptions and the JSON types.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from app.kpi.catalog import CATALOG, KpiSpec

#: Read a document dataclass (``app.scorecard.document``) by attribute.
FROM_DOCUMENT = ConfigDict(from_attributes=True)


class ErrorBody(BaseModel):
    error: str = Field(description="Stable machine-readable code")
    detail: object = Field(description="Human-readable explanation or a list of field errors")


#: The 422 of an endpoint whose parameters or body the framework validates: one text for every router.
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "A parameter breaks a rule; detail lists each field (loc) at fault"}
}


class RegionOut(BaseModel):
    code: str = Field(examples=["SE-AC"], description="ISO 3166-2:SE code")
    name: str = Field(examples=["Västerbotten"])
    collaborations: list[str]


class CollaborationOut(BaseModel):
    code: str = Field(examples=["norra"])
    name: str
    regions: list[str]


_UNIT_NOTE = {"ratio": "; a ratio from 0 to 1", "seconds": "; in seconds", "count": ""}


def _kpi_field(spec: KpiSpec) -> tuple[Any, Any]:
    """A KPI's JSON type and description from the catalogue: a count is an integer, a ratio or wait a number."""
    kind: Any = int if spec.unit == "count" else float
    description = f"{spec.name.sv} / {spec.name.en}: {spec.definition.en}{_UNIT_NOTE[spec.unit]}"
    return (kind | None if spec.nullable else kind), Field(description=description)


if TYPE_CHECKING:
    class Kpis(BaseModel):
        """One field per KPI of ``app.kpi.catalog`` (made from it below)."""
else:  # every KPI of the catalogue, in its order: a new KPI is in the API without a change here
    Kpis = create_model("Kpis", __config__=FROM_DOCUMENT, **{spec.key: _kpi_field(spec) for spec in CATALOG})


class TargetStatus(BaseModel):
    model_config = FROM_DOCUMENT

    kpi: str
    comparator: Literal[">=", "<="]
    value: float
    valid_from: str = Field(description="YYYY-MM from which this target version applies")
    status: Literal["met", "missed", "no_data", "on_track", "at_risk", "unreachable"]
    needed: float | None = Field(
        default=None,
        description="Month in progress only: the answer rate the calls still to come must reach (answer_rate), or "
        "the mean wait in seconds they may have (mean_wait), for the month to end on target",
    )


class Forecast(BaseModel):
    model_config = FROM_DOCUMENT

    expected_remaining_offered: float = Field(description="Calls expected for the rest of the month")
    expected_total_offered: float
    weeks: int = Field(description="Weeks of the same weekday and hour the forecast averages (at most 4)")
    basis: Literal["weekday_hour", "daily_average"] = Field(
        default="weekday_hour", description="weekday_hour: each remaining hour is the mean of the same weekday and "
        "hour over recent weeks; daily_average (a scope with only daily figures, which have no hours): each day "
        "still to come is the mean day of the daily figures so far, with no weekday pattern (weeks is then 0)")
    days: int = Field(default=0, description="daily_average: the days of figures the mean day is taken from")


class KpiDeltas(BaseModel):
    model_config = FROM_DOCUMENT

    month: str = Field(description="The month compared with, YYYY-MM")
    kpis: Kpis | None = Field(description="Its figures (null: no data then)")
    delta: dict[str, float | None] = Field(description="This month's value minus that month's, per KPI")
    span: Literal["month", "same_days"] = Field(
        default="month", description="month: the whole earlier month; same_days (a month in progress): the earlier "
        "month's same days and hours as the month so far, up to `until`, so like is compared with like")
    until: str | None = Field(default=None, description="same_days: end of the span compared (exclusive), UTC")


class Comparisons(BaseModel):
    model_config = FROM_DOCUMENT

    previous_month: KpiDeltas
    previous_year: KpiDeltas


class SourceDelivery(BaseModel):
    """A source with records in the month, and how far it has delivered (SPEC §5)."""

    model_config = FROM_DOCUMENT

    name: str = Field(description="The source's name", examples=["platform"])
    kind: str = Field(
        examples=["http"],
        description="file (`vpt ingest`, the drop directory), push (POST /api/v1/ingest) or http (a pull source)")
    delivered_until: str | None = Field(
        description="How far the source has delivered, by its own clock, UTC: a pull source's feed position, a file "
        "or push source's newest record (of any month). Before the month's end, the month may still be missing "
        "records from it", examples=["2025-10-31T22:45:00Z"])


SOURCES_EXAMPLE = [[{"name": "platform", "kind": "http", "delivered_until": "2025-11-01T06:00:00Z"},
                    {"name": "drop-calls", "kind": "file", "delivered_until": "2025-10-31T22:58:00Z"}]]


class MemberCompleteness(BaseModel):
    model_config = FROM_DOCUMENT

    code: str = Field(examples=["SE-Y"])
    name: str
    hours_with_data: int = Field(description="0: the region has no data in the month")
    first_hour_with_data: str | None = Field(description="Start of the region's first hour with data, UTC")
    latest_record_at: str | None = Field(description="The region's newest record in the month, UTC")
    partial: bool = Field(description="No data, or data that start late or end early (see Completeness.partial)")
    sources: list[SourceDelivery] = Field(
        default_factory=list, description="The sources with records of this region in the month, by name",
        examples=SOURCES_EXAMPLE)


class Completeness(BaseModel):
    model_config = FROM_DOCUMENT

    hours_with_data: int
    hours_in_month: int = Field(description="744 for most 31-day months; 745 in October, 743 in March (DST)")
    latest_record_at: str | None = Field(description="Newest record in the month, UTC (of any member region)")
    partial: bool = Field(
        description="The data start late (the first hour with data begins more than 6 hours after the month's "
        "start) or end early (the newest record is more than 6 hours before the month's end, or before now for "
        "the month in progress); for a collaboration, any member region is partial or has no data at all "
        "(its completeness is that of its weakest member)")
    first_hour_with_data: str | None = Field(
        description="Start of the first hour with data in the month, UTC (of any member region)")
    starts_late: bool = Field(description="A region (or a member with data) starts late")
    ends_early: bool = Field(description="A region (or a member with data) ends early")
    members: list[MemberCompleteness] = Field(
        description="A collaboration's member regions, each with its own completeness; "
        "empty for a region")
    members_without_data: list[str] = Field(
        description="A collaboration's member regions without any data in the month (also "
        "named in data_quality); empty for a region", examples=[["SE-Y"]])
    resolution: Literal["hour", "day", "month"] | None = Field(
        default=None, description="The coarsest resolution of the data: hour (call records, 15–60-minute "
        "intervals), day (daily figures) or month (monthly figures: complete for their month, with no day or hour "
        "breakdown and no percentiles); null without data")
    days_with_data: int | None = Field(
        default=None, description="Daily figures only: the days of the month they cover (a day missing among the "
        "days that are over makes the month partial)")
    days_in_month: int | None = Field(default=None, examples=[31])
    sources: list[SourceDelivery] = Field(
        default_factory=list, description="The sources with records in the month (a collaboration: of any member "
        "region, each once), by name, each with how far it has delivered", examples=SOURCES_EXAMPLE)


class ScopeScorecard(BaseModel):
    model_config = FROM_DOCUMENT

    scope: str
    kind: Literal["region", "collaboration"]
    name: str
    kpis: Kpis
    targets: list[TargetStatus]
    forecast: Forecast | None = Field(default=None, description="Month in progress only")
    comparisons: Comparisons
    completeness: Completeness
    data_quality: list[str]


class Definitions(BaseModel):
    model_config = FROM_DOCUMENT

    short_abandon_seconds: int
    sl_seconds: int


class Scorecard(BaseModel):
    model_config = FROM_DOCUMENT

    month: str = Field(examples=["2025-10"])
    closed: bool = Field(description="False while the month is still in progress")
    definitions: Definitions
    generated_at: str
    scopes: list[ScopeScorecard]


class WorkerStatus(BaseModel):
    worker_id: str
    state: str
    beat_at: datetime
    stale: bool
    current_job: str | None = None


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    detail: str | None = None
    worker: WorkerStatus | None = Field(default=None, description="The latest worker heartbeat (/readyz only)")
