"""A constructed history for the staffing tests (see tests/staffing/test_service.py's docstring)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.kpi.localtime import STOCKHOLM

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"
THURSDAYS = [date(2025, 2, 20), date(2025, 2, 27), date(2025, 3, 6), date(2025, 3, 13)]
NOW = datetime(2025, 3, 20, 10, 0, tzinfo=STOCKHOLM).astimezone(UTC)
THETA = 40 / (120 * 120 + 40 * 300)  # abandons over every caller's wait (seconds) in slot Thursday 12


def calls_csv(region: str = "SE-Z", per_hour: int = 40) -> str:
    rows = []
    for day in THURSDAYS:
        for hour in (12, 13):
            for n in range(per_hour):
                arrived = (datetime(day.year, day.month, day.day, hour, tzinfo=STOCKHOLM).astimezone(UTC)
                           + timedelta(seconds=n * 3600 // per_hour))
                call = f"{region}-{day:%m%d}-{hour}-{n}"
                if n < per_hour * 3 // 4:
                    rows.append(f"{call},{region},q,{arrived.isoformat()},answered,"
                                f"{(arrived + timedelta(seconds=120)).isoformat()},,,400,170")
                else:
                    rows.append(f"{call},{region},q,{arrived.isoformat()},abandoned,,"
                                f"{(arrived + timedelta(seconds=300)).isoformat()},,,")
    return HEADER + "\n".join(rows) + "\n"
