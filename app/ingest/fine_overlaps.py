"""Fine (15–60-minute) interval rows of one source that overlap with different starts: set-based SQL over a
delivery's staged rows and the source's stored rows, answering (staged row → field, reason) as app.ingest.overlaps
does for the other overlaps. A 60-minute row over stored 15-minute ones (or the reverse) has another natural key, so
nothing else would catch it, and its calls would count twice (SPEC §3: one region, queue and period, one resolution).
What is done with the rows found is app.ingest.conflicts'.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, func, literal_column, or_, select, tuple_

from app.ingest.overlaps import Found, aware, intervals, live, other_sources_near, period, resolution_words
from app.kpi.records import DAY_MINUTES


def _fine(table: Any) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = table.c.interval_minutes < literal_column(str(DAY_MINUTES))
    return condition


def _change_hint(name: str, minutes: int) -> str:
    return (f"deliver the hour as {resolution_words(minutes)}, or to change its resolution remove the source's "
            f"records (`vpt sources remove {name} --purge`) and deliver them again")


def own_resolutions(conn: Connection, s: Table, source_id: int, names: dict[int, tuple[str, bool]]) -> Found:
    """Fine rows overlapping the source's own stored fine rows of another start (a 60-minute row over 15-minute
    ones, or the reverse), which the natural key (its start) does not catch and which would count twice; and, when
    such rows are refused, the rows that would replace the stored one they overlap by a row of another length:
    storing those alone would leave the hour with part of its calls (an hour changes resolution only whole).

    Fine rows never cross an hour, so staged and stored rows are matched on their hour (and, for a replacement, on
    the natural key): an equality PostgreSQL hashes, over the delivery's span only (bounded on ``hour_start``: a
    bound on ``interval_start`` made SQLite scan the whole span in the natural key's index for every staged row),
    and SQLite probes the natural key's index with from each staged row's hour; the source's live rows near the
    delivery are looked for first, so a delivery of new periods reads nothing per row.
    """
    if not other_sources_near(conn, s, [source_id]):
        return {}
    t = intervals
    name = names.get(source_id, (str(source_id), False))[0]
    lo, hi = conn.execute(select(func.min(s.c.hour_start), func.max(s.c.interval_end)).where(_fine(s))).one()
    if lo is None:
        return {}
    own = and_(t.c.source_id == source_id, t.c.region == s.c.region, t.c.queue == s.c.queue,
               t.c.hour_start >= aware(lo), t.c.hour_start < aware(hi), _fine(t), live(t), _fine(s))
    hits = conn.execute(select(s.c.seq, s.c.interval_minutes, s.c.region, s.c.queue, s.c.hour_start,
                               s.c.interval_start, s.c.interval_end, t.c.interval_start, t.c.interval_minutes)
                        .select_from(s.join(t, and_(
                                   own, t.c.hour_start == s.c.hour_start, t.c.interval_start != s.c.interval_start,
                                   t.c.interval_start >= s.c.hour_start, t.c.interval_start < s.c.interval_end,
                                   t.c.interval_end > s.c.interval_start)))
                        .order_by(s.c.seq, t.c.interval_start)).all()
    if not hits:
        return {}
    # Rare (a delivery with refused rows): one probe of the natural key per staged row. A join let SQLite scan the
    # delivery for each stored row, and the span's bounds here let PostgreSQL scan the region's span for each.
    same_key = (select(t.c.id).where(
        t.c.source_id == source_id, t.c.region == s.c.region, t.c.queue == s.c.queue,
        t.c.interval_start == s.c.interval_start, t.c.interval_minutes != s.c.interval_minutes, _fine(t), live(t))
        .limit(1).scalar_subquery())
    replacing = conn.execute(select(s.c.seq, s.c.interval_minutes, s.c.region, s.c.queue, s.c.hour_start, same_key)
                             .where(_fine(s), same_key.is_not(None))).all()
    stored: dict[int, tuple[datetime, datetime, int]] = {}
    for chunk in _chunks(sorted({row[-1] for row in replacing})):
        stored.update((i, (aware(start), aware(end), minutes)) for i, start, end, minutes in conn.execute(
            select(t.c.id, t.c.interval_start, t.c.interval_end, t.c.interval_minutes).where(t.c.id.in_(chunk))))
    found: Found = {}
    refused: dict[tuple[str, str, datetime], list[tuple[datetime, datetime]]] = {}
    for seq, minutes, region, queue, hour, start, end, other_start, other_minutes in hits:
        if seq in found:  # the first stored row it overlaps is named
            continue
        refused.setdefault((region, queue, aware(hour)), []).append((aware(start), aware(end)))
        found[seq] = ("interval_minutes", (
            f"{resolution_words(minutes)} overlap the {resolution_words(other_minutes)} of source {name!r} for "
            f"{period(aware(other_start), other_minutes)}, already stored: one region, queue and period takes one "
            f"resolution, or its calls would count twice; {_change_hint(name, other_minutes)}"))
    for seq, minutes, region, queue, hour, replaced in replacing:
        old_start, old_end, old_minutes = stored[replaced]
        if seq in found or not any(start != old_start and start < old_end and end > old_start
                                   for start, end in refused.get((region, queue, aware(hour)), [])):
            continue
        found[seq] = ("interval_minutes", (
            f"{resolution_words(minutes)} would replace the {resolution_words(old_minutes)} of source {name!r} for "
            f"{period(old_start, old_minutes)}, already stored, which other rows of this delivery overlap and are "
            f"refused for: the hour would keep only part of its calls; {_change_hint(name, old_minutes)}"))
    return found


def fine_within_delivery(conn: Connection, s: Table) -> Found:
    """Fine rows of one region and queue overlapping with different starts in one delivery: the later line is
    refused, naming the earliest line it overlaps. Rows of one start are one natural key (a correction: the last
    wins), never a conflict.

    Never a self-join of the delivery: its spans are grouped per start and compared with their neighbours by window
    functions; only the hours where two overlap have their lines matched, against each span's first line. A
    delivery of one length (the common export) is passed by one scan: the parser aligns a fine row's start to its
    length, so two rows of one length either share their start or do not overlap."""
    lengths = conn.execute(select(func.min(s.c.interval_minutes), func.max(s.c.interval_minutes))
                           .where(_fine(s))).one()
    if lengths[0] == lengths[1]:
        return {}
    part_of = (s.c.region, s.c.queue, s.c.hour_start)
    g = (select(*part_of, s.c.interval_start, func.max(s.c.interval_end).label("span_end")).where(_fine(s))
         .group_by(*part_of, s.c.interval_start).subquery("starts"))
    part = (g.c.region, g.c.queue, g.c.hour_start)
    w = select(*part, g.c.interval_start, g.c.span_end,
               func.max(g.c.span_end).over(partition_by=part, order_by=g.c.interval_start, rows=(None, -1))
               .label("before_end"),
               func.lead(g.c.interval_start).over(partition_by=part, order_by=g.c.interval_start)
               .label("next_start")).subquery("neighbours")
    clashing = select(w.c.region, w.c.queue, w.c.hour_start).where(
        or_(w.c.before_end > w.c.interval_start, w.c.next_start < w.c.span_end)).distinct()
    if conn.execute(clashing.limit(1)).first() is None:
        return {}
    spans = (select(*part_of, s.c.interval_start, s.c.interval_end, func.min(s.c.seq).label("first"))
             .where(_fine(s), tuple_(*part_of).in_(clashing))
             .group_by(*part_of, s.c.interval_start, s.c.interval_end).subquery("spans"))
    b = s.alias("later")
    rows = conn.execute(select(b.c.seq, func.min(spans.c.first)).select_from(b.join(spans, and_(
        spans.c.region == b.c.region, spans.c.queue == b.c.queue, spans.c.hour_start == b.c.hour_start,
        spans.c.interval_start != b.c.interval_start, spans.c.interval_start < b.c.interval_end,
        b.c.interval_start < spans.c.interval_end, spans.c.first < b.c.seq))).where(_fine(b))
        .group_by(b.c.seq)).all()
    wanted = {seq for row in rows for seq in row}
    minutes: dict[int, int] = {}
    for chunk in _chunks(sorted(wanted)):
        minutes.update((seq, m) for seq, m in conn.execute(select(s.c.seq, s.c.interval_minutes)
                                                           .where(s.c.seq.in_(chunk))))
    return {seq: ("interval_minutes", (
        f"{resolution_words(minutes[seq])} overlap the {resolution_words(minutes[earlier])} on line {earlier} of "
        "this delivery for the same region and queue: one region, queue and period takes one resolution, or its "
        "calls would count twice"
    )) for seq, earlier in rows}


def _chunks(values: list[int], size: int = 500) -> list[list[int]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


__all__ = ["fine_within_delivery", "own_resolutions"]
