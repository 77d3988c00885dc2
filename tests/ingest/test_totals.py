"""The running totals behind the Prometheus counters: they follow every ingest, never go down, and a
correction shows as growth of one outcome and a correction of another."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import Source
from app.db.session import transaction
from app.db.totals import region_totals
from app.ingest.loader import IngestError
from app.ingest.service import recompute
from tests.helpers import ingest_text

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
CALLS = HEADER + "\n".join([
    "c1,SE-AC,q,2025-10-06T08:00:00Z,answered,2025-10-06T08:00:20Z,",   # 20 s: bucket (0, 30]
    "c2,SE-AC,q,2025-10-06T08:05:00Z,answered,2025-10-06T08:06:40Z,",   # 100 s: (60, 120]
    "c3,SE-AC,q,2025-10-06T09:00:00Z,answered,2025-10-06T09:11:40Z,",   # 700 s: (600, 900]
    "c4,SE-AC,q,2025-10-06T09:10:00Z,abandoned,,2025-10-06T09:12:00Z",
    "c5,SE-BD,q,2025-10-06T09:20:00Z,rejected,,",
]) + "\n"


def totals(factory: sessionmaker[Session]) -> dict[str, dict[str, int]]:
    with factory() as session:
        return {region: {k: v for k, v in values.items() if v} for region, values in
                region_totals(session.connection()).items()}


def test_totals_follow_ingest_corrections_and_recompute(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ingest_text(session_factory, settings, "calls", CALLS)
    expected = {
        "SE-AC": {"ingested_answered": 3, "ingested_abandoned": 1, "call_wait_answered_ms": 820_000,
                  "wait_bucket_01": 1, "wait_bucket_03": 1, "wait_bucket_07": 1},
        "SE-BD": {"ingested_rejected": 1},
    }
    assert totals(session_factory) == expected

    ingest_text(session_factory, settings, "calls", CALLS)  # the same delivery again: nothing moves
    assert totals(session_factory) == expected

    correction = HEADER + "c4,SE-AC,q,2025-10-06T09:10:00Z,answered,2025-10-06T09:10:50Z,\n"  # 50 s: (30, 60]
    ingest_text(session_factory, settings, "calls", correction)
    corrected = {
        "SE-AC": {**expected["SE-AC"], "ingested_answered": 4, "corrected_abandoned": 1,
                  "call_wait_answered_ms": 870_000, "wait_bucket_02": 1},
        "SE-BD": {"ingested_rejected": 1},
    }
    assert totals(session_factory) == corrected

    with transaction(session_factory) as session:
        recompute(session, settings.definitions)
    assert totals(session_factory) == corrected


def test_source_totals_count_rows_and_runs(session_factory: sessionmaker[Session], settings: Settings) -> None:
    ingest_text(session_factory, settings, "calls", CALLS, source="s")
    ingest_text(session_factory, settings, "calls", CALLS + "bad,SE-XX,q,2025-10-06T09:20:00Z,rejected,,\n",
                source="s")
    with pytest.raises(IngestError):  # the whole file is refused: a failed run
        ingest_text(session_factory, settings, "calls", "not,a,call,file\n", source="s")
    with session_factory() as session:
        source = session.scalar(select(Source).where(Source.name == "s"))
    assert source is not None
    assert (source.rows_read_total, source.rows_stored_total, source.rows_unchanged_total,
            source.rows_rejected_total) == (11, 5, 5, 1)
    assert (source.runs_succeeded_total, source.runs_failed_total) == (2, 1)
    assert source.last_run_seconds is not None and source.last_run_seconds > 0
