"""Request limits for every endpoint: a pure ASGI middleware, so a body is counted as it arrives.

FastAPI reads a JSON body whole before the handler (and before the dependencies that check the API key) runs,
and uvicorn bounds only the headers, so without this an endpoint such as ``PUT /api/v1/targets/...`` would
buffer whatever a client sends. The push-ingest endpoints take files up to ``VPT_MAX_UPLOAD_BYTES``; every
other request body up to ``VPT_MAX_BODY_BYTES``. Past the limit the answer is 413
``{"error": "payload_too_large", "detail": "... (VPT_...)"}`` naming the limit, whether the client declared the
length (refused before a byte is read) or streamed the body chunked (refused at the chunk that passes it).

A NUL character (``%00``) in the path or the query string is refused too, with a 422 shaped like any
validation error: no parameter has a use for one, and PostgreSQL refuses NUL in text, so a NUL that reached a
query would be a server error instead of an answer.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings

#: The push-ingest endpoints (POST), which take files: everything else takes small JSON documents.
UPLOAD_PATHS = frozenset({"/api/v1/ingest/calls", "/api/v1/ingest/intervals"})


def too_large_detail(limit: int, setting: str) -> str:
    return f"the body is larger than the limit of {limit} bytes ({setting})"


class _BodyTooLarge(Exception):
    """Raised into the app by ``receive`` at the chunk that passes the limit; the middleware answers 413."""


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def limit_for(self, scope: Scope) -> tuple[int, str]:
        if scope.get("method") == "POST" and scope.get("path", "").rstrip("/") in UPLOAD_PATHS:
            return self.settings.max_upload_bytes, "VPT_MAX_UPLOAD_BYTES"
        return self.settings.max_body_bytes, "VPT_MAX_BODY_BYTES"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nul_in = _nul_in(scope)
        if nul_in is not None:
            await _send_json(send, 422, {"error": "validation_error", "detail": [
                {"loc": nul_in, "msg": "must not contain a NUL character (%00)", "type": "nul_character"}]})
            return
        limit, setting = self.limit_for(scope)
        declared = dict(scope.get("headers", ())).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit, setting)
            return

        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # whatever the app makes of the interrupted body (400, 500) is replaced by the 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _refuse(send, limit, setting)


def _nul_in(scope: Scope) -> list[str] | None:
    """Where the NUL is, named like a validation error's ``loc``: the path, or the query parameter."""
    if "\x00" in scope.get("path", ""):
        return ["path"]
    query = scope.get("query_string", b"")
    if b"%00" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return ["query", name.replace("\x00", "")]
    return ["query"]


async def _refuse(send: Send, limit: int, setting: str) -> None:
    await _send_json(send, 413, {"error": "payload_too_large", "detail": too_large_detail(limit, setting)})


async def _send_json(send: Send, status: int, document: dict[str, object]) -> None:
    body = json.dumps(document).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": body})


def install_limits(app: FastAPI, settings: Settings) -> None:
    """Bound every request body and refuse NUL in URLs (call once in the app factory; a second call changes
    nothing)."""
    if getattr(app.state, "limits_installed", False):
        return
    app.add_middleware(RequestLimitsMiddleware, settings=settings)
    app.state.limits_installed = True
