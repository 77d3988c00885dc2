"""Finding the staged rows that overlap what they must not: set-based SQL over a delivery's staged rows and the
stored records, answering (staged row → field, reason). What is done with them, rejecting or superseding, and the
rules it enforces are app.ingest.conflicts'.

Apart from it because the finding is most of the SQL and none of the writing: every query here only reads, and the
probes that keep the common delivery cheap (``ix_interval_records_coarse``, the natural key's unique index) are here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, case, false, func, literal_column, or_, select, union

from app.db.models import Call, IntervalRow, Source, table_of
from app.db.types import UTCDateTime
from app.kpi.localtime import STOCKHOLM
from app.kpi.records import DAY_MINUTES

calls = table_of(Call)
intervals = table_of(IntervalRow)
sources = table_of(Source)

#: The longest stored record (a 31-day month, and an hour of slack for DST): how far before a staged row a stored
#: day or month record that overlaps it can start.
LONGEST = timedelta(days=31, hours=1)
_UTC = UTCDateTime()
#: staged seq -> (field, reason)
Found = dict[int, tuple[str, str]]


def find_conflicts(conn: Connection, kind: str, stage: Table, source_id: int) -> Found:
    """The staged rows of ``kind`` (calls or intervals) of ``source_id`` that would count calls twice, and why."""
    return _calls_in_coarse(conn, stage) if kind == "calls" else _interval_conflicts(conn, stage, source_id)


def _coarse(table: Any) -> ColumnElement[bool]:
    """A day or month record; a literal bound, so the partial index ``ix_interval_records_coarse`` serves it."""
    condition: ColumnElement[bool] = table.c.interval_minutes >= literal_column(str(DAY_MINUTES))
    return condition


def _level(minutes: Any) -> ColumnElement[int]:
    """0 for 15–60-minute intervals, 1 for a day, 2 for a month: records of different levels (one of them coarse)
    in one region and period would count its calls twice."""
    return case((minutes < DAY_MINUTES, 0), (minutes == DAY_MINUTES, 1), else_=2)


def resolution_words(minutes: int | None) -> str:
    if minutes is None:
        return "call records"
    if minutes < DAY_MINUTES:
        return f"{minutes}-minute interval figures"
    return "daily figures" if minutes == DAY_MINUTES else "monthly figures"


def period(start: datetime, minutes: int | None) -> str:
    local = start.astimezone(STOCKHOLM)
    if minutes is not None and minutes > DAY_MINUTES:
        return local.strftime("%Y-%m")
    if minutes == DAY_MINUTES:
        return local.date().isoformat()
    return local.isoformat()


def live(table: Any) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = table.c.superseded.is_(false())
    return condition


def _bounds(conn: Connection, stage: Table, start: str, end: str) -> list[tuple[str, datetime, datetime]]:
    rows = conn.execute(select(stage.c.region, func.min(stage.c[start]), func.max(stage.c[end]))
                        .group_by(stage.c.region)).all()
    return [(region, aware(lo), aware(hi)) for region, lo, hi in rows if lo is not None]


def aware(value: Any) -> datetime:
    """Aggregates of a typed column come back as the driver gives them (SQLite: text, or naive UTC)."""
    converted = _UTC.process_result_value(value, None)  # type: ignore[arg-type]  # the dialect is not read
    assert converted is not None
    return converted


def _stored_coarse_near(conn: Connection, bounds: list[tuple[str, datetime, datetime]]) -> bool:
    """Whether any live day or month record of these regions could overlap their spans (index probes only)."""
    t = intervals
    for region, lo, hi in bounds:
        probe = select(t.c.id).where(t.c.region == region, _coarse(t), t.c.hour_start >= lo - LONGEST,
                                     t.c.hour_start < hi, live(t)).limit(1)
        if conn.execute(probe).first() is not None:
            return True
    return False


def source_names(conn: Connection) -> dict[int, tuple[str, bool]]:
    return {row.id: (row.name, bool(row.preferred)) for row in conn.execute(
        select(sources.c.id, sources.c.name, sources.c.preferred))}


def _calls_in_coarse(conn: Connection, s: Table) -> Found:
    """Calls arriving inside a stored day or month record of their region. Where no live day or month record is
    stored at all (a database of calls), one probe of the partial index says so, and the staged rows are not read:
    the span of each region's calls cost a pass over all of them (0.5-1.3 s per million on SQLite, issue 15)."""
    t = intervals
    anywhere = select(t.c.id).where(_coarse(t), live(t)).order_by(t.c.region, t.c.hour_start).limit(1)  # its order
    if conn.execute(anywhere).first() is None:
        return {}
    bounds = _bounds(conn, s, "arrived_at", "arrived_at")
    if not _stored_coarse_near(conn, bounds):
        return {}
    lo = min(b[1] for b in bounds) - LONGEST
    hit = (select(t.c.id).where(t.c.region == s.c.region, _coarse(t), live(t), t.c.hour_start >= lo,
                                t.c.hour_start <= s.c.arrived_at, t.c.interval_end > s.c.arrived_at)
           .limit(1).scalar_subquery())
    rows = conn.execute(select(s.c.seq, hit.label("other")).where(hit.is_not(None))).all()
    return _resolution_reasons(conn, [(seq, None, other) for seq, other in rows], "arrived_at")


