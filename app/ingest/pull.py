"""Pulling a platform's paged HTTP feed (SPEC §3): fetch pages, store them, then advance the cursor.

The position in the feed (``delivered_until``, the newest change stored) is written in the transaction
that stores the records, so a crash between fetching and committing re-reads, never skips. Each pull starts
``overlap_seconds`` before that position: platforms publish some changes late with their true timestamp,
and re-reading costs nothing because ingest is idempotent.
"""

from __future__ import annotations

import email.utils
import io
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import JobLease, Source
from app.db.session import rows_matched, transaction
from app.errors import VptError
from app.ingest.bounded_body import ACCEPT_ENCODING, BodyCorrupt, BodyRefused, read_capped, read_snippet
from app.ingest.loader import RecordKind, ingest_stream
from app.ingest.lock import LockWait
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


@dataclass
class PullReport:
    source: str
    pages: int = 0
    records: int = 0
    pending: int = 0  # calls still queued at the platform: not counted until their outcome arrives
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    runs: list[int] = field(default_factory=list)
    delivered_until: datetime | None = None
    stopped_early: bool = False


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


def _as_jsonl(records: list[dict[str, Any]], config: PullSourceConfig) -> tuple[bytes, int]:
    """Canonical JSON Lines for the parser; calls still queued are left out (their outcome comes later)."""
    lines: list[str] = []
    pending = 0
    for record in records:
        if config.kind == "calls" and record.get("state") == "queued" and not record.get("outcome"):
            pending += 1
            continue
        if config.region_map:
            record = dict(record)
            for key in ("region", "answered_by_region"):
                value = record.get(key)
                if isinstance(value, str) and value in config.region_map:
                    record[key] = config.region_map[value]
        lines.append(json.dumps(record, ensure_ascii=False, default=str))
    # A lone surrogate (a feed's "\ud800" escape) cannot be UTF-8: written back as that escape, the parser
    # rejects the row naming its field instead of the whole batch failing here.
    return ("\n".join(lines) + "\n").encode("utf-8", "backslashreplace") if lines else b"", pending


def _updated_at(record: dict[str, Any]) -> datetime | None:
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


@dataclass(frozen=True)
class Lease:
    """The job lease a pull runs under; every commit re-checks (and extends) it in the same transaction."""

    name: str
    holder: str
    seconds: int


def source_lease(name: str, holder: str, seconds: int) -> Lease:
    """The one lease under which a source is pulled, by a worker or by hand."""
    return Lease(f"pull:{name}", holder, seconds)


class PullStopped(PullError):
    """The worker was asked to stop while waiting to retry: not a fault of the source."""


CLOCK_SKEW = timedelta(minutes=5)  # how far a record's updated_at may run ahead of our clock


