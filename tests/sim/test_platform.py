"""The simulated platform's feed, pulled over real HTTP: late updates, the overlap window, and a worker
killed with SIGKILL in the middle of a pull that, restarted, ends with exactly the uninterrupted figures."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.migrate import upgrade
from app.db.models import Call, HourlyAggregate, Source
from app.db.session import make_engine, make_session_factory
from app.ingest.pull import pull_source
from app.ingest.sources import PullSourceConfig
from app.kpi.localtime import STOCKHOLM
from app.sim.feed import Feed, SimClock, call_changes
from app.sim.model import SimConfig, simulate_day
from app.sim.server import PlatformOptions, create_platform_app
from tests.servers import running_server

DAY = date(2025, 3, 12)
START = datetime(2025, 3, 12, 0, 0, tzinfo=STOCKHOLM)
CONFIG = SimConfig(regions=("SE-Z",))  # the smallest Norra region keeps the feed short


def expected_calls(now: datetime) -> dict[str, tuple[Any, ...]]:
    """Each call's newest version with an outcome published by ``now``: what a perfect pull stores."""
    result = {}
    for call in simulate_day("SE-Z", DAY, CONFIG):
        versions = [c.record for c in call_changes(call, 0.0, CONFIG.seed) if c.updated_at <= now]
        final = [v for v in versions if v["outcome"]]
        if final:
            v = final[-1]
            result[v["call_id"]] = (v["outcome"], v["answered_at"], v["ended_at"])
    return result


def stored_calls(factory: sessionmaker[Session]) -> dict[str, tuple[Any, ...]]:
    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")

    with factory() as session:
        return {c.call_id: (c.outcome, iso(c.answered_at), iso(c.ended_at)) for c in session.scalars(select(Call))}