def _resolution_reasons(conn: Connection, hits: Sequence[tuple[int, int | None, int]], field_name: str) -> Found:
    """(staged seq, its interval_minutes or None for a call, the stored interval record's id) as reasons."""
    if not hits:
        return {}
    t = intervals
    ids = sorted({other for _, _, other in hits})
    stored: dict[int, tuple[int, datetime, int]] = {}
    for chunk in range(0, len(ids), 500):
        for row in conn.execute(select(t.c.id, t.c.source_id, t.c.interval_start, t.c.interval_minutes)
                                .where(t.c.id.in_(ids[chunk:chunk + 500]))):
            stored[row.id] = (row.source_id, row.interval_start, row.interval_minutes)
    names = source_names(conn)
    found: Found = {}
    for seq, minutes, other in hits:
        source, start, other_minutes = stored[other]
        found[seq] = (field_name, (
            f"{resolution_words(minutes)} overlap the {resolution_words(other_minutes)} of source "
            f"{names.get(source, (str(source), False))[0]!r} for {period(start, other_minutes)}, already stored: "
            "one region and period takes one resolution, or its calls would count twice"
        ))
    return found


def _interval_conflicts(conn: Connection, s: Table, source_id: int) -> Found:
    names = source_names(conn)
    preferred_self = names.get(source_id, ("", False))[1]
    found: Found = {}
    found.update(_source_overlaps(conn, s, source_id, names, preferred_self))
    staged_coarse = conn.execute(select(s.c.seq).where(_coarse(s)).limit(1)).first() is not None
    bounds = _bounds(conn, s, "interval_start", "interval_end")
    # Rows a preferred source will supersede do not count against it.
    spared: ColumnElement[bool] = false()
    if preferred_self:
        spared = and_(intervals.c.source_id != source_id, intervals.c.queue == s.c.queue,
                      intervals.c.source_id.not_in([k for k, (_, pref) in names.items() if pref] or [-1]))
    t = intervals
    hits: list[tuple[int, int | None, int]] = []
    if staged_coarse:
        # Stored rows of another level starting inside a staged day or month (the region's index), and stored day
        # or month records starting before it and reaching into it.
        inside = (select(t.c.id).where(t.c.region == s.c.region, t.c.hour_start >= s.c.interval_start,
                                       t.c.hour_start < s.c.interval_end, _level(t.c.interval_minutes)
                                       != _level(s.c.interval_minutes), live(t), ~spared)
                  .limit(1).scalar_subquery())
        rows = conn.execute(select(s.c.seq, s.c.interval_minutes, inside).where(_coarse(s), inside.is_not(None)))
        hits += [(seq, minutes, other) for seq, minutes, other in rows]
        found.update(_coarse_over_calls(conn, s))
    if _stored_coarse_near(conn, bounds):
        lo = min(b[1] for b in bounds) - LONGEST
        before = (select(t.c.id).where(t.c.region == s.c.region, _coarse(t), t.c.hour_start >= lo,
                                       t.c.hour_start <= s.c.interval_start, t.c.interval_end > s.c.interval_start,
                                       _level(t.c.interval_minutes) != _level(s.c.interval_minutes), live(t),
                                       ~spared)
                  .limit(1).scalar_subquery())
        rows = conn.execute(select(s.c.seq, s.c.interval_minutes, before).where(before.is_not(None)))
        hits += [(seq, minutes, other) for seq, minutes, other in rows]
    # Where a row both overlaps another source and another resolution (and no preference settles it), the
    # resolution is the reason given: it names what would be counted twice.
    found.update(_resolution_reasons(conn, hits, "interval_minutes"))
    if staged_coarse:
        for seq, reason in _within_delivery(conn, s).items():
            found.setdefault(seq, reason)
    return found


def _coarse_over_calls(conn: Connection, s: Table) -> Found:
    c = calls
    call = (select(c.c.source_id).where(c.c.region == s.c.region, c.c.hour_start >= s.c.interval_start,
                                        c.c.hour_start < s.c.interval_end).limit(1).scalar_subquery())
    rows = conn.execute(select(s.c.seq, s.c.interval_minutes, s.c.interval_start, call)
                        .where(_coarse(s), call.is_not(None))).all()
    names = source_names(conn)
    return {seq: ("interval_minutes", (
        f"{resolution_words(minutes)} for {period(aware(start), minutes)} overlap the call records of source "
        f"{names.get(source, (str(source), False))[0]!r} already stored for the region: one region and period "
        "takes one resolution, or its calls would count twice"
    )) for seq, minutes, start, source in rows}


