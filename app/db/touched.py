"""The (region, hour) pairs one transaction touched: a temporary table that the aggregate refresh and the running
totals both read, kept apart from either so that neither has to import the other."""

from __future__ import annotations

from sqlalchemy import Column, Connection, MetaData, String, Table

from app.db.types import UTCDateTime

_temp_metadata = MetaData()
#: The (region, hour) pairs an ingest touched; created per transaction.
touched_hours = Table(
    "touched_hours",
    _temp_metadata,
    Column("region", String(8), primary_key=True),
    Column("hour_start", UTCDateTime, primary_key=True),
    prefixes=["TEMPORARY"],
)


def create_touched_table(conn: Connection) -> None:
    touched_hours.drop(conn, checkfirst=True)
    touched_hours.create(conn)


def drop_touched_table(conn: Connection) -> None:
    touched_hours.drop(conn, checkfirst=True)


__all__ = ["create_touched_table", "drop_touched_table", "touched_hours"]
