"""The sources each region's month is built on, and how far each has delivered (SPEC §5), for the completeness.

Read from ``source_month_records``, which every writer of records keeps exact in its own transaction
(app.db.source_months): one statement for the whole month, every region, joined with ``sources`` for the names and
positions (a monthly series: one for all its months); never ``calls`` or ``interval_records``, which a month holds
by the hundred thousand.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import ColumnElement, Date, Select, bindparam, select, type_coerce
from sqlalchemy.orm import Session

from app.db.models import Source, SourceMonthRecords, table_of
from app.db.types import UTCDateTime
from app.kpi.localtime import utc_iso
from app.sanitize import clean
from app.scorecard.document import SourceDelivery

_counts, _sources = table_of(SourceMonthRecords).c, table_of(Source).c
_Row = tuple[date, str, str, str, datetime | None]


def _month_sources(months: ColumnElement[bool]) -> Select[date, str, str, str, datetime | None]:
    """The rows with a record of the ``months`` (a condition on ``month``, served by ix_source_month_records_month),
    each source found by its primary key, by month, region and name: the one shape of both statements below."""
    return (
        select(_counts.month, _counts.region, _sources.name, _sources.kind,
               type_coerce(_sources.delivered_until, UTCDateTime))
        .join_from(table_of(SourceMonthRecords), table_of(Source), _sources.id == _counts.source_id)
        .where(months, _counts.call_records + _counts.interval_records > 0)
        .order_by(_counts.month, _counts.region, _sources.name)
    )


#: built once (app.scorecard.statements says why): one month, for the scorecard
MONTH_SOURCES = _month_sources(_counts.month == bindparam("month", type_=Date))
#: a span of months at once, for a monthly series (one statement, not one per month)
MONTHS_SOURCES = _month_sources(_counts.month.between(bindparam("first", type_=Date), bindparam("last", type_=Date)))


def _by_month(rows: Iterable[_Row]) -> dict[date, dict[str, tuple[SourceDelivery, ...]]]:
    """Rows ordered by month, region and name as {month: {region: its sources by name}}. Names and kinds pass
    ``clean`` as every text from input does before it is returned (the name was checked against the source name
    pattern when made, where it came through the API)."""
    out: dict[date, dict[str, list[SourceDelivery]]] = {}
    for month, region, name, kind, delivered_until in rows:
        out.setdefault(month, {}).setdefault(region, []).append(
            SourceDelivery(clean(name, 128), clean(kind, 16), utc_iso(delivered_until)))
    return {month: {region: tuple(found) for region, found in regions.items()} for month, regions in out.items()}


def sources_by_region(session: Session, month: date) -> dict[str, tuple[SourceDelivery, ...]]:
    """Per region with records in the local ``month`` (its first day), its sources by name."""
    return _by_month(session.execute(MONTH_SOURCES, {"month": month})).get(month, {})


def sources_by_month(session: Session, first: date, last: date) -> dict[date, dict[str, tuple[SourceDelivery, ...]]]:
    """Per local month from ``first`` to ``last`` (first days, both included) with records, what
    ``sources_by_region`` gives for it, in one statement; a month without records is absent."""
    return _by_month(session.execute(MONTHS_SOURCES, {"first": first, "last": last}))
