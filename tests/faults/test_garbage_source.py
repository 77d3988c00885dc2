"""Two pull sources over real HTTP; one sends well-formed pages of garbage records for a simulated hour.

The clock is simulated: the feeds publish what exists at the simulated time, and the ingest code and the
alert evaluation read the same clock (the run bookkeeping and the pull are given a ``datetime`` whose
``now()`` is the simulated one), so an hour passes in a few seconds and ``sources.last_data_at`` means what
it means in production. What must hold:

* the garbage source's records are all rejected, each kept with its reason and counted (its ingest runs,
  ``rows_rejected_total``, ``/api/v1/ingest/rejected``), its position still moves on (the garbage is not
  re-read for ever) but its ``last_data_at`` does not;
* the healthy source keeps storing, and its region's figures are exactly those of the calls it sent; the
  garbage source's region has only the calls of its good deliveries;
* ``data_stale`` (default limit 30 min for a pull source) fires for the garbage source only, 30 min after its
  last good delivery, and resolves with its first good delivery after the hour.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.alerts.rulebook import rulebook_from_mapping
from app.alerts.service import Alerting
from app.api.app import create_app
from app.config import Settings
from app.db.alert_models import Alert, AlertEvent
from app.db.models import IngestRun, RejectedRow, Source
from app.db.session import transaction
from app.ingest import feed, pull, runs
from app.ingest.pull import PullReport, pull_source
from app.ingest.sources import PullSourceConfig, save_source
from tests.faults.support import public_read
from tests.feeds import iso
from tests.helpers import scorecard
from tests.servers import running_server

pytestmark = pytest.mark.slow

START = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)  # one pull of each source and one alert evaluation per step
GOOD_BEFORE = 6  # steps 1-6 (08:05-08:30): both sources deliver good calls
GARBAGE_UNTIL = 18  # steps 7-18 (08:35-09:30): an hour of garbage from one source
STEPS = 22  # steps 19-22 (09:35-09:50): good again
CALLS_PER_STEP = 5  # 4 answered after 60 s, 1 abandoned after 120 s
ONLY_DATA_STALE = {"rules": {rule: {"enabled": False} for rule in (
    "target_at_risk", "target_unreachable", "target_missed", "fast_slip", "worker_stale")}}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def clocked_datetime(clock: Clock) -> type[datetime]:
    class ClockedDateTime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return clock.now if tz is None else clock.now.astimezone(tz)

    return ClockedDateTime


def good_calls(prefix: str, region: str, step_end: datetime) -> list[dict[str, Any]]:
    records = []
    for i in range(CALLS_PER_STEP):
        arrived = step_end - timedelta(minutes=4) + timedelta(seconds=30 * i)
        record: dict[str, Any] = {"call_id": f"{prefix}-{step_end:%H%M}-{i}", "region": region, "queue": "q",
                                  "arrived_at": iso(arrived), "updated_at": iso(step_end - timedelta(seconds=1))}
        if i < CALLS_PER_STEP - 1:
            record |= {"outcome": "answered", "state": "completed", "answered_at": iso(arrived + timedelta(seconds=60)),
                       "ended_at": iso(arrived + timedelta(seconds=400)), "talk_seconds": 340}
        else:
            record |= {"outcome": "abandoned", "state": "abandoned", "ended_at": iso(arrived + timedelta(seconds=120))}
        records.append(record)
    return records


def garbage_calls(step_end: datetime) -> list[dict[str, Any]]:
    """Well-formed JSON, a valid ``updated_at``, and a fault in a field of every record."""
    arrived = iso(step_end - timedelta(minutes=3))
    stamp = iso(step_end - timedelta(seconds=1))
    key = f"g-{step_end:%H%M}"
    base = {"region": "SE-BD", "queue": "q", "arrived_at": arrived, "outcome": "abandoned",
            "ended_at": iso(step_end - timedelta(minutes=2)), "state": "abandoned", "updated_at": stamp}
    return [
        base | {"call_id": f"{key}-region", "region": "Atlantis"},
        base | {"call_id": f"{key}-arrived", "arrived_at": "yesterday at lunch"},
        base | {"call_id": f"{key}-outcome", "outcome": "maybe"},
        base | {"call_id": f"{key}-answered", "outcome": "answered", "state": "completed", "ended_at": None},
        # a fault in a field the call's figures rest on: a bad optional one (talk_seconds) is a warning, the call kept
        base | {"call_id": f"{key}-ended", "ended_at": iso(step_end - timedelta(minutes=4))},  # before arrival
        base | {"call_id": None},
    ]


class ClockedFeed:
    """A platform feed that publishes, at the simulated time, the records stamped up to it."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.records: list[dict[str, Any]] = []

    async def handle(self, request: Request) -> JSONResponse:
        since = request.query_params.get("since")
        limit = int(request.query_params.get("limit", "1000"))
        now = iso(self.clock.now)
        since_iso = iso(datetime.fromisoformat(since).astimezone(UTC)) if since else ""
        visible = [r for r in self.records if since_iso <= r["updated_at"] <= now]
        return JSONResponse({"records": visible[:limit], "next_cursor": None, "has_more": len(visible) > limit,
                             "remaining": max(0, len(visible) - limit), "server_time": now})


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(START)
    for module in (runs, pull, feed):  # the run bookkeeping, the pull and its HTTP client
        monkeypatch.setattr(module, "datetime", clocked_datetime(clock))
    return clock


