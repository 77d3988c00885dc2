"""Switching PostgreSQL planner methods off for a few statements of a transaction.

Where a merge or a refresh looks up a handful of rows in a table of years, the planner, misled by a fresh table's
missing statistics or by a large staged batch, may pick a hash or merge join that reads all of it. Both callers
name the methods they rule out; SQLite has no such settings and plans these joins by index anyway.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection


@contextmanager
def planner_methods_off(conn: Connection, methods: tuple[str, ...]) -> Iterator[None]:
    """``SET LOCAL`` each of ``methods`` off (PostgreSQL only), and back after: the transaction's later statements
    plan as usual. Should the block raise, ``SET LOCAL`` ends with the transaction anyway."""
    is_postgres = conn.dialect.name == "postgresql"
    if is_postgres:
        for method in methods:
            conn.exec_driver_sql(f"SET LOCAL {method} = off")
    yield
    if is_postgres:
        for method in methods:
            conn.exec_driver_sql(f"RESET {method}")
