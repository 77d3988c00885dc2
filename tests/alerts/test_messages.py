"""What a manager reads: region, KPI, value, target and what the rest of the month needs, in their language."""

from __future__ import annotations

from datetime import UTC, datetime

from app.alerts.engine import AlertKey
from app.alerts.message import AlertMessage
from app.alerts.messages import duration, idempotency_key, percent, render

FIRED = datetime(2025, 10, 6, 8, 0, tzinfo=UTC)
AT_RISK = {"scope_name": "Region Västerbotten", "scope_kind": "region", "value": 0.8123, "target": 0.85,
           "comparator": ">=", "needed_answer_rate": 0.8791, "expected_remaining_offered": 12345.4,
           "month": "2025-10"}


def message(key: AlertKey, details: dict[str, object], lang: str = "sv", status: str = "firing") -> AlertMessage:
    return render(key, status, details, lang=lang, starts_at=FIRED,  # type: ignore[arg-type]
                  ends_at=None if status == "firing" else FIRED.replace(hour=12), channel="ops",
                  link="http://127.0.0.1:8000/api/v1/reports/2025-10")


def test_at_risk_in_swedish_says_value_target_and_what_the_rest_of_the_month_needs() -> None:
    m = message(AlertKey("target_at_risk", "SE-AC", "answer_rate", "2025-10"), AT_RISK)
    assert m.title == "Svarsfrekvensen i Region Västerbotten riskerar att missa målet för oktober 2025"
    assert m.text == ("Hittills i oktober 2025 är svarsfrekvensen 81,2 % (mål 85,0 %). För att nå målet för "
                      "svarsfrekvens behöver 87,9 % av cirka 12 345 förväntade samtal besvaras resten av månaden.")
    assert ("Behövd svarsfrekvens", "87,9 %") in m.facts
    assert ("Region", "Region Västerbotten") in m.facts and m.severity == "warning"
    assert m.link.endswith("/reports/2025-10")


def test_english_on_request_and_an_unreachable_target_says_so() -> None:
    details = {**AT_RISK, "needed_answer_rate": 1.042}
    m = message(AlertKey("target_unreachable", "SE-AC", "answer_rate", "2025-10"), details, lang="en")
    assert m.title == "Answer rate in Region Västerbotten can no longer reach its target for October 2025"
    assert m.text.endswith("Even if all the expected calls in the rest of the month are answered the month cannot "
                           "reach its answer-rate target (it would take 104.2%).")
    assert m.severity == "critical" and m.lang == "en"


def test_mean_wait_is_written_in_minutes_and_seconds_with_the_wait_the_rest_may_have() -> None:
    details = {**AT_RISK, "value": 754.4, "target": 600.0, "comparator": "<=", "needed_answer_rate": 1.03,
               "needed_mean_wait": 431.0}
    m = message(AlertKey("target_at_risk", "SE-AC", "mean_wait", "2025-10"), details)
    assert m.text == ("Hittills i oktober 2025 är medelväntetiden 12 min 34 s (mål 10 min 00 s). För att nå målet "
                      "får de förväntade samtalen resten av månaden som besvaras vänta högst 7 min 11 s i snitt.")
    # not the 103 %
    late = message(AlertKey("target_unreachable", "SE-AC", "mean_wait", "2025-10"),
                   {**details, "needed_mean_wait": -20.0})
    assert late.text.endswith("Målet kan inte längre nås: väntan hittills är för lång även om resten besvaras direkt.")


def test_a_month_already_safe_says_so_instead_of_a_negative_rate() -> None:
    m = message(AlertKey("target_at_risk", "SE-AC", "answer_rate", "2025-10"), {**AT_RISK, "needed_answer_rate": -1.15},
                status="resolved")
    assert "-" not in m.text
    assert m.text.endswith("Svarsfrekvensens mål nås även om inga fler samtal besvaras i månaden.")


def test_a_closed_watch_is_not_worded_as_a_recovery() -> None:
    off = message(AlertKey("target_at_risk", "SE-AC", "answer_rate", "2025-10"),
                  {**AT_RISK, "no_longer_evaluated": True}, status="resolved")
    assert off.title == "Bevakningen har upphört: target_at_risk för Region Västerbotten (svarsfrekvensen)"
    closed = message(AlertKey("target_at_risk", "SE-AC", "answer_rate", "2025-10"),
                     {**AT_RISK, "closed": True, "status": "missed"}, status="resolved")
    assert closed.text == "Månaden är stängd; svarsfrekvensen blev 81,2 % (mål 85,0 %), målet nåddes inte."
    archived = message(AlertKey("target_missed", "SE-AC", "answer_rate", "2025-09"),
                       {**AT_RISK, "archived": True}, status="resolved", )
    assert archived.title == "Arkiverat: Region Västerbotten missade målet för svarsfrekvensen i september 2025"


