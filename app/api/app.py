"""The FastAPI app factory. Resources are made in ``lifespan`` and closed on shutdown, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.middleware.cors import CORSMiddleware

from app import __version__
from app.api.auth import AUTH_RESPONSES, Authenticator
from app.api.errors import install_error_handlers
from app.api.limits import install_limits
from app.api.routers import (
    access,
    alerts,
    breakdowns,
    health,
    ingest,
    metrics,
    regions,
    reports,
    scorecards,
    sources,
    staffing,
    targets,
)
from app.config import Settings
from app.db.session import make_engine, make_session_factory
from app.metrics.collector import VptCollector
from app.metrics.staffing import StaffingCollector
from app.scorecard.cache import ScorecardCache
from app.web import install_web


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        app.state.settings = settings
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        app.state.authenticator = Authenticator(app.state.session_factory, settings.auth_cache_seconds)
        # this app's own: another app in the process has another
        app.state.scorecard_cache = ScorecardCache(settings.scorecard_cache_bytes)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(VptCollector(app.state.session_factory, settings,
                                       history=app.state.scorecard_cache.history))
        registry.register(StaffingCollector(app.state.session_factory,  # vpt_staffing_needed, once an hour
                                            history=app.state.scorecard_cache.history))
        app.state.metrics_registry = registry
        yield
        app.state.authenticator.close()
        engine.dispose()

    app = FastAPI(
        title="vpt-monitor",
        version=__version__,
        description="Tillgänglighet för 1177 Vårdguiden på telefon: answer rate and waiting time per region and "
        "collaboration, against region-specific targets.",
        lifespan=lifespan,
        docs_url=None, redoc_url=None,  # app.web serves them with local assets: no CDN, works offline
    )
    install_error_handlers(app)
    install_limits(app, settings)  # before CORS, so CORS wraps its 413/422 answers
    if settings.cors_origins:  # closed by default: no browser on another origin may call the API
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"], max_age=600,
        )
    app.include_router(health.router)  # open: probes carry no key
    app.include_router(metrics.router)  # open, or VPT_METRICS_TOKEN
    # Every other route needs an API key with a scope (app.api.auth): declare its 401 and 403.
    for secured in (regions, breakdowns, scorecards, ingest, sources, targets, reports, alerts, access, staffing):
        app.include_router(secured.router, responses=AUTH_RESPONSES)
    install_web(app)  # the pages for people at / (sign-in with the same keys), /docs, /redoc
    return app
