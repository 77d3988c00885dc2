"""All-time running totals per region, kept with the hourly aggregates for the Prometheus counters.

A refresh of touched hours changes their sums; the change is what was ingested (or corrected) in this
transaction. Counters must never go down, so growth and shrinkage go to separate totals: a correction that
turns an abandoned call into an answered one adds to ``ingested_answered`` and ``corrected_abandoned``.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.db.models import HourlyAggregate, RegionTotal
from app.db.touched import touched_hours

OUTCOMES = ("answered", "abandoned", "rejected", "short_abandons")
GROW_ONLY = ("call_wait_answered_ms", *[f"wait_bucket_{i:02d}" for i in range(15)])
TRACKED = (*OUTCOMES, *GROW_ONLY)

Sums = dict[str, dict[str, int]]


def touched_sums(conn: Connection) -> Sums:
    """Per region, the sums of the tracked columns over the hours in ``touched_hours``."""
    agg = HourlyAggregate.__table__
    query = (
        select(agg.c.region, *[func.sum(agg.c[name]).label(name) for name in TRACKED])
        .join(touched_hours, (touched_hours.c.region == agg.c.region)
              & (touched_hours.c.hour_start == agg.c.hour_start))
        .group_by(agg.c.region)
    )
    return {row["region"]: {name: int(row[name] or 0) for name in TRACKED} for row in conn.execute(query).mappings()}


def apply_change(conn: Connection, before: Sums, after: Sums) -> None:
    increments: dict[tuple[str, str], int] = {}
    for region in set(before) | set(after):
        old, new = before.get(region, {}), after.get(region, {})
        for name in TRACKED:
            delta = new.get(name, 0) - old.get(name, 0)
            if name in OUTCOMES:
                if delta > 0:
                    increments[(region, f"ingested_{name}")] = delta
                elif delta < 0:
                    increments[(region, f"corrected_{name}")] = -delta
            elif delta > 0:
                increments[(region, name)] = delta
    if not increments:
        return
    rows = [{"region": region, "key": key, "value": value} for (region, key), value in sorted(increments.items())]
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(RegionTotal).values(rows)
    conn.execute(statement.on_conflict_do_update(
        index_elements=["region", "key"], set_={"value": RegionTotal.__table__.c.value + statement.excluded.value}
    ))


def region_totals(conn: Connection) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for region, key, value in conn.execute(select(RegionTotal.region, RegionTotal.key, RegionTotal.value)):
        out.setdefault(region, {})[key] = int(value)
    return out
