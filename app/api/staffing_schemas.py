"""Response model of the staffing advice (``app.staffing.document.advice_json``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class EstimateOut(BaseModel):
    value: float | None = Field(description="Seconds; null: too few calls in the region to estimate")
    calls: int = Field(description="Calls the estimate rests on: answered calls with handling times, or callers "
                       "whose waits are known (patience)")
    abandoned: int | None = Field(description="Patience only: the abandons it rests on")
    basis: Literal["slot", "region", "none"] = Field(
        description="slot: this hour of the week's own calls; region: too few, so the region's over all hours; "
        "none: too few in the region too (patience: nobody hangs up, Erlang C)")


class ParametersOut(BaseModel):
    handling_seconds: EstimateOut = Field(description="Mean talk + wrap of answered calls")
    patience_seconds: EstimateOut = Field(description="Mean caller patience 1/θ, θ = abandoned / Σ waits of all "
                                          "queued callers")


class SlotParameters(ParametersOut):
    weekday: int = Field(description="ISO weekday, 1 = Monday")
    hour: int = Field(description="Local hour 0–23")


class RegionParametersOut(BaseModel):
    overall: ParametersOut
    slots: list[SlotParameters]


class StaffingOut(BaseModel):
    nurses: int
    answer_rate: float = Field(description="Erlang A's predicted answered / offered at these nurses")
    mean_wait_seconds: float = Field(description="Erlang A's predicted mean wait of answered calls")


class HourOut(BaseModel):
    hour_start: str = Field(examples=["2026-12-08T16:00:00+01:00"])
    offered: float | None = Field(description="Forecast calls in the hour (the scorecard's forecast)")
    target: StaffingOut | None = Field(description="Fewest nurses meeting the targets in force")
    recover: StaffingOut | None = Field(description="Fewest nurses meeting what the rest of the month needs, when "
                                        "that is stricter than the target")
    erlang_c_nurses: int | None = Field(description="What Erlang C (nobody hangs up) asks for the same targets")
    staffed: float | None = Field(None, description="Staffed positions the platform reported for the hour (its "
                                  "interval records' agents_staffed: per queue the average over the hour, summed over "
                                  "the queues; a collaboration's only where every member reports); null: none stored")
    difference: float | None = Field(None, description="staffed less target.nurses: negative is short of plan")
    note: str | None
    handling_seconds: float | None = None
    patience_seconds: float | None = None


class TotalsOut(BaseModel):
    hours: int
    offered: float
    nurse_hours: int
    answer_rate: float | None
    nurse_hours_recover: int | None
    answer_rate_recover: float | None
    nurse_hours_erlang_c: int


class RegionOut(BaseModel):
    region: str
    name: str
    parameters: RegionParametersOut
    hours: list[HourOut]


class TargetsOut(BaseModel):
    answer_rate: float | None
    mean_wait: float | None
    defaults: bool = Field(description="No targets stored for the scope: SPEC §6's defaults")


class MonthSoFar(BaseModel):
    offered: int
    answered: int
    answer_rate: float | None


class StaffingAdviceOut(BaseModel):
    scope: str
    kind: Literal["region", "collaboration"]
    name: str
    date: str
    month: str
    generated_at: str
    data_until: str = Field(description="Stored data before this instant were used (a past date: its start)")
    advice_from: str = Field(description="The first hour advised, local time")
    model: str = Field(description="What the model assumes and where it is known to err")
    targets: TargetsOut
    month_so_far: MonthSoFar
    expected_rest: float | None = Field(description="Calls forecast from data_until to the end of the month")
    needed_answer_rate: float | None
    needed_mean_wait: float | None
    recovering: bool
    today: TotalsOut = Field(description="From advice_from to the end of the date")
    month_rest: TotalsOut = Field(description="From advice_from to the end of the month")
    hours: list[HourOut] = Field(description="Per local hour; a collaboration's are its regions' summed")
    regions: list[RegionOut]
    notes: list[str]
