"""What a piece of service code sends to the database, and the plan each statement gets: the index tests of the
migrations check the statements the code really sends, on both databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker


@contextmanager
def sent_with_params(session: Session) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (and its parameters) sent through ``session``'s engine inside the block, in order."""
    sent: list[tuple[str, Any]] = []
    engine = session.get_bind()

    def record(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        sent.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def sent(session: Session) -> Iterator[list[str]]:
    """The statements alone; the list is filled when the block ends."""
    statements: list[str] = []
    with sent_with_params(session) as pairs:
        yield statements
    statements.extend(statement for statement, _ in pairs)


def statements_sent(factory: sessionmaker[Session], work: Callable[[Session], Any]) -> list[tuple[str, Any]]:
    """The statements and parameters ``work`` sends through a fresh session, in order."""
    with factory() as session, sent_with_params(session) as pairs:
        work(session)
    return pairs


def plan(factory: sessionmaker[Session], statement: str, params: Any) -> str:
    """The plan of one sent statement, as text; on PostgreSQL with sequential scans discouraged, since an almost
    empty test table is otherwise scanned whatever its indexes."""
    with factory() as session:
        raw = session.connection().connection.driver_connection
        cursor = raw.cursor()
        if session.get_bind().dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, params)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement, params)
        return "\n".join(row[0] for row in cursor.fetchall())
