"""Reading summed counts out of the hourly aggregates. Never touches raw call records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Select,
    String,
    TextClause,
    bindparam,
    func,
    literal,
    select,
    text,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from app.db.contributions import BUCKET_COLUMNS
from app.db.models import AggregateDefinitions, Region
from app.db.types import UTCDateTime
from app.kpi.counts import Counts, Definitions
from app.kpi.localtime import HOUR, hours_between, local_month_bounds, local_month_of
from app.scorecard.statements import (
    COUNT_FIELDS,
    DEFINITIONS,
    DISTINCT_HOURS,
    FLOAT_FIELDS,
    MONTH_ROWS,
    SPAN_ROWS,
    agg,
    answered_by,
    summed_columns,
)

_CONVERTERS = [float if name in FLOAT_FIELDS else int for name in COUNT_FIELDS]
_BUCKETS = slice(len(COUNT_FIELDS), len(COUNT_FIELDS) + len(BUCKET_COLUMNS))


def stored_definitions(session: Session) -> Definitions | None:
    row = session.execute(DEFINITIONS).first()
    return None if row is None else Definitions(row[0], row[1])


def _counts(row: Any, by_others: int = 0, for_others: int = 0) -> Counts:
    values: dict[str, Any] = {
        name: float(row[name]) if name in FLOAT_FIELDS else int(row[name]) for name in COUNT_FIELDS
    }
    return Counts(
        **values,
        longest_wait_ms=None if row["longest_wait_ms"] is None else int(row["longest_wait_ms"]),
        latest_record_at=row["latest_record_at"],
        wait_histogram=tuple(int(row[name]) for name in BUCKET_COLUMNS),
        answered_by_other_regions=int(by_others),
        answered_for_other_regions=int(for_others),
    )


def counts_by_region(
    session: Session, regions: Iterable[str] | None, start: datetime, end: datetime
) -> dict[str, tuple[Counts, int]]:
    """Summed counts and hours with data per region over the UTC span [start, end).

    A span that is exactly a local month is read from the monthly roll-up (one row per region).
    """
    month = local_month_of(start)
    if local_month_bounds(month) == (start, end):
        return _month_counts(session, regions, month)
    params: dict[str, Any] = {"start": start, "end": end}
    if regions is not None:
        params["regions"] = list(regions)
    result: dict[str, tuple[Counts, int]] = {}
    span_hours = hours_between(start, end)
    for row in session.execute(SPAN_ROWS[regions is not None], params).mappings():
        counts = _counts(row, row["by_others"], row["for_others"])
        result[row["region"]] = (counts, min(int(row["hours"]), span_hours))  # a month's figures cover all of it
    return result


def _month_counts(session: Session, regions: Iterable[str] | None, month: date) -> dict[str, tuple[Counts, int]]:
    return month_counts(session, [month], regions)[month]


def month_counts(
    session: Session, months: Iterable[date], regions: Iterable[str] | None = None
) -> dict[date, dict[str, tuple[Counts, int]]]:
    """``counts_by_region`` of whole local months, several at once from the monthly roll-up: one statement whatever
    the number of months (a scorecard reads its month and the two it compares with).

    The answered-by-other-region sums come summed per region in the same statement (~60 rows for three months,
    not the ~1 200 region pairs summed in Python; that and its second round trip were a third of an uncached
    scorecard's client time at ten years, issue 15). A region's sums count every other region, whichever
    ``regions`` were asked for.
    """
    wanted = sorted(set(months))
    out: dict[date, dict[str, tuple[Counts, int]]] = {month: {} for month in wanted}
    if not wanted:
        return out
    only = None if regions is None else set(regions)
    for month, region, hours, *values in session.execute(MONTH_ROWS, {"months": wanted}):
        if only is None or region in only:
            out[month][region] = (_month_row_counts(values), int(hours))
    return out


def _month_row_counts(values: list[Any]) -> Counts:
    """``_counts`` of a roll-up row of ``MONTH_ROWS`` (positional: by name it was most of the row's time)."""
    longest, latest, by_others, for_others = values[_BUCKETS.stop:]
    summed: dict[str, Any] = {name: convert(value)
                              for name, convert, value in zip(COUNT_FIELDS, _CONVERTERS, values, strict=False)}
    return Counts(
        **summed,
        longest_wait_ms=None if longest is None else int(longest),
        latest_record_at=latest,
        wait_histogram=tuple(map(int, values[_BUCKETS])),
        answered_by_other_regions=int(by_others),
        answered_for_other_regions=int(for_others),
    )


def counts_by_hour(session: Session, regions: Iterable[str], start: datetime, end: datetime) -> dict[datetime, Counts]:
    """Counts summed over ``regions`` per UTC hour in [start, end): the material of daily and hourly views.

    Answered-by/for-other-region figures are not in these rows: for one region ``cross_region_by_hour`` gives
    them; inside a collaboration they are not help from outside (its monthly figures leave them out too).
    """
    hour = type_coerce(agg.c.hour_start, UTCDateTime).label("hour")
    query = (
        select(hour, *summed_columns())
        .where(agg.c.region.in_(list(regions)), agg.c.hour_start >= start, agg.c.hour_start < end)
        .group_by(agg.c.hour_start)
        .order_by(agg.c.hour_start)
    )
    return {row["hour"]: _counts(row) for row in session.execute(query).mappings()}


def cross_region_by_hour(
    session: Session, region: str, start: datetime, end: datetime
) -> dict[datetime, tuple[int, int]]:
    """Per UTC hour in [start, end): (this region's calls answered by another region, other regions' calls
    answered by this one), each at the caller's arrival hour as in the monthly figures, so the days of a month
    sum to the month. An hour may have calls answered for others and no calls of its own."""
    hour = type_coerce(answered_by.c.hour_start, UTCDateTime).label("hour")
    in_span = (answered_by.c.hour_start >= start, answered_by.c.hour_start < end,
               answered_by.c.region != answered_by.c.answered_by_region)
    out: dict[datetime, tuple[int, int]] = {}
    by_others = (select(hour, func.sum(answered_by.c.answered))
                 .where(answered_by.c.region == region, *in_span).group_by(answered_by.c.hour_start))
    for moment, answered in session.execute(by_others):
        out[moment] = (int(answered), 0)
    for_others = (select(hour, func.sum(answered_by.c.answered))
                  .where(answered_by.c.answered_by_region == region, *in_span).group_by(answered_by.c.hour_start))
    for moment, answered in session.execute(for_others):
        out[moment] = (out.get(moment, (0, 0))[0], int(answered))
    return out


def first_hours_in_span(
    session: Session, regions: Iterable[str], start: datetime, end: datetime
) -> dict[str, datetime]:
    """Each region's first hour with data in [start, end): one index lookup per region (as ``first_hours``),
    where a grouped query would read every hour of the span."""
    return first_hours_in_spans(session, regions, [(start, end)])[0]


Span = tuple[datetime, datetime] | None  # a UTC span [start, end); None: all of history


def first_hours_in_spans(session: Session, regions: Iterable[str], spans: Sequence[Span]) -> list[dict[str, datetime]]:
    """``first_hours_in_span`` of each span (``first_hours`` for ``None``), in one statement: a column per span.

    A correlated ``min`` per row of ``regions``: one short statement whatever the number of regions (a UNION of
    one SELECT per region was too long for the driver's statement cache and was parsed anew on every call,
    several ms of a scorecard). A code not in ``regions`` (none today) takes the UNION. A /metrics scrape needs
    the first hours of all history (the forecast) and of two months (completeness): one round trip, not three.
    """
    wanted = sorted(set(regions))
    if not wanted or not spans:
        return [{} for _ in spans]
    params: dict[str, Any] = {"regions": wanted}
    for index, span in enumerate(spans):
        if span is not None:
            params[f"start_{index}"], params[f"end_{index}"] = span
    found = {code: firsts for code, *firsts in session.execute(
        _first_hours_statement(tuple(span is not None for span in spans)), params).all()}
    out: list[dict[str, Any]] = [{code: firsts[index] for code, firsts in found.items()} for index in range(len(spans))]
    missing = [code for code in wanted if code not in found]
    for index, span in enumerate(spans if missing else []):
        parts = [
            select(literal(region, String).label("region"),
                   type_coerce(func.min(agg.c.hour_start), UTCDateTime).label("first"))
            .where(agg.c.region == region, *_in(span))
            for region in missing
        ]
        out[index].update(session.execute(union_all(*parts)).all())
    return [{code: moment for code, moment in firsts.items() if moment is not None} for firsts in out]


@lru_cache(maxsize=8)
def _first_hours_statement(bounded: tuple[bool, ...]) -> Select[Any]:
    """``first_hours_in_spans``' statement for spans of this shape (each bounded or all of history), built once:
    its construction was most of its client time."""
    known = Region.__table__.c
    columns = [type_coerce(select(func.min(agg.c.hour_start)).where(
        agg.c.region == known.code,
        *((agg.c.hour_start >= bindparam(f"start_{index}"), agg.c.hour_start < bindparam(f"end_{index}"))
          if is_bounded else ())).scalar_subquery(), UTCDateTime) for index, is_bounded in enumerate(bounded)]
    return select(known.code, *columns).where(known.code.in_(bindparam("regions", expanding=True)))


def _in(span: Span) -> tuple[Any, ...]:
    return () if span is None else (agg.c.hour_start >= span[0], agg.c.hour_start < span[1])


def distinct_hours_with_data(session: Session, regions: Iterable[str], start: datetime, end: datetime) -> int:
    """Hours in [start, end) with data of any of ``regions``: those of a day's or month's figures are all the hours
    they cover. One query when every row is an hour's (the usual case), which also says whether any is not."""
    count, coarse_rows = session.execute(DISTINCT_HOURS, {"regions": list(regions), "start": start, "end": end}).one()
    if not coarse_rows:
        return int(count)
    fine = agg.c.hours_covered == 1
    in_span = (agg.c.region.in_(list(regions)), agg.c.hour_start >= start, agg.c.hour_start < end)
    coarse = session.execute(
        select(type_coerce(agg.c.hour_start, UTCDateTime), agg.c.hours_covered).where(*in_span, ~fine)
    ).all()
    hours = {moment for moment, in session.execute(
        select(type_coerce(agg.c.hour_start, UTCDateTime)).where(*in_span, fine).distinct())}
    for first, covered in coarse:
        hours.update(first + k * HOUR for k in range(int(covered)) if first + k * HOUR < end)
    return len(hours)


def distinct_hours_by_collaboration(
    session: Session, members: dict[str, list[str]], start: datetime, end: datetime
) -> dict[str, int]:
    """``distinct_hours_with_data`` of each collaboration's member regions."""
    return {code: distinct_hours_with_data(session, regions, start, end) for code, regions in members.items()}


def first_hours(session: Session, regions: Iterable[str]) -> dict[str, datetime]:
    """Each region's first hour with data: one primary-key lookup per region, not a scan of all history."""
    return first_hours_in_spans(session, regions, [None])[0]


def _data_version_sql(definitions: bool = False) -> TextClause:
    from app.db.models import IngestRun, TargetVersion

    stored = AggregateDefinitions.__tablename__
    more = "".join(f", (SELECT {column} FROM {stored} WHERE id = 1)" for column in (
        ("short_abandon_seconds", "sl_seconds") if definitions else ()))
    return text(
        f"SELECT (SELECT max(id) FROM {IngestRun.__tablename__}), (SELECT max(id) FROM {TargetVersion.__tablename__}),"
        f" (SELECT updated_at FROM {stored} WHERE id = 1){more}"
    )


_DATA_VERSION_SQL = _data_version_sql()
_DATA_VERSION_AND_DEFINITIONS_SQL = _data_version_sql(definitions=True)


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever a figure could: a new ingest run, a new target version, a recompute with new
    definitions, a purge (both stamp the definitions' ``updated_at``). Three index lookups, so a cache can be
    checked at every request: as plain SQL, since it runs on every scorecard request and the equivalent nested
    ``select()`` cost three times the CPU to build and execute. Only compared for equality (``updated_at`` comes
    back as the driver gives it)."""
    return tuple(session.execute(_DATA_VERSION_SQL).one())


def data_version_and_definitions(session: Session) -> tuple[tuple[Any, ...], Definitions | None]:
    """``data_version`` and ``stored_definitions`` in one statement (a /metrics scrape reads both, one round trip and
    one statement's client time fewer): the definitions come from the same snapshot as the version."""
    *version, short_abandon, sl = session.execute(_DATA_VERSION_AND_DEFINITIONS_SQL).one()
    return tuple(version), None if short_abandon is None else Definitions(short_abandon, sl)


def days_with_day_figures(session: Session, regions: Iterable[str], start: datetime, end: datetime) -> int:
    """Local days in [start, end) with daily figures of any of ``regions``: each day's sit in its first hour."""
    return int(session.execute(
        select(func.count(func.distinct(agg.c.hour_start))).where(
            agg.c.region.in_(list(regions)), agg.c.hour_start >= start, agg.c.hour_start < end, agg.c.day_records > 0)
    ).scalar_one())
