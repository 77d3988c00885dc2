"""Storing deliveries: idempotent, atomic, corrections replace, aggregates refreshed exactly (both databases)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from sqlalchemy import func, inspect, select, text

from app.config import Settings
from app.db.models import Call, HourlyAggregate, IngestRun, IntervalRow, RejectedRow
from app.db.session import make_engine, make_session_factory, transaction
from app.ingest import loader
from app.ingest.loader import DefinitionsChanged, IngestError
from app.ingest.service import recompute
from app.kpi import (
    CallRecord,
    Comparator,
    Counts,
    Outcome,
    Status,
    Target,
    closed_month_status,
    compute_kpis,
    counts_from_call,
    sum_counts,
)
from app.kpi.localtime import STOCKHOLM, floor_hour, local_day_bounds
from app.scorecard.service import region_and_collaboration_figures
from tests.helpers import ingest, ingest_text

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"


def snapshot(factory) -> list[tuple]:
    with factory() as session:
        rows = session.execute(select(HourlyAggregate.__table__).order_by("region", "hour_start")).all()
    return [tuple(row) for row in rows]


def test_reingesting_the_same_file_changes_nothing(session_factory, settings, fixtures_dir):
    first = ingest(session_factory, settings, "calls", fixtures_dir / "calls_october.csv")
    before = snapshot(session_factory)
    again = ingest(session_factory, settings, "calls", fixtures_dir / "calls_october.csv")
    assert (first.rows_stored, again.rows_stored, again.rows_updated, again.rows_unchanged) == (14, 0, 0, 14)
    assert again.hours_refreshed == 0
    assert snapshot(session_factory) == before
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 14


def test_reingesting_intervals_changes_nothing_and_a_correction_replaces(session_factory, settings, fixtures_dir):
    ingest(session_factory, settings, "intervals", fixtures_dir / "intervals_october.csv")
    again = ingest(session_factory, settings, "intervals", fixtures_dir / "intervals_october.csv")
    assert (again.rows_stored, again.rows_unchanged) == (0, 11)
    header = (fixtures_dir / "intervals_october.csv").read_text().splitlines()[0]
    fixed = ingest_text(session_factory, settings, "intervals",
                        header + "\nSE-Z,vpt,2025-10-27T08:00:00,15,10,7,0,0,3,7,600,1400,0,400,2000,300\n")
    assert (fixed.rows_updated, fixed.hours_refreshed) == (1, 1)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(IntervalRow)) == 11
        hour = session.scalar(select(HourlyAggregate).where(
            HourlyAggregate.region == "SE-Z", HourlyAggregate.hour_start == datetime(2025, 10, 27, 7, tzinfo=UTC)))
        assert (hour.answered, hour.abandoned, hour.wait_answered_ms) == (7, 0, 1_400_000)


def test_a_correction_that_moves_a_call_refreshes_the_old_hour_too(session_factory, settings):
    ingest_text(session_factory, settings, "calls", HEADER + "m1,SE-AC,,2025-10-01T08:10:00+02:00,rejected,,,,,\n")
    moved = ingest_text(session_factory, settings, "calls",
                        HEADER + "m1,SE-BD,,2025-10-01T09:10:00+02:00,rejected,,,,,\n")
    assert (moved.rows_updated, moved.hours_refreshed) == (1, 2)
    with session_factory() as session:
        hours = session.execute(select(HourlyAggregate.region, HourlyAggregate.hour_start,
                                       HourlyAggregate.rejected)).all()
    assert [(r, h.hour, n) for r, h, n in hours] == [("SE-BD", 7, 1)]


def test_a_late_record_is_added_to_an_hour_already_aggregated(session_factory, settings):
    ingest_text(session_factory, settings, "calls", HEADER + "l1,SE-AC,,2025-10-01T08:10:00+02:00,rejected,,,,,\n")
    late = ingest_text(session_factory, settings, "calls",
                       HEADER + "l2,SE-AC,,2025-10-01T08:50:00+02:00,answered,2025-10-01T08:51:00+02:00,,,,\n")
    assert (late.rows_stored, late.hours_refreshed) == (1, 1)
    with session_factory() as session:
        hour = session.scalars(select(HourlyAggregate)).one()
    assert (hour.rejected, hour.answered, hour.call_records) == (1, 1, 2)


def test_repeats_within_one_delivery_count_in_file_order(session_factory, settings):
    rows = [
        "d1,SE-AC,,2025-10-01T08:00:00+02:00,rejected,,,,,",
        "d1,SE-AC,,2025-10-01T08:00:00+02:00,rejected,,,,,",  # identical repeat: unchanged
        "d2,SE-AC,,2025-10-01T08:00:00+02:00,rejected,,,,,",
        "d2,SE-AC,,2025-10-01T08:00:00+02:00,abandoned,,2025-10-01T08:02:00+02:00,,,",  # corrected: updated
        "d3,SE-XX,,2025-10-01T08:00:00+02:00,rejected,,,,,",  # rejected
    ]
    report = ingest_text(session_factory, settings, "calls", HEADER + "\n".join(rows) + "\n")
    assert (report.rows_read, report.rows_stored, report.rows_updated, report.rows_unchanged,
            report.rows_rejected) == (5, 2, 1, 1, 1)
    assert report.balanced
    with session_factory() as session:
        stored = dict(session.execute(select(Call.call_id, Call.outcome)).all())
        hour = session.scalars(select(HourlyAggregate)).one()
    assert stored == {"d1": "rejected", "d2": "abandoned"}  # the last occurrence wins
    assert (hour.rejected, hour.abandoned) == (1, 1)


def test_same_call_id_in_two_sources_is_two_calls(session_factory, settings):
    row = HEADER + "x1,SE-AC,,2025-10-01T08:00:00+02:00,rejected,,,,,\n"
    ingest_text(session_factory, settings, "calls", row, source="platform-a")
    ingest_text(session_factory, settings, "calls", row, source="platform-b")
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 2


def test_an_unreadable_file_stores_nothing_and_leaves_a_failed_run(session_factory, settings):
    with pytest.raises(IngestError, match="missing required column"):
        ingest_text(session_factory, settings, "calls", "call_id,region\nx,SE-AC\n", origin="broken.csv")
    with session_factory() as session:
        run = session.scalars(select(IngestRun)).one()
        assert (run.status, run.origin) == ("failed", "broken.csv") and "arrived_at" in run.error
        assert session.scalar(select(func.count()).select_from(Call)) == 0


def test_a_failure_mid_ingest_rolls_back_everything(session_factory, settings, monkeypatch):
    good = (HEADER + "ok1,SE-AC,,2025-10-01T08:00:00+02:00,rejected,,,,,\n"
            "bad,SE-XX,,2025-10-01T08:00:00+02:00,rejected,,,,,\n")

    def explode(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(loader, "refresh_touched_hours", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_text(session_factory, settings, "calls", good)
    monkeypatch.undo()
    with session_factory() as session:
        for model in (Call, IngestRun, RejectedRow, HourlyAggregate):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model.__name__
    # and the same delivery goes through afterwards
    report = ingest_text(session_factory, settings, "calls", good)
    assert (report.rows_stored, report.rows_rejected) == (1, 1)


def test_changed_definitions_are_refused_until_recomputed(session_factory, settings, database_url, fixtures_dir):
    ingest(session_factory, settings, "calls", fixtures_dir / "calls_october.csv")
    changed = Settings(database_url=database_url, sl_seconds=300, _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(changed)
    factory = make_session_factory(engine)
    with pytest.raises(DefinitionsChanged, match="vpt recompute"):
        ingest(factory, changed, "calls", fixtures_dir / "calls_october.csv")
    with transaction(factory) as session:
        recompute(session, changed.definitions)
    again = ingest(factory, changed, "calls", fixtures_dir / "calls_october.csv")
    assert again.rows_unchanged == 14
    engine.dispose()


def test_recompute_gives_identical_aggregates(session_factory, settings, fixtures_dir):
    ingest(session_factory, settings, "calls", fixtures_dir / "calls_october.csv")
    ingest(session_factory, settings, "intervals", fixtures_dir / "intervals_october.csv")
    before = snapshot(session_factory)
    with transaction(session_factory) as session:
        hours = recompute(session, settings.definitions)
    assert hours == len(before)
    assert snapshot(session_factory) == before


def test_autumn_dst_day_figures(session_factory, settings, fixtures_dir):
    """Fixture README: SE-Z on 2025-10-26 has 40 offered, 34 answered, mean wait 205.882353 s,
    data in four local hours (01, 02 summer, 02 winter, 03) of a 25-hour day; SE-AC 2 answered, 330 s."""
    ingest(session_factory, settings, "calls", fixtures_dir / "calls_october.csv")
    ingest(session_factory, settings, "intervals", fixtures_dir / "intervals_october.csv")
    start, end = local_day_bounds(date(2025, 10, 26))
    with session_factory() as session:
        scopes = {f.scope: f for f in region_and_collaboration_figures(session, start, end)}
    z = scopes["SE-Z"]
    assert (z.kpis.offered, z.kpis.answered, z.kpis.abandoned) == (40, 34, 6)
    assert float(z.kpis.mean_wait) == pytest.approx(205.882353, abs=1e-6)  # (5×900 + 4×400) / 34 ... = 7000/34
    assert z.kpis.answer_rate == Fraction(34, 40) and (z.hours_with_data, z.hours_in_span) == (4, 25)
    target = Target("answer_rate", Comparator.AT_LEAST, Decimal("0.85"), date(2000, 1, 1))
    assert closed_month_status(z.kpis, target) is Status.MET  # exactly 0.85 meets ≥ 0.85
    ac = scopes["SE-AC"]
    assert (ac.kpis.answered, float(ac.kpis.mean_wait)) == (2, 330.0)  # c006 60 s, c007 600 s


@pytest.mark.parametrize("seed", [1, 2])
def test_sql_aggregates_equal_the_pure_kpi_rules(session_factory, settings, seed):
    """The SQL refresh and app.kpi.counts_from_call agree hour by hour on random calls (sub-second waits,
    every outcome, waits at and around bucket edges, cross-region answers)."""
    rng = random.Random(seed)
    regions = ["SE-AC", "SE-BD", "SE-Z", "SE-Y"]
    base = datetime(2025, 10, 25, 20, tzinfo=UTC)
    lines, records = [], []
    for n in range(400):
        arrived = base + timedelta(seconds=rng.randrange(0, 3 * 86400), microseconds=rng.randrange(0, 10**6))
        region = rng.choice(regions)
        outcome = rng.choice(["answered"] * 6 + ["abandoned"] * 3 + ["rejected"])
        wait = timedelta(seconds=rng.choice([0, 30, 599.9995, 600, 600.0005, 601, 7200, 7201]) if n % 3 == 0
                         else rng.uniform(0, 3000))
        answered_at = arrived + wait if outcome == "answered" else None
        ended_at = arrived + wait + timedelta(seconds=5) if outcome != "rejected" else None
        if outcome == "abandoned":
            ended_at = arrived + wait
        by = rng.choice([None, region, rng.choice(regions)]) if outcome == "answered" else None
        record = CallRecord(f"r{n}", region, None, arrived, Outcome(outcome), answered_at, ended_at, by, 300.5, None)
        records.append(record)
        local = arrived.astimezone(STOCKHOLM)  # written with its offset: exact
        fmt = lambda t: "" if t is None else t.astimezone(STOCKHOLM).isoformat()  # noqa: E731
        lines.append(
            f"r{n},{region},,{local.isoformat()},{outcome},{fmt(answered_at)},{fmt(ended_at)},{by or ''},300.5,"
        )
    report = ingest_text(session_factory, settings, "calls", HEADER + "\n".join(lines) + "\n")
    assert report.rows_stored == 400

    expected: dict[tuple[str, datetime], Counts] = {}
    for record in records:
        key = (record.region, floor_hour(record.arrived_at))
        expected[key] = expected.get(key, Counts()) + counts_from_call(record, settings.definitions)
    with session_factory() as session:
        stored = {(row.region, row.hour_start): row for row in session.scalars(select(HourlyAggregate))}
    assert set(stored) == set(expected)
    for key, want in expected.items():
        got = stored[key]
        assert (got.answered, got.abandoned, got.short_abandons, got.rejected, got.answered_within_sl) == (
            want.answered, want.abandoned, want.short_abandons, want.rejected, want.answered_within_sl), key
        assert (got.wait_answered_ms, got.wait_abandoned_ms, got.longest_wait_ms) == (
            want.wait_answered_ms, want.wait_abandoned_ms, want.longest_wait_ms), key
        buckets = tuple(getattr(got, f"wait_bucket_{i:02d}") for i in range(15))
        assert buckets == want.wait_histogram, key

    # and a whole-span figure equals the KPI of all records, by-other-region counts included
    start, end = base - timedelta(hours=1), base + timedelta(days=4)
    with session_factory() as session:
        scopes = {f.scope: f for f in region_and_collaboration_figures(session, start, end)}
    for region in regions:
        own = [counts_from_call(r, settings.definitions) for r in records if r.region == region]
        answered_for = sum(1 for r in records if r.answered_by_region == region and r.region != region
                           and r.outcome is Outcome.ANSWERED)
        want_kpis = compute_kpis(sum_counts(own))
        got_kpis = scopes[region].kpis
        assert got_kpis.as_dict() | {"answered_for_other_regions": None} == want_kpis.as_dict() | {
            "answered_for_other_regions": None}
        assert got_kpis.answered_for_other_regions == answered_for


def test_no_caller_number_reaches_the_database(session_factory, settings, database_url):
    """Extra columns with caller identities are dropped at parse time: not in records, not in rejected rows."""
    number, pnr = "+46701234567", "19121212-1212"
    content = (HEADER.strip() + ",caller_number,personnummer\n"
            f"p1,SE-AC,,2025-10-01T08:00:00+02:00,rejected,,,,,,{number},{pnr}\n"
            f"p2,SE-XX,,2025-10-01T08:00:00+02:00,rejected,,,,,,{number},{pnr}\n")
    report = ingest_text(session_factory, settings, "calls", content)
    assert (report.rows_stored, report.rows_rejected) == (1, 1)
    engine = make_engine(settings)
    with engine.connect() as conn:
        for table_name in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table_name}"')).all():
                dumped = " ".join(str(v) for v in row)
                assert "46701234567" not in dumped and pnr not in dumped, table_name
    engine.dispose()


def test_json_lines_delivery_is_stored_like_csv(session_factory, settings):
    lines = (
        '{"call_id": "j1", "region": "SE-BD", "arrived_at": "2025-10-01T06:00:00Z", "outcome": "answered",'
        ' "answered_at": "2025-10-01T06:00:30Z"}\n'
        '{"call_id": "j2", "region": "SE-BD", "arrived_at": "2025-10-01T06:10:00Z", "outcome": "mystery"}\n'
    )
    report = ingest_text(session_factory, settings, "calls", lines, fmt="jsonl", origin="push.jsonl")
    assert (report.rows_read, report.rows_stored, report.rows_rejected) == (2, 1, 1)
    with session_factory() as session:
        hour = session.scalars(select(HourlyAggregate)).one()
        rejected = session.scalars(select(RejectedRow)).one()
    assert (hour.answered, hour.wait_answered_ms, hour.wait_bucket_01) == (1, 30_000, 1)
    assert (rejected.position, rejected.record_key, rejected.field) == (2, "j2", "outcome")
