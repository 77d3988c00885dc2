"""The demo's history through the real loader (issue 16 part 4), on SQLite and PostgreSQL: call months and hourly
interval months stored from the simulator directly (a second process simulating ahead), each month one ingest run,
a call month's year-over-year comparison reading last year's interval month, and a second load changing nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.cli.demo_history import HISTORY_SOURCE, HOURLY_SOURCE, load_history
from app.config import Settings
from app.db.models import IngestRun, Source
from app.scorecard.service import monthly_scorecard
from app.sim.history import HistoryMonth
from app.sim.model import SimConfig, simulate

CONFIG = SimConfig(regions=("SE-Z",))
PLAN = [HistoryMonth(date(2025, 1, 1), date(2025, 1, 2), "intervals"),
        HistoryMonth(date(2026, 1, 1), date(2026, 1, 2), "calls")]


def offered(first: date, last: date) -> int:
    return sum(1 for _ in simulate(CONFIG, first, last))  # short_abandon_seconds 0: every call is offered


def test_history_months_are_stored_and_last_years_interval_month_is_the_year_over_year_base(
        settings: Settings, session_factory: sessionmaker[Session]) -> None:
    loaded = load_history(settings, CONFIG, PLAN)
    assert loaded.calls == offered(date(2026, 1, 1), date(2026, 1, 2)) and 0 < loaded.intervals < 2 * 24
    again = load_history(settings, CONFIG, PLAN)  # re-running is a no-op for the figures
    assert again.calls == loaded.calls
    with session_factory() as session:
        runs = dict(session.execute(select(Source.name, func.count(IngestRun.id)).join(
            IngestRun, IngestRun.source_id == Source.id).group_by(Source.name)).all())
        assert runs == {HOURLY_SOURCE: 2, HISTORY_SOURCE: 2}
        document = monthly_scorecard(session, date(2026, 1, 1), settings.definitions, datetime(2026, 2, 1, tzinfo=UTC))
    scope = next(s for s in document.scopes if s.scope == "SE-Z")
    assert scope.comparisons is not None
    last_year = scope.comparisons.previous_year
    assert scope.kpis.offered == loaded.calls
    assert last_year.month == "2025-01" and last_year.kpis is not None
    assert last_year.kpis.offered == offered(date(2025, 1, 1), date(2025, 1, 2))
    assert last_year.delta["answer_rate"] is not None and last_year.delta["wait_p90"] is None  # hourly: no percentiles