@pytest.fixture
def feeds(clock: Clock) -> Iterator[tuple[str, ClockedFeed, ClockedFeed]]:
    healthy, garbage = ClockedFeed(clock), ClockedFeed(clock)
    app = Starlette(routes=[Route("/healthy/calls", healthy.handle), Route("/garbage/calls", garbage.handle)])
    with running_server(app) as url:
        yield url, healthy, garbage


def _phase(factory: sessionmaker[Session], scope: str) -> str | None:
    with factory() as session:
        return session.scalar(select(Alert.phase).where(Alert.rule == "data_stale", Alert.scope == scope))


def test_an_hour_of_garbage_from_one_source_is_rejected_counted_and_alerted_for_that_source_only(
    session_factory: sessionmaker[Session], settings: Settings, clock: Clock,
    feeds: tuple[str, ClockedFeed, ClockedFeed],
) -> None:
    url, healthy_feed, garbage_feed = feeds
    # No retries: one page answered slowly (a loaded CI machine) must not become a failed pull, hence 30 s.
    configs = {name: PullSourceConfig(name=name, kind="calls", base_url=f"{url}/{name}", start=START,
                                      max_retries=0, timeout_seconds=30.0) for name in ("healthy", "garbage")}
    with transaction(session_factory) as session:
        for config in configs.values():
            save_source(session, config)
    alerting = Alerting(settings, session_factory, "fault-test", rulebook=rulebook_from_mapping(ONLY_DATA_STALE),
                        channels=[], clock=clock)
    reports: dict[str, list[PullReport]] = {"healthy": [], "garbage": []}
    phases: dict[str, list[str | None]] = {"healthy": [], "garbage": []}
    last_data: list[datetime | None] = []
    garbage_keys: set[str] = set()
    sent = {"healthy": 0, "garbage": 0}

    with httpx.Client() as client:
        for step in range(1, STEPS + 1):
            clock.now = START + step * STEP
            healthy_feed.records += good_calls("h", "SE-AC", clock.now)
            sent["healthy"] += CALLS_PER_STEP
            if GOOD_BEFORE < step <= GARBAGE_UNTIL:
                batch = garbage_calls(clock.now)
                garbage_keys |= {r["call_id"] for r in batch if r["call_id"]}
            else:
                batch = good_calls("b", "SE-BD", clock.now)
                sent["garbage"] += CALLS_PER_STEP
            garbage_feed.records += batch
            for name, config in configs.items():
                reports[name].append(pull_source(session_factory, settings, config, client))
            alerting.evaluate()
            for name in phases:
                phases[name].append(_phase(session_factory, name))
            with session_factory() as session:
                last_data.append(session.scalar(select(Source.last_data_at).where(Source.name == "garbage")))

    # The healthy source stored every step and never went stale.
    assert all(r.stored == CALLS_PER_STEP and r.rejected == 0 for r in reports["healthy"])
    assert set(phases["healthy"]) <= {None, "inactive"}

    # The garbage hour: nothing stored, everything rejected, the position moved on, last_data_at stood still.
    hour = reports["garbage"][GOOD_BEFORE:GARBAGE_UNTIL]
    assert all(r.stored == 0 and r.updated == 0 and r.rejected >= 6 for r in hour), hour
    last_good = START + GOOD_BEFORE * STEP
    assert last_data[GOOD_BEFORE - 1:GARBAGE_UNTIL] == [last_good] * (GARBAGE_UNTIL - GOOD_BEFORE + 1)
    assert last_data[GARBAGE_UNTIL] == START + (GARBAGE_UNTIL + 1) * STEP  # good data again

    # data_stale: fires once the last good delivery is more than 30 min old (step 13, 09:05: 35 min), for the
    # garbage source only, and resolves with the first good delivery after the hour (step 19).
    first_stale = next(i for i in range(STEPS) if (i + 1) * STEP - GOOD_BEFORE * STEP > timedelta(minutes=30))
    assert set(phases["garbage"][:first_stale]) <= {None, "inactive"}, phases["garbage"]
    assert phases["garbage"][first_stale:GARBAGE_UNTIL] == ["firing"] * (GARBAGE_UNTIL - first_stale)
    assert phases["garbage"][GARBAGE_UNTIL:] == ["resolved"] * (STEPS - GARBAGE_UNTIL)
    with session_factory() as session:
        events = session.execute(select(AlertEvent.new_phase, AlertEvent.at).join(Alert).where(
            Alert.rule == "data_stale").order_by(AlertEvent.id)).all()
    assert [(phase, at) for phase, at in events if phase in ("firing", "resolved")] == [
        ("firing", START + (first_stale + 1) * STEP), ("resolved", START + (GARBAGE_UNTIL + 1) * STEP)]

    # Rejected rows are kept, counted on the runs and the source, and served by the API.
    rejected_in_reports = sum(r.rejected for r in reports["garbage"])
    with session_factory() as session:
        source = session.scalar(select(Source).where(Source.name == "garbage"))
        assert source is not None
        runs = list(session.scalars(select(IngestRun).where(IngestRun.source_id == source.id)
                                    .order_by(IngestRun.id)))
        kept = list(session.scalars(select(RejectedRow).where(RejectedRow.run_id.in_([r.id for r in runs]))))
    assert source.rows_rejected_total == rejected_in_reports == sum(r.rows_rejected for r in runs) == len(kept)
    assert source.rows_stored_total == sent["garbage"]
    # A pull batch whose every record was rejected stored nothing: its run is rejected (issue 12, item 9).
    stored_nothing = [run.rows_read > 0 and run.rows_stored + run.rows_updated + run.rows_unchanged == 0
                      for run in runs]
    assert [run.status for run in runs] == ["rejected" if nothing else "succeeded" for nothing in stored_nothing]
    assert {run.status for run in runs} == {"succeeded", "rejected"}
    assert {row.record_key for row in kept if row.record_key} == garbage_keys
    assert {row.field for row in kept} >= {"region", "arrived_at", "outcome", "answered_at", "ended_at", "call_id"}
    garbage_run = next(run for run in runs if run.rows_rejected and not run.rows_stored)
    with TestClient(create_app(public_read(settings))) as api:
        listed = api.get("/api/v1/ingest/rejected", params={"run": garbage_run.id})
        assert listed.status_code == 200, listed.text
        assert len(listed.json()["rows"]) == garbage_run.rows_rejected
        assert all(row["reason"] for row in listed.json()["rows"])
        page = api.get("/api/v1/ingest/runs", params={"source": "garbage"}).json()
        assert page["next_before_id"] is None and len(page["runs"]) == len(runs)
        assert sum(run["rows_rejected"] for run in page["runs"]) == source.rows_rejected_total

    # Figures: the healthy region has exactly the calls it was sent; the other region only its good calls.
    kpis = {s.scope: s.kpis.as_dict() for s in scorecard(session_factory, settings, "2025-03").scopes}
    for region, calls in (("SE-AC", sent["healthy"]), ("SE-BD", sent["garbage"])):
        figures = kpis[region]
        assert figures["offered"] == calls and figures["answered"] == calls * 4 // 5, (region, figures)
        assert figures["answer_rate"] == pytest.approx(0.8) and figures["mean_wait"] == pytest.approx(60.0)
    assert kpis["norra"]["offered"] == sent["healthy"] + sent["garbage"]
