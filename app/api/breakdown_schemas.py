"""Response models of the breakdowns: a scope's monthly series, the days of a month, the hours of a day."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.api.schemas import FROM_DOCUMENT, Completeness, Kpis, TargetStatus


class MonthFigures(BaseModel):
    """``app.scorecard.document.SeriesMonth``."""

    model_config = FROM_DOCUMENT

    month: str = Field(examples=["2025-10"])
    closed: bool
    kpis: Kpis
    targets: list[TargetStatus] = Field(description="Status by the target valid that month (empty for future months)")
    completeness: Completeness


class ScopeSeries(BaseModel):
    model_config = FROM_DOCUMENT

    scope: str
    kind: Literal["region", "collaboration"]
    name: str
    months: list[MonthFigures]


class DayFigures(BaseModel):
    date: str = Field(examples=["2025-10-26"])
    weekday: int = Field(description="ISO weekday, 1 = Monday")
    kpis: Kpis | None = Field(description="For a region, answered_by/for_other_regions are those of the day, as in "
                              "its monthly figures; null for a collaboration. Null as a whole for a day of monthly "
                              "figures (see note)")
    hours_with_data: int
    hours_in_day: int = Field(description="23 on the spring DST day, 25 on the autumn one, else 24")
    resolution: Literal["hour", "day", "month"] | None = Field(
        default=None, description="The coarsest resolution of the day's data; null without data")
    note: str | None = Field(default=None, description="Why kpis is null")


class ScopeDays(BaseModel):
    scope: str
    kind: Literal["region", "collaboration"]
    name: str
    month: str
    days: list[DayFigures]


class HourFigures(BaseModel):
    hour_start: str = Field(description="Local start of the hour with its UTC offset",
                            examples=["2025-10-26T02:00:00+01:00"])
    local_hour: str = Field(examples=["02:00"])
    utc_offset: str = Field(examples=["+02:00"], description="Tells the two 02:00 hours of the autumn DST day apart")
    has_data: bool = Field(description="The hour has records of the scope's own calls (a region's hour without "
                           "them may still show calls it answered for other regions)")
    kpis: Kpis | None = Field(description="Null for the hour that holds a day's or a month's figures (see note): "
                              "they have no hours")
    resolution: Literal["hour", "day", "month"] | None = Field(
        default=None, description="The coarsest resolution of the hour's data; null without data")
    note: str | None = Field(default=None, description="Why kpis is null")


class ScopeHours(BaseModel):
    scope: str
    kind: Literal["region", "collaboration"]
    name: str
    date: str
    hours_in_day: int
    hours: list[HourFigures]
