"""The identity profiles (issue 14 "Done when"): canonical CSV through ``canonical-calls`` / ``canonical-intervals``
gives exactly what the canonical parsers give (records, warnings and rejections, or the same refusal of the file),
and stores exactly what they store, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.db.models import Call, IngestRun, IntervalRow, RejectedRow
from app.ingest.parsers import CALL_COLUMNS, INTERVAL_COLUMNS, ParseOptions, parse_calls, parse_intervals
from app.ingest.profiles import load_profiles, profile_parser
from app.ingest.rows import FileFormatError
from app.ingest.service import ingest_file
from tests.fuzz.test_ingest_fuzz import FUZZ, csv_file, encoded, hostile_call, hostile_interval
from tests.ingest.profiles.engine_helpers import OPTIONS, SETTINGS

REGISTRY = load_profiles()
IDENTITY = {"calls": REGISTRY.get("canonical-calls"), "intervals": REGISTRY.get("canonical-intervals")}
SMALL = ParseOptions(OPTIONS.known_regions, max_field_length=64, max_line_length=4096, now=OPTIONS.now)


def outcome(kind: str, data: bytes, through_profile: bool) -> object:
    """The list of results, or the refusal of the whole file, read from the bytes as the loader reads them."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", errors="replace", newline="")
    try:
        if through_profile:
            return list(profile_parser(IDENTITY[kind], SETTINGS)(stream, SMALL))
        return list((parse_calls if kind == "calls" else parse_intervals)(stream, "csv", SMALL))
    except FileFormatError as exc:
        return ("refused", str(exc))


@FUZZ
@given(data=st.data())
def test_canonical_calls_through_the_identity_profile_parse_the_same(data):
    lines = data.draw(csv_file(CALL_COLUMNS, hostile_call()))
    raw = data.draw(encoded(lines))
    assert outcome("calls", raw, through_profile=True) == outcome("calls", raw, through_profile=False)


@FUZZ
@given(data=st.data())
def test_canonical_intervals_through_the_identity_profile_parse_the_same(data):
    lines = data.draw(csv_file(INTERVAL_COLUMNS, hostile_interval()))
    raw = data.draw(encoded(lines))
    assert outcome("intervals", raw, through_profile=True) == outcome("intervals", raw, through_profile=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["", "\n", " \n", "call_id,region\n", "\ufeffcall_id\n", "x" * 5000 + "\n"]))
def test_a_file_refused_whole_is_refused_alike(content):
    raw = content.encode()
    assert outcome("calls", raw, through_profile=True) == outcome("calls", raw, through_profile=False)


def stored(factory) -> dict[str, list[tuple[object, ...]]]:
    """Every stored call and interval, and the rejected rows of each run, without the ids of rows and runs."""
    with factory() as session:
        tables = {}
        for name, model in (("calls", Call), ("intervals", IntervalRow)):
            columns = [c for c in model.__table__.columns if c.name not in {"id", "run_id"}]
            tables[name] = [tuple(r) for r in session.execute(select(*columns).order_by(*columns))]
        runs = list(session.scalars(select(IngestRun.id).order_by(IngestRun.id)))
        for run in runs:
            tables[f"rejected by run {runs.index(run)}"] = [tuple(r) for r in session.execute(
                select(RejectedRow.position, RejectedRow.record_key, RejectedRow.field, RejectedRow.reason,
                       RejectedRow.raw).where(RejectedRow.run_id == run).order_by(RejectedRow.position))]
        return tables


@pytest.mark.parametrize(("kind", "name"), [
    ("calls", "calls_october.csv"), ("calls", "calls_corrections.csv"), ("intervals", "intervals_october.csv"),
])
def test_the_identity_profile_stores_what_the_canonical_parser_stores(session_factory, settings, fixtures_dir: Path,
                                                                     kind, name):
    """The same delivery into the same source, first canonical, then through the profile: the second changes
    nothing (the merge compares every stored value) and rejects the same rows with the same reasons. A second
    source would not do for intervals: two sources' figures of one region and period are refused (SPEC §3)."""
    canonical = ingest_file(session_factory, settings, kind, fixtures_dir / name, source_name="both")
    before = stored(session_factory)
    profiled = ingest_file(session_factory, settings, kind, fixtures_dir / name, source_name="both",
                           parser=profile_parser(IDENTITY[kind], settings))
    assert (profiled.rows_read, profiled.rows_rejected) == (canonical.rows_read, canonical.rows_rejected)
    assert (profiled.rows_stored, profiled.rows_updated, profiled.rows_unchanged) == (
        0, 0, canonical.rows_stored + canonical.rows_updated + canonical.rows_unchanged)
    after = stored(session_factory)
    assert before["calls"] or before["intervals"]  # the comparison is of something
    assert after["calls"] == before["calls"] and after["intervals"] == before["intervals"]
    assert after["rejected by run 1"] == after["rejected by run 0"]
    if name == "calls_corrections.csv":
        assert after["rejected by run 0"]  # this file has rejected rows: they are compared too
