"""Gather the figures every rule needs, ask the rules, and apply their verdicts (SPEC §8).

The month rules read the same scorecard documents people read (status, forecast, needed answer rate), so an
alert can never disagree with the scorecard it links to. The fast-slip window reads the hourly aggregates.
One evaluation is one transaction: observations and the resulting phase changes and outbox rows commit
together.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.alerts.channel_config import ChannelConfig
from app.alerts.engine import AlertKey
from app.alerts.rulebook import RuleBook
from app.alerts.rules import (
    PULL_SOURCE_MAX_AGE_MINUTES,
    DataStaleSettings,
    FastSlipSettings,
    WindowFigures,
    WorkerStaleSettings,
    data_stale_observation,
    fast_slip_observations,
    month_target_observations,
    worker_stale_observation,
)
from app.alerts.staffing import ExtraNurseHours
from app.alerts.store import ApplyReport, Evaluated, LinkFor, apply_evaluation
from app.config import Settings
from app.db.models import Source, WorkerHeartbeat
from app.db.session import transaction
from app.kpi.counts import Counts, sum_counts
from app.kpi.localtime import STOCKHOLM, floor_hour, local_month_of, previous_month, utc_iso
from app.scorecard.document import ScorecardDocument, TargetEntry
from app.scorecard.forecast_cache import ForecastHistoryCache
from app.scorecard.queries import counts_by_region
from app.scorecard.service import monthly_scorecard, scope_regions

log = logging.getLogger(__name__)

HEARTBEATS_LOOKED_AT = timedelta(days=7)  # older rows are history, not workers anyone expects to be alive


def evaluate_alerts(
    factory: sessionmaker[Session], settings: Settings, rulebook: RuleBook, channels: list[ChannelConfig], *,
    now: datetime | None = None, worker_id: str | None = None, history: ForecastHistoryCache | None = None,
) -> ApplyReport:
    """``history``: the worker's cache of the hours a forecast samples (made at its start)."""
    now = now or datetime.now(UTC)
    with transaction(factory) as session:
        evaluated = list(observe(session, settings, rulebook, now, worker_id, history))
        return apply_evaluation(session, evaluated, now, channels=channels, link_for=link_maker(settings, now),
                                retry_for=timedelta(hours=settings.alert_retry_hours))


def observe(session: Session, settings: Settings, rulebook: RuleBook, now: datetime,
            worker_id: str | None = None, history: ForecastHistoryCache | None = None) -> Iterator[Evaluated]:
    month = local_month_of(now)
    current = monthly_scorecard(session, month, settings.definitions, now, comparisons=False,
                                collaboration_hours=False, history=history, sources=False)
    closed = monthly_scorecard(session, previous_month(month), settings.definitions, now, comparisons=False,
                               collaboration_hours=False, history=history, sources=False)
    extra_nurse_hours = ExtraNurseHours(session, now, history)  # only the breached at-risk scopes ask
    for document in (current, closed):
        yield from _month_rules(document, rulebook, extra_nurse_hours)
    yield from _fast_slip(session, current, rulebook, now)
    yield from _data_stale(session, rulebook, now)
    yield from _worker_stale(session, settings, rulebook, now, worker_id)


def _scope_details(document: ScorecardDocument) -> dict[str, dict[str, Any]]:
    """Per scope, the facts an alert message states (stored with the alert as JSON) and its targets by KPI."""
    out = {}
    for scope in document.scopes:
        by_kpi = {t.kpi: t for t in scope.targets}
        rate, wait = by_kpi.get("answer_rate"), by_kpi.get("mean_wait")
        out[scope.scope] = {
            "scope_name": scope.name, "scope_kind": scope.kind, "month": document.month,
            "closed": document.closed, "offered": scope.kpis.offered,
            "needed_answer_rate": None if rate is None or document.closed else rate.needed,
            "needed_mean_wait": None if wait is None or document.closed else wait.needed,
            "expected_remaining_offered": (None if scope.forecast is None
                                           else scope.forecast.expected_remaining_offered),
            "targets": by_kpi,
        }
    return out


def _month_rules(document: ScorecardDocument, rulebook: RuleBook,
                 extra_nurse_hours: ExtraNurseHours | None = None) -> Iterator[Evaluated]:
    scopes = _scope_details(document)
    kpis = {scope.scope: scope.kpis for scope in document.scopes}
    for observation in month_target_observations(document, rulebook):
        key = observation.key
        base = dict(scopes[key.scope])
        target: TargetEntry = base.pop("targets")[key.kpi]
        details = {**base, "value": kpis[key.scope].value(key.kpi), "target": target.value,
                   "comparator": target.comparator.value, "status": target.status.value, "needed": target.needed}
        if (key.rule == "target_at_risk" and observation.breached and not document.closed
                and extra_nurse_hours is not None):
            details["extra_nurse_hours"] = extra_nurse_hours.for_alert(base["scope_kind"], key.scope, key.kpi,
                                                                       key.period)  # None: no advice
        yield Evaluated(observation, rulebook(key.rule, key.scope).for_duration, details)


