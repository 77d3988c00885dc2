"""Two sources sharing hours, for the tests of removing one: the aggregates after a purge must equal a recompute
from the records that remain."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.aggregates import aggregates, answered_by, monthly, monthly_answered_by
from app.db.models import RegionTotal
from app.db.session import transaction
from app.ingest.loader import RecordKind
from app.ingest.service import ingest_bytes, recompute
from app.ingest.source_admin import create_push_source

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"
#: The purged source's calls: one in an hour the kept source also has (SE-AC 06:00 UTC on 1 October, c001's),
#: one in an hour of its own (SE-Y), and one rejected row (an unknown region).
OTHER_CALLS = HEADER + (
    "z1,SE-AC,vpt,2025-10-01T08:20:00+02:00,answered,2025-10-01T08:21:00+02:00,,SE-AC,100,10\n"
    "z2,SE-Y,vpt,2025-10-05T12:00:00+02:00,abandoned,,2025-10-05T12:03:00+02:00,,,\n"
    "z3,SE-XX,vpt,2025-10-05T12:00:00+02:00,answered,2025-10-05T12:01:00+02:00,,,,\n"
)
KEPT_HOUR = ("SE-AC", datetime(2025, 10, 1, 6, tzinfo=UTC))
OTHER_ONLY_HOUR = ("SE-Y", datetime(2025, 10, 5, 10, tzinfo=UTC))


def push(factory: sessionmaker[Session], settings: Settings, kind: RecordKind, body: bytes, source: str) -> None:
    ingest_bytes(factory, settings, record_kind=kind, raw=io.BytesIO(body), fmt="csv", origin="test.csv",
                 source_name=source, source_kind="push")


def fill_two_sources(factory: sessionmaker[Session], settings: Settings, kept: str, other: str) -> None:
    """``kept``: the October sample calls. ``other`` (a push source made here): 2 calls, 1 rejected row, 11
    interval records of SE-Z, in 2 runs."""
    with transaction(factory) as session:
        for name in (kept, other):
            create_push_source(session, name)
    push(factory, settings, "calls", (SAMPLES / "calls_october.csv").read_bytes(), kept)
    push(factory, settings, "calls", OTHER_CALLS.encode(), other)
    push(factory, settings, "intervals", (SAMPLES / "intervals_october.csv").read_bytes(), other)


def aggregate_state(factory: sessionmaker[Session]) -> dict[str, list[tuple[Any, ...]]]:
    """Every derived figure: hourly and monthly aggregates, answered-by rows, the metrics' running totals."""
    with factory() as session:
        state = {
            table.name: [tuple(row) for row in session.execute(select(table).order_by(*table.primary_key.columns))]
            for table in (aggregates, answered_by, monthly, monthly_answered_by)
        }
        state["region_totals"] = [
            tuple(row) for row in session.execute(
                select(RegionTotal.region, RegionTotal.key, RegionTotal.value).order_by(RegionTotal.region,
                                                                                        RegionTotal.key))
        ]
    return state


def hours(state: dict[str, list[tuple[Any, ...]]]) -> set[tuple[str, datetime]]:
    return {(row[0], row[1]) for row in state["hourly_aggregates"]}


def assert_equal_to_a_recompute(factory: sessionmaker[Session], settings: Settings) -> None:
    """A full recompute from the stored records changes nothing: not a figure, not a running total."""
    before = aggregate_state(factory)
    with transaction(factory) as session:
        recompute(session, settings.definitions)
    assert aggregate_state(factory) == before
