"""Pull sources read through an import profile (issue 14 §5), against real servers on 127.0.0.1, on SQLite and
PostgreSQL: each item of a page's ``records`` is one record of the profile (a JSON Lines record, or an item of the
array at a JSON profile's ``records`` path); the feed's paging and position stay the pull API's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from typer.testing import CliRunner

from app.cli import app
from app.config import Settings
from app.db.models import Call, IntervalRow, Source
from app.ingest.pull import PullError, pull_source
from app.ingest.sources import PullSourceConfig, pull_sources
from tests.servers import running_server

#: A platform's own call records: nested, its own outcome codes and region names, chat contacts among the calls.
CALLS_PROFILE = """
[profile]
name = "feed-calls"
title = "A platform's contact feed"
record = "calls"

[container]
type = "jsonl"

[fields]
call_id = "id"
region = { column = "queue.area", map = { "norr" = "SE-BD", "väst" = "SE-AC" } }
arrived_at = "times.queued"
outcome = { column = "result", map = { "ANS" = "answered", "ABN" = "abandoned" } }
answered_at = "times.answered"
ended_at = "times.ended"

[[filter]]
column = "channel"
in = ["voice"]
"""
#: A platform's interval report as one JSON document, its rows at data.rows.
INTERVALS_PROFILE = """
[profile]
name = "feed-intervals"
title = "A platform's interval document"
record = "intervals"

[container]
type = "json"
records = "data.rows"

[fields]
region = "area"
interval_start = "start"
interval_minutes = { value = 60 }
offered = "in"
answered = "ans"
abandoned = "abn"
"""


def contact(n: int, area: str, result: str, *, channel: str = "voice") -> dict[str, Any]:
    start = f"2025-10-01T08:{n:02d}:00Z"
    times = {"queued": start}
    if result == "ANS":
        times["answered"] = f"2025-10-01T08:{n:02d}:40Z"
    else:
        times["ended"] = f"2025-10-01T08:{n:02d}:50Z"
    return {"id": f"f{n}", "queue": {"area": area}, "times": times, "result": result, "channel": channel,
            "updated_at": f"2025-10-01T09:{n:02d}:00Z"}


CONTACTS = [contact(1, "norr", "ANS"), contact(2, "norr", "ABN"), contact(3, "väst", "ANS"),
            contact(4, "väst", "ANS", channel="chat"), contact(5, "söder", "ANS")]
ROWS = [{"area": "SE-Z", "start": "2025-10-01T08:00:00+02:00", "in": 5, "ans": 4, "abn": 1,
         "updated_at": "2025-10-01T07:00:00Z"},
        {"area": "SE-Z", "start": "2025-10-01T09:00:00+02:00", "in": 3, "ans": 3, "abn": 0,
         "updated_at": "2025-10-01T08:00:00Z"}]


class Feed:
    """The pull API (SPEC §3) over fixed records, ``page_size`` a page, counting its requests."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.requests = 0

    async def handle(self, request: Request) -> Response:
        self.requests += 1
        limit = int(request.query_params.get("limit", "100"))
        cursor = request.query_params.get("since", "")
        start = int(cursor[4:]) if cursor.startswith("idx:") else 0
        page = self.records[start:start + limit]
        end = start + len(page)
        return JSONResponse({"records": page, "next_cursor": f"idx:{end}", "has_more": end < len(self.records)})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/calls", self.handle), Route("/intervals", self.handle)])


@pytest.fixture
def profiled(settings: Settings, tmp_path: Path) -> Settings:
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "feed-calls.toml").write_text(CALLS_PROFILE, encoding="utf-8")
    (folder / "feed-intervals.toml").write_text(INTERVALS_PROFILE, encoding="utf-8")
    return settings.model_copy(update={"profiles_dir": str(folder)})


def config(url: str, **values: Any) -> PullSourceConfig:
    return PullSourceConfig(**({"name": "platform", "kind": "calls", "base_url": url, "page_size": 2,
                                "max_retries": 0} | values))


