"""Reading summed counts out of the hourly aggregates. Never touches raw call records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    Integer,
    String,
    TextClause,
    any_,
    case,
    cast,
    func,
    literal,
    select,
    text,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from app.db.contributions import BUCKET_COLUMNS, SUMMED_COLUMNS
from app.db.models import (
    AggregateDefinitions,
    HourlyAggregate,
    HourlyAnsweredBy,
    MonthlyAggregate,
    MonthlyAnsweredBy,
    Region,
)
from app.db.types import UTCDateTime
from app.kpi.counts import Counts, Definitions
from app.kpi.localtime import HOUR, hours_between, local_month_bounds, local_month_of

agg = HourlyAggregate.__table__
answered_by = HourlyAnsweredBy.__table__

_COUNT_FIELDS = [c for c in SUMMED_COLUMNS if c not in BUCKET_COLUMNS and c != "call_wait_answered_ms"]
_FLOAT_FIELDS = {"talk_sum", "wrap_sum"}


def stored_definitions(session: Session) -> Definitions | None:
    row = session.get(AggregateDefinitions, 1)
    return None if row is None else Definitions(row.short_abandon_seconds, row.sl_seconds)


def _summed_columns() -> list[Any]:
    return [
        *[func.sum(agg.c[name]).label(name) for name in SUMMED_COLUMNS],
        func.max(agg.c.longest_wait_ms).label("longest_wait_ms"),
        type_coerce(func.max(agg.c.latest_record_at), UTCDateTime).label("latest_record_at"),
        func.sum(agg.c.hours_covered).label("hours"),  # a day's or month's figures cover all of its hours
    ]


def _counts(row: Any) -> Counts:
    values: dict[str, Any] = {
        name: float(row[name]) if name in _FLOAT_FIELDS else int(row[name]) for name in _COUNT_FIELDS
    }
    return Counts(
        **values,
        longest_wait_ms=None if row["longest_wait_ms"] is None else int(row["longest_wait_ms"]),
        latest_record_at=row["latest_record_at"],
        wait_histogram=tuple(int(row[name]) for name in BUCKET_COLUMNS),
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
    query = (
        select(agg.c.region, *_summed_columns())
        .where(agg.c.hour_start >= start, agg.c.hour_start < end)
        .group_by(agg.c.region)
    )
    if regions is not None:
        query = query.where(agg.c.region.in_(list(regions)))
    result: dict[str, tuple[Counts, int]] = {}
    span_hours = hours_between(start, end)
    for row in session.execute(query).mappings():  # a month's figures in a shorter span cover all of it, no more
        result[row["region"]] = (_counts(row), min(int(row["hours"]), span_hours))
    _add_cross_region(session, result, start, end)
    return result


def _month_counts(session: Session, regions: Iterable[str] | None, month: date) -> dict[str, tuple[Counts, int]]:
    return month_counts(session, [month], regions)[month]


def month_counts(
    session: Session, months: Iterable[date], regions: Iterable[str] | None = None
) -> dict[date, dict[str, tuple[Counts, int]]]:
    """``counts_by_region`` of whole local months, several at once from the monthly roll-up: two queries
    whatever the number of months (a scorecard reads its month and the two it compares with)."""
    wanted = sorted(set(months))
    out: dict[date, dict[str, tuple[Counts, int]]] = {month: {} for month in wanted}
    if not wanted:
        return out
    m = MonthlyAggregate.__table__.c
    query = select(m.month, m.region, m.hours_with_data.label("hours"),
                   *[m[name].label(name) for name in SUMMED_COLUMNS], m.longest_wait_ms,
                   type_coerce(m.latest_record_at, UTCDateTime).label("latest_record_at"))
    query = query.where(m.month == wanted[0]) if len(wanted) == 1 else query.where(m.month.in_(wanted))
    if regions is not None:
        query = query.where(m.region.in_(list(regions)))
    for row in session.execute(query).mappings():
        out[row["month"]][row["region"]] = (_counts(row), int(row["hours"]))
    by = MonthlyAnsweredBy.__table__.c
    in_months = by.month == wanted[0] if len(wanted) == 1 else by.month.in_(wanted)
    pairs: dict[date, list[Any]] = {month: [] for month in wanted}
    for month, region, answerer, answered in session.execute(  # ix_monthly_answered_by_month: this month only
        select(by.month, by.region, by.answered_by_region, func.sum(by.answered))
        .where(in_months, by.region != by.answered_by_region)
        .group_by(by.month, by.region, by.answered_by_region)
    ).all():
        pairs[month].append((region, answerer, answered))
    for month in wanted:
        _apply_cross_region(out[month], pairs[month])
    return out


def counts_by_hour(session: Session, regions: Iterable[str], start: datetime, end: datetime) -> dict[datetime, Counts]:
    """Counts summed over ``regions`` per UTC hour in [start, end): the material of daily and hourly views.

    Answered-by/for-other-region figures are not in these rows: for one region ``cross_region_by_hour`` gives
    them; inside a collaboration they are not help from outside (its monthly figures leave them out too).
    """
    hour = type_coerce(agg.c.hour_start, UTCDateTime).label("hour")
    query = (
        select(hour, *_summed_columns())
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
    known = Region.__table__.c
    columns = [type_coerce(select(func.min(agg.c.hour_start)).where(agg.c.region == known.code, *_in(span))
                           .scalar_subquery(), UTCDateTime) for span in spans]
    found = {code: firsts for code, *firsts in session.execute(
        select(known.code, *columns).where(known.code.in_(wanted))).all()}
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


def _in(span: Span) -> tuple[Any, ...]:
    return () if span is None else (agg.c.hour_start >= span[0], agg.c.hour_start < span[1])


def _add_cross_region(
    session: Session, result: dict[str, tuple[Counts, int]], start: datetime, end: datetime
) -> None:
    """Answered by another region (counted at the caller's region) and for another (at the answerer's)."""
    pairs = session.execute(
        select(answered_by.c.region, answered_by.c.answered_by_region, func.sum(answered_by.c.answered))
        .where(
            answered_by.c.hour_start >= start,
            answered_by.c.hour_start < end,
            answered_by.c.region != answered_by.c.answered_by_region,
        )
        .group_by(answered_by.c.region, answered_by.c.answered_by_region)
    ).all()
    _apply_cross_region(result, pairs)


def _apply_cross_region(result: dict[str, tuple[Counts, int]], pairs: Iterable[Any]) -> None:
    by_others: dict[str, int] = {}
    for_others: dict[str, int] = {}
    for caller_region, answering_region, answered in pairs:
        by_others[caller_region] = by_others.get(caller_region, 0) + int(answered)
        for_others[answering_region] = for_others.get(answering_region, 0) + int(answered)
    for region, (counts, hours) in list(result.items()):
        result[region] = (
            replace(
                counts,
                answered_by_other_regions=int(by_others.get(region, 0)),
                answered_for_other_regions=int(for_others.get(region, 0)),
            ),
            hours,
        )


def distinct_hours_with_data(session: Session, regions: Iterable[str], start: datetime, end: datetime) -> int:
    """Hours in [start, end) with data of any of ``regions``: those of a day's or month's figures are all the hours
    they cover. One query when every row is an hour's (the usual case), which also says whether any is not."""
    fine = agg.c.hours_covered == 1
    in_span = (agg.c.region.in_(list(regions)), agg.c.hour_start >= start, agg.c.hour_start < end)
    count, coarse_rows = session.execute(
        select(func.count(func.distinct(case((fine, agg.c.hour_start)))), func.count().filter(~fine))
        .where(*in_span)
    ).one()
    if not coarse_rows:
        return int(count)
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


