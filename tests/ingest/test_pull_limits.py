"""Limits of the pull client against hostile platforms on 127.0.0.1: bombs, huge pages, redirects, bad base URLs."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from typer.testing import CliRunner

from app.cli import app as cli
from app.config import Settings
from app.ingest.pull import PullError, pull_source
from app.ingest.sources import PullSourceConfig, SourceConfigError, load_sources_file
from tests.feeds import ScriptedFeed, call
from tests.ingest.test_pull import calls_in_db, config, source_row
from tests.servers import running_server

CAP = 1024 * 1024
BOMB_MIB = 64  # decoded; about 64 KiB on the wire
PAGE_PREFIX = b'{"records": [], "has_more": false, "pad": "'


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """A valid page whose padding decodes to 64 MiB: accepted whole by a client without a ceiling."""
    pack = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b" " * (1024 * 1024)
    parts = [pack.compress(PAGE_PREFIX), *(pack.compress(block) for _ in range(BOMB_MIB)), pack.compress(b'"}')]
    return b"".join(parts) + pack.flush()


@pytest.fixture
def capped(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_pull_page_bytes": CAP})


class OneRoute:
    """A platform whose /calls always answers with ``respond()``; counts what it was asked."""

    def __init__(self, respond: object) -> None:
        self.respond = respond
        self.requests: list[Request] = []

    async def handle(self, request: Request) -> Response:
        self.requests.append(request)
        return self.respond()  # type: ignore[operator, no-any-return]

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/calls", self.handle)])


def test_a_gzip_bomb_is_refused_at_the_ceiling_with_bounded_memory(
    session_factory: sessionmaker[Session], capped: Settings, gzip_bomb: bytes
) -> None:
    assert len(gzip_bomb) < 128 * 1024
    platform = OneRoute(lambda: Response(gzip_bomb, media_type="application/json",
                                         headers={"Content-Encoding": "gzip"}))
    with running_server(platform.app()) as url, httpx.Client() as client:
        tracemalloc.start()
        try:
            with pytest.raises(PullError, match=f"larger than the {CAP}-byte limit.*VPT_MAX_PULL_PAGE_BYTES"):
                pull_source(session_factory, capped, config(url), client, sleep=lambda _: None)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # the read stopped at the ceiling plus one inflated chunk: nowhere near the 64 MiB the page decodes to
    assert peak < 4 * CAP, f"peak {peak} bytes while reading"
    assert len(platform.requests) == 1  # refused, not retried
    source = source_row(session_factory)
    assert source.consecutive_failures == 1 and f"{CAP}-byte limit" in (source.last_error or "")
    assert source.delivered_until is None and calls_in_db(session_factory) == 0


def test_a_page_past_the_ceiling_is_refused_without_content_length_and_before_reading_with_it(
    session_factory: sessionmaker[Session], capped: Settings
) -> None:
    def streamed() -> Iterator[bytes]:
        yield PAGE_PREFIX
        for _ in range(2 * CAP // 65536):
            yield b" " * 65536
        yield b'"}'

    chunked = OneRoute(lambda: StreamingResponse(streamed(), media_type="application/json"))
    declared = OneRoute(lambda: Response(PAGE_PREFIX + b" " * 2 * CAP + b'"}', media_type="application/json"))
    size = 2 * CAP + len(PAGE_PREFIX) + 2
    with (
        running_server(chunked.app()) as url,
        httpx.Client() as client,
        pytest.raises(PullError, match=f"larger than the {CAP}-byte limit"),
    ):
        pull_source(session_factory, capped, config(url), client)
    with (
        running_server(declared.app()) as url,
        httpx.Client() as client,
        pytest.raises(PullError, match=f"Content-Length {size} is above the {CAP}-byte limit"),
    ):
        pull_source(session_factory, capped, config(url), client)
    assert len(chunked.requests) == len(declared.requests) == 1
    assert source_row(session_factory).consecutive_failures == 2


def test_stacked_encodings_we_did_not_ask_for_are_refused(
    session_factory: sessionmaker[Session], capped: Settings
) -> None:
    """``gzip, gzip`` multiplies the ratio: httpx would inflate a small read into gigabytes in one step."""
    page = b'{"records": [], "has_more": false}'
    platform = OneRoute(lambda: Response(gzip.compress(gzip.compress(page)), media_type="application/json",
                                         headers={"Content-Encoding": "gzip, gzip"}))
    with (
        running_server(platform.app()) as url,
        httpx.Client() as client,
        pytest.raises(PullError, match="Content-Encoding 'gzip, gzip' was not asked for"),
    ):
        pull_source(session_factory, capped, config(url), client)
    assert len(platform.requests) == 1
    assert platform.requests[0].headers["accept-encoding"] == "gzip"


def test_gzip_pages_are_read_whole_and_a_cut_gzip_body_is_retried(
    session_factory: sessionmaker[Session], capped: Settings
) -> None:
    feed = ScriptedFeed([call(n) for n in range(250)])
    whole = gzip.compress(b'{"records": [], "has_more": false}')
    feed.script[0] = lambda: Response(whole[:-12], media_type="application/json", headers={"Content-Encoding": "gzip"})
    gzipped = Starlette(routes=feed.app().routes, middleware=[Middleware(GZipMiddleware, minimum_size=100)])
    with running_server(gzipped) as url, httpx.Client() as client:
        report = pull_source(session_factory, capped, config(url), client, sleep=lambda _: None)
    assert (report.pages, report.stored) == (3, 250) and len(feed.requests) == 4
    assert calls_in_db(session_factory) == 250


def test_a_redirect_is_reported_with_its_target_and_never_followed(
    session_factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VPT_TEST_PLATFORM_TOKEN", "Bearer s3cret")
    elsewhere = ScriptedFeed([call(0)])
    feed = ScriptedFeed([call(0)])
    with running_server(elsewhere.app()) as other, running_server(feed.app()) as url:
        target = other.replace("http://", "http://svc:pa55word@") + "/calls?token=t0ken"
        feed.script[0] = lambda: Response(status_code=302, headers={"Location": target})
        feed.script[1] = lambda: Response(status_code=301, headers={"Location": "/v2/calls"})
        source = config(url, auth_header_env="VPT_TEST_PLATFORM_TOKEN")
        with httpx.Client(follow_redirects=True) as client:  # even a client set to follow does not
            with pytest.raises(PullError) as absolute:
                pull_source(session_factory, settings, source, client, sleep=lambda _: None)
            with pytest.raises(PullError) as relative:
                pull_source(session_factory, settings, source, client, sleep=lambda _: None)
    assert f"HTTP 302 redirects to {other.replace('http://', 'http://svc:***@')}/calls?token=" in str(absolute.value)
    assert f"HTTP 301 redirects to {url}/v2/calls" in str(relative.value)
    assert "correct base_url" in str(absolute.value)
    assert "pa55word" not in str(absolute.value) and "t0ken" not in str(absolute.value)
    assert len(feed.requests) == 2 and elsewhere.requests == []  # not retried; the token went nowhere else
    row = source_row(session_factory)
    assert row.consecutive_failures == 2 and "HTTP 301 redirects to" in (row.last_error or "")


def test_a_base_url_with_a_query_string_is_refused_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    for base_url in ("http://platform.example/api?key=s3cret", "http://platform.example/api?", "http://p.example/#x"):
        with pytest.raises(SourceConfigError, match="must not have a query string") as refused:
            PullSourceConfig.from_mapping({"name": "p", "kind": "calls", "base_url": base_url})
        assert "s3cret" not in str(refused.value)
    toml = tmp_path / "sources.toml"
    toml.write_text('[[source]]\nname = "p"\nkind = "calls"\nbase_url = "http://platform.example/api?key=s3cret"\n')
    with pytest.raises(SourceConfigError, match=r"sources\.toml.*must not have a query string"):
        load_sources_file(toml)
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    added = CliRunner().invoke(cli, ["sources", "add", "p", "--url", "http://platform.example/api?key=s3cret"])
    assert added.exit_code == 1 and "must not have a query string" in added.stderr
    assert "s3cret" not in added.output
