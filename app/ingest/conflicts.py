"""Deliveries that would count calls twice are refused row by row (SPEC §3, issue 14 §3).

Two kinds of overlap, checked with set-based SQL over the staged rows before they meet the stored ones:

* **Resolution.** A region's period is described at one resolution when day or month figures are involved: a day
  or month record that overlaps call records, finer intervals, or figures of the other coarse resolution of the
  same region (any queue, any source) is refused, and so is a call or finer interval inside a stored day or month
  (or one of them against a coarse row earlier in the same delivery). The rejected row names the resolution and
  the source already stored. Fine (15–60-minute) rows of one source, region and queue are held to it too: a row
  overlapping a stored one of another start (60 minutes over 15) is refused, and so is a row that would replace a
  stored one those refused rows overlap by another length (the hour would keep part of its calls); within one
  delivery the later of two overlapping lines is refused, naming the earlier, once the rows refused against what is
  stored are gone. A repeated start is one natural key: a correction, never a conflict.
* **Sources.** Interval records (any resolution) of two sources overlapping for one region and queue are refused,
  unless one source is preferred (``Source.preferred``): a non-preferred source's overlapping rows are rejected
  naming the preferred one; a preferred source's delivery is stored and the overlapped rows of non-preferred
  sources are marked ``superseded``: kept (an auditor sees them, and nothing is lost), no longer counted. Call
  records of two sources for one region are not a conflict: a region may have two platforms.

Calls can overlap resolutions only through coarse records, and day and month records are few, so most deliveries
pay for a few index probes (``ix_interval_records_coarse`` holds only them) and nothing per row. Finding the
overlaps is app.ingest.overlaps; this module acts on them (rejects, supersedes, restores what a purged source had
superseded) and sets a source's preference.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Integer,
    MetaData,
    Table,
    and_,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    true,
    update,
)

from app.db.models import Call, RejectedRow, table_of
from app.ingest.fine_overlaps import fine_within_delivery, own_resolutions
from app.ingest.merge_steps import touch_hours
from app.ingest.overlaps import (
    LONGEST,
    Found,
    aware,
    find_conflicts,
    intervals,
    other_sources_near,
    overlapping,
    source_names,
    sources,
)
from app.ingest.rows import Rejection
from app.kpi.records import DAY_MINUTES, MONTH_WORD

SAMPLE = 20

_meta = MetaData()
_superseding = Table("superseding_ids", _meta, Column("id", Integer, primary_key=True), prefixes=["TEMPORARY"])
_restoring = Table("restoring_ids", _meta, Column("id", Integer, primary_key=True), prefixes=["TEMPORARY"])
_calls = table_of(Call)


@dataclass
class Refused:
    """What the checks refused: how many rows (kept as rejected rows of the run) and the first few."""

    rows: int = 0
    sample: list[Rejection] = field(default_factory=list)
    superseded: int = 0  # stored rows of non-preferred sources this delivery superseded


def refuse_conflicts(conn: Connection, kind: str, stage: Table, source_id: int, run_id: int) -> Refused:
    """Reject the staged rows that overlap what they must not (see the module), keep them as rejected rows of
    ``run_id``, and take them out of ``stage``. ``supersede`` follows once the rows to store are known."""
    found = find_conflicts(conn, kind, stage, source_id)
    if kind == "intervals":
        for seq, reason in own_resolutions(conn, stage, source_id, source_names(conn)).items():
            found.setdefault(seq, reason)
    refused = _reject(conn, kind, stage, run_id, found) if found else Refused()
    if kind == "intervals":
        # After the rows refused against what is stored are gone: a row is not refused for overlapping a line
        # that is itself refused, and what stays is still free of overlaps (the later of any two is refused).
        within = fine_within_delivery(conn, stage)
        if within:
            more = _reject(conn, kind, stage, run_id, within)
            refused.rows += more.rows
            refused.sample = sorted([*refused.sample, *more.sample], key=lambda r: r.position)[:SAMPLE]
    return refused


def _reject(conn: Connection, kind: str, stage: Table, run_id: int, found: Found) -> Refused:
    seqs = sorted(found)
    refused = Refused(rows=len(seqs))
    rows: list[dict[str, Any]] = []
    for chunk in range(0, len(seqs), 500):
        part = seqs[chunk:chunk + 500]
        for staged in conn.execute(select(stage).where(stage.c.seq.in_(part)).order_by(stage.c.seq)).mappings():
            field_name, reason = found[staged["seq"]]
            key = staged["call_id"] if kind == "calls" else None
            rejection = Rejection(staged["seq"], key, field_name, reason, _raw(kind, staged))
            if len(refused.sample) < SAMPLE:
                refused.sample.append(rejection)
            rows.append({"run_id": run_id, "position": rejection.position, "record_key": rejection.record_key,
                         "field": rejection.field, "reason": rejection.reason, "raw": rejection.raw})
        conn.execute(delete(stage).where(stage.c.seq.in_(part)))
    conn.execute(insert(table_of(RejectedRow)), rows)
    return refused


def _raw(kind: str, staged: Any) -> str:
    """The staged row as canonical CSV, what ``Rejection.raw`` keeps of any rejected row."""
    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return aware(value).isoformat()
        return str(value)

    def seconds(ms: Any) -> str:
        return "" if ms is None else str(ms / 1000)

    if kind == "calls":
        values = [staged[c] for c in ("call_id", "region", "queue", "arrived_at", "outcome", "answered_at",
                                      "ended_at", "answered_by_region", "talk_seconds", "wrap_seconds")]
    else:
        minutes = staged["interval_minutes"]
        values = [staged["region"], staged["queue"], aware(staged["interval_start"]),
                  MONTH_WORD if minutes > DAY_MINUTES else minutes,
                  *[staged[c] for c in ("offered", "answered", "abandoned", "abandoned_short", "rejected",
                                        "answered_within_sl", "sl_seconds")],
                  seconds(staged["wait_answered_ms"]), seconds(staged["wait_abandoned_ms"]),
                  seconds(staged["longest_wait_ms"]), staged["talk_seconds_sum"], staged["wrap_seconds_sum"],
                  staged["agents_staffed"]]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([text(v) for v in values])
    return buffer.getvalue()


def supersede(conn: Connection, s: Table, source_id: int) -> int:
    """A preferred source's staged rows supersede the live rows of non-preferred sources they overlap (same
    region and queue); their hours are refreshed with the delivery's."""
    names = source_names(conn)
    if not names.get(source_id, ("", False))[1]:
        return 0
    losers = other_sources_near(conn, s, [k for k, (_, pref) in names.items() if k != source_id and not pref])
    if not losers:
        return 0
    t = intervals
    lo = aware(conn.execute(select(func.min(s.c.interval_start))).scalar_one()) - LONGEST
    _superseding.drop(conn, checkfirst=True)
    _superseding.create(conn)
    try:
        conn.execute(insert(_superseding).from_select(["id"], select(t.c.id).select_from(
            s.join(t, and_(t.c.source_id.in_(losers), overlapping(s, t, lo)))).distinct()))
        return _set_superseded(conn, _superseding, True)
    finally:
        _superseding.drop(conn, checkfirst=True)


