"""The forecast's samples: offered calls per region at the sampled UTC hours of recent weeks (SPEC §6).

Apart from ``app.scorecard.queries`` because each backend reads them its own way, for speed: PostgreSQL as one
range of each region (``SampleRange``), SQLite by the hours' stored text. ~14 000 region-hours were most of a first
/metrics scrape on both (issue 15).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    Integer,
    String,
    any_,
    bindparam,
    cast,
    func,
    literal,
    select,
    text,
    type_coerce,
)
from sqlalchemy.orm import Session

from app.db.types import UTCDateTime, to_sqlite_text
from app.kpi.localtime import HOUR
from app.scorecard.sample_range import SampleRange
from app.scorecard.statements import agg


def offered_by_region_hour(
    session: Session, regions: Iterable[str], hours: list[datetime]
) -> dict[str, dict[datetime, int]]:
    """Offered calls per region at the given UTC hours (the forecast's samples), keyed by the very hours asked
    for: ~15 000 region-hours for 21 regions (four weeks), fetched at once."""
    samples = offered_samples(session, regions, hours)
    if isinstance(samples, dict):
        return samples
    return {region: found for region in samples.rows if (found := samples.by_hour(region))}


def offered_samples(
    session: Session, regions: Iterable[str], hours: list[datetime]
) -> dict[str, dict[datetime, int]] | SampleRange:
    """``offered_by_region_hour``, on PostgreSQL as the range it read when it could (``SampleRange``: the rows as
    offsets and values, no dict per region), which a forecast sums without building the dicts (issue 15)."""
    out: dict[str, dict[datetime, int]] = {}
    if not hours:
        return out
    regions = list(regions)
    if session.get_bind().dialect.name == "postgresql":
        return _offered_postgres(session, regions, hours)
    # SQLite stores an hour as its UTC text (app.db.types): rows are keyed back by that text, not parsed into a
    # datetime each (two result processors for ~14 000 rows: most of the first /metrics scrape on SQLite).
    requested = {to_sqlite_text(moment): moment for moment in hours}
    query = select(agg.c.region, type_coerce(agg.c.hour_start, String), _OFFERED).where(
        agg.c.region.in_(regions), type_coerce(agg.c.hour_start, UTCDateTime).in_(hours)
    )
    for region, stored, value in session.execute(query).all():
        out.setdefault(region, {})[requested[stored]] = int(value)
    return out


_OFFERED = agg.c.answered + agg.c.abandoned + agg.c.rejected


def _offered_postgres(
    session: Session, regions: list[str], hours: list[datetime]
) -> dict[str, dict[datetime, int]] | SampleRange:
    """The samples are (nearly) every hour of the last weeks: read as one range of each region, not as ~700
    index probes per region for a list of hours, with each row's hour as a small offset from the first (not
    epoch seconds as numeric): together most of a process's first /metrics scrape before. A sparse request (the
    month's last days) still names its hours."""
    first, last = min(hours), max(hours)
    span = (last - first) // HOUR + 1
    slots: list[datetime | None] = [None] * span
    for moment in hours:
        index, rest = divmod(moment - first, HOUR)
        if not rest:
            slots[index] = moment
    if 2 * (span - slots.count(None)) < span or first.minute or first.second or first.microsecond:
        # sparse, or a range off the hour: the stored hours' offsets from it would be rounded onto asked-for hours
        return _offered_listed(session, regions, hours)
    rows = session.connection().execute(_OFFERED_RANGE, {"regions": regions, "first": first, "last": last,
                                                         "span": span}).all()
    return SampleRange(first, slots, {region: (offsets, values) for region, values, offsets in rows})


#: ``_offered_postgres``' statement as plain SQL, so its rows come back as the driver gives them (no per-call statement
#: build, no result processing). Per region its offered calls in hour order, an index-only range scan whose order is
#: the index's (``ARRAY(... ORDER BY)`` keeps it; no sort): when there are as many as hours in the range, every hour
#: has its row (one per region and hour, on the hour) and the position is the offset. Only a region with holes also
#: gets each row's offset (float8 ``date_part`` of an interval, not numeric), once per row the cost that was most of
#: the server's time beyond the index scan when every row had it (~5.5 -> ~2.5 ms for 14 000 rows, issue 15).
_OFFERED_RANGE = text(
    "SELECT r.code, s.offered, CASE WHEN cardinality(s.offered) = :span THEN NULL ELSE ARRAY("
    "SELECT CAST(date_part('epoch', a.hour_start - CAST(:first AS TIMESTAMP WITH TIME ZONE))"
    " / CAST(3600 AS DOUBLE PRECISION) AS INTEGER) FROM hourly_aggregates AS a WHERE a.region = r.code"
    " AND a.hour_start >= :first AND a.hour_start <= :last ORDER BY a.hour_start) END"
    " FROM unnest(CAST(:regions AS VARCHAR[])) AS r(code) CROSS JOIN LATERAL (SELECT ARRAY("
    "SELECT a.answered + a.abandoned + a.rejected FROM hourly_aggregates AS a WHERE a.region = r.code"
    " AND a.hour_start >= :first AND a.hour_start <= :last ORDER BY a.hour_start) AS offered OFFSET 0) AS s"
).bindparams(bindparam("first", type_=UTCDateTime), bindparam("last", type_=UTCDateTime),
             bindparam("regions", type_=ARRAY(String)), bindparam("span", type_=Integer))


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
