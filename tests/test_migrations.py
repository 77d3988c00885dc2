"""Models and migrations agree on both databases, and the history runs down and up again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, text

from app.db.migrate import alembic_config, check


def test_models_match_migrations(database_url):
    check(database_url)  # raises on drift


def test_downgrade_and_upgrade_again(database_url):
    config = alembic_config(database_url)
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM regions")).scalar_one() == 21
        assert conn.execute(text("SELECT count(*) FROM targets")).scalar_one() == 44
    engine.dispose()
