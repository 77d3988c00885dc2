"""The HTTP pull source against real servers on 127.0.0.1: a well-behaved feed and misbehaving ones."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import JSONResponse, Response

from app.config import Settings
from app.db.models import Call, IngestRun, Source
from app.ingest.feed import retry_delay
from app.ingest.pull import PullError, pull_source
from app.ingest.sources import PullSourceConfig
from tests.feeds import T0, ScriptedFeed, call, iso
from tests.servers import running_server


def config(base_url: str, **overrides: Any) -> PullSourceConfig:
    values: dict[str, Any] = {"name": "platform", "kind": "calls", "base_url": base_url, "page_size": 100,
                              "overlap_seconds": 600, "timeout_seconds": 2.0, "max_retries": 3,
                              "backoff_seconds": 0.01, "backoff_max_seconds": 0.05}
    return PullSourceConfig(**(values | overrides))


def calls_in_db(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(Call)) or 0


def source_row(factory: sessionmaker[Session]) -> Source:
    with factory() as session:
        source = session.scalar(select(Source).where(Source.name == "platform"))
        assert source is not None
        return source


def test_pages_followed_and_a_second_pull_changes_nothing(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    feed = ScriptedFeed([call(n) for n in range(250)])
    with running_server(feed.app()) as url, httpx.Client() as client:
        report = pull_source(session_factory, settings, config(url), client)
        assert (report.pages, report.records, report.stored) == (3, 250, 250)
        assert calls_in_db(session_factory) == 250
        source = source_row(session_factory)
        assert source.delivered_until == T0 + timedelta(minutes=249)
        assert source.records_behind == 0 and source.cursor == "idx:250"

        again = pull_source(session_factory, settings, config(url), client)
    # the second pull re-reads the overlap window (10 min: calls 239..249) and stores nothing new
    assert feed.requests[-1]["since"] == iso(T0 + timedelta(minutes=239)).replace("Z", "+00:00")
    assert (again.records, again.stored, again.unchanged) == (11, 0, 11)
    assert calls_in_db(session_factory) == 250


def test_queued_calls_wait_for_their_outcome_and_late_updates_replace(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    first = [call(0, outcome=None, state="queued"), call(1, outcome="abandoned", minutes=4)]
    feed = ScriptedFeed(first)
    with running_server(feed.app()) as url, httpx.Client() as client:
        report = pull_source(session_factory, settings, config(url), client)
        assert (report.pending, report.stored) == (1, 1)
        # the platform publishes call 0 answered three minutes after it was queued
        feed.records = sorted([*first, call(0, outcome="answered", minutes=3)], key=lambda r: r["updated_at"])
        later = pull_source(session_factory, settings, config(url), client)
    assert later.stored == 1 and later.unchanged == 1
    with session_factory() as session:
        assert session.scalar(select(Call.outcome).where(Call.call_id == "c00000")) == "answered"


def test_server_errors_are_retried_with_backoff_and_retry_after(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    feed = ScriptedFeed([call(n) for n in range(5)])
    feed.script[0] = lambda: Response("boom", status_code=500)
    feed.script[1] = lambda: Response("busy", status_code=503, headers={"Retry-After": "0.03"})
    sleeps: list[float] = []
    with running_server(feed.app()) as url, httpx.Client() as client:
        report = pull_source(session_factory, settings, config(url), client, sleep=sleeps.append)
    assert report.stored == 5 and len(feed.requests) == 3
    assert sleeps[1] == pytest.approx(0.03)  # the server's Retry-After, not our own backoff
    assert 0.005 <= sleeps[0] <= 0.01  # first backoff: jitter within [base/2, base]


def test_a_timeout_is_retried(session_factory: sessionmaker[Session], settings: Settings) -> None:
    feed = ScriptedFeed([call(n) for n in range(3)])
    feed.delay_first = 3.0  # far past the timeout; the retry gets a whole second, ample even on a busy machine
    with running_server(feed.app()) as url, httpx.Client() as client:
        report = pull_source(session_factory, settings, config(url, timeout_seconds=1.0), client, sleep=lambda _: None)
    assert report.stored == 3 and len(feed.requests) == 2


def test_truncated_json_is_retried_then_given_up_without_moving_the_cursor(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    feed = ScriptedFeed([call(n) for n in range(3)])
    truncated = '{"records": [{"call_id": "c00000", "region": "SE-'
    for n in range(4):
        feed.script[n] = lambda: Response(truncated, media_type="application/json")
    with running_server(feed.app()) as url, httpx.Client() as client:
        with pytest.raises(PullError, match=r"not valid JSON.*gave up after 4 attempts"):
            pull_source(session_factory, settings, config(url), client, sleep=lambda _: None)
        source = source_row(session_factory)
        assert source.delivered_until is None and source.consecutive_failures == 1
        assert "not valid JSON" in (source.last_error or "")
        assert calls_in_db(session_factory) == 0
        report = pull_source(session_factory, settings, config(url), client, sleep=lambda _: None)  # recovered
    assert report.stored == 3
    assert source_row(session_factory).consecutive_failures == 0


def test_a_feed_that_repeats_its_pages_is_an_error_not_a_loop(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    feed = ScriptedFeed([call(n) for n in range(250)])
    feed.repeat_pages = True
    with running_server(feed.app()) as url, httpx.Client() as client, pytest.raises(PullError, match="repeated a page"):
        pull_source(session_factory, settings, config(url), client)
    assert len(feed.requests) <= 3


def test_client_errors_are_not_retried_and_pages_larger_than_asked_are_refused(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    feed = ScriptedFeed([call(n) for n in range(3)])
    feed.script[0] = lambda: JSONResponse({"error": "unauthorized"}, status_code=401)
    with running_server(feed.app()) as url, httpx.Client() as client:
        with pytest.raises(PullError, match="HTTP 401"):
            pull_source(session_factory, settings, config(url), client)
        assert len(feed.requests) == 1
    oversized = ScriptedFeed([call(n) for n in range(3)])
    oversized.script[0] = lambda: JSONResponse({"records": [call(n) for n in range(3)], "has_more": False})
    with (
        running_server(oversized.app()) as url,
        httpx.Client() as client,
        pytest.raises(PullError, match="more than the 2 asked"),
    ):
        pull_source(session_factory, settings, config(url, page_size=2), client)
    assert calls_in_db(session_factory) == 0


def test_the_auth_header_comes_from_the_environment(
    session_factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VPT_TEST_PLATFORM_TOKEN", "Bearer s3cret")
    feed = ScriptedFeed([call(0)])
    with running_server(feed.app()) as url, httpx.Client() as client:
        pull_source(session_factory, settings, config(url, auth_header_env="VPT_TEST_PLATFORM_TOKEN"), client)
    assert feed.requests[0]["auth"] == "Bearer s3cret"
    with session_factory() as session:
        stored = session.scalar(select(Source.config).where(Source.name == "platform"))
        assert "s3cret" not in repr(stored)


def test_a_batch_commits_records_and_cursor_together(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """A failure after the first committed batch keeps that batch and its position, and nothing after it."""
    feed = ScriptedFeed([call(n) for n in range(300)])
    for n in range(2, 10):
        feed.script[n] = lambda: Response("down", status_code=502)
    with running_server(feed.app()) as url, httpx.Client() as client:
        with pytest.raises(PullError):
            pull_source(session_factory, settings, config(url, batch_records=200), client, sleep=lambda _: None)
        assert calls_in_db(session_factory) == 200
        assert source_row(session_factory).delivered_until == T0 + timedelta(minutes=199)
        feed.script.clear()
        pull_source(session_factory, settings, config(url, batch_records=200), client)
    assert calls_in_db(session_factory) == 300
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(IngestRun)) == 2


def test_retry_delay_is_bounded_and_jittered() -> None:
    cfg = config("http://127.0.0.1:1", backoff_seconds=1.0, backoff_max_seconds=8.0)
    rng = random.Random(1)
    delays = [retry_delay(attempt, cfg, None, rng) for attempt in range(8)]
    assert all(0.5 <= d <= 8.0 for d in delays)
    assert delays[0] <= 1.0 and delays[-1] >= 4.0
    http_date = httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_delay(0, cfg, http_date, rng) == 0.0  # a date in the past: retry at once


def test_a_caller_number_in_the_feed_never_reaches_the_database(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    records = [call(n) | {"caller_number": f"07012345{n:02d}", "ani": f"+46701234{n:03d}"} for n in range(3)]
    feed = ScriptedFeed(records)
    with running_server(feed.app()) as url, httpx.Client() as client:
        assert pull_source(session_factory, settings, config(url), client).stored == 3
    engine = session_factory.kw["bind"]
    with engine.connect() as conn:
        dump = " ".join(
            str(value) for table in inspect(engine).get_table_names()
            for row in conn.execute(text(f'SELECT * FROM "{table}"')) for value in row
        )
    assert "c00001" in dump and "0701234" not in dump and "+46701234" not in dump


def test_retry_after_is_obeyed_never_shortened_and_unreadable_ones_fall_back() -> None:
    cfg = config("http://127.0.0.1:1", backoff_seconds=1.0, backoff_max_seconds=8.0)
    rng = random.Random(1)
    assert retry_delay(0, cfg, httpx.Response(503, headers={"Retry-After": "30"}), rng) == 30.0
    assert 0.5 <= retry_delay(0, cfg, httpx.Response(503, headers={"Retry-After": "soon"}), rng) <= 1.0


def test_a_server_asking_for_a_longer_pause_than_allowed_ends_the_run(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    feed = ScriptedFeed([call(0)])
    feed.script[0] = lambda: Response("busy", status_code=503, headers={"Retry-After": "120"})
    sleeps: list[float] = []
    with (
        running_server(feed.app()) as url,
        httpx.Client() as client,
        pytest.raises(PullError, match="retry after 120 s"),
    ):
        pull_source(session_factory, settings, config(url), client, sleep=sleeps.append)
    assert sleeps == [] and len(feed.requests) == 1


def test_a_password_in_the_base_url_stays_out_of_errors_and_run_origins(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    feed = ScriptedFeed([call(0)])
    with running_server(feed.app()) as url, httpx.Client() as client:
        secret_url = url.replace("http://", "http://svc:s3cr3t@")
        pull_source(session_factory, settings, config(secret_url), client)
        feed.script[1] = lambda: Response("nope", status_code=404)
        with pytest.raises(PullError) as failure:
            pull_source(session_factory, settings, config(secret_url), client)
    assert "s3cr3t" not in str(failure.value)
    with session_factory() as session:
        origins = list(session.scalars(select(IngestRun.origin)))
        source = session.scalar(select(Source).where(Source.name == "platform"))
    assert origins and not any("s3cr3t" in origin for origin in origins)
    assert source is not None and "s3cr3t" not in (source.last_error or "") and "svc:***@" in (source.last_error or "")


def test_a_record_stamped_in_the_future_does_not_move_the_position(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    feed = ScriptedFeed([call(0), call(1) | {"updated_at": "2099-01-01T00:00:00Z"}])
    with running_server(feed.app()) as url, httpx.Client() as client:
        pull_source(session_factory, settings, config(url), client)
    assert calls_in_db(session_factory) == 2
    assert source_row(session_factory).delivered_until == T0


def test_a_pull_that_lost_its_lease_commits_nothing(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    from app.db.leases import acquire_lease
    from app.ingest.pull import Lease

    assert acquire_lease(session_factory, "pull:platform", "the-other-worker", 60)
    feed = ScriptedFeed([call(n) for n in range(5)])
    with (
        running_server(feed.app()) as url,
        httpx.Client() as client,
        pytest.raises(PullError, match="lost to another worker"),
    ):
        pull_source(session_factory, settings, config(url), client, lease=Lease("pull:platform", "me", 60))
    assert calls_in_db(session_factory) == 0 and source_row(session_factory).delivered_until is None


def test_a_stop_request_ends_a_retry_wait_at_once_without_blaming_the_source(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    import threading
    import time

    feed = ScriptedFeed([call(0)])
    stop = threading.Event()

    def down() -> Response:  # the stop comes while the pull waits 15-30 s to retry, however slow the start was
        threading.Timer(0.3, stop.set).start()
        return Response("down", status_code=503)

    feed.script[0] = down
    with running_server(feed.app()) as url, httpx.Client() as client:
        started = time.monotonic()
        report = pull_source(session_factory, settings, config(url, backoff_seconds=30, backoff_max_seconds=60),
                             client, stop=stop)
        elapsed = time.monotonic() - started
    assert report.stopped_early and len(feed.requests) == 1  # no retry: the wait ended with the stop
    assert elapsed < 10  # far below the shortest wait (15 s), with room for a loaded CI machine
    assert source_row(session_factory).last_error is None


def test_a_pull_whose_every_record_is_rejected_is_no_success_for_its_source(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Issue 12, item 9: one verdict everywhere. The position moves on (the records are kept as rejected rows),
    but the source's last success and failure streak stay where the last pull that stored something left them."""
    good = ScriptedFeed([call(n) for n in range(5)])
    with running_server(good.app()) as url, httpx.Client() as client:
        pull_source(session_factory, settings, config(url), client)
    before = source_row(session_factory)
    assert before.last_success_at is not None

    garbage = [call(n) | {"region": "SE-XX"} for n in range(5, 10)]  # an unknown region: every row rejected
    feed = ScriptedFeed(garbage)
    with running_server(feed.app()) as url, httpx.Client() as client:
        report = pull_source(session_factory, settings, config(url), client)
    assert (report.stored, report.rejected) == (0, 5)
    after = source_row(session_factory)
    assert after.last_success_at == before.last_success_at
    assert after.cursor == "idx:5"
    with session_factory() as session:
        statuses = session.scalars(select(IngestRun.status).order_by(IngestRun.id)).all()
    assert statuses == ["succeeded", "rejected"]
