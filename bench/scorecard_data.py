"""The scorecard benchmark's data: years of plausible hourly aggregates, generated and filled (bench/README.md,
``bench/scorecard.py`` step 1).

A module of its own because three benchmarks read these rows: ``bench/scorecard.py``, ``bench/alerts.py`` (the same
years) and ``bench/load.py`` (its own recent months, from the same per-hour variants). They import the filler, not
the scorecard benchmark's entry point.

The aggregate columns are read from the model at run time, so the filler follows schema changes:
counts, ``*_ms`` or ``*_sum`` waits, wait buckets, ``longest_wait[_ms]``, ``latest_record_at``.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Float, Numeric, create_engine

from app.db.models import HourlyAggregate, HourlyAnsweredBy
from app.kpi.histogram import WAIT_BUCKET_EDGES
from app.kpi.localtime import STOCKHOLM, local_month_bounds, next_month
from app.kpi.reference import REGIONS

SEED = 1177
LAST_YEAR = 2025  # the range ends with this year (closed months only)
VARIANTS = 48  # random rows per (region, local hour of day); rows pick one at random

aggregates = HourlyAggregate.__table__
answered_by = HourlyAnsweredBy.__table__


# --- data ----------------------------------------------------------------------------------------------

#: share of a day's calls in each local hour (0-23): quiet nights, morning peak, evening bump
DIURNAL = [0.3, 0.2, 0.15, 0.15, 0.2, 0.4, 0.9, 1.6, 2.0, 1.9, 1.7, 1.5,
           1.4, 1.4, 1.3, 1.3, 1.3, 1.4, 1.5, 1.5, 1.3, 1.0, 0.7, 0.45]
#: share of answered calls per wait bucket (edges 0, 30 s, 1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120 min, +Inf)
BUCKET_SHARES = [0.02, 0.10, 0.08, 0.12, 0.10, 0.14, 0.17, 0.10, 0.06, 0.06, 0.03, 0.015, 0.004, 0.001, 0.0]
#: a representative wait inside each bucket, seconds
BUCKET_WAITS = [0, 20, 45, 90, 150, 240, 450, 750, 1050, 1500, 2200, 3100, 4400, 6200, 7500]


def hourly_values(rng: random.Random, inhabitants: int, local_hour: int) -> dict[str, float | int | None]:
    """One plausible region-hour: names are the 'semantic' figures, mapped to columns by ``row_text``."""
    mean_offered = inhabitants / 1_000_000 * 60 * DIURNAL[local_hour]  # ~60 calls/h per million at average
    offered = max(0, round(rng.gauss(mean_offered, max(1.0, mean_offered ** 0.5))))
    rejected = sum(1 for _ in range(offered) if rng.random() < 0.03) if offered < 50 else round(offered * 0.03)
    abandoned = round((offered - rejected) * rng.uniform(0.08, 0.16))
    answered = offered - rejected - abandoned
    buckets = [0] * len(WAIT_BUCKET_EDGES)
    for _ in range(min(answered, 200)):
        buckets[rng.choices(range(len(BUCKET_SHARES)), BUCKET_SHARES)[0]] += 1
    if answered > 200:  # scale a sample of 200 up to the real count
        scaled = [b * answered // 200 for b in buckets]
        scaled[5] += answered - sum(scaled)
        buckets = scaled
    wait_answered = float(sum(n * w for n, w in zip(buckets, BUCKET_WAITS, strict=True)))
    within_sl = sum(n for n, edge in zip(buckets, WAIT_BUCKET_EDGES, strict=True) if edge <= 600)
    longest = max((w for n, w in zip(buckets, BUCKET_WAITS, strict=True) if n), default=None)
    values: dict[str, float | int | None] = {
        "answered": answered, "abandoned": abandoned, "short_abandons": 0, "rejected": rejected,
        "answered_within_sl": within_sl, "answered_sl_unknown": 0,
        "wait_answered": wait_answered, "wait_abandoned": float(abandoned * rng.randint(60, 600)),
        "answered_wait_unknown": 0, "abandoned_wait_unknown": 0, "longest_wait_unknown": 0,
        "longest_wait": None if longest is None else float(longest),
        "talk_sum": float(answered * rng.randint(300, 480)), "wrap_sum": float(answered * rng.randint(40, 120)),
        "call_records": offered, "interval_records": 0, "reported_offered": 0, "interval_counted_offered": 0,
        "hours_covered": 1, "day_records": 0, "month_records": 0,  # hourly rows, as call ingest writes them
        "call_wait_answered": wait_answered,
    }
    values.update({f"wait_bucket_{i:02d}": n for i, n in enumerate(buckets)})
    return values


def lookup(name: str, values: dict[str, float | int | None]) -> tuple[bool, float | int | None]:
    """(recognised, value) of an aggregate column from the semantic figures of ``hourly_values``."""
    if name in values:
        return True, values[name]
    for suffix in ("_sum", "_seconds", "_s"):
        if name.endswith(suffix) and name.removesuffix(suffix) in values:
            return True, values[name.removesuffix(suffix)]
    if name.endswith("_ms"):
        base = name.removesuffix("_ms")
        base = base if base in values else base.removesuffix("_sum")
        if base in values:
            seconds = values[base]
            return True, None if seconds is None else round(float(seconds) * 1000)
    return False, None


def column_value(name: str, values: dict[str, float | int | None]) -> float | int | None:
    """Unrecognised columns get NULL when nullable, else 0."""
    recognised, value = lookup(name, values)
    if recognised:
        return value
    column = aggregates.c[name]
    if column.nullable:
        return None
    return 0.0 if isinstance(column.type, Float | Numeric) else 0


@dataclass
class Layout:
    """The aggregate columns the filler writes, in table order, and which it did not recognise."""

    value_columns: list[str]
    unknown: list[str]

    @classmethod
    def from_model(cls) -> Layout:
        probe = hourly_values(random.Random(0), 1_000_000, 12)
        names = [c.name for c in aggregates.columns if c.name not in ("region", "hour_start", "latest_record_at")]
        return cls(names, [name for name in names if not lookup(name, probe)[0]])


def month_range(years: int) -> tuple[date, date]:
    """[first month, month after the last) of ``years`` whole local years ending with LAST_YEAR."""
    return date(LAST_YEAR - years + 1, 1, 1), date(LAST_YEAR + 1, 1, 1)


def utc_hours(first: date, end: date) -> Iterator[datetime]:
    start, _ = local_month_bounds(first)
    stop, _ = local_month_bounds(end)
    moment = start
    while moment < stop:
        yield moment
        moment += timedelta(hours=1)


def _pg_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # app.db.types.SQLITE_DATETIME_FORMAT
    return value


@dataclass(frozen=True)
class Variant:
    values: tuple[Any, ...]  # in Layout.value_columns order
    text: str  # the same, as PostgreSQL COPY text
    answered: int


@dataclass(frozen=True)
class RegionHour:
    region: str
    hour_start: datetime
    variant: Variant
    latest: datetime
    other_region: str | None  # answered some of this hour's calls, if any
    answered_elsewhere: int


class Dataset:
    """Deterministic region-hours, regenerated on each pass instead of held in memory (~2 M rows).

    Each region and local hour of day has VARIANTS random rows; every region-hour picks one.
    """

    def __init__(self, years: int, regions: int, seed: int, layout: Layout) -> None:
        self.years, self.seed, self.layout = years, seed, layout
        self.regions = list(REGIONS[:regions])
        rng = random.Random(seed)
        self.variants: dict[tuple[str, int], list[Variant]] = {}
        for code, _name, inhabitants in self.regions:
            for hour in range(24):
                made = []
                for _ in range(VARIANTS):
                    values = hourly_values(rng, inhabitants, hour)
                    row = tuple(column_value(name, values) for name in layout.value_columns)
                    made.append(Variant(row, "\t".join(map(_pg_text, row)), int(values["answered"] or 0)))
                self.variants[(code, hour)] = made

    def __iter__(self) -> Iterator[RegionHour]:
        rng = random.Random(self.seed + 1)
        codes = [code for code, _n, _i in REGIONS]
        first, end = month_range(self.years)
        for hour_start in utc_hours(first, end):
            local_hour = hour_start.astimezone(STOCKHOLM).hour
            latest = hour_start + timedelta(minutes=59, seconds=rng.randint(0, 59))
            for code, _name, _inhabitants in self.regions:
                variant = self.variants[(code, local_hour)][rng.randrange(VARIANTS)]
                other, elsewhere = None, 0
                if variant.answered >= 10 and rng.random() < 0.25:
                    other = rng.choice([c for c in codes if c != code])
                    elsewhere = variant.answered // 10
                yield RegionHour(code, hour_start, variant, latest, other, elsewhere)

    @staticmethod
    def answered_by_rows(hour: RegionHour) -> Iterator[tuple[str, str, datetime, int]]:
        if hour.variant.answered:
            yield hour.region, hour.region, hour.hour_start, hour.variant.answered - hour.answered_elsewhere
        if hour.other_region is not None:
            yield hour.region, hour.other_region, hour.hour_start, hour.answered_elsewhere


# --- filling -------------------------------------------------------------------------------------------


def fill_postgres(url: str, data: Dataset, answered_by_rows: bool) -> tuple[int, int]:
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    agg_columns = ", ".join(["region", "hour_start", *data.layout.value_columns, "latest_record_at"])
    counts = [0, 0]
    with psycopg.connect(conninfo) as conn:
        # The server commits asynchronously (tests/pgserver.py), and VACUUM marks no page all-visible before the
        # commit is flushed: the VACUUM below then left ~25 % of the pages unmarked, run to run, and the index-only
        # scans of those hours read the heap as well. A production table's older months are all-visible.
        conn.execute("SET synchronous_commit = on")
        with conn.cursor() as cursor, cursor.copy(f"COPY hourly_aggregates ({agg_columns}) FROM STDIN") as copy:
            chunk: list[str] = []
            hour_text: dict[datetime, str] = {}
            for hour in data:
                start = hour_text.get(hour.hour_start)
                if start is None:
                    hour_text.clear()
                    start = hour_text[hour.hour_start] = hour.hour_start.isoformat()
                chunk.append(f"{hour.region}\t{start}\t{hour.variant.text}\t{hour.latest.isoformat()}\n")
                if len(chunk) >= 20_000:
                    copy.write("".join(chunk))
                    counts[0] += len(chunk)
                    chunk.clear()
            copy.write("".join(chunk))
            counts[0] += len(chunk)
        if answered_by_rows:
            with conn.cursor() as cursor, cursor.copy(
                "COPY hourly_answered_by (region, answered_by_region, hour_start, answered) FROM STDIN"
            ) as copy:
                for hour in data:
                    for row in Dataset.answered_by_rows(hour):
                        copy.write_row(row)
                        counts[1] += 1
        conn.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE hourly_aggregates")
        conn.execute("VACUUM ANALYZE hourly_answered_by")
        pages, visible = conn.execute(
            "SELECT relpages, relallvisible FROM pg_class WHERE relname = 'hourly_aggregates'").fetchone() or (0, 0)
        print(f"hourly_aggregates: {visible:,} of {pages:,} pages all-visible after VACUUM")
    return counts[0], counts[1]


def fill_sqlite(path: Path, data: Dataset, answered_by_rows: bool) -> None:
    agg_columns = ["region", "hour_start", *data.layout.value_columns, "latest_record_at"]
    conn = sqlite3.connect(path)
    try:
        with conn:
            placeholders = ", ".join("?" * len(agg_columns))
            conn.executemany(
                f"INSERT INTO hourly_aggregates ({', '.join(agg_columns)}) VALUES ({placeholders})",
                (
                    (hour.region, sqlite_value(hour.hour_start), *hour.variant.values, sqlite_value(hour.latest))
                    for hour in data
                ),
            )
            if answered_by_rows:
                conn.executemany(
                    "INSERT INTO hourly_answered_by (region, answered_by_region, hour_start, answered) "
                    "VALUES (?, ?, ?, ?)",
                    (
                        (region, by, sqlite_value(start), answered)
                        for hour in data for region, by, start, answered in Dataset.answered_by_rows(hour)
                    ),
                )
        conn.execute("ANALYZE")
    finally:
        conn.close()


def roll_up(url: str, first: date, end: date) -> None:
    """The monthly roll-up that ingest maintains, built once for the copied hours (as migration 0006 does)."""
    from app.db.aggregates import rebuild_month

    engine = create_engine(url)
    with engine.begin() as conn:
        month = first
        while month < end:
            rebuild_month(conn, month)
            month = next_month(month)
    engine.dispose()
