"""The bulk SQLite staging writes timestamps as text that SQLite compares as strings, so the fast conversion must
give exactly what SQLAlchemy's DATETIME (strftime) writes, for every moment and offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from app.db.types import SQLITE_DATETIME_FORMAT, to_sqlite_text

offsets = st.integers(min_value=-23 * 60, max_value=23 * 60).map(lambda m: timezone(timedelta(minutes=m)))
#: No per-example deadline: what is checked is the text, not the speed, and a loaded CI machine (pytest -n 2 on two
#: cores) can stall one example past Hypothesis's default 200 ms, which it reports as "Unreliable test timings".
NO_DEADLINE = settings(deadline=None)


@NO_DEADLINE
@given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)), offsets)
def test_to_sqlite_text_equals_strftime_of_utc(naive: datetime, zone: timezone) -> None:
    moment = naive.replace(tzinfo=zone)
    assert to_sqlite_text(moment) == moment.astimezone(UTC).strftime(SQLITE_DATETIME_FORMAT)


@NO_DEADLINE
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
def test_to_sqlite_text_of_utc_moments(naive: datetime) -> None:
    moment = naive.replace(tzinfo=UTC)
    assert to_sqlite_text(moment) == moment.strftime(SQLITE_DATETIME_FORMAT)
