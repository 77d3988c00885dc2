"""Month documents reused while nothing that could change them has changed (the API's hot path).

A scorecard is read far more often than the data under it changes: dashboards and people reload it, and the
data changes with an ingest run, a new target version or changed definitions, all of which move
``data_version`` (three index lookups). So a document is kept per database, month and data version:

* a **closed** month's document depends on "now" only through ``generated_at``; it is reused as it was made,
  and ``generated_at`` says when that was;
* the **month in progress** (and a future month) moves with the clock (forecast, needed rates, partial
  flags): it is computed as of the start of the current minute, and reused within that minute. Every request in
  one minute and one data version gets exactly ``monthly_scorecard(..., now=<start of the minute>)``.

The figures are therefore always those ``monthly_scorecard`` gives for the stored data; only the moment they
describe may be up to a minute old for the month in progress. The version itself costs a database round trip,
which under load was most of a cached request's time; the API therefore trusts a version it read for
``version_ttl`` seconds (``VPT_SCORECARD_VERSION_TTL_SECONDS``, default 1 s): an ingest shows in the API's
scorecard at most that much later (0 checks on every request). Renderings of a document (its JSON body) are
kept with it, so a repeated request costs the version lookup and the bytes. ``vpt recompute`` with unchanged
definitions rebuilds the same figures and so does not move the version; after a code change that alters
figures, the processes restart with the deployment and start empty.

A ``ScorecardCache`` is an object made where a process starts (the API app's ``lifespan``) and handed to what
needs it, never module state: two apps in one process (tests) never share an entry. It carries the app's
``ForecastHistoryCache`` (``app.scorecard.forecast_cache``), which the app's metrics collector shares.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.kpi.counts import Definitions
from app.kpi.localtime import local_month_bounds
from app.scorecard.document import ScorecardDocument
from app.scorecard.forecast_cache import ForecastHistoryCache
from app.scorecard.queries import data_version
from app.scorecard.service import check_year, monthly_scorecard

DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # VPT_SCORECARD_CACHE_BYTES: ten years of months fit many times over
DOCUMENT_BYTES_PER_SCOPE = 6_000  # a document's objects in memory, per scope (measured ~4-5 kB with 21 regions)
DOCUMENT_BYTES_BASE = 2_000


def document_bytes(document: ScorecardDocument) -> int:
    """What a document is charged before any rendering: an estimate of its objects in memory, which grows with
    its scopes (counting them exactly would cost more than the cache saves)."""
    return DOCUMENT_BYTES_BASE + DOCUMENT_BYTES_PER_SCOPE * len(document.scopes)


def rendering_bytes(value: Any) -> int:
    return len(value) if isinstance(value, bytes | str) else 0


@dataclass
class CachedScorecard:
    document: ScorecardDocument
    _renderings: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _grown: Callable[[CachedScorecard, int], None] | None = None  # the cache's byte count, told of renderings

    @property
    def size(self) -> int:
        """Bytes this entry is charged: the document's estimate plus the renderings it holds."""
        with self._lock:
            return document_bytes(self.document) + sum(rendering_bytes(v) for v in self._renderings.values())

    def rendered(self, name: str, render: Callable[[ScorecardDocument], Any]) -> Any:
        """``render(document)``, computed once per document (e.g. the JSON body of the API)."""
        with self._lock:
            added = name not in self._renderings
            if added:
                self._renderings[name] = render(self.document)
            value = self._renderings[name]
        if added and self._grown is not None:
            self._grown(self, rendering_bytes(value))
        return value


class ScorecardCache:
    """Month documents by database, month, definitions and data version; ``history`` serves their forecasts.

    Sized by bytes (``max_bytes``, ``VPT_SCORECARD_CACHE_BYTES``): each entry is charged its document's estimate
    and the renderings it holds; the least recently used entries go first. A count would not do: a document's
    size follows the number of scopes, and its renderings (JSON, CSV, XLSX) are made on demand."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, history: ForecastHistoryCache | None = None) -> None:
        self.max_bytes = max_bytes
        self.history = history if history is not None else ForecastHistoryCache()
        self._entries: OrderedDict[tuple[Any, ...], CachedScorecard] = OrderedDict()
        self._sizes: dict[tuple[Any, ...], int] = {}
        self.bytes = 0
        self._lock = threading.Lock()
        self._computing: dict[tuple[Any, ...], threading.Lock] = {}
        self._versions: dict[str, tuple[tuple[Any, ...], float]] = {}
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _evict(self, keep: tuple[Any, ...] | None) -> None:
        """Drop least recently used entries until the bytes fit (called with the lock held). The entry just
        made or served stays even alone over the limit: it is about to be sent."""
        while self.bytes > self.max_bytes and self._entries:
            oldest = next(iter(self._entries))
            if oldest == keep:
                break
            self._entries.popitem(last=False)
            self.bytes -= self._sizes.pop(oldest)

    def _grown_by(self, entry: CachedScorecard, added: int) -> None:
        with self._lock:
            for key, held in self._entries.items():
                if held is entry:
                    self._sizes[key] += added
                    self.bytes += added
                    self._evict(key)
                    return

    def version(self, session: Session, url: str, ttl: float) -> tuple[Any, ...]:
        """The data version, read from the database at most once per ``ttl`` seconds per database."""
        if ttl > 0:
            with self._lock:
                known = self._versions.get(url)
            if known is not None and time.monotonic() - known[1] < ttl:
                return known[0]
        current = data_version(session)
        with self._lock:
            self._versions[url] = (current, time.monotonic())
        return current

    def get(self, session: Session, month: date, definitions: Definitions, now: datetime, *,
            version_ttl: float = 0.0) -> CachedScorecard:
        """The month's document for the data as stored now (see the module docstring for "now")."""
        check_year(month)
        closed = local_month_bounds(month)[1] <= now
        moment = now if closed else now.replace(second=0, microsecond=0)
        url = str(session.get_bind().engine.url)
        key = (url, month, definitions, self.version(session, url, version_ttl), closed,
               None if closed else moment)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry
            computing = self._computing.setdefault(key, threading.Lock())
        with computing:  # concurrent misses of one key compute it once
            with self._lock:
                entry = self._entries.get(key)
            if entry is None:
                entry = CachedScorecard(monthly_scorecard(session, month, definitions, moment,
                                                          history=self.history), _grown=self._grown_by)
                with self._lock:
                    self.misses += 1
                    self._entries[key] = entry
                    self._sizes[key] = entry.size
                    self.bytes += self._sizes[key]
                    self._evict(key)
        with self._lock:
            self._computing.pop(key, None)
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._sizes.clear()
            self.bytes = 0
            self._versions.clear()
        self.history.clear()
