"""The pure core reproduces the independent reference figures of ../shared/fixtures/ (no database).

The CSVs are read here with the csv module only, so these tests check the counting and formulas, not
the project's parsers: rows the expected file lists as rejected are skipped by call id.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

from app.kpi import (
    CallRecord,
    Counts,
    Definitions,
    IntervalRecord,
    Outcome,
    compute_kpis,
    counts_from_call,
    counts_from_interval,
    sum_counts,
)
from app.kpi.localtime import FallBackResolver, floor_hour, local_day_bounds, local_month_of

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
NORRA = ("SE-BD", "SE-AC", "SE-Z", "SE-Y")
COUNT_KEYS = ("offered", "answered", "abandoned", "short_abandons", "rejected",
              "answered_by_other_regions", "answered_for_other_regions")

pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"{FIXTURES} not present")


def _time(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _num(text: str) -> float | None:
    return float(text) if text else None


def read_calls(name: str, skip: frozenset[str] | set[str] = frozenset()) -> dict[str, CallRecord]:
    calls: dict[str, CallRecord] = {}
    with (FIXTURES / name).open(newline="") as f:
        for row in csv.DictReader(f):
            if row["call_id"] in skip:
                continue
            calls[row["call_id"]] = CallRecord(  # a later row with the same id replaces the earlier
                call_id=row["call_id"],
                region=row["region"],
                queue=row["queue"] or None,
                arrived_at=_time(row["arrived_at"]),
                outcome=Outcome(row["outcome"]),
                answered_at=_time(row["answered_at"]),
                ended_at=_time(row["ended_at"]),
                answered_by_region=row["answered_by_region"] or None,
                talk_seconds=_num(row["talk_seconds"]),
                wrap_seconds=_num(row["wrap_seconds"]),
            )
    return calls


def read_intervals() -> list[IntervalRecord]:
    resolver = FallBackResolver(repeat_is_second=True)
    rows: list[IntervalRecord] = []
    with (FIXTURES / "intervals_october.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            start = resolver.to_utc(datetime.fromisoformat(row["interval_start"]), (row["region"], row["queue"]))
            ints = {k: int(row[k]) for k in ("interval_minutes", "offered", "answered", "abandoned",
                                             "abandoned_short", "rejected", "answered_within_sl", "sl_seconds")}
            rows.append(IntervalRecord(
                region=row["region"], queue=row["queue"], interval_start=start, **ints,
                wait_answered_seconds_sum=_num(row["wait_answered_seconds_sum"]),
                wait_abandoned_seconds_sum=_num(row["wait_abandoned_seconds_sum"]),
                longest_wait_seconds=_num(row["longest_wait_seconds"]),
                talk_seconds_sum=_num(row["talk_seconds_sum"]),
                wrap_seconds_sum=_num(row["wrap_seconds_sum"]),
            ))
    return rows


def month_counts(calls: list[CallRecord], rows: list[IntervalRecord], d: Definitions) -> dict[str, Counts]:
    """Counts per REGION/YYYY-MM: every record in the caller's local month of arrival."""
    parts: dict[str, list[Counts]] = defaultdict(list)
    for call in calls:
        month = local_month_of(call.arrived_at).strftime("%Y-%m")
        parts[f"{call.region}/{month}"].append(counts_from_call(call, d))
        if call.outcome is Outcome.ANSWERED and call.answered_by_region not in (None, call.region):
            parts[f"{call.answered_by_region}/{month}"].append(Counts(answered_for_other_regions=1))
    for row in rows:
        month = local_month_of(row.interval_start).strftime("%Y-%m")
        parts[f"{row.region}/{month}"].append(counts_from_interval(row, d))
    return {key: sum_counts(items) for key, items in parts.items()}


def figures(counts: dict[str, Counts]) -> dict[str, dict]:
    out = {key: compute_kpis(c).as_dict() for key, c in counts.items()}
    months = {key.split("/")[1] for key in counts}
    for month in months:
        norra = sum_counts([c for key, c in counts.items() if key in {f"{r}/{month}" for r in NORRA}])
        out[f"norra/{month}"] = compute_kpis(norra, cross_region=False).as_dict()
    return out


def assert_figures(got: dict[str, dict], expected: dict[str, dict], keys: tuple[str, ...] | None = None) -> None:
    for scope, want in expected.items():
        assert scope in got, scope
        for kpi, value in want.items():
            if keys is not None and kpi not in keys:
                continue
            actual = got[scope][kpi]
            if value is None or kpi in COUNT_KEYS:
                assert actual == value, f"{scope} {kpi}: {actual} != {value}"
            else:
                assert actual == pytest.approx(value, abs=1e-6), f"{scope} {kpi}: {actual} != {value}"


def _expected(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_october() -> None:
    calls = read_calls("calls_october.csv")
    got = figures(month_counts(list(calls.values()), read_intervals(), Definitions()))
    assert_figures(got, _expected("expected_october.json")["figures"])


def test_after_corrections() -> None:
    expected = _expected("expected_after_corrections.json")
    rejected_ids = {r["call_id"] for r in expected["rejected"]}
    calls = read_calls("calls_october.csv")
    corrections = read_calls("calls_corrections.csv", skip=rejected_ids)
    assert set(corrections) == {"c001", "c002"}
    assert corrections["c001"] == calls["c001"]  # the identical duplicate
    calls.update(corrections)  # c002 now answered at 08:12
    got = figures(month_counts(list(calls.values()), read_intervals(), Definitions()))
    assert_figures(got, expected["figures"])


def test_short_abandon_5s_binding_figures() -> None:
    calls = read_calls("calls_october.csv")
    got = figures(month_counts(list(calls.values()), read_intervals(), Definitions(short_abandon_seconds=5)))
    binding = ("offered", "abandoned", "short_abandons", "answer_rate", "abandon_rate")
    assert_figures(got, _expected("expected_short_abandon_5s.json")["figures"], binding)


def test_autumn_dst_day() -> None:
    day_start, day_end = local_day_bounds(date(2025, 10, 26))
    d = Definitions()
    rows = [r for r in read_intervals() if day_start <= r.interval_start < day_end and r.region == "SE-Z"]
    k = compute_kpis(sum_counts([counts_from_interval(r, d) for r in rows]))
    assert (k.offered, k.answered, k.abandoned) == (40, 34, 6)  # 10 rows of 4 offered
    assert float(k.answer_rate) == 0.85  # 34 / 40
    assert float(k.mean_wait) == pytest.approx(205.882353, abs=1e-6)  # (6 * 900 + 4 * 400) / 34 = 7000 / 34
    assert len({floor_hour(r.interval_start) for r in rows}) == 4  # 01, 02 summer, 02 winter, 03
    se_ac = [c for c in read_calls("calls_october.csv").values()
             if c.region == "SE-AC" and day_start <= c.arrived_at < day_end]
    k_ac = compute_kpis(sum_counts([counts_from_call(c, d) for c in se_ac]))
    assert k_ac.answered == 2  # c006, c007
    assert k_ac.mean_wait == 330  # (60 + 600) / 2
