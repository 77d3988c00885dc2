"""What every page shares: the templates, the security headers, the language and month of a request, the
viewer check that sends a browser to the login form, and the pages that say what was wrong with the input.

Bad input (an unknown scope, a malformed month or day, a language other than sv or en) is a page saying what
is wrong, with 400 or 404, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session

from app.config import Settings
from app.db.session import transaction
from app.errors import VptError
from app.kpi.glossary import LANGS, Lang
from app.kpi.localtime import STOCKHOLM
from app.sanitize import clean, has_unsafe
from app.scorecard.service import InvalidMonth, UnknownScope, parse_month
from app.web.access import Viewer, viewer_of
from app.web.session import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    csrf_cookie_value,
    csrf_token,
    set_cookie,
)
from app.web.texts import word

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
)
#: Pages load nothing but this origin's CSS; the inline SVG charts need no script and no inline style.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
KINDS = {"regions": "region", "collaborations": "collaboration"}


def web_now() -> datetime:
    """The moment the pages describe (a dependency, so a test can fix it)."""
    return datetime.now(UTC)


class PageError(Exception):
    """Bad input, said to a person: the status and the words of ``app.web.texts``."""

    def __init__(self, status: int, key: str, **values: object) -> None:
        super().__init__(key)
        self.status, self.key, self.values = status, key, values


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def lang_of(request: Request) -> Lang:
    value = request.query_params.get("lang", "sv")
    for lang in LANGS:
        if value == lang:
            return lang
    raise PageError(400, "bad_lang")


def month_of(text: str | None, now: datetime) -> date:
    if text is None:
        local = now.astimezone(STOCKHOLM)
        return date(local.year, local.month, 1)
    try:
        return parse_month(text)
    except InvalidMonth:
        raise PageError(400, "bad_month") from None


def checked_code(code: str) -> str:
    if len(code) > 32 or has_unsafe(code):
        raise PageError(404, "unknown_scope", code=clean(code[:32]))
    return code


def link(request: Request, path: str | None = None, **changes: str | None) -> str:
    """A link to ``path`` (default: this page) with this page's query, changed: a value of None drops a key."""
    query = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    if query.get("lang") == "sv":
        query.pop("lang")
    target = quote(path if path is not None else request.url.path, safe="/")  # the path as it came, re-encoded
    return target + ("?" + urlencode(query) if query else "")


def common(request: Request, lang: Lang, viewer: Viewer | None) -> dict[str, Any]:
    cookie, _ = csrf_cookie_value(request)
    other: Lang = "en" if lang == "sv" else "sv"
    return {
        "lang": lang, "w": lambda key, **values: word(key, lang, **values), "viewer": viewer,
        "csrf_field": CSRF_FIELD, "csrf": csrf_token(settings_of(request), cookie),
        "switch_lang": link(request, lang=other), "home": link(request, "/", month=None, scope=None),
        "api_links": settings_of(request).public_read,  # with reads closed an API URL needs a key header: text only
    }


def html_page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page with the security headers; the CSRF cookie set when the browser has none yet."""
    response = HTMLResponse(TEMPLATES.get_template(template).render(**context), status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    cookie, new = csrf_cookie_value(request)
    if new:
        set_cookie(response, settings_of(request), request, CSRF_COOKIE, cookie, None)
    return response


def error_page(request: Request, error: PageError) -> HTMLResponse:
    try:
        lang = lang_of(request)
    except PageError:
        lang = "sv"
    message = word(error.key, lang, **error.values)
    return html_page(request, "error.html", error.status, title=word("error_title", lang), message=message,
                     **common(request, lang, None))


def page(request: Request, build: Callable[[Session, Viewer, Lang], Response]) -> Response:
    """Run ``build`` for a viewer who may read, else send the browser to the login form."""
    try:
        lang = lang_of(request)
        with transaction(request.app.state.session_factory) as session:
            viewer = viewer_of(session, settings_of(request), request.cookies.get(SESSION_COOKIE))
            if viewer is None:
                here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                query = {"next": here} | ({"lang": lang} if lang != "sv" else {})
                return RedirectResponse("/login?" + urlencode(query), status_code=303)
            return build(session, viewer, lang)
    except PageError as error:
        return error_page(request, error)
    except UnknownScope:
        code = request.path_params.get("code") or request.query_params.get("scope") or ""
        return error_page(request, PageError(404, "unknown_scope", code=clean(str(code)[:32])))
    except InvalidMonth:
        return error_page(request, PageError(400, "bad_month"))
    except VptError as error:  # any other refusal of the services: say it, with its status
        return error_page(request, PageError(error.status_code if error.status_code < 500 else 400,
                                             "bad_request", detail=clean(error.message, 200)))


Now = Depends(web_now)
