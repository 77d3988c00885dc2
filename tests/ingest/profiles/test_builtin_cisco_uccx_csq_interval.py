"""The built-in profile cisco-uccx-csq-interval (Cisco UCCX "Contact Service Queue Activity Report (by Interval)",
issue 14 §2): its sample ingests, through an operator's profile that extends it with a CSQ → region map, with the
figures worked out by hand below, on SQLite and PostgreSQL; the mean wait, which this report cannot give, is unknown
on the scorecard, never 0.

samples/profiles/cisco-uccx-csq-interval.csv (times local, CEST +2 in October, CET +1 in November; length = end −
start; "Max Queue Time" hh:mm:ss → seconds):
  row CSQ      start (local → UTC)      min presented avgQ     maxQ           handled abandoned dequeued
  1   1177_AC  10-07 09:00 → 07:00Z      60     41     00:04:02 00:15:05 = 905    35       5        1
  2   1177_AC  10-07 10:00 → 08:00Z      60     30     00:02:10 00:09:40 = 580    27       3        0
  3   1177_BD  10-07 09:00 → 07:00Z      60     18     00:05:30 00:21:12 = 1272   14       4        0
  4   1177_BD  11-03 08:00 → 07:00Z      60     12     00:01:05 00:04:50 = 290    11       1        0

Per region and local month (offered = answered + abandoned; no rejected, short-abandon or service-level column;
Avg Queue Time is over all presented calls, so no wait sum is mapped and every mean wait is unknown):
  SE-AC 2025-10 (rows 1, 2): answered 62, abandoned 8, offered 70 (reported 71: the dequeued call) → note;
      answer_rate 62/70; abandon_rate 8/70; longest max(905, 580) = 905; mean_wait, mean_wait_all, service_level
      None; the note "without wait sums ... cover 70 calls" (62 answered + 8 abandoned)
  SE-BD 2025-10 (row 3): answered 14, abandoned 4, offered 18 (reported 18); answer_rate 14/18; longest 1272
  SE-BD 2025-11 (row 4): answered 11, abandoned 1, offered 12; answer_rate 11/12; longest 290
  norra (SE-BD, SE-AC, SE-Z, SE-Y) 2025-10: answered 76, abandoned 12, offered 88, answer_rate 76/88, longest 1272;
      2025-11: answered 11, abandoned 1, offered 12, longest 290; mean waits None
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.config import Settings
from app.ingest.profiles import load_profiles
from tests.ingest.profiles.interval_profiles import (
    SAMPLES,
    assert_kpis,
    has_note,
    ingest_profile,
    month_figures,
    offline_settings,
    stored,
    with_user_profiles,
)

SAMPLE = SAMPLES / "cisco-uccx-csq-interval.csv"
MONTHS = ["2025-10", "2025-11"]
HEADER = SAMPLE.read_text(encoding="utf-8").splitlines()[0]
USER_PROFILE = """
[profile]
name = "region-uccx"
title = "Our UCCX CSQs"
extends = "cisco-uccx-csq-interval"