def aggregates(factory: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with factory() as session:
        rows = session.scalars(select(HourlyAggregate).order_by(HourlyAggregate.region, HourlyAggregate.hour_start))
        return [tuple(getattr(row, c.key) for c in HourlyAggregate.__table__.columns if c.key != "updated_at")
                for row in rows]


def source(config: PullSourceConfig, url: str, **changes: Any) -> PullSourceConfig:
    return PullSourceConfig(**(config.__dict__ | {"base_url": url} | changes))


BASE = PullSourceConfig(name="platform", kind="calls", base_url="http://x", page_size=200, overlap_seconds=300,
                        start=START.astimezone(UTC))


def test_a_call_is_published_queued_then_answered_then_completed() -> None:
    answered = next(c for c in simulate_day("SE-Z", DAY, CONFIG) if c.outcome == "answered")
    versions = [change.record for change in call_changes(answered, 0.0, CONFIG.seed)]
    assert [v["state"] for v in versions] == ["queued", "talking", "completed"]
    assert versions[0]["outcome"] is None and versions[1]["talk_seconds"] is None
    assert versions[2]["talk_seconds"] == answered.talk_seconds


def test_pages_never_split_or_repeat_changes_that_share_a_timestamp() -> None:
    clock = SimClock(START + timedelta(hours=14), speed=0)
    feed = Feed("calls", CONFIG, START.astimezone(UTC), clock, lag_share=0.0)
    seen: list[str] = []
    cursor = None
    while True:
        page = feed.page(cursor, 7)
        seen.extend(f"{r['call_id']}@{r['updated_at']}" for r in page.records)
        cursor = page.next_cursor
        if not page.has_more:
            break
    everything = feed.page(None, 5000).records
    assert seen == [f"{r['call_id']}@{r['updated_at']}" for r in everything]
    assert len(set(seen)) == len(seen)


def test_interval_reports_are_provisional_then_final() -> None:
    clock = SimClock(START + timedelta(days=1, hours=6), speed=0)
    feed = Feed("intervals", CONFIG, START.astimezone(UTC), clock)
    records = feed.page(None, 5000).records
    finals = [r for r in records if r["state"] == "final"]
    provisional = [r for r in records if r["state"] == "provisional"]
    assert finals and provisional
    day_calls = simulate_day("SE-Z", DAY, CONFIG)
    next_day = (START + timedelta(days=1)).astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert sum(r["offered"] for r in finals if r["interval_start"] < next_day) == len(day_calls)
    for early in provisional:  # a provisional report counts only the calls finished when it was made
        key = (early["queue"], early["interval_start"])
        final = next(r for r in finals if (r["queue"], r["interval_start"]) == key)
        assert early["offered"] <= final["offered"] and early["updated_at"] < final["updated_at"]


def test_the_overlap_window_catches_late_published_changes(
    session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    """Pull every five simulated minutes through a day where 5 % of changes reach the API late."""
    clock = SimClock(START, speed=0)
    options = PlatformOptions(config=CONFIG, start=START, clock_origin=START, lag_share=0.05)
    without_overlap = make_session_factory(make_engine(Settings(database_url=f"sqlite:///{tmp_path}/b.db",
                                                                _env_file=None)))  # type: ignore[call-arg]
    upgrade(f"sqlite:///{tmp_path}/b.db")
    with running_server(create_platform_app(options, clock)) as url, httpx.Client() as client:
        for step in range(1, 12 * 24 + 1):
            clock.origin = START + timedelta(minutes=5 * step)
            pull_source(session_factory, settings, source(BASE, url), client)
            pull_source(without_overlap, settings, source(BASE, url, overlap_seconds=0), client)
    end = clock.origin
    truth = expected_calls(end)
    assert stored_calls(session_factory) == truth
    missed = {k for k, v in truth.items() if stored_calls(without_overlap).get(k) != v}
    assert missed, "with 5 % of changes late, a pull without overlap must miss some of them"


def test_a_worker_killed_mid_pull_and_restarted_gives_the_uninterrupted_figures(
    session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    now = START + timedelta(hours=20)
    options = PlatformOptions(config=CONFIG, start=START, clock_origin=now, speed=0, lag_share=0.0)
    app = create_platform_app(options)
    requests: list[str] = []
    # Once ``hold_from`` is set, that request and the later ones wait for ``released``: the worker is killed while
    # it waits for a page, not at whatever point a loaded machine lets the test notice that a page went out.
    hold_from = [0]
    released = threading.Event()

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            requests.append(scope.get("query_string", b"").decode())
            while hold_from[0] and len(requests) >= hold_from[0] and not released.is_set():
                await asyncio.sleep(0.01)
        await app(scope, receive, send)

    reference_url = f"sqlite:///{tmp_path}/reference.db"
    upgrade(reference_url)
    reference = make_session_factory(make_engine(Settings(database_url=reference_url,
                                                          _env_file=None)))  # type: ignore[call-arg]
    with running_server(counting) as url:
        config = source(BASE, url, page_size=20, batch_records=40, cadence_seconds=1)
        with httpx.Client() as client:
            pull_source(reference, settings, config, client)  # the uninterrupted run
        requests.clear()
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f'[[source]]\nname = "platform"\nkind = "calls"\nbase_url = "{url}"\npage_size = 20\n'
            f'batch_records = 40\ncadence_seconds = 1\nstart = "{START.astimezone(UTC).isoformat()}"\n'
        )
        env = os.environ | {"VPT_DATABASE_URL": settings.database_url, "VPT_SOURCES_FILE": str(sources)}
        hold_from[0] = 8  # pages 1-6 are three committed batches, page 7 half of the fourth
        first = subprocess.Popen([sys.executable, "-m", "app", "worker"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120  # the process imports the app first: seconds, more under load
            while len(requests) < 8 and time.monotonic() < deadline:
                time.sleep(0.005)
            assert len(requests) >= 8, "the worker never asked for page 8"
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
            released.set()
        interrupted = stored_calls(session_factory)
        assert 0 < len(interrupted) < len(stored_calls(reference)), "the kill must land in the middle of the pull"
        assert len(interrupted) % 40 == 0 or len(interrupted) < 40 * 4  # only whole batches were committed

        second = subprocess.Popen([sys.executable, "-m", "app", "worker"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 180  # ends once caught up; generous for a loaded CI machine
            while time.monotonic() < deadline:
                with session_factory() as session:
                    row = session.scalar(select(Source).where(Source.name == "platform"))
                    caught_up = row is not None and row.records_behind == 0
                if caught_up and stored_calls(session_factory) == stored_calls(reference):
                    break
                time.sleep(0.2)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
    assert stored_calls(session_factory) == stored_calls(reference) == expected_calls(now)
    assert aggregates(session_factory) == aggregates(reference)


def test_interval_reports_pulled_end_with_the_final_counts(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    from app.db.models import IntervalRow

    clock = SimClock(START + timedelta(hours=12), speed=0)
    options = PlatformOptions(config=CONFIG, start=START, clock_origin=START)
    config = source(BASE, "http://x", kind="intervals", name="platform-intervals")
    with running_server(create_platform_app(options, clock)) as url, httpx.Client() as client:
        first = pull_source(session_factory, settings, source(config, url), client)
        clock.origin = START + timedelta(days=1, hours=3)
        later = pull_source(session_factory, settings, source(config, url), client)
    assert first.stored > 0 and later.updated > 0  # provisional reports replaced by their final versions
    end_of_day = (START + timedelta(days=1)).astimezone(UTC)
    with session_factory() as session:
        rows = list(session.scalars(select(IntervalRow).where(IntervalRow.interval_start < end_of_day)))
    assert sum(row.offered for row in rows) == len(simulate_day("SE-Z", DAY, CONFIG))
    assert sum(row.answered + row.abandoned + row.rejected for row in rows) == len(simulate_day("SE-Z", DAY, CONFIG))