def _fast_slip(session: Session, document: ScorecardDocument, rulebook: RuleBook,
               now: datetime) -> Iterator[Evaluated]:
    """Counts over the current hour so far and the ``hours`` whole hours before it (never less than ``hours``)."""
    if document.closed:
        return
    details = _scope_details(document)
    members = scope_regions(session)
    wanted: dict[int, list[tuple[str, dict[str, Any], FastSlipSettings]]] = defaultdict(list)
    for code, scope in details.items():
        settings: FastSlipSettings = rulebook("fast_slip", code)
        if settings.enabled and ({"answer_rate", "mean_wait"} & scope["targets"].keys()):
            wanted[settings.hours].append((code, scope, settings))
    for hours, scopes in wanted.items():
        start = floor_hour(now) - timedelta(hours=hours)
        by_region = counts_by_region(session, None, start, now)
        for code, scope, settings in scopes:
            regions = members.get((scope["scope_kind"], code), [code])
            counts = sum_counts([by_region[r][0] for r in regions if r in by_region]) if regions else Counts()
            targets = scope["targets"]
            rate_target = targets.get("answer_rate")
            wait_target = targets.get("mean_wait") if counts.answered_wait_unknown == 0 else None
            window = WindowFigures(code, counts.offered, counts.answered, counts.wait_answered_ms,
                                   None if rate_target is None else rate_target.value,
                                   None if wait_target is None else wait_target.value)
            for observation in fast_slip_observations(window, settings):
                target = targets[observation.key.kpi]
                extra = {"scope_name": scope["scope_name"], "scope_kind": scope["scope_kind"],
                         "month": scope["month"], "hours": hours, "window_start": utc_iso(start),
                         "offered": counts.offered, "answered": counts.answered, "value": observation.value,
                         "threshold": observation.threshold, "target": target.value,
                         "comparator": target.comparator.value, "needed_answer_rate": scope["needed_answer_rate"],
                         "needed_mean_wait": scope["needed_mean_wait"],
                         "expected_remaining_offered": scope["expected_remaining_offered"]}
                yield Evaluated(observation, settings.for_duration, extra)


def _data_stale(session: Session, rulebook: RuleBook, now: datetime) -> Iterator[Evaluated]:
    for source in session.scalars(select(Source).where(Source.enabled.is_(True)).order_by(Source.name)):
        settings: DataStaleSettings = rulebook("data_stale", source.name)
        if not settings.enabled:
            continue
        minutes = settings.max_age_minutes
        if minutes is None:
            if source.kind != "http":
                continue  # a file or push source has no cadence unless one is configured for it
            cadence = int((source.config or {}).get("cadence_seconds", 60))
            minutes = max(PULL_SOURCE_MAX_AGE_MINUTES, 3 * cadence / 60)
        max_age = timedelta(minutes=minutes)
        last = source.last_data_at or source.created_at
        observation = data_stale_observation(source.name, last, max_age, now)
        yield Evaluated(observation, settings.for_duration, {
            "scope_name": source.name, "scope_kind": "source", "kind": source.kind,
            "last_data_at": utc_iso(source.last_data_at), "last_success_at": utc_iso(source.last_success_at),
            "age_seconds": observation.value, "max_age_seconds": max_age.total_seconds(),
            "last_error": source.last_error,
        })


def _worker_stale(session: Session, settings: Settings, rulebook: RuleBook, now: datetime,
                  worker_id: str | None) -> Iterator[Evaluated]:
    beats = list(session.scalars(select(WorkerHeartbeat).where(WorkerHeartbeat.beat_at > now - HEARTBEATS_LOOKED_AT)))
    for beat in beats:
        if beat.worker_id == worker_id:
            continue
        rule: WorkerStaleSettings = rulebook("worker_stale", beat.worker_id)
        if not rule.enabled:
            continue
        max_age = timedelta(seconds=rule.max_age_seconds or 3 * settings.worker_heartbeat_seconds + 5)
        superseded = any(other.started_at > beat.beat_at for other in beats)
        observation = worker_stale_observation(beat.worker_id, beat.beat_at, beat.state == "running", superseded,
                                               max_age, now)
        yield Evaluated(observation, rule.for_duration, {
            "scope_name": beat.worker_id, "scope_kind": "worker", "hostname": beat.hostname,
            "beat_at": utc_iso(beat.beat_at), "age_seconds": observation.value,
            "max_age_seconds": max_age.total_seconds(),
        })


def link_maker(settings: Settings, now: datetime) -> LinkFor:
    """Where a message points: the Grafana dashboard if there is one, else the service's own pages."""
    base = settings.public_base_url.rstrip("/")
    today = now.astimezone(STOCKHOLM).date().isoformat()

    def link_for(key: AlertKey, details: dict[str, Any]) -> str:
        kind = details.get("scope_kind")
        if kind in ("region", "collaboration") and settings.dashboard_url:
            return f"{settings.dashboard_url}?var-scope={key.scope}"
        if key.rule.startswith("target_") and key.period:
            # Pages of the web view (app.web): a browser without a session is asked to sign in, not sent JSON 401.
            return f"{base}/report/{key.period}?scope={key.scope}"  # the scope's own section of the board report
        if key.rule == "fast_slip":
            return f"{base}/{kind}s/{key.scope}/days/{today}"  # the scope's hours today
        if key.rule == "data_stale":
            return f"{base}/api/v1/sources/{key.scope}"
        return f"{base}/readyz"

    return link_for
