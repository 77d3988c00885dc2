"""Alembic environment: one linear history for SQLite (batch mode) and PostgreSQL."""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection

import app.db.alert_models  # registers the alert tables on Base.metadata (the noqa below covers all three)
import app.db.auth_models  # registers api_keys and audit_log
import app.db.run_models  # noqa: F401  (registers ingest_warnings)
from app.config import Settings
from app.db.models import Base
from app.db.session import make_engine
from app.db.types import UTCDateTime

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """A new revision spells the app's column types in plain SQLAlchemy, so it never imports ``app``.

    Migrations must run as they were written, whatever the application later becomes; ``UTCDateTime``
    only converts values in Python, and its DDL is exactly that of ``DateTime(timezone=True)``.
    """
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )


def run_migrations_offline() -> None:
    url = config.attributes.get("database_url") or Settings().database_url
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.attributes.get("database_url") or Settings().database_url
    engine = make_engine(Settings(database_url=url))
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
