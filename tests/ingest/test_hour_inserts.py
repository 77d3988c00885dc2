"""Issue 15: the hours a delivery of calls opens (no aggregate row yet) are inserted from the delivery's grouped
change as it stands, apart from the hours that move in place: no ON CONFLICT for them and no second grouping of the
change rows (3.4 s of a 200 k-row ingest on PostgreSQL went to that upsert). Both kinds of hour in one delivery,
held against a recompute from scratch, on both databases."""

from __future__ import annotations

import re

from sqlalchemy import event

from app.db.session import make_engine, make_session_factory
from tests.helpers import ingest_text
from tests.ingest.test_merge_reference import CALLS_HEADER, REGIONS, _call_line, _check_against_a_recompute


def _statements_of(settings, text: str, source: str = "calls") -> tuple[list[str], object]:
    engine = make_engine(settings)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: statements.append(" ".join(statement.split())))
    try:
        report = ingest_text(make_session_factory(engine), settings, "calls", text, source=source)
    finally:
        engine.dispose()
    return statements, report


def test_new_hours_are_inserted_as_grouped_and_old_hours_move(settings, session_factory) -> None:
    ingest_text(session_factory, settings, "calls", CALLS_HEADER + "".join(
        _call_line(f"old-{i}", ("SE-AB", 70, "answered", 45 + i, i == 0, 1.5)) for i in range(3)))
    # one old hour (SE-AB at 01:00), three new ones (SE-O at 01:00, both regions at 02:00)
    delivery = CALLS_HEADER + "".join(
        _call_line(f"new-{i}", (REGIONS[i % 2], 70 + 60 * (i % 3 == 0), "answered" if i % 4 else "abandoned",
                                30 + 200 * i, i % 3 == 1, 2.5)) for i in range(24))
    statements, report = _statements_of(settings, delivery)
    assert (report.rows_stored, report.hours_refreshed) == (24, 4)
    # nothing taken out: no hour can need a rebuild, so no mark is looked at
    assert not [s for s in statements if s.startswith("UPDATE touched_hours")]
    for table in ("hourly_aggregates", "hourly_answered_by"):
        writes = [s for s in statements if s.startswith(f"INSERT INTO {table} ")]
        assert len(writes) == 2, writes
        upserts = [s for s in writes if "ON CONFLICT" in s]
        assert len(upserts) == 1, writes  # the hour that had a row
        plain = next(s for s in writes if "ON CONFLICT" not in s)
        assert not re.search(r"\bGROUP BY\b", plain), plain
        # no hour is rebuilt, so every change moves its hour: none is looked up in touched_hours (issue 15)
        assert not [s for s in writes if "touched_hours" in s], writes
    _check_against_a_recompute(session_factory, settings.definitions)


def test_a_correction_still_moves_and_rebuilds_by_the_rules(settings, session_factory) -> None:
    # Two change rows for an hour (the replaced call's, negative, and the new one's): grouped in one upsert. The
    # replaced call holds neither maximum, so the hour moves; its answered-by pair loses its only call (no row left).
    ingest_text(session_factory, settings, "calls", CALLS_HEADER + "".join(
        _call_line(f"c-{i}", ("SE-O", 121 + 5 * i, "answered", 45 + i, i == 1, 1.5)) for i in range(3)),
        source="corr")
    statements, report = _statements_of(settings, CALLS_HEADER + _call_line(
        "c-1", ("SE-O", 130, "abandoned", 700, False, 0.5)) + _call_line("c-9", ("SE-O", 190, "answered", 5, True,
                                                                                0.5)), source="corr")
    assert (report.rows_stored, report.rows_updated) == (1, 1)
    assert not [s for s in statements if s.startswith("DELETE FROM hourly_aggregates")]  # moved, not rebuilt
    writes = [s for s in statements if s.startswith("INSERT INTO hourly_aggregates ")]
    assert any("ON CONFLICT" in s and "GROUP BY" in s for s in writes), writes
    assert [s for s in statements if s.startswith("DELETE FROM hourly_answered_by")]  # the pair left empty
    _check_against_a_recompute(session_factory, settings.definitions)


def test_an_hour_rebuilt_for_its_maximum_moves_its_answered_by_counts(settings, session_factory) -> None:
    # The corrected call held the hour's longest wait, so the hour's row is summed again from ``calls``; its
    # answered-by counts have no maximum and move by their change instead (a rebuild over ``calls`` cost ~10 s per
    # million corrections on SQLite). A pair that loses its only call goes, one that gains its first is made.
    ingest_text(session_factory, settings, "calls", CALLS_HEADER + "".join(
        _call_line(f"m-{i}", ("SE-AB", 121 + 5 * i, "answered", 4000 if i == 0 else 45, i == 0, 1.5))
        for i in range(3)), source="max")
    statements, report = _statements_of(settings, CALLS_HEADER + _call_line(
        "m-0", ("SE-AB", 121, "answered", 30, False, 0.5)) + _call_line("m-1", ("SE-AB", 126, "answered", 45, True,
                                                                                1.5)), source="max")
    assert (report.rows_updated, report.hours_refreshed) == (2, 1)
    assert [s for s in statements if s.startswith("DELETE FROM hourly_aggregates")]  # rebuilt
    rebuilt_by = [s for s in statements if s.startswith("INSERT INTO hourly_answered_by") and "FROM calls" in s]
    assert not rebuilt_by, rebuilt_by
    _check_against_a_recompute(session_factory, settings.definitions)
