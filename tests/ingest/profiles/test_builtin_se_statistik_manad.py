"""The built-in profile se-statistik-manad (Swedish spreadsheet statistics per region and calendar month, issue 14
§2–3): its sample (UTF-8 with a BOM, CRLF, ";", "Månad" YYYY-MM, the header variant "Besvarade samtal") ingests
with the figures worked out by hand below, on SQLite and PostgreSQL.

Month records need the canonical support of interval_minutes "month" (SPEC §3 "Coarse statistics", issue 14 §3).

samples/profiles/se-statistik-manad.csv ("Medelväntetid (mm:ss)" → seconds; wait sum = mean × Besvarade samtal):
  line månad   region (as written)          → code  inkommande besvarade avbrutna medel  wait sum
  2    2025-10 Region Stockholm               SE-AB  61234      52010     9224     08:41  52010 × 521 = 27097210
  3    2025-10 Västra Götalandsregionen       SE-O   48120      42300     5820     06:05  42300 × 365 = 15439500
  4    2025-10 Region Jämtland Härjedalen     SE-Z    5980       5010      970     07:44   5010 × 464 =  2324640
  5    2025-10 Riket                          skipped
  6    2025-11 Region Stockholm               SE-AB  58002      50555     7447     07:02  50555 × 422
  7    2025-11 Västra Götalandsregionen       SE-O   45555      40100     5455     05:48  40100 × 348
  8    2025-11 SE-Z                           SE-Z    5702       4890      812     06:59   4890 × 419
  9    2025-11 Riket                          skipped
Each month is one record per region, starting at local midnight of the 1st (2025-10-01 00:00 CEST = 09-30 22:00Z,
2025-11-01 00:00 CET = 10-31 23:00Z) and counted in that month only. With one row a month, mean_wait is the sheet's
mean (521, 365, …) and answer_rate answered/offered, e.g. SE-AB 2025-10: 52010/61234 = 0.84936…
norra has only SE-Z among its members here: its figures are SE-Z's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.ingest.profiles import load_profiles
from tests.ingest.profiles.interval_profiles import (
    SAMPLES,
    assert_kpis,
    ingest_profile,
    month_figures,
    offline_settings,
    stored,
)

SAMPLE = SAMPLES / "se-statistik-manad.csv"
MONTHS = ["2025-10", "2025-11"]
UNKNOWN = {"mean_wait_all": None, "longest_wait": None, "service_level": None, "wait_p50": None, "wait_p90": None}


def month(offered: int, answered: int, mean: float) -> dict[str, object]:
    return {"offered": offered, "answered": answered, "abandoned": offered - answered, "rejected": 0,
            "answer_rate": answered / offered, "mean_wait": mean, **UNKNOWN}


EXPECTED = {
    "SE-AB/2025-10": month(61234, 52010, 521.0), "SE-O/2025-10": month(48120, 42300, 365.0),
    "SE-Z/2025-10": month(5980, 5010, 464.0), "norra/2025-10": month(5980, 5010, 464.0),
    "SE-AB/2025-11": month(58002, 50555, 422.0), "SE-O/2025-11": month(45555, 40100, 348.0),
    "SE-Z/2025-11": month(5702, 4890, 419.0), "norra/2025-11": month(5702, 4890, 419.0),
}


def test_the_sample_gives_the_hand_computed_figures(session_factory, settings):
    report, parser = ingest_profile(session_factory, settings, "se-statistik-manad", SAMPLE)
    assert (report.rows_read, report.rows_stored, report.rows_rejected, parser.skipped) == (6, 6, 0, 2)
    assert_kpis(month_figures(session_factory, settings, MONTHS), EXPECTED)


def test_a_month_is_one_record_from_local_midnight_of_the_first(session_factory, settings):
    ingest_profile(session_factory, settings, "se-statistik-manad", SAMPLE)
    rows = {(r.region, r.interval_start): r for r in stored(session_factory)}
    october = rows[("SE-AB", datetime(2025, 9, 30, 22, 0, tzinfo=UTC))]
    november = rows[("SE-AB", datetime(2025, 10, 31, 23, 0, tzinfo=UTC))]
    assert (october.interval_minutes, november.interval_minutes) == (31 * 1440, 30 * 1440)
    assert (october.offered, october.answered, october.abandoned, october.wait_answered_ms) == (
        61234, 52010, 9224, 27_097_210_000)


def test_the_month_extends_the_day_profile():
    profiles = load_profiles(offline_settings())
    profile = profiles.get("se-statistik-manad")
    assert profile.extends == "se-statistik-dag" and profile.builtin
    assert profile.fields["interval_start"].names == ("Månad",)
    assert profile.fields["interval_minutes"].constant == "month"
    assert profile.fields["region"] == profiles.get("se-statistik-dag").fields["region"]