def offered_by_region_hour(
    session: Session, regions: Iterable[str], hours: list[datetime]
) -> dict[str, dict[datetime, int]]:
    """Offered calls per region at the given UTC hours (the forecast's samples), keyed by the very hours asked
    for: ~15 000 region-hours for 21 regions (four weeks), fetched at once."""
    out: dict[str, dict[datetime, int]] = {}
    if not hours:
        return out
    regions = list(regions)
    if session.get_bind().dialect.name == "postgresql":
        return _offered_postgres(session, regions, hours)
    hour = type_coerce(agg.c.hour_start, UTCDateTime).label("hour")
    query = select(agg.c.region, hour, _OFFERED.label("offered")).where(
        agg.c.region.in_(regions), type_coerce(agg.c.hour_start, UTCDateTime).in_(hours)
    )
    for region, moment, value in session.execute(query).all():
        out.setdefault(region, {})[moment] = int(value)
    return out


_OFFERED = agg.c.answered + agg.c.abandoned + agg.c.rejected


def _offered_postgres(session: Session, regions: list[str], hours: list[datetime]) -> dict[str, dict[datetime, int]]:
    """The samples are (nearly) every hour of the last weeks: read as one range of each region, not as ~700
    index probes per region for a list of hours, with each row's hour as a small offset from the first (not
    epoch seconds as numeric): together most of a process's first /metrics scrape before. A sparse request (the
    month's last days) still names its hours."""
    by_hour = {moment: moment for moment in hours}
    first, last = min(by_hour), max(by_hour)
    span = (last - first) // HOUR + 1
    if 2 * len(by_hour) < span:
        return _offered_listed(session, regions, hours)
    slots: list[datetime | None] = [by_hour.get(first + k * HOUR) for k in range(span)]
    offset = cast(func.date_part("epoch", agg.c.hour_start - literal(first, UTCDateTime)) / 3600, Integer)
    rows = session.execute(  # unordered arrays: an ORDER BY inside array_agg sorted every region's rows, slower
        select(agg.c.region, func.array_agg(offset), func.array_agg(_OFFERED))
        .where(agg.c.region == any_(literal(regions, ARRAY(String))), agg.c.hour_start >= first,
               agg.c.hour_start <= last)
        .group_by(agg.c.region)
    ).all()
    out: dict[str, dict[datetime, int]] = {}
    for region, offsets, values in rows:
        found: dict[Any, int] = dict(zip(map(slots.__getitem__, offsets), values, strict=True))
        found.pop(None, None)  # an hour of the range that was not asked for
        if found:
            out[region] = found
    return out


