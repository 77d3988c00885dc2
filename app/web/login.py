"""Signing in with an API key and out: both forms carry a CSRF token (``app.web.session``). Failed sign-ins are
limited per client address (``app.web.throttle``): past the limit, 429 with ``Retry-After`` and the form saying
when to try again, before the key is looked at."""

from __future__ import annotations

import logging
import math
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from app.db.session import transaction
from app.kpi.glossary import Lang
from app.sanitize import clean, has_unsafe
from app.web.access import Viewer, sign_in
from app.web.pages import (
    PageError,
    common,
    error_page,
    html_page,
    lang_of,
    settings_of,
)
from app.web.session import (
    CSRF_FIELD,
    SESSION_COOKIE,
    clear_cookie,
    csrf_valid,
    encode_session,
    set_cookie,
)
from app.web.texts import word
from app.web.throttle import FailedSignIns

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
MAX_FORM_BYTES = 4096


def failed_sign_ins(request: Request) -> FailedSignIns:
    """The app's count of failed sign-ins (one per app, made on first use from its settings)."""
    state = request.app.state
    throttle: FailedSignIns | None = getattr(state, "failed_sign_ins", None)
    if throttle is None:
        settings = settings_of(request)
        throttle = state.failed_sign_ins = FailedSignIns(settings.login_max_failures,
                                                         settings.login_window_seconds)
    return throttle


def _client(request: Request) -> str:
    """The peer's address, or the one a trusted proxy forwarded (``VPT_FORWARDED_ALLOW_IPS``, uvicorn)."""
    return request.client.host if request.client else "unknown"


def _next(value: str | None) -> str:
    """Where to go after signing in: a path of this site only (never ``//host`` or a scheme)."""
    if not value or len(value) > 512 or not value.startswith("/") or value.startswith(("//", "/\\")) \
            or has_unsafe(value):
        return "/"
    return value


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    try:
        lang = lang_of(request)
    except PageError as error:
        return error_page(request, error)
    return _login(request, lang, None, 200)


def _login(request: Request, lang: Lang, viewer: Viewer | None, status: int, error: str | None = None) -> Response:
    hours = max(1, round(settings_of(request).session_max_age_seconds / 3600))
    return html_page(request, "login.html", status, title=word("login_title", lang), error=error,
                     next=_next(request.query_params.get("next")), hours=hours, **common(request, lang, viewer))


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form of at most a few kB (the login form has three fields)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    try:
        fields = parse_qs(body.decode(), max_num_fields=10, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {key: values[0] for key, values in fields.items() if values}


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    try:
        lang = lang_of(request)
    except PageError as error:
        return error_page(request, error)
    settings = settings_of(request)
    throttle, client = failed_sign_ins(request), _client(request)
    wait = throttle.retry_after(client)
    if wait is not None:
        log.warning("web.login.throttled", extra={"client": clean(client, 64), "retry_after": wait,
                                                  "max_failures": throttle.limit, "window": throttle.window})
        refused = _login(request, lang, None, 429, word("login_throttled", lang, minutes=math.ceil(wait / 60)))
        refused.headers["Retry-After"] = str(wait)
        return refused
    form = await _form(request)
    if not csrf_valid(settings, request, form.get(CSRF_FIELD)):
        return _login(request, lang, None, 403, word("csrf_failed", lang))

    def check() -> tuple[str | None, str]:
        with transaction(request.app.state.session_factory) as session:
            row, reason = sign_in(session, form.get("api_key", ""))
            return (None if row is None else row.public_id), reason

    key_id, reason = await run_in_threadpool(check)
    if key_id is None:
        throttle.failed(client)
        return _login(request, lang, None, 401, word("login_failed", lang, reason=word(f"reason_{reason}", lang)))
    response = RedirectResponse(_next(form.get("next")), status_code=303)
    set_cookie(response, settings, request, SESSION_COOKIE, encode_session(settings, key_id),
               settings.session_max_age_seconds)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    settings = settings_of(request)
    form = await _form(request)
    lang: Lang = "en" if request.query_params.get("lang") == "en" else "sv"
    if not csrf_valid(settings, request, form.get(CSRF_FIELD)):
        return _login(request, lang, None, 403, word("csrf_failed", lang))
    response = RedirectResponse("/login" + ("?lang=en" if lang == "en" else ""), status_code=303)
    clear_cookie(response, settings, request, SESSION_COOKIE)
    return response