def pull_source(
    factory: sessionmaker[Session],
    settings: Settings,
    config: PullSourceConfig,
    client: httpx.Client,
    *,
    stop: threading.Event | None = None,
    lease: Lease | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> PullReport:
    """Read the feed from just before the stored position to its end, committing every ``batch_records``.

    ``stop`` is checked after each committed batch and while waiting to retry: a worker asked to stop
    finishes the batch it holds. With a ``lease``, a batch commits only while the lease is still ours, so a
    pull that lost its lease (it stalled past expiry and another worker took over) cannot overwrite newer
    data or move the position back. A failure is recorded on the source and raised; batches committed
    before it stay committed.
    """
    report = PullReport(config.name)
    with transaction(factory) as session:
        source = _source(session, config)
        position = source.delivered_until
        source.last_attempt_at = datetime.now(UTC)
    if position is not None:
        since: str | None = (position - timedelta(seconds=config.overlap_seconds)).isoformat()
    else:
        since = config.start.astimezone(UTC).isoformat() if config.start else None

    def pause(seconds: float) -> None:
        if stop is None:
            sleep(seconds)
        elif stop.wait(seconds):
            raise PullStopped(f"{config.name}: stopped while waiting to retry")

    buffer: list[dict[str, Any]] = []
    newest = position
    try:
        for page in iter_pages(client, config, since, max_bytes=settings.max_pull_page_bytes, sleep=pause,
                               rng=rng):
            report.pages += 1
            report.records += len(page.records)
            buffer.extend(page.records)
            # A record stamped in the future (a platform's broken clock, a bad row) must not move the position
            # past what the platform has actually published: later pulls would start beyond real changes.
            horizon = min(page.server_time or datetime.now(UTC), datetime.now(UTC)) + CLOCK_SKEW
            for record in page.records:
                moment = _updated_at(record)
                if moment is not None and moment <= horizon and (newest is None or moment > newest):
                    newest = moment
            if len(buffer) >= config.batch_records or not page.has_more:
                _store(factory, settings, config, buffer, newest, page, report, lease)
                buffer = []
                if stop is not None and stop.is_set() and page.has_more:
                    report.stopped_early = True
                    break
    except PullStopped:
        report.stopped_early = True
        return report
    except Exception as exc:
        with transaction(factory) as session:
            source = _source(session, config)
            source.last_error_at = datetime.now(UTC)
            source.last_error = str(exc)[:2000]
            source.consecutive_failures += 1
        log.error("pull.failed", extra={"source": config.name, "error": str(exc)[:500]})
        if isinstance(exc, PullError):
            raise
        raise PullError(f"{config.name}: {exc}") from exc
    report.delivered_until = newest
    log.info("pull.finished", extra={"source": config.name, "pages": report.pages, "records": report.records,
                                     "stored": report.stored, "updated": report.updated, "pending": report.pending})
    return report


def _source(session: Session, config: PullSourceConfig) -> Source:
    source = session.scalar(select(Source).where(Source.name == config.name))
    if source is None:
        source = Source(name=config.name, kind="http", config=config.to_json())
        session.add(source)
        session.flush()
    return source


def _hold(session: Session, lease: Lease) -> None:
    now = datetime.now(UTC)
    held = session.execute(
        update(JobLease).where(JobLease.name == lease.name, JobLease.holder == lease.holder)
        .values(expires_at=now + timedelta(seconds=lease.seconds)).execution_options(synchronize_session=False)
    )
    if rows_matched(held) != 1:
        raise PullError(f"lease {lease.name} was lost to another worker: this batch is not committed")


def _store(
    factory: sessionmaker[Session], settings: Settings, config: PullSourceConfig, records: list[dict[str, Any]],
    newest: datetime | None, page: FeedPage, report: PullReport, lease: Lease | None,
) -> None:
    payload, pending = _as_jsonl(records, config)
    report.pending += pending
    kind: RecordKind = "calls" if config.kind == "calls" else "intervals"
    stored_nothing = False
    with transaction(factory) as session:
        if lease is not None:
            _hold(session, lease)
        if payload:
            run = ingest_stream(
                session, record_kind=kind, raw=io.BytesIO(payload), fmt="jsonl", source_name=config.name,
                source_kind="http", origin=f"{config.public_url.rstrip('/')}/{config.kind}",
                definitions=settings.definitions, batch_rows=settings.ingest_batch_rows,
                max_field_length=settings.max_field_length, max_line_length=settings.max_line_length,
                lock=LockWait(settings.ingest_lock_wait_seconds, f"worker pull source={config.name}"),
            )
            stored_nothing = run.status == "rejected"
            report.stored += run.rows_stored
            report.updated += run.rows_updated
            report.unchanged += run.rows_unchanged
            report.rejected += run.rows_rejected
            report.runs.append(run.run_id)
        source = _source(session, config)
        if newest is not None:  # the records this position covers are committed with it
            source.delivered_until = newest
        source.cursor = page.next_cursor
        source.records_behind = page.remaining if page.remaining is not None else (0 if not page.has_more else None)
        if not stored_nothing:  # a page whose every record was rejected is no success (the run says rejected)
            source.last_success_at = datetime.now(UTC)
            source.consecutive_failures = 0
