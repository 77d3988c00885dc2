"""The sources each region's month is built on, and how far each has delivered (SPEC §5), for the completeness.

Read from ``source_month_records``, which every writer of records keeps exact in its own transaction
(app.db.source_months): one statement for the whole month, every region, joined with ``sources`` for the names and
positions; never ``calls`` or ``interval_records``, which a month holds by the hundred thousand.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, bindparam, select, type_coerce
from sqlalchemy.orm import Session

from app.db.models import Source, SourceMonthRecords, table_of
from app.db.types import UTCDateTime
from app.kpi.localtime import utc_iso
from app.sanitize import clean
from app.scorecard.document import SourceDelivery

_counts, _sources = table_of(SourceMonthRecords).c, table_of(Source).c

#: built once (app.scorecard.statements says why): the month's rows with a record, served by
#: ix_source_month_records_month, each source found by its primary key
MONTH_SOURCES = (
    select(_counts.region, _sources.name, _sources.kind, type_coerce(_sources.delivered_until, UTCDateTime))
    .join_from(table_of(SourceMonthRecords), table_of(Source), _sources.id == _counts.source_id)
    .where(_counts.month == bindparam("month", type_=Date), _counts.call_records + _counts.interval_records > 0)
    .order_by(_counts.region, _sources.name)
)


def sources_by_region(session: Session, month: date) -> dict[str, tuple[SourceDelivery, ...]]:
    """Per region with records in the local ``month``, its sources by name. Names and kinds pass ``clean`` as every
    text from input does before it is returned (the name was checked against the source name pattern when made)."""
    out: dict[str, list[SourceDelivery]] = {}
    for region, name, kind, delivered_until in session.execute(MONTH_SOURCES, {"month": month}):
        out.setdefault(region, []).append(SourceDelivery(clean(name, 128), clean(kind, 16), utc_iso(delivered_until)))
    return {region: tuple(found) for region, found in out.items()}
