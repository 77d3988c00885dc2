"""Reading a platform's paged HTTP feed (SPEC §3): one page fetched with retries and size limits, its JSON checked,
and the pages followed by cursor.

Apart from app.ingest.pull, which stores what is read and moves the source's position: this module knows HTTP and
the feed's page format (redirects refused, bodies capped, ``Retry-After`` honoured) but nothing of the database.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from app.errors import VptError
from app.ingest.bounded_body import ACCEPT_ENCODING, BodyCorrupt, BodyRefused, read_capped, read_snippet
from app.ingest.sources import PullSourceConfig, redact_url
from app.sanitize import clean

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_BYTES_SETTING = "VPT_MAX_PULL_PAGE_BYTES"


class PullError(VptError):
    """The feed could not be read; what was committed before stays, the rest is read again next time.

    502: the platform, not the caller, is at fault (no endpoint pulls today; the CLI and the worker report it)."""

    code = "pull_failed"
    status_code = 502


@dataclass(frozen=True)
class FeedPage:
    records: list[dict[str, Any]]
    next_cursor: str | None
    has_more: bool
    remaining: int | None
    server_time: datetime | None = None


def server_retry_after(response: httpx.Response | None) -> float | None:
    """Seconds the server asked us to wait (``Retry-After`` as seconds or an HTTP date), if it said so."""
    header = response.headers.get("retry-after") if response is not None else None
    if not header:
        return None
    try:
        return max(float(header), 0.0)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None  # unreadable: fall back to our own backoff
    if moment.tzinfo is None:
        return None
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)


def retry_delay(attempt: int, config: PullSourceConfig, response: httpx.Response | None, rng: random.Random) -> float:
    """The server's ``Retry-After`` when it gives one (never less), else exponential backoff with jitter."""
    asked = server_retry_after(response)
    if asked is not None:
        return asked
    ceiling = min(config.backoff_max_seconds, config.backoff_seconds * 2**attempt)
    return rng.uniform(ceiling / 2, ceiling)


def fetch_page(
    client: httpx.Client, config: PullSourceConfig, since: str | None, *, max_bytes: int,
    sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
) -> FeedPage:
    """One page, retried on transient faults; a page larger than ``max_bytes`` decoded is refused unread.

    Redirects are never followed, whatever the client's setting: the auth header must not reach another host,
    and the operator fixes ``base_url`` from the target the error names.
    """
    rng = rng or random.Random()
    params: dict[str, str | int] = {"limit": config.page_size}
    if since:
        params["since"] = since
    url = config.base_url.rstrip("/") + "/" + config.kind
    shown = config.public_url.rstrip("/") + "/" + config.kind  # never a password in a message or log line
    headers = {"Accept-Encoding": ACCEPT_ENCODING, **config.auth_header()}
    problem = ""
    for attempt in range(config.max_retries + 1):
        response: httpx.Response | None = None
        try:
            with client.stream("GET", url, params=params, headers=headers, timeout=config.timeout_seconds,
                               follow_redirects=False) as response:
                status = response.status_code
                if status in RETRYABLE_STATUS:
                    problem = f"HTTP {status}"
                elif 300 <= status < 400:
                    raise PullError(f"{shown}: HTTP {status} {_redirect_target(response)}; redirects are not "
                                    "followed (the auth header must not go elsewhere): correct base_url")
                elif status >= 400:
                    raise PullError(f"{shown}: HTTP {status} {read_snippet(response)!r}")
                else:
                    return _page(read_capped(response, max_bytes, MAX_BYTES_SETTING), config)
        except BodyRefused as exc:
            raise PullError(f"{shown}: {exc}") from None
        except httpx.TimeoutException:
            problem = f"timed out after {config.timeout_seconds} s"
        except httpx.TransportError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # a truncated body: the next try may be whole
            problem = f"body is not valid JSON ({exc})"
        except BodyCorrupt as exc:
            problem = str(exc)
        if attempt < config.max_retries:
            delay = retry_delay(attempt, config, response, rng)
            if delay > config.backoff_max_seconds:
                raise PullError(f"{shown}: {problem}; the server asks to retry after {delay:.0f} s (next run)")
            log.warning("pull.retry", extra={"source": config.name, "attempt": attempt + 1, "problem": problem,
                                             "delay_s": round(delay, 2)})
            sleep(delay)
    raise PullError(f"{shown}: {problem} (gave up after {config.max_retries + 1} attempts)")


def _redirect_target(response: httpx.Response) -> str:
    """Where a redirect points, absolute, without its password or query values, safe to store and print."""
    location = response.headers.get("location")
    if not location:
        return "without a Location"
    try:
        target = str(response.url.join(location))
    except (httpx.InvalidURL, ValueError):
        target = location
    return f"redirects to {clean(redact_url(target), 300)}"


def _page(content: bytes, config: PullSourceConfig) -> FeedPage:
    body = json.loads(content)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise PullError(f"{config.name}: a page must be an object with a 'records' list")
    records = body["records"]
    if len(records) > config.page_size:
        raise PullError(f"{config.name}: the page has {len(records)} records, more than the {config.page_size} asked")
    next_cursor = body.get("next_cursor")
    if next_cursor is not None and not isinstance(next_cursor, str):
        raise PullError(f"{config.name}: next_cursor must be a string")
    remaining = body.get("remaining")
    return FeedPage(
        [record if isinstance(record, dict) else {"_malformed": record} for record in records],
        next_cursor, bool(body.get("has_more")), remaining if isinstance(remaining, int) else None,
        _timestamp(body.get("server_time")),
    )


def updated_at(record: dict[str, Any]) -> datetime | None:
    """When the platform last changed a record (its ``updated_at``), as an aware UTC instant; None if unreadable."""
    return _timestamp(record.get("updated_at"))


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def iter_pages(
    client: httpx.Client, config: PullSourceConfig, since: str | None, *, max_bytes: int,
    sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
) -> Iterator[FeedPage]:
    """Follow ``next_cursor`` until the feed says it has no more; a feed that stops advancing is an error."""
    seen: set[str] = set()
    cursor = since
    while True:
        page = fetch_page(client, config, cursor, max_bytes=max_bytes, sleep=sleep, rng=rng)
        yield page
        if not page.has_more:
            return
        if page.next_cursor is None or page.next_cursor == cursor or page.next_cursor in seen:
            raise PullError(f"{config.name}: the feed repeated a page (cursor {page.next_cursor!r} did not advance)")
        seen.add(page.next_cursor)
        cursor = page.next_cursor