[fields]
region = { column = "CSQ Name", map = { "1177_AC" = "SE-AC", "1177_BD" = "SE-BD" } }
"""
UNKNOWN = {"mean_wait": None, "mean_wait_all": None, "service_level": None, "wait_p50": None, "wait_p90": None}
EXPECTED = {
    "SE-AC/2025-10": {"offered": 70, "answered": 62, "abandoned": 8, "short_abandons": 0, "rejected": 0,
                      "answer_rate": 62 / 70, "abandon_rate": 8 / 70, "longest_wait": 905.0, **UNKNOWN},
    "SE-BD/2025-10": {"offered": 18, "answered": 14, "abandoned": 4, "rejected": 0, "answer_rate": 14 / 18,
                      "longest_wait": 1272.0, **UNKNOWN},
    "SE-BD/2025-11": {"offered": 12, "answered": 11, "abandoned": 1, "rejected": 0, "answer_rate": 11 / 12,
                      "longest_wait": 290.0, **UNKNOWN},
    "norra/2025-10": {"offered": 88, "answered": 76, "abandoned": 12, "answer_rate": 76 / 88, "longest_wait": 1272.0,
                      **UNKNOWN},
    "norra/2025-11": {"offered": 12, "answered": 11, "abandoned": 1, "answer_rate": 11 / 12, "longest_wait": 290.0,
                      **UNKNOWN},
}


@pytest.fixture
def uccx_settings(settings: Settings, tmp_path: Path) -> Settings:
    return with_user_profiles(settings, tmp_path / "profiles", region_uccx=USER_PROFILE)


def test_the_sample_gives_the_hand_computed_figures(session_factory, uccx_settings):
    report, parser = ingest_profile(session_factory, uccx_settings, "region-uccx", SAMPLE)
    assert (report.rows_read, report.rows_stored, report.rows_rejected, parser.skipped) == (4, 4, 0, 0)
    figures = month_figures(session_factory, uccx_settings, MONTHS)
    assert_kpis(figures, EXPECTED)
    notes = figures["SE-AC/2025-10"]["notes"]
    assert has_note(notes, "state 71 offered", "is 70")  # Calls Presented includes the dequeued call
    assert has_note(notes, "without wait sums", "cover 70 calls", "mean waits are not computed")
    assert not has_note(figures["SE-BD/2025-10"]["notes"], "offered")


def test_every_column_lands_where_the_references_say(session_factory, uccx_settings):
    ingest_profile(session_factory, uccx_settings, "region-uccx", SAMPLE)
    first = stored(session_factory)[0]  # SE-AC, 1177_AC, 2025-10-07 09:00 CEST
    assert (first.region, first.queue, first.interval_start, first.interval_minutes) == (
        "SE-AC", "1177_AC", datetime(2025, 10, 7, 7, 0, tzinfo=UTC), 60)
    assert (first.offered, first.answered, first.abandoned, first.abandoned_short, first.rejected) == (41, 35, 5, 0, 0)
    assert (first.answered_within_sl, first.sl_seconds) == (0, 0)  # not reported
    assert (first.wait_answered_ms, first.wait_abandoned_ms, first.longest_wait_ms) == (None, None, 905_000)
    assert (first.talk_seconds_sum, first.wrap_seconds_sum) == (None, None)


def test_the_interval_length_is_end_minus_start(session_factory, uccx_settings, tmp_path):
    """A 30-minute report (Interval Length 30) is stored as 30-minute intervals; an end that is not 15, 30 or 60
    minutes after the start is rejected naming interval_minutes."""
    path = tmp_path / "uccx.csv"
    path.write_text(
        f"{HEADER}\n"
        "2025-10-08 09:30:00,2025-10-08 10:00:00,1177_AC,10,00:01:00,00:03:00,9,1,0\n"
        "2025-10-08 10:00:00,2025-10-08 10:45:00,1177_AC,10,00:01:00,00:03:00,9,1,0\n", encoding="utf-8")
    report, _ = ingest_profile(session_factory, uccx_settings, "region-uccx", path)
    assert (report.rows_stored, report.rows_rejected) == (1, 1)
    assert report.rejections[0].field == "interval_minutes" and report.rejections[0].position == 3
    (row,) = stored(session_factory)
    assert (row.interval_start, row.interval_minutes) == (datetime(2025, 10, 8, 7, 30, tzinfo=UTC), 30)


def test_the_built_in_alone_maps_no_csq_name_to_a_region(session_factory, settings):
    report, _ = ingest_profile(session_factory, settings, "cisco-uccx-csq-interval", SAMPLE)
    assert (report.rows_read, report.rows_stored, report.rows_rejected) == (4, 0, 4)
    assert {r.field for r in report.rejections} == {"region"}


def test_the_built_in_loads_and_says_where_it_comes_from():
    profile = load_profiles(offline_settings()).get("cisco-uccx-csq-interval")
    assert profile.record_kind == "intervals" and profile.builtin
    assert profile.reference is not None and "cisco.com" in profile.reference
    assert "wait_answered_seconds_sum" not in profile.fields  # Avg Queue Time is over all presented calls
