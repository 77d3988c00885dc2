"""The staffing advice as JSON: what the API returns (``app.api.staffing_schemas`` documents it) and the CLI's
``--json`` prints. Times are local ISO 8601 with their offset (the hours people plan in), rates 0..1, waits seconds."""

from __future__ import annotations

from typing import Any

from app.kpi.localtime import STOCKHOLM, utc_iso
from app.staffing.estimates import Estimate, Parameters, RegionParameters
from app.staffing.plan import HourAdvice, Staffing, Totals
from app.staffing.service import RegionAdvice, StaffingAdvice

ASSUMPTIONS = (
    "Erlang A (M/M/n+M): Poisson arrivals at the forecast rate, constant within each hour; exponential handling "
    "(talk + wrap) and exponential caller patience; one FIFO queue per region, every nurse alike; each hour in its "
    "steady state. It errs after peaks (a queue carried into the next hour), in hours with few calls, and where "
    "patience is far from exponential (many callers who hang up at once)."
)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _estimate(estimate: Estimate, rate_to_seconds: bool = False) -> dict[str, Any]:
    value = estimate.value
    if rate_to_seconds:
        value = None if value is None or value == 0 else 1.0 / value
    return {"value": _round(value, 1), "calls": estimate.calls, "abandoned": estimate.events if rate_to_seconds
            else None, "basis": estimate.basis}


def _parameters(parameters: Parameters) -> dict[str, Any]:
    return {"handling_seconds": _estimate(parameters.handling_seconds),
            "patience_seconds": _estimate(parameters.patience_rate, rate_to_seconds=True)}


def _region_parameters(parameters: RegionParameters) -> dict[str, Any]:
    return {
        "overall": _parameters(parameters.overall),
        "slots": [{"weekday": weekday + 1, "hour": hour, **_parameters(p)}
                  for (weekday, hour), p in sorted(parameters.slots.items())],
    }


def _staffing(staffing: Staffing | None) -> dict[str, Any] | None:
    if staffing is None:
        return None
    return {"nurses": staffing.nurses, "answer_rate": round(staffing.answer_rate, 4),
            "mean_wait_seconds": round(staffing.mean_wait_seconds, 1)}


def hour_json(hour: HourAdvice, with_parameters: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "hour_start": hour.start.astimezone(STOCKHOLM).isoformat(),
        "offered": _round(hour.offered, 2),
        "target": _staffing(hour.target),
        "recover": _staffing(hour.recover),
        "erlang_c_nurses": hour.erlang_c_nurses,
        "staffed": _round(hour.staffed, 1),
        "difference": _round(hour.difference, 1),
        "note": None if hour.note is None else str(hour.note),  # the English it always was (app.staffing.notes)
    }
    if with_parameters:
        out["handling_seconds"] = _round(hour.parameters.handling_seconds.value, 1)
        out["patience_seconds"] = _round(hour.parameters.patience_seconds, 1)
    return out


def _totals(totals: Totals) -> dict[str, Any]:
    return {
        "hours": totals.hours,
        "offered": round(totals.offered, 1),
        "nurse_hours": totals.nurse_hours,
        "answer_rate": _round(totals.answer_rate, 4),
        "nurse_hours_recover": totals.nurse_hours_recover,
        "answer_rate_recover": None if totals.answered_recover is None or not totals.offered
        else round(totals.answered_recover / totals.offered, 4),
        "nurse_hours_erlang_c": totals.nurse_hours_erlang_c,
    }


def _region(region: RegionAdvice) -> dict[str, Any]:
    return {"region": region.region, "name": region.name, "parameters": _region_parameters(region.parameters),
            "hours": [hour_json(h, with_parameters=True) for h in region.hours]}


def advice_json(advice: StaffingAdvice) -> dict[str, Any]:
    return {
        "scope": advice.scope,
        "kind": advice.kind,
        "name": advice.name,
        "date": advice.day.isoformat(),
        "month": advice.month.strftime("%Y-%m"),
        "generated_at": utc_iso(advice.generated_at),
        "data_until": utc_iso(advice.known_until),
        "advice_from": advice.advice_from.astimezone(STOCKHOLM).isoformat(),
        "model": ASSUMPTIONS,
        "targets": {"answer_rate": advice.answer_rate_target, "mean_wait": advice.mean_wait_target,
                    "defaults": advice.targets_default},
        "month_so_far": {"offered": advice.offered_so_far, "answered": advice.answered_so_far,
                         "answer_rate": round(advice.answered_so_far / advice.offered_so_far, 4)
                         if advice.offered_so_far else None},
        "expected_rest": _round(advice.expected_rest, 1),
        "needed_answer_rate": _round(advice.needed_answer_rate, 4),
        "needed_mean_wait": _round(advice.needed_mean_wait, 1),
        "recovering": advice.recovering,
        "today": _totals(advice.today),
        "month_rest": _totals(advice.month_rest),
        "hours": [hour_json(h, with_parameters=advice.kind == "region") for h in advice.hours],
        "regions": [_region(r) for r in advice.regions],
        "notes": [str(note) for note in advice.notes],
    }
