"""``vpt_staffing_needed{region,hour}``: the nurses Erlang A says each remaining local hour of today needs (issue 17).

Worked out once per local hour and process (the advice reads eight weeks of hours per region and moves with the
forecast, not with every ingest), from one set of reads for all regions (``app.staffing.service.today_by_region``).
Its own collector on the app's registry beside ``VptCollector``, so the scorecard's scrape keeps its own reads
(tests/metrics/test_scrape_round_trips.py) and a failure here never hides those figures. Labels: ``region`` (21) and
``hour`` (local "00".."23"; the repeated autumn hour is "02b"): at most 1 008 series per gauge.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from app.db.session import database_unavailable
from app.kpi.localtime import STOCKHOLM, floor_hour
from app.scorecard.forecast_cache import ForecastHistoryCache
from app.staffing.service import StaffingAdvice, today_by_region

log = logging.getLogger(__name__)


def hour_label(moment: datetime) -> str:
    local = moment.astimezone(STOCKHOLM)
    return f"{local.hour:02d}" + ("b" if local.fold else "")


class StaffingGauges:
    """Today's advice per region, kept for the hour it was worked out in (one per collector, so per app)."""

    def __init__(self, history: ForecastHistoryCache | None = None) -> None:
        self.history = history
        self._lock = threading.Lock()
        self._kept: tuple[datetime, dict[str, StaffingAdvice]] | None = None

    def _advice(self, session: Session, now: datetime) -> dict[str, StaffingAdvice]:
        hour = floor_hour(now)
        with self._lock:
            if self._kept is not None and self._kept[0] == hour:
                return self._kept[1]
        advice = today_by_region(session, now, self.history)
        with self._lock:
            self._kept = (hour, advice)
        return advice

    def families(self, session: Session, now: datetime) -> Iterator[Metric]:
        needed = GaugeMetricFamily(
            "vpt_staffing_needed", "Nurses Erlang A says the hour needs for the targets in force (today's remaining "
            "local hours; worked out once an hour)", labels=["region", "hour"])
        recover = GaugeMetricFamily(
            "vpt_staffing_needed_to_recover", "Nurses for the answer rate the rest of the month needs, where that is "
            "stricter than the target (today's remaining local hours)", labels=["region", "hour"])
        for region, advice in sorted(self._advice(session, now).items()):
            for hour in advice.hours:
                label = [region, hour_label(hour.start)]
                if hour.target is not None:
                    needed.add_metric(label, hour.target.nurses)
                if hour.recover is not None:
                    recover.add_metric(label, hour.recover.nurses)
        yield from (needed, recover)


class StaffingCollector(Collector):
    """``StaffingGauges`` at scrape time, with its own session: registered beside ``VptCollector`` in the app."""

    def __init__(self, factory: sessionmaker[Session], clock: Callable[[], datetime] | None = None, *,
                 history: ForecastHistoryCache | None = None) -> None:
        self.factory = factory
        self.clock = clock or (lambda: datetime.now(UTC))
        self.gauges = StaffingGauges(history)

    def describe(self) -> list[Metric]:
        return []  # nothing at registration: the database is read on scrape only

    def collect(self) -> Iterator[Metric]:
        try:
            with self.factory() as session:
                families = list(self.gauges.families(session, self.clock()))
        except Exception as exc:  # vpt_database_up (VptCollector) tells an outage; the advice is then just absent
            if database_unavailable(exc):  # no traceback every scrape of an outage
                log.warning("metrics.staffing.database_unavailable", extra={"error": type(exc).__name__})
            else:
                log.exception("metrics.staffing.failed")
            return
        yield from families
