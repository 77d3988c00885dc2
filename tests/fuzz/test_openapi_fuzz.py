"""Schemathesis against the OpenAPI document (issue 7): every operation, generated requests, the real app.

The app under test is ``create_app(settings)`` (with the request limits of ``app.api.limits``) on a database
holding the October samples, so scorecards, breakdowns, runs and rejected rows have content: SQLite, and the
suite's PostgreSQL. For each operation a bounded number of requests, valid and invalid, is generated from its
declared parameters and body (its examples first); every response must:

- not be a 5xx (``not_a_server_error``);
- have a documented status code (``status_code_conformance``);
- have a documented content type (``content_type_conformance``);
- match the declared model for that status (``response_schema_conformance``) and declare its headers;
- refuse a request that breaks the schema with a 4xx (``negative_data_rejection``), refuse a missing key
  (``ignored_auth``) and answer an undeclared method with 405 and a true ``Allow`` header.

A schema-valid request may still break a rule the schema cannot state (a silence ending in the past, 30
February), so ``positive_data_acceptance`` is off: such a request gets a documented 4xx, which is right.

Deterministic and small: a fixed seed, derandomized, ``VPT_OPENAPI_EXAMPLES`` (default 12) examples per
operation and phase; about 20 s per database.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from sqlalchemy import create_engine, text

from app.api.app import create_app
from app.api.limits import install_limits
from app.api.routers.ingest import CONTENT_TYPES
from app.config import Settings
from app.db.session import make_engine, make_session_factory
from app.ingest.service import ingest_file
from tests.auth import admin_headers

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
EXAMPLES = int(os.environ.get("VPT_OPENAPI_EXAMPLES", "12"))
SEED = 1177
CONFIG = SchemathesisConfig.from_dict({
    "seed": SEED,
    "generation": {"max-examples": EXAMPLES, "mode": "all", "deterministic": True},
    "checks": {"positive_data_acceptance": {"enabled": False}},
})

# schemathesis' pytest integration wants the schema when this module is imported (its fixture-based loader
# does not run on pytest 9), so it is read from an app that is never started: the document needs no database.
# Each test sends its request to the app of its database instead (``app=`` below).
schema = schemathesis.openapi.from_dict(
    json.loads(json.dumps(create_app(Settings(_env_file=None)).openapi())), config=CONFIG  # type: ignore[call-arg]
)
schema.app = FastAPI()  # any ASGI app: it selects the in-process transport


@schemathesis.serializer(*(media_type for media_type in CONTENT_TYPES if media_type != "text/csv"))
def _file_body(_: Any, value: Any) -> bytes:
    """The push bodies are files sent as they are (schemathesis knows only text/csv of these types)."""
    if isinstance(value, bytes):
        return value
    return (value if isinstance(value, str) else json.dumps(value)).encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class Target:
    settings: Settings
    app: FastAPI


def _with_samples(url: str) -> Settings:
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    ingest_file(factory, settings, "calls", SAMPLES / "calls_october.csv")
    ingest_file(factory, settings, "intervals", SAMPLES / "intervals_october.csv")
    engine.dispose()
    return settings


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def api_target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The app on a migrated database of each kind with the October samples ingested."""
    from schemathesis.python import asgi  # the transport keeps an app's lifespan (and engine) running until told

    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("openapi") / "api.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        settings = _with_samples(f"sqlite:///{path}")
        app = create_app(settings)
        install_limits(app, settings)  # a no-op once the factory installs them itself
        yield Target(settings, app)
        asgi.shutdown_lifespans()
        return
    admin_url: str = request.getfixturevalue("postgres_server")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "vpt_openapi_{os.getpid()}" TEMPLATE vpt_template'))
    settings = _with_samples(admin_url.rsplit("/", 1)[0] + f"/vpt_openapi_{os.getpid()}")
    app = create_app(settings)
    install_limits(app, settings)
    yield Target(settings, app)
    asgi.shutdown_lifespans()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "vpt_openapi_{os.getpid()}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def api_headers(api_target: Target) -> dict[str, str]:
    """What every generated request carries: ``Authorization: Bearer <admin key>`` (admin implies read, ingest)."""
    return admin_headers(api_target.settings)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_conforms(case: Any, api_target: Target, api_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=api_headers, app=api_target.app)
