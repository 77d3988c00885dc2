"""The reference cases of ../shared/fixtures, reproduced exactly on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from app.config import Settings
from app.db.models import RejectedRow
from tests.helpers import assert_figures_match, figures, ingest

MONTHS = ["2025-10", "2025-11"]


def _expected(fixtures_dir: Path, name: str) -> dict:
    return json.loads((fixtures_dir / name).read_text())


def test_october(session_factory, settings, fixtures_dir):
    ingest(session_factory, settings, "calls", fixtures_dir / "calls_october.csv")
    ingest(session_factory, settings, "intervals", fixtures_dir / "intervals_october.csv")
    expected = _expected(fixtures_dir, "expected_october.json")
    assert_figures_match(figures(session_factory, settings, MONTHS), expected["figures"])


def test_after_corrections(session_factory, settings, fixtures_dir):
    ingest(session_factory, settings, "calls", fixtures_dir / "calls_october.csv")
    ingest(session_factory, settings, "intervals", fixtures_dir / "intervals_october.csv")
    report = ingest(session_factory, settings, "calls", fixtures_dir / "calls_corrections.csv")
    expected = _expected(fixtures_dir, "expected_after_corrections.json")
    assert_figures_match(figures(session_factory, settings, MONTHS), expected["figures"])

    # c001 identical, c002 corrected, six rejected; every row read is accounted for
    assert (report.rows_read, report.rows_stored, report.rows_updated, report.rows_unchanged,
            report.rows_rejected) == (8, 0, 1, 1, 6)
    with session_factory() as session:
        kept = session.scalars(select(RejectedRow).where(RejectedRow.run_id == report.run_id)
                               .order_by(RejectedRow.position)).all()
    assert len(kept) == len(expected["rejected"])
    for row, want in zip(kept, expected["rejected"], strict=True):
        assert row.position == want["line"]
        assert row.record_key == want["call_id"]
        assert want["reason"] in row.reason, f"{row.reason!r} does not say {want['reason']!r}"
        assert row.field, "the rejection names the field"
        assert row.raw.startswith(want["call_id"] + ","), "the raw row is kept"


def test_short_abandon_threshold(database_url, fixtures_dir):
    settings = Settings(database_url=database_url, short_abandon_seconds=5, _env_file=None)  # type: ignore[call-arg]
    from app.db.session import make_engine, make_session_factory

    engine = make_engine(settings)
    factory = make_session_factory(engine)
    ingest(factory, settings, "calls", fixtures_dir / "calls_october.csv")
    ingest(factory, settings, "intervals", fixtures_dir / "intervals_october.csv")
    expected = _expected(fixtures_dir, "expected_short_abandon_5s.json")
    binding = ["offered", "abandoned", "short_abandons", "answer_rate", "abandon_rate"]
    assert_figures_match(figures(factory, settings, MONTHS), expected["figures"], keys=binding)
    engine.dispose()


def test_short_abandon_threshold_applied_by_recompute(session_factory, settings, database_url, fixtures_dir):
    """Changing the setting later is applied by recomputing from stored records (SPEC §4)."""
    from app.db.session import make_engine, make_session_factory, transaction
    from app.ingest.service import recompute

    ingest(session_factory, settings, "calls", fixtures_dir / "calls_october.csv")
    ingest(session_factory, settings, "intervals", fixtures_dir / "intervals_october.csv")
    changed = Settings(database_url=database_url, short_abandon_seconds=5, _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(changed)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        recompute(session, changed.definitions)
    expected = _expected(fixtures_dir, "expected_short_abandon_5s.json")
    binding = ["offered", "abandoned", "short_abandons", "answer_rate", "abandon_rate"]
    assert_figures_match(figures(factory, changed, MONTHS), expected["figures"], keys=binding)
    engine.dispose()
