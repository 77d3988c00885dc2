"""Figures a person can check by hand, for the web view's tests: hourly interval records of two Norra regions.

Every hour from 1 September 2025 to the end of 14 October 2025 (local time):

* SE-AC Västerbotten: 10 offered, 8 answered (each waited 2:00), 2 abandoned → 80,0 %, 2:00: answer rate missed,
  mean wait met;
* SE-BD Norrbotten: 10 offered, 9 answered (each waited 11:40), 1 abandoned → 90,0 %, 11:40: answer rate met,
  mean wait missed;
* norra (their sum; SE-Z and SE-Y have no data): 17 of 20 answered → 85,0 %, exactly on target: met.

``NOW`` is the first moment of 15 October (local): October is in progress with 14 full days, and the forecast
has the four weeks of history it samples.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from tests.helpers import ingest_text

NOW = datetime(2025, 10, 14, 22, 0, tzinfo=UTC)  # 2025-10-15 00:00 in Stockholm (CEST)
HEADER = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
          "answered_within_sl,sl_seconds,wait_answered_seconds_sum,wait_abandoned_seconds_sum")
#: region -> (offered, answered, abandoned, answered within 10 min, wait of each answered call in s)
HOURLY = {"SE-AC": (10, 8, 2, 8, 120), "SE-BD": (10, 9, 1, 0, 700)}


def intervals_csv() -> str:
    lines = [HEADER]
    hour = datetime(2025, 9, 1, 0, 0)  # naive: Stockholm local time
    end = datetime(2025, 10, 15, 0, 0)
    while hour < end:
        for region, (offered, answered, abandoned, within, wait) in HOURLY.items():
            lines.append(f"{region},vpt,{hour:%Y-%m-%dT%H:%M:%S},60,{offered},{answered},{abandoned},0,0,"
                         f"{within},600,{answered * wait},{abandoned * 30}")
        hour += timedelta(hours=1)
    return "\n".join(lines) + "\n"


def load(factory: sessionmaker[Session], settings: Settings) -> None:
    report = ingest_text(factory, settings, "intervals", intervals_csv(), origin="web-test.csv")
    assert report.rows_rejected == 0 and report.rows_stored == 2 * 24 * 44
