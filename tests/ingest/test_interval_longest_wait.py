"""An interval's longest wait is one call's wait, part of its wait sums: one past all of them together is wrong,
dropped with a warning (SPEC §3: bad input never passes silently), the row kept."""

from __future__ import annotations

import io

from app.ingest.parsers import Parsed, ParseOptions, parse_intervals

HEADER = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
          "answered_within_sl,sl_seconds,wait_answered_seconds_sum,wait_abandoned_seconds_sum,longest_wait_seconds\n")


def parsed(rows: str) -> list[Parsed]:
    results = list(parse_intervals(io.StringIO(HEADER + rows), "csv", ParseOptions(frozenset({"SE-U"}))))
    assert all(isinstance(r, Parsed) for r in results)
    return results  # type: ignore[return-value]


def test_a_longest_wait_past_all_waits_together_is_dropped_with_a_warning():
    impossible, possible, rounded, unknown = parsed(
        "SE-U,q,2025-08-04T12:00:00Z,15,3,2,1,0,0,2,600,100,10,50000\n"   # 50000 s > 110 s of waits in all
        "SE-U,q,2025-08-04T12:15:00Z,15,3,2,1,0,0,2,600,100,10,90\n"
        "SE-U,q,2025-08-04T12:30:00Z,15,3,2,1,0,0,2,600,100,10,111\n"     # a second of rounding is let through
        "SE-U,q,2025-08-04T12:45:00Z,15,3,2,1,0,0,2,600,100,,5000\n")     # no abandoned sum: nothing to hold it to
    assert impossible.record.longest_wait_seconds is None
    [warning] = impossible.warnings
    assert warning.field == "longest_wait_seconds" and "longer than all waits of the interval together (110 s)" \
        in warning.reason
    assert possible.record.longest_wait_seconds == 90 and not possible.warnings
    assert rounded.record.longest_wait_seconds == 111 and not rounded.warnings
    assert unknown.record.longest_wait_seconds == 5000 and not unknown.warnings
