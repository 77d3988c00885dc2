"""The built-in profile se-statistik-intervall (Swedish spreadsheet statistics per region and hour, issue 14 §2):
its sample (UTF-8 with a BOM, CRLF, ";", "Datum" + "Tid") ingests with the figures worked out by hand below, on
SQLite and PostgreSQL.

samples/profiles/se-statistik-intervall.csv (local times, CEST +2; 60-minute rows, the profile's length):
  line datum      tid   region (as written)  → code  inkommande besvarade avbrutna medel  wait sum
  2    2025-10-07 08:00 Region Norrbotten      SE-BD  42         38        4       03:15  38 × 195 =  7410
  3    2025-10-07 08:00 Västernorrland         SE-Y   30         27        3       02:10  27 × 130 =  3510
  4    2025-10-07 08:00 Totalt                 skipped
  5    2025-10-07 09:00 Region Norrbotten      SE-BD  51         44        7       05:40  44 × 340 = 14960
  6    2025-10-07 09:00 Västernorrland         SE-Y   36         30        6       04:05  30 × 245 =  7350
  7    2025-10-07 09:00 Totalt                 skipped
  SE-BD 2025-10: answered 82, abandoned 11, offered 93; answer_rate 82/93; mean_wait (7410+14960)/82 = 22370/82
  SE-Y  2025-10: answered 57, abandoned 9, offered 66; answer_rate 57/66; mean_wait (3510+7350)/57 = 10860/57
  norra 2025-10: answered 139, abandoned 20, offered 159; mean_wait 33230/139
No abandoned wait, longest wait or service level in the sheet: those are unknown. Hourly rows: no percentiles either
(interval data, SPEC §5).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.ingest.profiles.interval_profiles import (
    SAMPLES,
    assert_kpis,
    ingest_profile,
    month_figures,
    stored,
    with_user_profiles,
)

SAMPLE = SAMPLES / "se-statistik-intervall.csv"
UNKNOWN = {"mean_wait_all": None, "longest_wait": None, "service_level": None, "wait_p50": None, "wait_p90": None}
EXPECTED = {
    "SE-BD/2025-10": {"offered": 93, "answered": 82, "abandoned": 11, "rejected": 0, "answer_rate": 82 / 93,
                      "mean_wait": 22370 / 82, **UNKNOWN},
    "SE-Y/2025-10": {"offered": 66, "answered": 57, "abandoned": 9, "rejected": 0, "answer_rate": 57 / 66,
                     "mean_wait": 10860 / 57, **UNKNOWN},
    "norra/2025-10": {"offered": 159, "answered": 139, "abandoned": 20, "answer_rate": 139 / 159,
                      "mean_wait": 33230 / 139, **UNKNOWN},
}


def test_the_sample_gives_the_hand_computed_figures(session_factory, settings):
    report, parser = ingest_profile(session_factory, settings, "se-statistik-intervall", SAMPLE)
    assert (report.rows_read, report.rows_stored, report.rows_rejected, parser.skipped) == (4, 4, 0, 2)
    assert_kpis(month_figures(session_factory, settings, ["2025-10"]), EXPECTED)
    first = stored(session_factory)[0]  # SE-BD 2025-10-07 08:00 CEST
    assert (first.interval_start, first.interval_minutes, first.wait_answered_ms) == (
        datetime(2025, 10, 7, 6, 0, tzinfo=UTC), 60, 7_410_000)


def test_an_operator_sets_the_interval_length_by_extending_it(session_factory, settings, tmp_path: Path):
    """The length is the profile's, not the sheet's: a sheet of quarter hours extends the built-in."""
    quarter = with_user_profiles(settings, tmp_path / "profiles", kvart="""
[profile]
name = "kvart"
title = "Kvartsstatistik"
extends = "se-statistik-intervall"

[fields]
interval_minutes = { value = 15 }
""")
    sheet = tmp_path / "kvart.csv"
    sheet.write_text("Datum;Tid;Region;Inkommande samtal;Besvarade;Avbrutna;Medelväntetid (mm:ss)\n"
                     "2025-10-07;08:15;Region Norrbotten;12;10;2;01:30\n", encoding="utf-8")
    report, _ = ingest_profile(session_factory, quarter, "kvart", sheet)
    assert (report.rows_stored, report.rows_rejected) == (1, 0)
    (row,) = stored(session_factory)
    assert (row.interval_start, row.interval_minutes, row.wait_answered_ms) == (
        datetime(2025, 10, 7, 6, 15, tzinfo=UTC), 15, 900_000)
    # the built-in's own 60 minutes refuse the unaligned quarter hour instead of misfiling it
    refused, _ = ingest_profile(session_factory, settings, "se-statistik-intervall", sheet)
    assert (refused.rows_stored, refused.rows_rejected) == (0, 1)
    assert refused.rejections[0].field == "interval_start"
