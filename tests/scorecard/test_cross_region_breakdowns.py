"""Days and hours of a region carry the calls answered by and for other regions (issue 12, item 13), on both
databases, checked against hand counts.

On the autumn DST day (26 Oct 2025) and the day after, with the answering region named:

    call  caller  arrived (UTC)      local          answered by
    x1    SE-AC   26 Oct 00:10       02:10 +02:00   SE-BD     -> SE-AC by others, SE-BD for others
    x2    SE-AC   26 Oct 01:10       02:10 +01:00   SE-AC     (own: neither)
    x3    SE-AC   26 Oct 01:20       02:20 +01:00   SE-Z      -> SE-AC by others, SE-Z for others
    x4    SE-BD   26 Oct 01:30       02:30 +01:00   SE-AC     -> SE-BD by others, SE-AC for others
    x5    SE-Z    26 Oct 05:00       06:00 +01:00   SE-AC     -> SE-AC for others, in an hour without own calls
    x6    SE-BD   27 Oct 08:00       09:00 +01:00   SE-AC     -> SE-AC for others
    x7    SE-AC   27 Oct 09:00       10:00 +01:00   (unknown) neither

So SE-AC in October: 2 answered by others (x1, x3), 3 answered for others (x4, x5, x6); on the 26th 2 and 2,
on the 27th 0 and 1. A collaboration's figures leave them out (null), as its monthly figures do.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from tests.auth import read_json
from tests.helpers import ingest_text

CALLS = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region\n" + "\n".join([
    "x1,SE-AC,q,2025-10-26T00:10:00Z,answered,2025-10-26T00:11:00Z,,SE-BD",
    "x2,SE-AC,q,2025-10-26T01:10:00Z,answered,2025-10-26T01:11:00Z,,SE-AC",
    "x3,SE-AC,q,2025-10-26T01:20:00Z,answered,2025-10-26T01:21:00Z,,SE-Z",
    "x4,SE-BD,q,2025-10-26T01:30:00Z,answered,2025-10-26T01:31:00Z,,SE-AC",
    "x5,SE-Z,q,2025-10-26T05:00:00Z,answered,2025-10-26T05:01:00Z,,SE-AC",
    "x6,SE-BD,q,2025-10-27T08:00:00Z,answered,2025-10-27T08:01:00Z,,SE-AC",
    "x7,SE-AC,q,2025-10-27T09:00:00Z,answered,2025-10-27T09:01:00Z,,",
]) + "\n"


def fetch(factory: sessionmaker[Session], settings: Settings, *urls: str) -> list[dict[str, Any]]:
    report = ingest_text(factory, settings, "calls", CALLS)
    assert report.rows_rejected == 0
    return read_json(settings, *urls)


def cross(kpis: dict[str, Any]) -> tuple[Any, Any]:
    return kpis["answered_by_other_regions"], kpis["answered_for_other_regions"]


def test_a_regions_hours_carry_calls_answered_by_and_for_other_regions(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ac, bd = fetch(session_factory, settings, "/api/v1/regions/SE-AC/hours?date=2025-10-26",
                   "/api/v1/regions/SE-BD/hours?date=2025-10-26")
    hours = {h["hour_start"]: h for h in ac["hours"]}
    assert cross(hours["2025-10-26T02:00:00+02:00"]["kpis"]) == (1, 0)  # x1
    assert cross(hours["2025-10-26T02:00:00+01:00"]["kpis"]) == (1, 1)  # x3; x4
    six = hours["2025-10-26T06:00:00+01:00"]
    assert cross(six["kpis"]) == (0, 1) and six["has_data"] is False  # x5: no own call that hour
    assert six["kpis"]["offered"] == 0 and six["kpis"]["answer_rate"] is None
    others = [h for key, h in hours.items() if key not in {"2025-10-26T02:00:00+02:00", "2025-10-26T02:00:00+01:00",
                                                            "2025-10-26T06:00:00+01:00"}]
    assert len(others) == 22 and {cross(h["kpis"]) for h in others} == {(0, 0)}  # known zero, never null
    bd_hours = {h["hour_start"]: h for h in bd["hours"]}
    assert cross(bd_hours["2025-10-26T02:00:00+02:00"]["kpis"]) == (0, 1)  # x1, answered by SE-BD
    assert cross(bd_hours["2025-10-26T02:00:00+01:00"]["kpis"]) == (1, 0)  # x4


def test_a_regions_days_sum_to_its_month_and_a_collaboration_stays_null(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    days, scorecard, norra_days, norra_hours = fetch(
        session_factory, settings, "/api/v1/regions/SE-AC/days?month=2025-10", "/api/v1/scorecards/2025-10",
        "/api/v1/collaborations/norra/days?month=2025-10", "/api/v1/collaborations/norra/hours?date=2025-10-26")
    by_date = {d["date"]: d for d in days["days"]}
    assert cross(by_date["2025-10-26"]["kpis"]) == (2, 2)
    assert cross(by_date["2025-10-27"]["kpis"]) == (0, 1)
    assert cross(by_date["2025-10-01"]["kpis"]) == (0, 0)
    assert by_date["2025-10-26"]["hours_with_data"] == 2  # the 06:00 hour holds no call of SE-AC's own
    month = next(s for s in scorecard["scopes"] if s["scope"] == "SE-AC")
    assert cross(month["kpis"]) == (2, 3)
    assert (sum(d["kpis"]["answered_by_other_regions"] for d in days["days"]),
            sum(d["kpis"]["answered_for_other_regions"] for d in days["days"])) == cross(month["kpis"])
    norra = next(s for s in scorecard["scopes"] if s["scope"] == "norra")
    assert cross(norra["kpis"]) == (None, None)  # inside a collaboration this is no help from outside
    assert {cross(d["kpis"]) for d in norra_days["days"]} == {(None, None)}
    assert {cross(h["kpis"]) for h in norra_hours["hours"]} == {(None, None)}
