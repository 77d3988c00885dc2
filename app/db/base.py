"""The declarative base every model module builds on: one metadata with stable constraint names on SQLite and
PostgreSQL, and the column helpers they share.

Apart from the models so that app.db.record_models can build on it while app.db.models re-exports that module's
tables (models → record_models → base: no cycle). Other model modules may import these names from app.db.models,
which re-exports them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Integer, MetaData, Table
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Autoincrementing 64-bit keys on PostgreSQL; SQLite only auto-increments a plain INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """A model's ``Table``, for Core statements. SQLAlchemy types ``__table__`` as any ``FromClause`` (a class
    may be mapped to a join or a select); every model here is mapped to a table, and this checks it."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is mapped to a {type(table).__name__}, not a table")
    return table
