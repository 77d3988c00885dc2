"""The month in progress's expected calls per scope, from the same weekday and hour of recent weeks (SPEC §6).

Kept apart from the scorecard's assembly (``app.scorecard.service``): the samples' read and its cache, and the
per-scope sums, which on PostgreSQL take the range read's fast path (``app.scorecard.sample_range``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from app.kpi.forecast import Forecast, SamplePlan, forecast_rest, sample_plan
from app.kpi.localtime import HOUR, floor_hour
from app.scorecard.completeness import PARTIAL_AFTER
from app.scorecard.forecast_cache import ForecastHistoryCache
from app.scorecard.offered_samples import offered_samples
from app.scorecard.queries import Span, first_hours_in_spans
from app.scorecard.reads import SharedReads
from app.scorecard.sample_range import SampleRange, flat_forecast


def first_hours_of(
    session: Session, shared: SharedReads | None, regions: Iterable[str], span: Span
) -> dict[str, datetime]:
    if shared is not None:
        return shared.first_hours(session, regions, span)
    return first_hours_in_spans(session, regions, [span])[0]


def _forecast_history(
    session: Session, regions: list[str], plan: SamplePlan, hour: datetime, history: ForecastHistoryCache | None,
    shared: SharedReads | None = None,
) -> tuple[dict[str, dict[datetime, int]] | SampleRange, dict[str, datetime]]:
    def read() -> tuple[dict[str, dict[datetime, int]] | SampleRange, dict[str, datetime]]:
        return offered_samples(session, regions, plan.sample_hours), first_hours_of(session, shared, regions, None)

    if history is None:
        return read()
    return history.get((str(session.get_bind().engine.url), tuple(regions), hour), read)


def forecasts_for(
    session: Session, members: dict[tuple[str, str], list[str]], scopes: list[tuple[str, str]], now: datetime,
    end: datetime, latest: dict[tuple[str, str], datetime | None] | None = None,
    history: ForecastHistoryCache | None = None, *, shared: SharedReads | None = None,
) -> dict[tuple[str, str], Forecast]:
    """Expected calls for the rest of the month per scope, from the same weekday and hour of recent weeks
    (§6). One query fetches the history of every region; a collaboration's is the sum of its members'.

    When the scope's data is partial (its newest record is more than ``PARTIAL_AFTER`` old), the rest starts
    where the data ends, not at "now": calls of hours not yet delivered (a daily file, a late report) are still
    to come, and leaving them out would make the target look unreachable. Otherwise a quiet last hour is
    just quiet, and the rest starts now. ``history`` (the process's cache) keeps the sampled hours a while;
    ``shared`` may hold the regions' first hours. Samples read as a range are summed per region where a scope's data
    began before them (``sample_range.flat_forecast``).
    """
    regions = sorted({region for scope in scopes for region in members.get(scope, [scope[1]])})
    out: dict[tuple[str, str], Forecast] = {}
    by_start: dict[datetime, list[tuple[str, str]]] = {}
    for scope in scopes:
        newest = (latest or {}).get(scope)
        start = now
        if newest is not None and newest < now - PARTIAL_AFTER:  # the month is flagged partial: see below
            start = min(now, floor_hour(newest) + HOUR)
        by_start.setdefault(start, []).append(scope)
    for start, group in by_start.items():
        plan = sample_plan(start, end)
        sampled, first = _forecast_history(session, regions, plan, floor_hour(start), history, shared)
        for scope in group:
            regions_of_scope = members.get(scope, [scope[1]])
            first_data = min((first[r] for r in regions_of_scope if r in first), default=None)
            if isinstance(sampled, SampleRange):
                summed = flat_forecast(sampled, plan, regions_of_scope, start, end, first_data)
                if summed is not None:
                    out[scope] = summed
                    continue
                by_region = {region: sampled.by_hour(region) for region in regions_of_scope}
            else:
                by_region = sampled
            if len(regions_of_scope) == 1:  # a region's own samples, read only: not copied
                offered = by_region.get(regions_of_scope[0], {})
            else:
                offered = {}
                for region in regions_of_scope:
                    for hour, value in by_region.get(region, {}).items():
                        offered[hour] = offered.get(hour, 0) + value
            out[scope] = forecast_rest(offered, start, end, first_data, plan=plan)
    return out


__all__ = ["first_hours_of", "forecasts_for"]
