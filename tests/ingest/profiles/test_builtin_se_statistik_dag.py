"""The built-in profile se-statistik-dag (Swedish spreadsheet statistics per region and day, issue 14 §2–3): its
sample, as Excel writes it (UTF-8 with a BOM, CRLF, ";", decimal comma, Swedish headers), ingests with the figures
worked out by hand below, on SQLite and PostgreSQL.

Day records need the canonical support of interval_minutes 1440 (SPEC §3 "Coarse statistics", issue 14 §3).

samples/profiles/se-statistik-dag.csv ("Medelväntetid (mm:ss)" → seconds; wait sum = mean × Besvarade):
  line datum      region (as written)      → code  inkommande besvarade avbrutna medel  wait sum
  2    2025-10-30 Region Västerbotten        SE-AC  412        365       45       04:12  365 × 252 =  91980
  3    2025-10-30 Jämtland Härjedalen        SE-Z   198        160       38       06:45  160 × 405 =  64800
  4    2025-10-30 SE-BD                      SE-BD  350        301       49       05:03  301 × 303 =  91203
  5    2025-10-30 Riket                      skipped (national total)
  6    2025-10-31 Region Västerbotten        SE-AC  389        350       39       03:30  350 × 210 =  73500
  7    2025-10-31 Jämtland Härjedalen        SE-Z   205        170       35       07:10  170 × 430 =  73100
  8    2025-10-31 SE-BD                      SE-BD  340        300       40       04:40  300 × 280 =  84000
  9    2025-10-31 Riket                      skipped
  10   2025-11-01 Region Västerbotten        SE-AC  301        280       21       02:05  280 × 125 =  35000
  11   2025-11-01 Jämtland Härjedalen        SE-Z   150        120       30       12:40  120 × 760 =  91200
  12   2025-11-01 SE-BD                      SE-BD  280        250       30       03:20  250 × 200 =  50000
  13   2025-11-01 Totalt                     skipped (grand total)
Line 2 reports 412 incoming but 365 + 45 = 410 answered + abandoned: kept as reported, shown as a note.

Per region and local month (offered = answered + abandoned, SPEC §4; mean_wait = Σ wait sums / Σ answered — the
answered-weighted mean of the days, never a mean of daily means; no abandoned wait, longest wait or service level in
the sheet → mean_wait_all, longest_wait and service_level are unknown):
  SE-AC 2025-10: answered 365+350 = 715, abandoned 45+39 = 84, offered 799 (reported 412+389 = 801);
      answer_rate 715/799; mean_wait (91980+73500)/715 = 165480/715 = 231.44…
  SE-Z  2025-10: answered 330, abandoned 73, offered 403; answer_rate 330/403; mean_wait 137900/330 = 417.87…
  SE-BD 2025-10: answered 601, abandoned 89, offered 690; answer_rate 601/690; mean_wait 175203/601 = 291.51…
  SE-AC 2025-11: 280, 21, 301; answer_rate 280/301; mean_wait 125
  SE-Z  2025-11: 120, 30, 150; answer_rate 0.8; mean_wait 760
  SE-BD 2025-11: 250, 30, 280; answer_rate 250/280; mean_wait 200
  norra 2025-10: answered 1646, abandoned 246, offered 1892; mean_wait 478583/1646; 2025-11: 650, 81, 731;
      mean_wait (35000+91200+50000)/650 = 176200/650
The "Svarsfrekvens" column is not read: the answer rates above are recomputed from the counts.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from app.ingest.parsers import Parsed, ParseOptions
from app.ingest.profiles import load_profiles, profile_parser
from app.kpi.reference import REGIONS
from tests.ingest.profiles.interval_profiles import (
    SAMPLES,
    assert_kpis,
    has_note,
    ingest_profile,
    month_figures,
    offline_settings,
    stored,
)

SAMPLE = SAMPLES / "se-statistik-dag.csv"
MONTHS = ["2025-10", "2025-11"]
HEADER = "Datum;Region;Inkommande samtal;Besvarade;Avbrutna;Svarsfrekvens;Medelväntetid (mm:ss)"
UNKNOWN = {"mean_wait_all": None, "longest_wait": None, "service_level": None, "wait_p50": None, "wait_p90": None}
EXPECTED = {
    "SE-AC/2025-10": {"offered": 799, "answered": 715, "abandoned": 84, "short_abandons": 0, "rejected": 0,
                      "answer_rate": 715 / 799, "mean_wait": 165480 / 715, "abandon_rate": 84 / 799, **UNKNOWN},
    "SE-Z/2025-10": {"offered": 403, "answered": 330, "abandoned": 73, "answer_rate": 330 / 403,
                     "mean_wait": 137900 / 330, **UNKNOWN},
    "SE-BD/2025-10": {"offered": 690, "answered": 601, "abandoned": 89, "answer_rate": 601 / 690,
                      "mean_wait": 175203 / 601, **UNKNOWN},
    "SE-AC/2025-11": {"offered": 301, "answered": 280, "abandoned": 21, "answer_rate": 280 / 301,
                      "mean_wait": 125.0, **UNKNOWN},
    "SE-Z/2025-11": {"offered": 150, "answered": 120, "abandoned": 30, "answer_rate": 0.8, "mean_wait": 760.0,
                     **UNKNOWN},
    "SE-BD/2025-11": {"offered": 280, "answered": 250, "abandoned": 30, "answer_rate": 250 / 280,
                      "mean_wait": 200.0, **UNKNOWN},
    "norra/2025-10": {"offered": 1892, "answered": 1646, "abandoned": 246, "answer_rate": 1646 / 1892,
                      "mean_wait": 478583 / 1646, **UNKNOWN},
    "norra/2025-11": {"offered": 731, "answered": 650, "abandoned": 81, "answer_rate": 650 / 731,
                      "mean_wait": 176200 / 650, **UNKNOWN},
}


def write(path: Path, *rows: str) -> Path:
    """A sheet as Excel saves "CSV UTF-8": a BOM, CRLF."""
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join((HEADER, *rows, "")).encode("utf-8"))
    return path


def test_the_sample_gives_the_hand_computed_figures(session_factory, settings):
    report, parser = ingest_profile(session_factory, settings, "se-statistik-dag", SAMPLE)
    assert (report.rows_read, report.rows_stored, report.rows_rejected, parser.skipped) == (9, 9, 0, 3)
    figures = month_figures(session_factory, settings, MONTHS)
    assert_kpis(figures, EXPECTED)
    assert has_note(figures["SE-AC/2025-10"]["notes"], "state 801 offered", "is 799")
    assert not has_note(figures["SE-Z/2025-10"]["notes"], "offered")


def test_a_day_is_stored_from_local_midnight(session_factory, settings):
    ingest_profile(session_factory, settings, "se-statistik-dag", SAMPLE)
    rows = stored(session_factory)
    first = rows[0]  # SE-AC 2025-10-30: local midnight CET (+1) is 23:00 UTC the day before
    assert (first.region, first.queue, first.interval_start, first.interval_minutes) == (
        "SE-AC", "", datetime(2025, 10, 29, 23, 0, tzinfo=UTC), 1440)
    assert (first.offered, first.answered, first.abandoned, first.abandoned_short, first.rejected) == (
        412, 365, 45, 0, 0)
    assert (first.answered_within_sl, first.sl_seconds) == (0, 0)  # not reported
    assert (first.wait_answered_ms, first.wait_abandoned_ms, first.longest_wait_ms) == (91_980_000, None, None)
    assert {r.region for r in rows} == {"SE-AC", "SE-Z", "SE-BD"}  # Riket and Totalt were skipped


def test_a_day_without_a_mean_wait_leaves_the_months_mean_wait_unknown(session_factory, settings, tmp_path):
    """An empty Medelväntetid makes the day's wait sum unknown: the month's mean wait is then unknown, never a mean
    of the other days alone and never 0; the counts still count. Svarsfrekvens is not read at all."""
    path = write(tmp_path / "dag.csv",
                 "2025-10-01;Region Västerbotten;100;90;10;inte ett tal;03:00",
                 "2025-10-02;Region Västerbotten;100;80;20;80,0 %;")
    report, _ = ingest_profile(session_factory, settings, "se-statistik-dag", path)
    assert (report.rows_stored, report.rows_rejected) == (2, 0)
    kpis = month_figures(session_factory, settings, ["2025-10"])["SE-AC/2025-10"]
    assert (kpis["offered"], kpis["answered"], kpis["mean_wait"]) == (200, 170, None)
    assert has_note(kpis["notes"], "without wait sums")


def test_minutes_of_the_mean_wait_may_pass_59(session_factory, settings, tmp_path):
    path = write(tmp_path / "dag.csv", "2025-10-01;Gotland;40;30;10;75 %;75:30")  # 75 min 30 s = 4530 s
    ingest_profile(session_factory, settings, "se-statistik-dag", path)
    (row,) = stored(session_factory)
    assert (row.region, row.wait_answered_ms) == ("SE-I", 30 * 4530 * 1000)


def test_an_unknown_region_is_rejected_naming_the_line(session_factory, settings, tmp_path):
    path = write(tmp_path / "dag.csv",
                 "2025-10-01;Region Uppsala;10;9;1;90 %;01:00",
                 "2025-10-01;Region Atlantis;10;9;1;90 %;01:00")
    report, _ = ingest_profile(session_factory, settings, "se-statistik-dag", path)
    assert (report.rows_stored, report.rows_rejected) == (1, 1)
    assert (report.rejections[0].position, report.rejections[0].field) == (3, "region")


OFFICIAL = {  # the regions' own names where they differ from "Region " + the SPEC's short name
    "Region Sörmland": "SE-D", "Region Jönköpings län": "SE-F", "Region Kalmar län": "SE-H",
    "Västra Götalandsregionen": "SE-O", "Region Örebro län": "SE-T", "region jämtland härjedalen": "SE-Z",
}


def test_every_region_is_read_by_name_by_region_name_and_by_code():
    """All 21 regions (SPEC §2): "Västerbotten", "Region Västerbotten" and "SE-AC" give SE-AC, and so on."""
    written = {}
    for code, name, _ in REGIONS:
        written |= {name: code, f"Region {name}": code, code: code}
    written |= OFFICIAL
    sheet = "\r\n".join([HEADER] + [f"2025-10-01;{text};10;9;1;90 %;01:00" for text in written]) + "\r\n"
    settings = offline_settings()
    parser = profile_parser(load_profiles(settings).get("se-statistik-dag"), settings)
    options = ParseOptions(known_regions=frozenset(code for code, _, _ in REGIONS),
                           now=datetime(2030, 1, 1, tzinfo=UTC))
    results = list(parser(io.StringIO(sheet), options))
    assert all(isinstance(r, Parsed) for r in results), [r for r in results if not isinstance(r, Parsed)]
    assert [r.record.region for r in results if isinstance(r, Parsed)] == list(written.values())
    assert len({code for code, _, _ in REGIONS}) == 21


def test_the_built_in_loads_and_says_where_it_comes_from():
    profile = load_profiles(offline_settings()).get("se-statistik-dag")
    assert profile.record_kind == "intervals" and profile.builtin and profile.reference is not None
    assert profile.fields["interval_minutes"].constant == "day"
    assert "Svarsfrekvens" not in profile.referenced_columns()  # a ratio: recomputed, never read