def _within_delivery(conn: Connection, s: Table) -> Found:
    """A delivery mixing levels for one region and period: the later row is refused, naming the earlier."""
    a, b = s.alias("first"), s.alias("later")
    overlap = and_(a.c.region == b.c.region, a.c.seq < b.c.seq, a.c.interval_start < b.c.interval_end,
                   b.c.interval_start < a.c.interval_end,
                   _level(a.c.interval_minutes) != _level(b.c.interval_minutes))
    pairs = union(
        select(b.c.seq, func.min(a.c.seq).label("earlier")).select_from(a.join(b, overlap)).where(_coarse(a))
        .group_by(b.c.seq),
        select(b.c.seq, func.min(a.c.seq).label("earlier")).select_from(a.join(b, overlap)).where(_coarse(b))
        .group_by(b.c.seq),
    ).subquery()
    rows = conn.execute(select(pairs.c.seq, func.min(pairs.c.earlier)).group_by(pairs.c.seq)).all()
    minutes = dict(conn.execute(select(s.c.seq, s.c.interval_minutes).where(
        s.c.seq.in_({seq for row in rows for seq in row}))).all()) if rows else {}
    return {seq: ("interval_minutes", (
        f"{resolution_words(minutes[seq])} overlap the {resolution_words(minutes[earlier])} on line {earlier} of "
        "this delivery for the same region: one region and period takes one resolution"
    )) for seq, earlier in rows}


def overlapping(s: Any, t: Any, lo: datetime) -> ColumnElement[bool]:
    """A stored row of the staged row's region and queue overlapping it: one starting inside it (fine rows never
    cross an hour, so from its hour on), or a day or month record starting before it and reaching into it."""
    same = and_(t.c.region == s.c.region, t.c.queue == s.c.queue, live(t))
    starts_inside = and_(t.c.interval_start >= s.c.hour_start, t.c.interval_start < s.c.interval_end,
                         t.c.interval_end > s.c.interval_start)
    reaches_in = and_(_coarse(t), t.c.hour_start >= lo, t.c.hour_start < s.c.hour_start,
                      t.c.interval_end > s.c.interval_start)
    return and_(same, or_(starts_inside, reaches_in))


def other_sources_near(conn: Connection, s: Table, others: list[int]) -> list[int]:
    """The other sources with a live row near the staged (region, queue) spans: a probe of the natural key's
    unique index per source and pair, so a delivery no other source overlaps reads nothing per row."""
    if not others:
        return []
    t = intervals
    groups = conn.execute(select(s.c.region, s.c.queue, func.min(s.c.interval_start), func.max(s.c.interval_end))
                          .group_by(s.c.region, s.c.queue)).all()
    near = []
    for other in others:
        for region, queue, lo, hi in groups:
            probe = select(t.c.id).where(t.c.source_id == other, t.c.region == region, t.c.queue == queue,
                                         t.c.interval_start >= aware(lo) - LONGEST,
                                         t.c.interval_start < aware(hi), live(t)).limit(1)
            if conn.execute(probe).first() is not None:
                near.append(other)
                break
    return near


def _source_overlaps(conn: Connection, s: Table, source_id: int, names: dict[int, tuple[str, bool]],
                     preferred_self: bool) -> Found:
    others = [k for k in names if k != source_id]
    # A preferred source is blocked only by another preferred one; any other source by every other.
    blocking = [k for k in others if names[k][1]] if preferred_self else others
    near = other_sources_near(conn, s, blocking)
    if not near:
        return {}
    t = intervals
    lo = aware(conn.execute(select(func.min(s.c.interval_start))).scalar_one()) - LONGEST
    other = (select(t.c.source_id).where(t.c.source_id.in_(near), overlapping(s, t, lo)).limit(1)
             .scalar_subquery())
    rows = conn.execute(select(s.c.seq, other).where(other.is_not(None))).all()
    found: Found = {}
    own = names.get(source_id, ("", False))[0]
    for seq, source in rows:
        name, preferred = names[source]
        if preferred and preferred_self:
            why = f"both {own!r} and {name!r} are preferred; prefer one (`vpt sources prefer NAME --no-prefer`)"
        elif preferred:
            why = f"source {name!r} is preferred for it, so these rows are not stored"
        else:
            why = (f"mark one source preferred (`vpt sources prefer {own}` or `vpt sources prefer {name}`) to "
                   "choose whose records count")
        found[seq] = ("interval_start", f"overlaps interval records of source {name!r} for the same region and "
                                        f"queue, already stored: {why}")
    return found

