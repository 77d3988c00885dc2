"""Prometheus metrics read from the database at scrape time (SPEC §7).

Every figure comes from the same service functions as the scorecard, over fixed windows (today, month to
date, previous month), and from small running-total rows: the cost of a scrape does not grow with the
history stored. The collector is registered on a registry made per app (never the default registry at
import time), so a scrape is the only moment it touches the database.

Labels stay few and bounded: ``scope`` (21 regions and the collaborations), ``scope_kind``, ``window``,
``kpi``, ``status``, ``region``, ``outcome``, ``source``, ``result``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.leases import heartbeat_is_stale, latest_heartbeat
from app.db.models import Source
from app.db.session import database_unavailable
from app.db.totals import region_totals
from app.kpi.catalog import CATALOG
from app.kpi.histogram import WAIT_BUCKET_EDGES
from app.kpi.localtime import STOCKHOLM, local_day_bounds, local_month_of, previous_month
from app.metrics.alerts import alert_families
from app.scorecard.document import KpiFigures, ScorecardDocument
from app.scorecard.forecast_cache import ForecastHistoryCache
from app.scorecard.queries import data_version_and_definitions
from app.scorecard.service import (
    monthly_scorecard,
    region_and_collaboration_figures,
    scope_names,
    shared_reads,
)

log = logging.getLogger(__name__)

SCOPE = ["scope", "scope_kind"]
WINDOWED = [*SCOPE, "window"]
MONTH_STATUSES = ("on_track", "at_risk", "unreachable", "no_data")
CLOSED_STATUSES = ("met", "missed", "no_data")
OUTCOMES = {"answered": "answered", "abandoned": "abandoned", "rejected": "rejected",
            "short_abandons": "short_abandon"}
RESULTS = ("read", "stored", "updated", "unchanged", "rejected")
UNIT_SUFFIX = {"ratio": "ratio", "seconds": "seconds", "count": "calls"}  # Prometheus base units (SPEC §7)
PREVIOUS_MONTH_TTL = 300  # seconds a previous-month document is reused across ingests


#: the columns the source gauges read, as plain rows: loading ``Source`` objects cost twice the statement (issue 15)
_SOURCES = select(
    Source.name, Source.kind, Source.config, Source.last_success_at, Source.last_error_at, Source.delivered_until,
    Source.records_behind, Source.last_run_seconds, Source.consecutive_failures, Source.warnings_total,
    Source.runs_succeeded_total, Source.runs_rejected_total, Source.runs_failed_total,
    *[getattr(Source, f"rows_{result}_total") for result in RESULTS],
).order_by(Source.name)


def _timestamp(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


class VptCollector(Collector):
    def __init__(
        self, factory: sessionmaker[Session], settings: Settings, clock: Callable[[], datetime] | None = None, *,
        history: ForecastHistoryCache | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))  # a benchmark or test may fix "now"
        self.history = history if history is not None else ForecastHistoryCache()  # the app's, shared with its API
        self._cache: dict[str, tuple[tuple[Any, ...], ScorecardDocument]] = {}

    def _is_cached(self, key: tuple[Any, ...]) -> bool:
        hit = self._cache.get(key[0])
        return hit is not None and hit[0] == key

    def _cached(self, key: tuple[Any, ...], compute: Callable[[], ScorecardDocument]) -> ScorecardDocument:
        """The month documents are reused while nothing was ingested, no target set and no definition changed
        (the data version) — and, for the month in progress, within the same minute (its forecast moves with
        the clock). A scrape between two ingests then costs a handful of small queries."""
        kind = key[0]
        hit = self._cache.get(kind)
        if hit is not None and hit[0] == key:
            return hit[1]
        value = compute()
        self._cache[kind] = (key, value)
        return value

    def describe(self) -> list[Metric]:
        return []  # nothing at registration: the database is read on scrape only

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        database_up = GaugeMetricFamily("vpt_database_up", "1 when the database answered this scrape")
        try:
            with self.factory() as session:
                families = list(self._families(session, self.clock()))
        except Exception as exc:
            if database_unavailable(exc):  # an outage: vpt_database_up says it, no traceback every scrape
                log.warning("metrics.collect.database_unavailable", extra={"error": type(exc).__name__})
            else:
                log.exception("metrics.collect.failed")
            database_up.add_metric([], 0)
            yield database_up
            return
        database_up.add_metric([], 1)
        yield database_up
        yield from families
        duration = GaugeMetricFamily("vpt_metrics_collect_duration_seconds", "Time this scrape spent reading")
        duration.add_metric([], time.perf_counter() - started)
        yield duration

    # -- scorecard ---------------------------------------------------------------------------------------

    def _families(self, session: Session, now: datetime) -> Iterator[Metric]:
        yield from self._scorecard(session, now)
        yield from self._totals(session)
        yield from self._sources(session)
        yield from self._worker(session, now)
        yield from alert_families(session, now)

    def _scorecard(self, session: Session, now: datetime) -> Iterator[Metric]:
        month = local_month_of(now)
        previous = previous_month(month)
        version, definitions = data_version_and_definitions(session)
        current_key = ("month_to_date", month, version, now.replace(second=0, microsecond=0))
        # The previous month changes only with late records: reused for a few minutes across ingests (targets
        # and definitions still take effect at once).
        closed_key = ("previous_month", previous, version[1:], int(time.monotonic() // PREVIOUS_MONTH_TTL))
        # Definitions, targets, names and the roll-up of the months to compute are read once for both documents
        # and today's figures (a process's first scrape read them twice, the names three times).
        to_compute = [key[1] for key in (current_key, closed_key) if not self._is_cached(key)]
        shared = shared_reads(session, to_compute, definitions) if to_compute else None
        names = shared.names if shared is not None else scope_names(session)

        def compute(of: date) -> ScorecardDocument:
            return monthly_scorecard(session, of, self.settings.definitions, now, comparisons=False,
                                     collaboration_hours=False, history=self.history, shared=shared, sources=False)

        current = self._cached(current_key, lambda: compute(month))
        closed = self._cached(closed_key, lambda: compute(previous))
        today_start, today_end = local_day_bounds(now.astimezone(STOCKHOLM).date())
        today = region_and_collaboration_figures(session, today_start, min(today_end, now),
                                                 collaboration_hours=False, names=names)

        info = InfoMetricFamily("vpt_scope", "A region or collaboration with data", labels=SCOPE)
        gauges = {  # the catalogue's gauge KPIs: vpt_offered_calls, vpt_answer_rate_ratio, vpt_mean_wait_seconds, ...
            spec.key: GaugeMetricFamily(f"vpt_{spec.key}_{UNIT_SUFFIX[spec.unit]}",
                                        f"{spec.name.en}: {spec.definition.en}", labels=WINDOWED)
            for spec in CATALOG if spec.gauge
        }
        targets_in_force = {  # the headline KPIs' targets: vpt_target_answer_rate_ratio, vpt_target_mean_wait_seconds
            spec.key: GaugeMetricFamily(f"vpt_target_{spec.key}_{UNIT_SUFFIX[spec.unit]}",
                                        f"{spec.name.en} target in force this month", labels=SCOPE)
            for spec in CATALOG if spec.headline
        }
        status = GaugeMetricFamily("vpt_target_status", "Target status as a state set (1 = current)",
                                   labels=[*SCOPE, "kpi", "window", "status"])
        needed = GaugeMetricFamily("vpt_needed_answer_rate_ratio",
                                   "Answer rate needed on the expected calls in the rest of the month to reach "
                                   "the target (above 1: unreachable)",
                                   labels=SCOPE)
        remaining = GaugeMetricFamily("vpt_expected_remaining_calls", "Expected calls in the rest of the month "
                                      "(forecast: same weekday and hour, recent weeks)",
                                      labels=SCOPE)
        partial = GaugeMetricFamily("vpt_scope_partial", "1 when the month's data start late or end early (a "
                                    "collaboration: any member region, or one without data)", labels=WINDOWED)
        member_missing = GaugeMetricFamily("vpt_scope_member_without_data", "1 for a collaboration's member region "
                                           "without data in the month, 0 for one with data",
                                           labels=[*WINDOWED, "region"])

        seen: dict[tuple[str, str], str] = {}

        def add_kpis(labels: list[str], kpis: KpiFigures) -> None:
            for key, family in gauges.items():
                value = kpis.value(key)
                if value is not None:
                    family.add_metric(labels, float(value))

        for window, document in (("month_to_date", current), ("previous_month", closed)):
            for scope in document.scopes:
                labels = [scope.scope, scope.kind]
                seen[(scope.scope, scope.kind)] = scope.name
                add_kpis([*labels, window], scope.kpis)
                statuses = MONTH_STATUSES if window == "month_to_date" else CLOSED_STATUSES
                for target in scope.targets:
                    if target.kpi not in targets_in_force:
                        continue
                    for state in statuses:
                        status.add_metric([*labels, target.kpi, window, state], 1 if target.status == state else 0)
                    if window == "month_to_date":
                        targets_in_force[target.kpi].add_metric(labels, target.value)
                        if target.kpi == "answer_rate" and target.needed is not None:
                            needed.add_metric(labels, target.needed)
                if window == "month_to_date" and scope.forecast:
                    remaining.add_metric(labels, scope.forecast.expected_remaining_offered)
                completeness = scope.completeness
                partial.add_metric([*labels, window], 1 if completeness.partial else 0)
                for member in completeness.members:
                    member_missing.add_metric([*labels, window, member.code], 0 if member.hours_with_data else 1)
        for figures in today:
            seen[(figures.scope, figures.kind)] = figures.name
            add_kpis([figures.scope, figures.kind, "today"], KpiFigures.of(figures.kpis))
        for (code, kind), name in sorted(seen.items()):
            info.add_metric([code, kind], {"name": name})
        yield info
        yield from gauges.values()
        yield from (*targets_in_force.values(), status, needed, remaining, partial, member_missing)

    # -- counters ----------------------------------------------------------------------------------------

    def _totals(self, session: Session) -> Iterator[Metric]:
        totals = region_totals(session.connection())
        ingested = CounterMetricFamily("vpt_calls_ingested", "Call outcomes added to the figures by ingest",
                                       labels=["region", "outcome"])
        corrected = CounterMetricFamily("vpt_calls_corrected", "Call outcomes taken out of the figures by corrections",
                                        labels=["region", "outcome"])
        waits = HistogramMetricFamily("vpt_answered_wait_seconds", "Waits of answered calls, as ingested",
                                      labels=["region"])
        for region, values in sorted(totals.items()):
            for column, outcome in OUTCOMES.items():
                ingested.add_metric([region, outcome], values.get(f"ingested_{column}", 0))
                corrected.add_metric([region, outcome], values.get(f"corrected_{column}", 0))
            cumulative = 0
            buckets = []
            for index, edge in enumerate(WAIT_BUCKET_EDGES):
                cumulative += values.get(f"wait_bucket_{index:02d}", 0)
                buckets.append(("+Inf" if edge == float("inf") else repr(float(edge)), cumulative))
            waits.add_metric([region], buckets, values.get("call_wait_answered_ms", 0) / 1000)
        yield from (ingested, corrected, waits)

    def _sources(self, session: Session) -> Iterator[Metric]:
        last_success = GaugeMetricFamily("vpt_source_last_success_timestamp_seconds", "Last successful delivery",
                                         labels=["source"])
        last_error = GaugeMetricFamily("vpt_source_last_error_timestamp_seconds", "Last failed delivery",
                                       labels=["source"])
        delivered = GaugeMetricFamily("vpt_source_delivered_until_timestamp_seconds",
                                      "How far the source has delivered (feed position or newest record)",
                                      labels=["source"])
        failures = GaugeMetricFamily("vpt_source_consecutive_failures", "Failures since the last success",
                                     labels=["source"])
        behind = GaugeMetricFamily("vpt_source_records_behind", "Records the platform still holds for us",
                                   labels=["source"])
        cadence = GaugeMetricFamily("vpt_source_cadence_seconds", "Expected seconds between pulls",
                                    labels=["source"])
        rows = CounterMetricFamily("vpt_ingest_rows", "Rows read by ingest, by result", labels=["source", "result"])
        runs = CounterMetricFamily("vpt_ingest_runs", "Ingest runs by status: succeeded, rejected (rows read, none "
                                   "stored), failed", labels=["source", "status"])
        duration = GaugeMetricFamily("vpt_ingest_last_run_duration_seconds", "Duration of the last ingest run",
                                     labels=["source"])
        warnings = CounterMetricFamily("vpt_ingest_warnings", "Optional fields left out of stored records (bad "
                                       "values; the records kept)", labels=["source"])
        for source in session.execute(_SOURCES):
            label = [source.name]
            for family, value in ((last_success, _timestamp(source.last_success_at)),
                                  (last_error, _timestamp(source.last_error_at)),
                                  (delivered, _timestamp(source.delivered_until)),
                                  (behind, source.records_behind), (duration, source.last_run_seconds)):
                if value is not None:
                    family.add_metric(label, float(value))
            failures.add_metric(label, source.consecutive_failures)
            if source.kind == "http" and source.config and "cadence_seconds" in source.config:
                cadence.add_metric(label, float(source.config["cadence_seconds"]))
            for result in RESULTS:
                rows.add_metric([source.name, result], getattr(source, f"rows_{result}_total"))
            runs.add_metric([source.name, "succeeded"], source.runs_succeeded_total)
            runs.add_metric([source.name, "rejected"], source.runs_rejected_total)  # rows read, none stored
            runs.add_metric([source.name, "failed"], source.runs_failed_total)
            warnings.add_metric(label, source.warnings_total)
        yield from (last_success, last_error, delivered, failures, behind, cadence, rows, runs, duration, warnings)

    def _worker(self, session: Session, now: datetime) -> Iterator[Metric]:
        heartbeat = latest_heartbeat(session)
        up = GaugeMetricFamily("vpt_worker_up", "1 when a worker's heartbeat is fresh")
        beat = GaugeMetricFamily("vpt_worker_last_heartbeat_timestamp_seconds", "Latest worker heartbeat")
        fresh = heartbeat is not None and heartbeat.state == "running" and not heartbeat_is_stale(
            heartbeat.beat_at, now, self.settings.worker_heartbeat_seconds)
        up.add_metric([], 1 if fresh else 0)
        if heartbeat is not None:
            beat.add_metric([], heartbeat.beat_at.timestamp())
        yield from (up, beat)