def _set_superseded(conn: Connection, chosen: Table, superseded: bool) -> int:
    """Flag the interval rows listed in ``chosen`` superseded (or not), and mark their hours to be rebuilt from their
    records, even an hour the delivery marked for a change only: a row leaving or rejoining it. Returns how many."""
    count = int(conn.execute(select(func.count()).select_from(chosen)).scalar_one())
    if count:
        t, ids = intervals, select(chosen.c.id)
        touch_hours(conn, select(t.c.region, t.c.hour_start, literal(1, Integer).label("r")).where(t.c.id.in_(ids)))
        conn.execute(update(t).where(t.c.id.in_(ids)).values(superseded=true() if superseded else false()))
    return count


def _level(table: Any) -> ColumnElement[int]:
    """0 for 15–60-minute intervals, 1 for a day, 2 for a month (as app.ingest.overlaps grades them)."""
    minutes = table.c.interval_minutes
    return case((minutes < DAY_MINUTES, 0), (minutes == DAY_MINUTES, 1), else_=2)


def _clash(other: Any, row: Any) -> ColumnElement[bool]:
    """``other`` and ``row`` would count the same calls twice if both counted: they overlap in time in one region,
    and either are of two sources for one queue, or of two resolutions (a day or month against anything finer)."""
    return and_(other.c.id != row.c.id, other.c.region == row.c.region,
                other.c.interval_start < row.c.interval_end, row.c.interval_start < other.c.interval_end,
                or_(and_(other.c.queue == row.c.queue, other.c.source_id != row.c.source_id),
                    _level(other) != _level(row)))


