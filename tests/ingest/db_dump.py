"""Every value of every table as text: for tests that prove something never reached the database at all."""

from __future__ import annotations

import re

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session, sessionmaker


def database_text(factory: sessionmaker[Session]) -> str:
    engine = factory.kw["bind"]
    lines = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                lines.append(f"{table}: " + " | ".join(str(value) for value in row))
    return "\n".join(lines)


def digit_windows(number: str, width: int = 6) -> set[str]:
    """Every run of ``width`` consecutive digits of a phone number: none of them may be stored anywhere."""
    digits = re.sub(r"\D", "", number)
    return {digits[i : i + width] for i in range(len(digits) - width + 1)}
