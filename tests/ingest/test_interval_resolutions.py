"""Fine interval figures of one source in two resolutions (SPEC §3: one region, queue and period never mixes
resolutions): a 60-minute row and the 15-minute rows of its hour would both count, and their natural keys (the start)
differ, so nothing but these checks stops them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.db.models import IntervalRow, RejectedRow
from app.scorecard.service import monthly_scorecard
from tests.helpers import LATER, ingest_text

HEADER = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
          "answered_within_sl,sl_seconds\n")


def _row(start: str, minutes: int, offered: int) -> str:
    return f"SE-U,1177,{start},{minutes},{offered},{offered},0,0,0,{offered},600\n"


Q15 = HEADER + "".join(_row(f"2025-08-04T10:{m:02d}:00", 15, 10) for m in (0, 15, 30, 45))
Q60 = HEADER + _row("2025-08-04T10:00:00", 60, 40)
PURGE_HINT = "(`vpt sources remove platform --purge`) and deliver them again"


def _ingest(factory, settings, text: str):
    return ingest_text(factory, settings, "intervals", text, source="platform")


def _offered(factory, settings, month: date = date(2025, 8, 1)) -> int:
    with factory() as session:
        entry = monthly_scorecard(session, month, settings.definitions, LATER).scope("region", "SE-U")
    return 0 if entry is None else entry.kpis.offered


def _rejected(factory, run_id: int) -> list[RejectedRow]:
    with factory() as session:
        return list(session.scalars(select(RejectedRow).where(RejectedRow.run_id == run_id)
                                    .order_by(RejectedRow.position)))


def _stored(factory) -> list[tuple[str, int, int]]:
    with factory() as session:
        rows = session.execute(select(IntervalRow.interval_start, IntervalRow.interval_minutes, IntervalRow.offered)
                               .order_by(IntervalRow.interval_start)).all()
    return [(start.isoformat(), minutes, offered) for start, minutes, offered in rows]


def _counts(report) -> tuple[int, int, int, int]:
    return report.rows_stored, report.rows_updated, report.rows_unchanged, report.rows_rejected


def test_an_hour_over_its_stored_quarters_is_refused_naming_them(session_factory, settings):
    assert _counts(_ingest(session_factory, settings, Q15)) == (4, 0, 0, 0)
    report = _ingest(session_factory, settings, Q60)
    assert _counts(report) == (0, 0, 0, 1)
    [row] = _rejected(session_factory, report.run_id)
    assert (row.position, row.field) == (2, "interval_minutes")
    assert ("60-minute interval figures overlap the 15-minute interval figures of source 'platform' for "
            "2025-08-04T10:15:00+02:00, already stored") in row.reason
    assert "deliver the hour as 15-minute interval figures" in row.reason and PURGE_HINT in row.reason
    assert row.raw.startswith("SE-U,1177,2025-08-04T08:00:00+00:00,60,40,")
    assert _offered(session_factory, settings) == 40  # not 70
    assert [m for _, m, _ in _stored(session_factory)] == [15, 15, 15, 15]


def test_quarters_over_a_stored_hour_are_refused_whole(session_factory, settings):
    """The 10:00 quarter alone is a correction of the stored hour's key, but storing it while its three siblings are
    refused would leave the hour with a quarter of its calls: it is refused too, saying how to change resolution."""
    _ingest(session_factory, settings, Q60)
    report = _ingest(session_factory, settings, Q15)
    assert _counts(report) == (0, 0, 0, 4)
    first, *others = _rejected(session_factory, report.run_id)
    assert first.position == 2 and "15-minute interval figures would replace the 60-minute interval figures of " \
        "source 'platform' for 2025-08-04T10:00:00+02:00" in first.reason and PURGE_HINT in first.reason
    assert [r.position for r in others] == [3, 4, 5]
    assert all(r.field == "interval_minutes" and "overlap the 60-minute interval figures of source 'platform' for "
               "2025-08-04T10:00:00+02:00, already stored" in r.reason for r in others)
    assert _stored(session_factory) == [("2025-08-04T08:00:00+00:00", 60, 40)]
    assert _offered(session_factory, settings) == 40


def test_one_file_mixing_an_hour_and_a_quarter_refuses_the_later_line(session_factory, settings):
    mixed = HEADER + _row("2025-08-05T10:00:00", 60, 40) + _row("2025-08-05T10:15:00", 15, 10)
    report = _ingest(session_factory, settings, mixed)
    assert _counts(report) == (1, 0, 0, 1)
    [row] = _rejected(session_factory, report.run_id)
    assert (row.position, row.field) == (3, "interval_minutes")
    assert row.reason.startswith("15-minute interval figures overlap the 60-minute interval figures on line 2 of "
                                 "this delivery for the same region and queue")
    assert _offered(session_factory, settings) == 40  # not 50
    reverse = HEADER + _row("2025-08-06T10:15:00", 15, 10) + _row("2025-08-06T10:00:00", 60, 40)
    report = _ingest(session_factory, settings, reverse)
    assert _counts(report) == (1, 0, 0, 1)
    [row] = _rejected(session_factory, report.run_id)
    assert row.position == 3 and "60-minute interval figures overlap the 15-minute interval figures on line 2" \
        in row.reason
    assert _offered(session_factory, settings) == 50


def test_a_line_is_not_refused_for_overlapping_a_refused_line(session_factory, settings):
    """The 60-minute row is refused against the stored quarters; the re-sent quarter after it then stands alone."""
    _ingest(session_factory, settings, Q15)
    report = _ingest(session_factory, settings, Q60 + _row("2025-08-04T10:15:00", 15, 11))
    assert _counts(report) == (0, 1, 0, 1)
    assert [r.position for r in _rejected(session_factory, report.run_id)] == [2]
    assert _offered(session_factory, settings) == 41


def test_corrections_and_adjacent_rows_are_stored_beside_a_refused_overlap(session_factory, settings):
    _ingest(session_factory, settings, Q15)
    delivery = HEADER + (_row("2025-08-04T10:00:00", 15, 12)  # a correction of a stored key, same length
                         + _row("2025-08-04T09:45:00", 15, 5)  # ends where the hour starts
                         + _row("2025-08-04T11:00:00", 60, 7)  # starts where the last quarter ends
                         + _row("2025-08-04T10:00:00", 30, 20)  # a new length over the stored 10:15
                         + _row("2025-08-04T11:00:00", 60, 8))  # a repeated key: the last occurrence wins
    report = _ingest(session_factory, settings, delivery)
    assert _counts(report) == (2, 2, 0, 1)  # the repeat counts as updating its previous occurrence, as today
    [row] = _rejected(session_factory, report.run_id)
    assert row.position == 5 and "30-minute interval figures overlap the 15-minute interval figures of source " \
        "'platform' for 2025-08-04T10:15:00+02:00" in row.reason
    assert _offered(session_factory, settings) == 12 + 30 + 5 + 8
    alone = HEADER + _row("2025-08-07T10:00:00", 60, 40)
    _ingest(session_factory, settings, alone)
    shorter = _ingest(session_factory, settings, HEADER + _row("2025-08-07T10:00:00", 30, 25))
    assert _counts(shorter) == (0, 1, 0, 0)  # a plain correction of a key's length overlaps nothing else


def test_re_running_changes_nothing(session_factory, settings):
    _ingest(session_factory, settings, Q15)
    refused = _ingest(session_factory, settings, Q60)
    before = _stored(session_factory)
    assert _counts(_ingest(session_factory, settings, Q15)) == (0, 0, 4, 0)
    again = _ingest(session_factory, settings, Q60)
    assert _counts(again) == _counts(refused) == (0, 0, 0, 1)
    assert [r.reason for r in _rejected(session_factory, again.run_id)] == \
        [r.reason for r in _rejected(session_factory, refused.run_id)]
    assert _stored(session_factory) == before and _offered(session_factory, settings) == 40


def test_the_repeated_autumn_hour_is_two_hours(session_factory, settings):
    """02:00 local on 2025-10-26 happens twice (first summer, then winter time): two 60-minute rows of the same wall
    time are two UTC hours and do not overlap; a quarter inside the second is refused naming its line."""
    autumn = HEADER + (_row("2025-10-26T02:00:00", 60, 6) + _row("2025-10-26T02:00:00", 60, 4)
                       + _row("2025-10-26T02:30:00+01:00", 15, 1))
    report = _ingest(session_factory, settings, autumn)
    assert _counts(report) == (2, 0, 0, 1)
    [row] = _rejected(session_factory, report.run_id)
    assert row.position == 4 and "on line 3 of this delivery" in row.reason
    assert _stored(session_factory) == [("2025-10-26T00:00:00+00:00", 60, 6), ("2025-10-26T01:00:00+00:00", 60, 4)]
    later = _ingest(session_factory, settings, HEADER + _row("2025-10-26T02:15:00+02:00", 15, 1)
                    + _row("2025-10-26T02:00:00+01:00", 60, 5))
    assert _counts(later) == (0, 1, 0, 1)
    [row] = _rejected(session_factory, later.run_id)
    assert row.position == 2 and "for 2025-10-26T02:00:00+02:00, already stored" in row.reason
    assert _offered(session_factory, settings, date(2025, 10, 1)) == 11