def restore_superseded(conn: Connection, source_id: int) -> int:
    """Before ``source_id``'s interval records are purged: the rows of other sources they superseded count again,
    so purging a preferred source does not leave the region's period without figures. Returns how many.

    A superseded row is restored only where nothing that stays would then count its calls twice: no live interval
    record of another source for its region and queue, or of another resolution for its region, overlaps it; no
    call of its region lies inside it when it is a day or a month; and no other row restored now clashes with it
    (two sources superseded in turn: neither is chosen for the reader, both stay superseded). The restored rows'
    hours join ``touched_hours`` (rebuilt from their records), which the caller made and refreshes in the same
    transaction.
    """
    t = intervals
    row, purged, other = t.alias("restored"), t.alias("purged"), t.alias("other")
    superseded_by_it = exists().where(purged.c.source_id == source_id, purged.c.region == row.c.region,
                                      purged.c.queue == row.c.queue, purged.c.interval_start < row.c.interval_end,
                                      row.c.interval_start < purged.c.interval_end)
    live_clash = exists().where(other.c.source_id != source_id, other.c.superseded.is_(false()), _clash(other, row))
    coarse = row.c.interval_minutes >= literal_column(str(DAY_MINUTES))
    calls_inside = exists().where(_calls.c.source_id != source_id, _calls.c.region == row.c.region,
                                  _calls.c.hour_start >= row.c.hour_start, _calls.c.hour_start < row.c.interval_end,
                                  _calls.c.arrived_at >= row.c.interval_start,
                                  _calls.c.arrived_at < row.c.interval_end)
    _restoring.drop(conn, checkfirst=True)
    _restoring.create(conn)
    try:
        conn.execute(insert(_restoring).from_select(["id"], select(row.c.id).where(
            row.c.superseded.is_(true()), row.c.source_id != source_id, superseded_by_it, ~live_clash,
            ~and_(coarse, calls_inside))))
        picked = t.alias("picked")
        torn = select(row.c.id).select_from(row.join(_restoring, _restoring.c.id == row.c.id)).where(
            exists().where(picked.c.id.in_(select(_restoring.c.id)), _clash(picked, row)))
        conn.execute(delete(_restoring).where(_restoring.c.id.in_([i for (i,) in conn.execute(torn)] or [-1])))
        return _set_superseded(conn, _restoring, False)
    finally:
        _restoring.drop(conn, checkfirst=True)


class NoSuchSource(LookupError):
    pass


def prefer_source(conn: Connection, name: str, preferred: bool) -> bool:
    """Mark (or unmark) a source preferred; returns whether it was preferred before. Stored rows are not touched:
    the preferred source's next delivery supersedes what it overlaps, and rows superseded stay so when the mark is
    taken away (the preferred records they lost to are still stored and counted)."""
    row = conn.execute(select(sources.c.preferred).where(sources.c.name == name)).first()
    if row is None:
        raise NoSuchSource(name)
    conn.execute(update(sources).where(sources.c.name == name).values(preferred=preferred))
    return bool(row.preferred)