def test_fast_slip_names_its_window_and_the_calls_behind_the_figure() -> None:
    details = {"scope_name": "Region Jämtland Härjedalen", "hours": 1, "offered": 41, "answered": 33, "value": 1030.0,
               "target": 600.0, "threshold": 900.0, "window_start": "2025-10-06T06:00:00Z", "needed_mean_wait": 540.0}
    m = message(AlertKey("fast_slip", "SE-Z", "mean_wait"), details)
    assert m.title == "Medelväntetiden i Region Jämtland Härjedalen har ökat kraftigt den senaste timmen"
    assert m.text.startswith("Sedan kl. 08:00 är medelväntetiden 17 min 10 s för 33 besvarade samtal (mål 10 min 00 s, "
                             "larmgräns 15 min 00 s).")


def test_a_fast_slip_without_its_window_start_names_the_span_not_a_dash() -> None:
    details = {"scope_name": "Region Västerbotten", "hours": 2, "offered": 40, "value": 0.5, "target": 0.85,
               "threshold": 0.75}
    sv = message(AlertKey("fast_slip", "SE-AC", "answer_rate"), details)
    en = message(AlertKey("fast_slip", "SE-AC", "answer_rate"), details, lang="en")
    assert sv.text.startswith("Under de senaste 2 timmarna är svarsfrekvensen 50,0 % av 40 samtal (mål 85,0 %")
    assert en.text.startswith("Over the last 2 hours the answer rate is 50.0% of 40 calls (target 85.0%")
    assert "–" not in sv.text and "–" not in en.text


def test_the_end_of_a_month_and_stale_data() -> None:
    closed = message(AlertKey("target_at_risk", "SE-AC", "answer_rate", "2025-10"),
                     {**AT_RISK, "closed": True, "status": "missed"}, status="resolved")
    assert closed.title == "Oktober 2025 är avslutad för Region Västerbotten: svarsfrekvensen blev 81,2 %"
    stale = message(AlertKey("data_stale", "platform"), {"scope_name": "platform", "scope_kind": "source",
                                                          "age_seconds": 2843, "max_age_seconds": 1800,
                                                          "last_data_at": "2025-10-06T07:12:00Z"})
    assert stale.title == "Inga nya data från källan platform på 47 min 23 s"
    assert "sedan 2025-10-06 09:12 (gräns 30 min 00 s)" in stale.text  # local time


def test_the_identity_of_a_notification_is_stable_and_distinct() -> None:
    key = AlertKey("fast_slip", "SE-AC", "answer_rate")
    assert idempotency_key(key, "firing", FIRED, "ops") == idempotency_key(key, "firing", FIRED, "ops")
    assert len({idempotency_key(key, "firing", FIRED, "ops"), idempotency_key(key, "resolved", FIRED, "ops"),
                idempotency_key(key, "firing", FIRED, "mail")}) == 3
    m = message(key, {"scope_name": "Region Västerbotten", "hours": 2, "offered": 40, "value": 0.5,
                      "target": 0.85, "threshold": 0.75})
    assert AlertMessage.from_json(m.to_json()) == m  # what the outbox stores is what is sent


def test_number_formats() -> None:
    assert percent(0.85, "sv") == "85,0 %" and percent(0.85, "en") == "85.0%" and percent(None, "sv") == "–"
    assert duration(59.6, "sv") == "1 min 00 s" and duration(5, "sv") == "5 s"
    # seconds over an hour too: a data age of 1 h 0 min 30 s must not read as its limit of 1 h 0 min
    assert duration(7265, "en") == "2 h 1 min 05 s" and duration(3630, "sv") == "1 h 0 min 30 s" != duration(3600, "sv")


def test_a_value_never_reads_as_the_target_it_missed() -> None:
    """Issue 12, item 12: wherever a figure is compared with its target, two different numbers read differently."""
    from app.alerts.messages import compared

    assert compared("answer_rate", 0.8496, 0.85, "sv") == ("84,96 %", "85,00 %")
    assert compared("answer_rate", 0.81, 0.85, "en") == ("81.0%", "85.0%")  # no decimals where none are needed
    assert compared("mean_wait", 421, 420, "sv") == ("7 min 01 s", "7 min 00 s")
    assert compared("mean_wait", 600.4, 600, "sv") == ("10 min 00,4 s", "10 min 00,0 s")
    assert compared("mean_wait", 600, 600, "en") == ("10 min 00 s", "10 min 00 s")
