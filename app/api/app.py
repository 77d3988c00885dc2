"""The FastAPI app factory. Resources are made in ``lifespan`` and closed on shutdown, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from app import __version__
from app.api.errors import install_error_handlers
from app.api.routers import alerts, breakdowns, health, ingest, metrics, regions, reports, scorecards, sources, targets
from app.config import Settings
from app.db.session import make_engine, make_session_factory
from app.metrics.collector import VptCollector


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        app.state.settings = settings
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(VptCollector(app.state.session_factory, settings))
        app.state.metrics_registry = registry
        yield
        engine.dispose()

    app = FastAPI(
        title="vpt-monitor",
        version=__version__,
        description="Tillgänglighet för 1177 Vårdguiden på telefon: answer rate and waiting time per region and "
        "collaboration, against region-specific targets.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(regions.router)
    app.include_router(breakdowns.router)
    app.include_router(scorecards.router)
    app.include_router(ingest.router)
    app.include_router(sources.router)
    app.include_router(targets.router)
    app.include_router(reports.router)
    app.include_router(alerts.router)
    return app