def count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_calls_source_reads_its_pages_records_through_a_json_lines_profile(
    session_factory: sessionmaker[Session], profiled: Settings
) -> None:
    feed = Feed(CONTACTS)
    with running_server(feed.app()) as url, httpx.Client() as client:
        report = pull_source(session_factory, profiled, config(url, profile="feed-calls"), client)
        # three pages of two; the chat contact skipped by the filter; "söder" is no region the profile maps
        assert (report.pages, report.records, report.stored, report.rejected) == (3, 5, 3, 1)
        again = pull_source(session_factory, profiled, config(url, profile="feed-calls"), client)
    assert (again.stored, again.unchanged) == (0, 3)  # read again from its start: nothing new
    with session_factory() as session:
        calls = {c.call_id: (c.region, c.outcome) for c in session.scalars(select(Call))}
        source = session.scalars(select(Source)).one()
    assert calls == {"f1": ("SE-BD", "answered"), "f2": ("SE-BD", "abandoned"), "f3": ("SE-AC", "answered")}
    # the feed's own position: the newest updated_at of the records, whatever the profile maps
    assert (source.profile, source.delivered_until.isoformat()) == ("feed-calls", "2025-10-01T09:05:00+00:00")


def test_an_intervals_source_reads_its_pages_records_as_a_json_document_s_rows(
    session_factory: sessionmaker[Session], profiled: Settings
) -> None:
    feed = Feed(ROWS)
    with running_server(feed.app()) as url, httpx.Client() as client:
        report = pull_source(session_factory, profiled,
                             config(url, kind="intervals", profile="feed-intervals", page_size=10), client)
    assert (report.pages, report.records, report.stored, report.rejected) == (1, 2, 2, 0)
    with session_factory() as session:
        stored = session.execute(select(IntervalRow.offered, IntervalRow.answered).order_by(IntervalRow.offered))
        assert stored.all() == [(3, 3), (5, 4)]


@pytest.mark.parametrize(("kind", "profile", "why"), [
    ("intervals", "se-statistik-dag", "a pull source's pages are JSON"),  # a CSV profile cannot read a page
    ("calls", "feed-intervals", "holds intervals, not calls"),
    ("calls", "no-such-profile", "no import profile 'no-such-profile'"),
])
def test_a_profile_that_cannot_read_the_pages_fails_the_pull_before_any_request(
    session_factory: sessionmaker[Session], profiled: Settings, kind: str, profile: str, why: str
) -> None:
    feed = Feed(CONTACTS)
    with running_server(feed.app()) as url, httpx.Client() as client, pytest.raises(PullError, match=why):
        pull_source(session_factory, profiled, config(url, kind=kind, profile=profile), client)
    assert feed.requests == 0 and count(session_factory, Call) + count(session_factory, IntervalRow) == 0
    with session_factory() as session:
        source = session.scalars(select(Source)).one()
    assert why in (source.last_error or "") and source.consecutive_failures == 1


def test_vpt_sources_add_checks_the_profile_and_stores_it_in_its_own_column(
    monkeypatch: pytest.MonkeyPatch, profiled: Settings, session_factory: sessionmaker[Session]
) -> None:
    monkeypatch.setenv("VPT_DATABASE_URL", profiled.database_url)
    monkeypatch.setenv("VPT_PROFILES_DIR", str(profiled.profiles_dir))
    monkeypatch.setattr("app.cli.sim.console", Console(width=400))
    monkeypatch.setattr("app.cli.base.errors", Console(width=400, stderr=True))
    runner = CliRunner(env={"VPT_LANG": "en"})

    def add(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["sources", "add", "platform", "--url", "http://127.0.0.1:9", *args])
        return result.exit_code, result.output

    code, output = add("--profile", "se-statistik-dag", "--kind", "intervals")
    assert code == 1 and "pages are JSON" in output
    code, output = add("--profile", "nope")
    assert code == 1 and "feed-calls" in output  # names the profiles of calls
    assert count(session_factory, Source) == 0
    assert add("--profile", "feed-calls") == (0, "source platform saved\n")
    with session_factory() as session:
        row = session.scalars(select(Source)).one()
        assert (row.kind, row.profile) == ("http", "feed-calls") and "profile" not in (row.config or {})
        [read] = pull_sources(session)
    assert read.profile == "feed-calls"
    code, output = add("--kind", "push", "--profile", "x")
    assert code == 2 and "a push source takes no --url" in output
