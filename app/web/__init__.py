"""Server-rendered pages for people (SPEC §7): the month's scorecard at ``/``, a page per region and
collaboration, sign-in with an API key, and the API documentation served with no internet.

No JavaScript framework, no CDN: Jinja2 templates, one CSS file and the board report's inline SVG charts.
Only the app factory (``app.api.app``) and the CLI import this package.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.web import login, routes
from app.web.docs import install_docs

STATIC = Path(__file__).parent / "static"


def install_web(app: FastAPI) -> None:
    """Mount the pages, their CSS and the offline ``/docs`` and ``/redoc`` on ``app``."""
    install_docs(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="web-static")
    app.include_router(routes.router)
    app.include_router(login.router)
