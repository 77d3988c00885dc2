"""A pull source removed while it is pulled stays removed: the platform (a real server on 127.0.0.1) has the source
removed between two of its pages, and the pull's later write-back must neither store that page nor make the source
again; the worker then forgets it. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.config import Settings
from app.db.models import Call, IngestRun, Source
from app.db.session import transaction
from app.ingest.pull import PullError, pull_source
from app.ingest.source_admin import remove_source
from app.ingest.sources import PullSourceConfig, save_source
from app.ingest.worker import Worker
from tests.feeds import ScriptedFeed, call
from tests.servers import running_server


def _config(url: str) -> PullSourceConfig:
    return PullSourceConfig.from_mapping({
        "name": "platform", "kind": "calls", "base_url": url, "page_size": 100, "batch_records": 100,
        "cadence_seconds": 60, "max_retries": 1, "backoff_seconds": 0.01, "backoff_max_seconds": 0.02,
        "timeout_seconds": 5.0,
    })


def _removing_feed(feed: ScriptedFeed, factory: sessionmaker[Session], before_request: int) -> Starlette:
    """The feed, but the source is removed (with its records) just before request ``before_request`` is answered:
    while the pull holds no transaction, between committing one batch and fetching the next."""
    async def handle(request: Request) -> Response:
        if len(feed.requests) == before_request:
            await run_in_threadpool(_remove, factory)
        return await feed.handle(request)

    return Starlette(routes=[Route("/calls", handle)])


def _remove(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        remove_source(session, "platform", purge=True, actor="admin")


def _state(factory: sessionmaker[Session]) -> dict[str, Any]:
    with factory() as session:
        return {"sources": list(session.scalars(select(Source.name))),
                "calls": session.scalar(select(func.count()).select_from(Call)),
                "runs": session.scalar(select(func.count()).select_from(IngestRun))}


def _save(factory: sessionmaker[Session], config: PullSourceConfig) -> None:
    with transaction(factory) as session:
        save_source(session, config)


def test_a_page_fetched_after_the_removal_is_not_stored_and_the_source_stays_gone(
    session_factory: sessionmaker[Session], settings: Settings,
) -> None:
    feed = ScriptedFeed([call(n) for n in range(250)])
    with running_server(_removing_feed(feed, session_factory, before_request=1)) as url, httpx.Client() as client:
        _save(session_factory, _config(url))
        with pytest.raises(PullError, match="removed while it was pulled"):
            pull_source(session_factory, settings, _config(url), client)
    assert len(feed.requests) == 2  # the first page stored, the second fetched after the removal
    assert _state(session_factory) == {"sources": [], "calls": 0, "runs": 0}


def test_a_page_with_nothing_to_store_writes_no_position_back_to_a_removed_source(
    session_factory: sessionmaker[Session], settings: Settings,
) -> None:
    queued = [call(n, outcome=None, state="queued", minutes=200) for n in range(100, 150)]  # nothing to store yet
    feed = ScriptedFeed([call(n) for n in range(100)] + queued)
    with running_server(_removing_feed(feed, session_factory, before_request=1)) as url, httpx.Client() as client:
        _save(session_factory, _config(url))
        with pytest.raises(PullError, match="removed while it was pulled"):
            pull_source(session_factory, settings, _config(url), client)
    assert _state(session_factory) == {"sources": [], "calls": 0, "runs": 0}


def test_the_worker_forgets_a_source_removed_mid_pull(
    session_factory: sessionmaker[Session], settings: Settings,
) -> None:
    feed = ScriptedFeed([call(n) for n in range(250)])
    with running_server(_removing_feed(feed, session_factory, before_request=1)) as url:
        _save(session_factory, _config(url))
        worker = Worker(settings, session_factory, worker_id="w-removed")
        try:
            worker.refresh_sources()
            assert worker.pull("platform") is None
            assert worker.pull("platform") is None  # not pulled again: no request, no source made
        finally:
            worker.client.close()
    assert len(feed.requests) == 2
    assert "platform" not in worker._sources and worker.scheduler.get_job("pull:platform") is None
    assert _state(session_factory) == {"sources": [], "calls": 0, "runs": 0}


def test_the_worker_does_not_make_a_source_removed_before_its_pull_started(
    session_factory: sessionmaker[Session], settings: Settings,
) -> None:
    feed = ScriptedFeed([call(n) for n in range(5)])
    with running_server(feed.app()) as url:
        _save(session_factory, _config(url))
        worker = Worker(settings, session_factory, worker_id="w-stale")
        try:
            worker.refresh_sources()  # the worker's list is refreshed every 30 s: the row can go before that
            _remove(session_factory)
            assert worker.pull("platform") is None
        finally:
            worker.client.close()
    assert feed.requests == []
    assert _state(session_factory) == {"sources": [], "calls": 0, "runs": 0}
