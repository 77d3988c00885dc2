"""The source gauges read plain columns, not ``Source`` objects (issue 15: the objects cost twice the statement): every
family still says what the stored sources say, field by field, for sources with every field set and with none."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client.samples import Sample
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import Source
from app.metrics.collector import RESULTS, VptCollector

MOMENTS = [datetime(2025, 10, 7, 8, 15, 30, 250000, tzinfo=UTC), datetime(2025, 10, 8, 9, tzinfo=UTC),
           datetime(2025, 10, 9, 23, 59, 59, tzinfo=UTC)]


def _expected(source: Source) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """What each family holds for ``source``, from the ORM object (the reference); labels sorted by name."""
    label = (("source", source.name),)
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for name, value in (("vpt_source_last_success_timestamp_seconds", source.last_success_at),
                        ("vpt_source_last_error_timestamp_seconds", source.last_error_at),
                        ("vpt_source_delivered_until_timestamp_seconds", source.delivered_until)):
        if value is not None:
            out[(name, label)] = value.timestamp()
    for name, number in (("vpt_source_records_behind", source.records_behind),
                         ("vpt_ingest_last_run_duration_seconds", source.last_run_seconds)):
        if number is not None:
            out[(name, label)] = float(number)
    out[("vpt_source_consecutive_failures", label)] = source.consecutive_failures
    if source.kind == "http" and source.config and "cadence_seconds" in source.config:
        out[("vpt_source_cadence_seconds", label)] = float(source.config["cadence_seconds"])
    for result in RESULTS:
        out[("vpt_ingest_rows_total", (("result", result), *label))] = getattr(source, f"rows_{result}_total")
    for status in ("succeeded", "rejected", "failed"):
        out[("vpt_ingest_runs_total", (*label, ("status", status)))] = getattr(source, f"runs_{status}_total")
    out[("vpt_ingest_warnings_total", label)] = source.warnings_total
    return out


def _key(sample: Sample) -> tuple[str, tuple[tuple[str, str], ...]]:
    return sample.name, tuple(sorted(sample.labels.items()))


def test_the_source_gauges_equal_the_stored_sources_field_by_field(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with session_factory() as session:
        session.add_all([
            Source(name="a-pull", kind="http", config={"cadence_seconds": 90, "url": "http://127.0.0.1:1/x"},
                   last_success_at=MOMENTS[0], last_error_at=MOMENTS[1], delivered_until=MOMENTS[2],
                   records_behind=12, last_run_seconds=1.25, consecutive_failures=3, rows_read_total=101,
                   rows_stored_total=90, rows_updated_total=5, rows_unchanged_total=4, rows_rejected_total=2,
                   runs_succeeded_total=7, runs_failed_total=3, runs_rejected_total=1, warnings_total=6),
            Source(name="b-file", kind="file"),  # every optional field empty: those gauges absent
            Source(name="c-http", kind="http", config={"url": "http://127.0.0.1:1/y"}),  # no cadence
        ])
        session.commit()
    with session_factory() as session:
        expected: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for source in session.scalars(select(Source).order_by(Source.name)):
            expected.update(_expected(source))
        families = list(VptCollector(session_factory, settings)._sources(session))
    got = {_key(sample): sample.value for family in families for sample in family.samples}
    assert got == expected
    assert all(type(got[key]) is type(expected[key]) for key in got)  # ints stay ints: the same text
    assert [family.name for family in families] == [
        "vpt_source_last_success_timestamp_seconds", "vpt_source_last_error_timestamp_seconds",
        "vpt_source_delivered_until_timestamp_seconds", "vpt_source_consecutive_failures",
        "vpt_source_records_behind", "vpt_source_cadence_seconds", "vpt_ingest_rows", "vpt_ingest_runs",
        "vpt_ingest_last_run_duration_seconds", "vpt_ingest_warnings"]
    assert [sample.labels["source"] for sample in families[6].samples][::len(RESULTS)] == ["a-pull", "b-file",
                                                                                          "c-http"]