def _offered_listed(session: Session, regions: list[str], hours: list[datetime]) -> dict[str, dict[datetime, int]]:
    """One row per region, its hours as epoch seconds and its counts as two arrays; the hours one array parameter
    (the SQL does not grow with them). The requested hours are the keys."""
    out: dict[str, dict[datetime, int]] = {}
    requested = {int(moment.timestamp()): moment for moment in hours}
    epoch = cast(func.extract("epoch", agg.c.hour_start), BigInteger)
    query = (select(agg.c.region, func.array_agg(epoch), func.array_agg(_OFFERED))
             .where(agg.c.region.in_(regions),
                    agg.c.hour_start == any_(literal(hours, ARRAY(DateTime(timezone=True)))))
             .group_by(agg.c.region))
    for region, moments, values in session.execute(query).all():
        out[region] = {requested[moment]: int(value) for moment, value in zip(moments, values, strict=True)}
    return out


def first_hours(session: Session, regions: Iterable[str]) -> dict[str, datetime]:
    """Each region's first hour with data: one primary-key lookup per region, not a scan of all history."""
    return first_hours_in_spans(session, regions, [None])[0]


def _data_version_sql() -> TextClause:
    from app.db.models import IngestRun, TargetVersion

    return text(
        f"SELECT (SELECT max(id) FROM {IngestRun.__tablename__}), (SELECT max(id) FROM {TargetVersion.__tablename__}),"
        f" (SELECT updated_at FROM {AggregateDefinitions.__tablename__} WHERE id = 1)"
    )


_DATA_VERSION_SQL = _data_version_sql()


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever a figure could: a new ingest run, a new target version, a recompute with new
    definitions. Three index lookups, so a cache can be checked at every request: as plain SQL, since it
    runs on every scorecard request and the equivalent nested ``select()`` cost three times the CPU to
    build and execute. Only compared for equality (``updated_at`` comes back as the driver gives it)."""
    return tuple(session.execute(_DATA_VERSION_SQL).one())


def days_with_day_figures(session: Session, regions: Iterable[str], start: datetime, end: datetime) -> int:
    """Local days in [start, end) with daily figures of any of ``regions``: each day's sit in its first hour."""
    return int(session.execute(
        select(func.count(func.distinct(agg.c.hour_start))).where(
            agg.c.region.in_(list(regions)), agg.c.hour_start >= start, agg.c.hour_start < end, agg.c.day_records > 0)
    ).scalar_one())
