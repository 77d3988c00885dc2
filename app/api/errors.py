"""Domain errors render as ``{"error": ..., "detail": ...}`` with the status they carry; never a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.ingest.loader import DefinitionsChanged, IngestError, SourceKindMismatch
from app.scorecard.service import InvalidMonth, UnknownScope
from app.scorecard.targets import InvalidTarget

log = logging.getLogger(__name__)

DOMAIN_ERRORS: dict[type[Exception], str] = {
    InvalidMonth: "invalid_month",
    UnknownScope: "not_found",
    IngestError: "ingest_failed",
    DefinitionsChanged: "definitions_changed",
    SourceKindMismatch: "source_kind_mismatch",
    InvalidTarget: "invalid_target",
}


def _body(error: str, detail: object) -> dict[str, object]:
    return {"error": error, "detail": detail}


def install_error_handlers(app: FastAPI) -> None:
    for exc_type, code in DOMAIN_ERRORS.items():

        async def handler(_: Request, exc: Exception, code: str = code) -> JSONResponse:
            return JSONResponse(_body(code, str(exc)), status_code=getattr(exc, "status_code", 400))

        app.add_exception_handler(exc_type, handler)

    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(_body(code, exc.detail), status_code=exc.status_code, headers=exc.headers)

    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        return JSONResponse(_body("validation_error", detail), status_code=422)

    async def database_unavailable(_: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database.unavailable", extra={"error": type(exc.orig).__name__ if exc.orig else "unknown"})
        return JSONResponse(_body("database_unavailable", "the database cannot be reached"), status_code=503)

    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, database_unavailable)  # type: ignore[arg-type]
