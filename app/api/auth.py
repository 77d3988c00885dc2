"""Who is calling, and may they? API keys with scopes (README "Security").

Every endpoint declares the scope it needs with ``require_scope``; the dependency reads the key from
``Authorization: Bearer <key>`` or ``X-API-Key: <key>`` and answers 401 (with ``WWW-Authenticate: Bearer``)
when there is no valid key, 403 when the key lacks the scope. ``admin`` implies ``read`` and ``ingest``.
With ``VPT_PUBLIC_READ=true`` the ``read`` endpoints admit callers without a key as ``PUBLIC``.

**Cache and revocation latency.** Verifying a key is one indexed read and one HMAC. To serve hundreds of
requests a second without a database round trip each, a verified key is trusted for
``VPT_AUTH_CACHE_SECONDS`` (≤ 10 s) per process, keyed by a SHA-256 of the presented key (the key itself is
not kept). A revoked key therefore stops working within that time in every API process (at once in the
process that revoked it); expiry is checked on every request. Failed lookups are not cached.

**last_used_at** is written by one background thread of the process, at most once a minute per key, with a
conditional UPDATE that skips rows touched in the last minute: no write per request, and a database that is
busy (SQLite's single writer during an ingest) delays only that bookkeeping, never an answer. (Not a
request background task: those run before the request's own transaction commits, so on SQLite the two
writes would wait for each other.)
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from app.access.keys import LAST_USED_RESOLUTION_SECONDS, KeyIdentity, Scope, grants, touch_last_used, verify
from app.api.schemas import ErrorBody
from app.db.session import transaction

log = logging.getLogger(__name__)

ALL_SCOPES: frozenset[Scope] = frozenset({"read", "ingest", "admin"})
MAX_CACHED = 10_000  # distinct keys per process; past this the cache starts over rather than grow

bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="HTTPBearer", bearerFormat="vpt_<public id>_<secret>",
    description="An API key: `Authorization: Bearer vpt_…`",
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="APIKeyHeader", description="The same API key in `X-API-Key`"
)

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No API key, or one that is unknown, revoked or expired "
          "(with `WWW-Authenticate: Bearer`)"},
    403: {"model": ErrorBody, "description": "The API key lacks the scope this operation needs "
          "(named in its security requirement; admin implies read and ingest)"},
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a key's name, its scopes and its public id (None for the public reader)."""

    name: str
    scopes: frozenset[Scope]
    key_id: str | None = None
    sources: frozenset[str] | None = None  # the push sources the key may write; None: every one

    def may_write(self, source: str) -> bool:
        return self.sources is None or source in self.sources

    @property
    def actor(self) -> str:
        """How the audit log names the caller: ``key:<name>:<public id>``."""
        return f"key:{self.name}:{self.key_id}" if self.key_id else self.name


PUBLIC = Principal(name="public", scopes=frozenset({"read"}))


class Authenticator:
    """Verifies presented keys against the database, with the short cache and the last-used throttle."""

    def __init__(self, factory: sessionmaker[Session], ttl_seconds: float,
                 clock: Callable[[], float] = time.monotonic,
                 utc_now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """``clock`` times the cache; ``utc_now`` is the moment keys expire against (tests pin both)."""
        self.factory = factory
        self.ttl = ttl_seconds
        self.clock = clock
        self.utc_now = utc_now
        self._cache: dict[str, tuple[KeyIdentity, float]] = {}
        self._touched: dict[int, float] = {}
        self._lock = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vpt-key-last-used")

    def authenticate(self, presented: str) -> KeyIdentity:
        """The key's identity; raises a 401 ``HTTPException`` naming why not."""
        digest = hashlib.sha256(presented.encode()).hexdigest()
        now = self.utc_now()
        with self._lock:
            cached = self._cache.get(digest)
        if cached is not None and self.clock() - cached[1] < self.ttl:
            identity = cached[0]
        else:
            with self.factory() as session:
                outcome = verify(session, presented, now)
            if isinstance(outcome, str):
                log.info("auth.rejected", extra={"reason": outcome})
                detail = {"malformed": "not an API key (vpt_<public id>_<secret>)", "invalid": "invalid API key",
                          "revoked": "this API key has been revoked", "expired": "this API key has expired"}
                raise unauthorized(detail[outcome])
            identity = outcome
            if self.ttl > 0:
                with self._lock:
                    if len(self._cache) >= MAX_CACHED:
                        self._cache.clear()
                    self._cache[digest] = (identity, self.clock())
        if identity.expires_at is not None and identity.expires_at <= now:
            raise unauthorized("this API key has expired")
        return identity

    def invalidate(self) -> None:
        """Forget every verified key: a revocation in this process takes effect at once."""
        with self._lock:
            self._cache.clear()

    def used(self, key_id: int) -> None:
        """Record a use of the key, in the background, unless this process did so less than a minute ago."""
        moment = self.clock()
        with self._lock:
            last = self._touched.get(key_id)
            if last is not None and moment - last < LAST_USED_RESOLUTION_SECONDS:
                return
            self._touched[key_id] = moment
        with contextlib.suppress(RuntimeError):  # shutting down: this use goes unrecorded, the request goes on
            self._writer.submit(self.touch, key_id)

    def close(self) -> None:
        """Let pending last-used writes finish (the lifespan calls this before disposing of the engine)."""
        self._writer.shutdown(wait=True)

    def touch(self, key_id: int) -> None:
        try:
            with transaction(self.factory) as session:
                touch_last_used(session, key_id, datetime.now(UTC))
        except Exception as exc:  # bookkeeping: never worth failing a request or a log line with a traceback
            log.warning("auth.last_used.failed", extra={"key": key_id, "error": type(exc).__name__})


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def _presented(bearer: HTTPAuthorizationCredentials | None, header: str | None) -> str | None:
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    return header or None


def require_scope(scope: Scope) -> Callable[..., Principal]:
    """A dependency admitting callers whose key holds ``scope`` (or admin), returning their ``Principal``."""

    # Defaults rather than Annotated: annotations are strings here and cannot see the closure's ``scope``. The
    # scope goes into the operation's security requirement, so the OpenAPI document names what each one needs.
    from_bearer = Security(bearer_scheme, scopes=[scope])
    from_header = Security(api_key_scheme, scopes=[scope])

    def dependency(
        request: Request,
        bearer: HTTPAuthorizationCredentials | None = from_bearer,
        header: str | None = from_header,
    ) -> Principal:
        presented = _presented(bearer, header)
        public = scope == "read" and request.app.state.settings.public_read and request.method in ("GET", "HEAD")
        if presented is None:
            if public:
                return PUBLIC
            raise unauthorized("an API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`")
        authenticator: Authenticator = request.app.state.authenticator
        identity = authenticator.authenticate(presented)  # a key that is sent must be valid, public reads or not
        authenticator.used(identity.id)
        # With public reads on, anyone may read: a key without the read scope is no reason to refuse.
        if not (public or grants(identity.scopes, scope)):
            log.info("auth.forbidden", extra={"key": identity.public_id, "scope": scope})
            raise HTTPException(403, f"this API key lacks the {scope!r} scope")
        return Principal(name=identity.name, scopes=identity.scopes, key_id=identity.public_id,
                         sources=identity.sources)

    dependency.__name__ = f"require_scope_{scope}"
    return dependency


def remote_addr(request: Request) -> str | None:
    return request.client.host if request.client else None
