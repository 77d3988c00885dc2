"""Response models: the OpenAPI document describes every field a client can rely on."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    error: str = Field(description="Stable machine-readable code")
    detail: object = Field(description="Human-readable explanation or a list of field errors")


class RegionOut(BaseModel):
    code: str = Field(examples=["SE-AC"], description="ISO 3166-2:SE code")
    name: str = Field(examples=["Västerbotten"])
    collaborations: list[str]


class CollaborationOut(BaseModel):
    code: str = Field(examples=["norra"])
    name: str
    regions: list[str]


class Kpis(BaseModel):
    offered: int = Field(description="Inkommande samtal: answered + abandoned + rejected, excluding short abandons")
    answered: int = Field(description="Besvarade")
    abandoned: int = Field(description="Avbrutna: hung up while queued, at least short_abandon_seconds")
    short_abandons: int = Field(description="Korta avbrott: not in offered")
    rejected: int = Field(description="Kön full: never queued")
    answer_rate: float | None = Field(description="Svarsfrekvens: answered / offered")
    mean_wait: float | None = Field(description="Medelväntetid in seconds, answered calls")
    mean_wait_all: float | None = Field(description="Mean wait of answered and abandoned calls, seconds")
    abandon_rate: float | None
    rejected_rate: float | None
    service_level: float | None = Field(description="Answered within sl_seconds / offered")
    wait_p50: float | None = Field(description="Median wait of answered calls (histogram estimate); call data only")
    wait_p90: float | None
    longest_wait: float | None
    answered_by_other_regions: int | None = Field(
        description="This region's calls answered by another region, where the source names the answering region; "
        "null for a collaboration")
    answered_for_other_regions: int | None = Field(
        description="Other regions' calls answered here; null for a collaboration")


class TargetStatus(BaseModel):
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
    expected_remaining_offered: float = Field(description="Calls expected for the rest of the month")
    expected_total_offered: float
    weeks: int = Field(description="Weeks of the same weekday and hour the forecast averages (at most 4)")


class KpiDeltas(BaseModel):
    month: str = Field(description="The month compared with, YYYY-MM")
    kpis: Kpis | None = Field(description="Its figures (null: no data then)")
    delta: dict[str, float | None] = Field(description="This month's value minus that month's, per KPI")


class Comparisons(BaseModel):
    previous_month: KpiDeltas
    previous_year: KpiDeltas


class MemberCompleteness(BaseModel):
    code: str = Field(examples=["SE-Y"])
    name: str
    hours_with_data: int = Field(description="0: the region has no data in the month")
    first_hour_with_data: str | None = Field(description="Start of the region's first hour with data, UTC")
    latest_record_at: str | None = Field(description="The region's newest record in the month, UTC")
    partial: bool = Field(description="No data, or data that start late or end early (see Completeness.partial)")


class Completeness(BaseModel):
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


class ScopeScorecard(BaseModel):
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
    short_abandon_seconds: int
    sl_seconds: int


class Scorecard(BaseModel):
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
