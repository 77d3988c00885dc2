"""Deliveries that would count calls twice are refused row by row (SPEC §3, issue 14 §3).

Two kinds of overlap, checked with set-based SQL over the staged rows before they meet the stored ones:

* **Resolution.** A region's period is described at one resolution when day or month figures are involved: a day
  or month record that overlaps call records, finer intervals, or figures of the other coarse resolution of the
  same region (any queue, any source) is refused, and so is a call or finer interval inside a stored day or month
  (or one of them against a coarse row earlier in the same delivery). The rejected row names the resolution and
  the source already stored.
* **Sources.** Interval records (any resolution) of two sources overlapping for one region and queue are refused,
  unless one source is preferred (``Source.preferred``): a non-preferred source's overlapping rows are rejected
  naming the preferred one; a preferred source's delivery is stored and the overlapped rows of non-preferred
  sources are marked ``superseded``: kept (an auditor sees them, and nothing is lost), no longer counted. Call
  records of two sources for one region are not a conflict: a region may have two platforms.

Calls can overlap resolutions only through coarse records, and day and month records are few, so most deliveries
pay for a few index probes (``ix_interval_records_coarse`` holds only them) and nothing per row. Finding the
overlaps is app.ingest.overlaps; this module acts on them (rejects, supersedes) and sets a source's preference.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    select,
    true,
    update,
)

from app.db.models import RejectedRow, table_of
from app.db.touched import touched_hours
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
    return _reject(conn, kind, stage, run_id, found) if found else Refused()


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
        count = int(conn.execute(select(func.count()).select_from(_superseding)).scalar_one())
        if count:
            places = select(t.c.region, t.c.hour_start).where(t.c.id.in_(select(_superseding.c.id))).distinct()
            new = places.subquery()
            marked = and_(touched_hours.c.region == new.c.region, touched_hours.c.hour_start == new.c.hour_start)
            # an hour a row leaves is rebuilt from its records, even if the delivery marked it for a change only
            conn.execute(update(touched_hours).where(exists().where(marked)).values(rebuild=True))
            conn.execute(insert(touched_hours).from_select(["region", "hour_start"], select(new).where(
                ~exists().where(marked))))
            conn.execute(update(t).where(t.c.id.in_(select(_superseding.c.id))).values(superseded=true()))
        return count
    finally:
        _superseding.drop(conn, checkfirst=True)


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
