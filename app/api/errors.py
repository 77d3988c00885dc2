"""Every error renders as ``{"error": ..., "detail": ...}``: a domain error (``app.errors.VptError``, whatever its
class) with the code and status it carries, anything unexpected as a 500 in the same shape. A detail may quote
input (a file name, a field), so it goes through the sanitiser: a lone surrogate in it could not even be encoded,
and the response would fail after the work was done.
"""

from __future__ import annotations

import logging
import re
import threading
import time

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db.session import UNAVAILABLE_ERRORS, database_unavailable
from app.errors import VptError
from app.sanitize import clean

log = logging.getLogger(__name__)


DETAIL_LIMIT = 4000  # characters of one text in a detail


def _cleaned(value: object) -> object:
    """``value`` with every text in it sanitised, however it is nested (validation errors are lists of dicts)."""
    if isinstance(value, str):
        return clean(value, DETAIL_LIMIT)
    if isinstance(value, list | tuple):
        return [_cleaned(item) for item in value]
    if isinstance(value, dict):
        return {_cleaned(key) if isinstance(key, str) else key: _cleaned(item) for key, item in value.items()}
    return value


def _body(error: str, detail: object) -> dict[str, object]:
    return {"error": error, "detail": _cleaned(detail)}


def _code(exc: Exception) -> str:
    """An error code: a domain error's own, else one from the class name (an exception that carries a status but
    is no ``VptError``)."""
    if isinstance(exc, VptError):
        return exc.code
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def _status(exc: Exception) -> int | None:
    """The HTTP status an exception carries, if it carries one."""
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) and 400 <= status <= 599 else None


class RenderUnexpected:
    """The last resort, inside the other middleware (so CORS still wraps its answer): an exception nothing else
    handled becomes a JSON error instead of Starlette's text/plain 500. An exception that carries an HTTP status
    but no handler (a ``VptError`` has one) is answered with that status; anything else is logged with its traceback and
    answered 500, its text withheld (it may name a statement, a path, a host). Once a response has started, the
    exception is passed on: a half-sent body cannot be replaced."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            if started:
                raise
            status = _status(exc)
            if status is not None:
                log.warning("api.error", extra={"error": _code(exc), "status": status})
                response = JSONResponse(_body(_code(exc), str(exc)), status_code=status)
            else:
                log.exception("api.unexpected_error", extra={"path": clean(scope.get("path", ""), 200)})
                response = JSONResponse(_body("internal_error", "an unexpected error; it has been logged"),
                                        status_code=500)
            await response(scope, receive, send)


RETRY_AFTER_SECONDS = 5
LOG_EVERY_SECONDS = 30.0  # an outage is logged when it starts, then once per this while it lasts


class _OutageLog:
    """One warning per outage, not one per request: a scraper or a dashboard polling a dead database would
    otherwise fill the log. Only the error's class is logged: its text may name the host and user, and
    SQLAlchemy's message carries the statement and its parameters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._suppressed = 0

    def __call__(self, exc: BaseException) -> None:
        orig = getattr(exc, "orig", None) or exc
        with self._lock:
            now = time.monotonic()
            if now - self._last < LOG_EVERY_SECONDS:
                self._suppressed += 1
                return
            suppressed, self._suppressed, self._last = self._suppressed, 0, now
        log.warning("database.unavailable", extra={"error": type(orig).__name__, "since_last_log": suppressed})


_log_outage = _OutageLog()


#: What FastAPI raises (as a 400) when it cannot decode a JSON body at all, before validation.
FASTAPI_BODY_ERROR = "There was an error parsing the body"


#: The methods a 405 may list; HEAD is served wherever GET is.
_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route takes at this path: Starlette's 405 names only the first route's (GET of a
    path that also takes POST), and RFC 9110 wants them all. Asked of the routes with each method in turn."""
    allowed = [
        method for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL
               for route in request.app.router.routes)
    ]
    return ", ".join(allowed)


def install_error_handlers(app: FastAPI) -> None:
    async def domain_error(_: Request, exc: VptError) -> JSONResponse:
        return JSONResponse(_body(exc.code, exc.message), status_code=exc.status_code)

    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}.get(
            exc.status_code, "http_error"
        )
        if exc.status_code == 400 and exc.detail == FASTAPI_BODY_ERROR:
            # A body that is not even text (invalid UTF-8): the same 422 as a body that is not JSON.
            return JSONResponse(_body("validation_error", [
                {"loc": ["body"], "msg": "the body is not valid UTF-8 JSON", "type": "json_invalid"}]), status_code=422)
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        return JSONResponse(_body(code, exc.detail), status_code=exc.status_code, headers=headers)

    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        return JSONResponse(_body("validation_error", detail), status_code=422)

    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        """503 with Retry-After for an outage (the client may retry; a load balancer keeps the process)."""
        if not database_unavailable(exc):
            raise exc  # a bug, not an outage: the server error handler logs it and answers 500
        _log_outage(exc)
        return JSONResponse(_body("database_unavailable", "database unavailable"), status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    # (Starlette's stub types every handler as taking Exception; each here takes the class it is registered for.)
    app.add_exception_handler(VptError, domain_error)  # type: ignore[arg-type]  # stub: Exception; subclasses by MRO
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]  # stub: any Exception
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]  # stub: Exception
    database_errors: tuple[type[Exception], ...] = (DBAPIError, *UNAVAILABLE_ERRORS)
    for exc_type in database_errors:
        app.add_exception_handler(exc_type, unavailable)
    app.add_middleware(RenderUnexpected)  # added first, so innermost of the middleware: CORS wraps its answer
