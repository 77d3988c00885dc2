"""Staffing advice from stored data (both databases): estimates with the calls they rest on, the forecast the
scorecard uses, the month's needed answer rate, the API and the CLI.

History: on four Thursdays (20 and 27 Feb, 6 and 13 Mar 2025) 40 calls arrive in each of the local hours 12 and 13 in
Jämtland Härjedalen (SE-Z): 30 answered after 120 s (talk 400 s, wrap 170 s) and 10 abandoned after 300 s. "Now" is
Thursday 20 March, 10:00. So the month so far has 160 calls, 120 answered (75 %), and 160 more are forecast.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app as cli_app
from app.config import Settings
from app.kpi.localtime import STOCKHOLM
from app.kpi.staffing import Goal, servers_needed
from app.scorecard.service import InvalidMonth, UnknownScope, monthly_scorecard
from app.staffing.service import staffing_advice
from tests.auth import key_headers
from tests.helpers import ingest_text
from tests.staffing.history import NOW, THETA, calls_csv


def test_advice_rests_on_the_stored_hours_and_the_scorecards_forecast(
    stored: sessionmaker[Session], settings: Settings
) -> None:
    with stored() as session:
        advice = staffing_advice(session, "region", "SE-Z", date(2025, 3, 20), NOW)
        scorecard = monthly_scorecard(session, date(2025, 3, 1), settings.definitions, NOW)
    (region,) = advice.regions
    slot = region.parameters.at((3, 12))  # Thursday 12
    assert (slot.handling_seconds.value, slot.handling_seconds.calls, slot.handling_seconds.basis) == (
        570.0, 120, "slot")
    assert slot.patience_rate.value == pytest.approx(THETA)
    assert (slot.patience_rate.calls, slot.patience_rate.events, slot.patience_rate.basis) == (160, 40, "slot")

    # the same forecast as the scorecard, hour by hour: 40 calls at 12 and 13 on Thursdays, none else
    entry = next(s for s in scorecard.scopes if s.scope == "SE-Z")
    assert entry.forecast is not None
    assert advice.expected_rest == pytest.approx(entry.forecast.expected_remaining_offered) == 160
    noon = datetime(2025, 3, 20, 12, tzinfo=STOCKHOLM).astimezone(UTC)
    by_hour = {h.start: h for h in region.hours}
    assert by_hour[noon].offered == 40
    assert by_hour[noon - timedelta(hours=1)].offered == 0
    assert region.hours[0].start == NOW and region.hours[-1].start.astimezone(STOCKHOLM).day == 31

    # needed on the 160 calls to come: (0.85 × 320 − 120) / 160 = 0.95, stricter than the target
    assert advice.offered_so_far == 160 and advice.answered_so_far == 120
    assert advice.needed_answer_rate == pytest.approx(0.95)
    needed = next(t for t in entry.targets if t.kpi == "answer_rate").needed
    assert needed == pytest.approx(advice.needed_answer_rate)
    lam, mu = 40 / 3600, 1 / 570
    want = servers_needed(lam, mu, THETA, Goal(0.85, 600))
    hour = by_hour[noon]
    assert hour.target is not None and hour.target.nurses == want.servers
    assert hour.target.answer_rate == pytest.approx(want.answer_rate)
    assert hour.recover is not None
    assert hour.recover.nurses == servers_needed(lam, mu, THETA, Goal(float(Fraction(95, 100)), 600)).servers
    assert hour.recover.nurses > hour.target.nurses
    assert hour.erlang_c_nurses == servers_needed(lam, mu, 0.0, Goal(0.85, 600)).servers
    assert hour.erlang_c_nurses is not None and hour.erlang_c_nurses > hour.target.nurses
    # the day's totals: the two busy hours carry every nurse
    assert advice.today.nurse_hours == 2 * hour.target.nurses
    assert advice.month_rest.nurse_hours == 4 * hour.target.nurses
    assert advice.month_rest.nurse_hours_erlang_c == 4 * hour.erlang_c_nurses


def test_a_past_date_uses_only_what_was_known_at_its_start(stored: sessionmaker[Session]) -> None:
    with stored() as session:
        advice = staffing_advice(session, "region", "SE-Z", date(2025, 3, 13), NOW)
    assert advice.known_until == datetime(2025, 3, 13, tzinfo=STOCKHOLM).astimezone(UTC)
    (region,) = advice.regions
    slot = region.parameters.at((3, 12))
    assert slot.handling_seconds.calls == 90  # three Thursdays before the 13th
    assert advice.offered_so_far == 80 and advice.answered_so_far == 60


def test_a_collaboration_sums_its_regions(stored: sessionmaker[Session], settings: Settings) -> None:
    ingest_text(stored, settings, "calls", calls_csv("SE-Y", per_hour=80))
    with stored() as session:
        advice = staffing_advice(session, "collaboration", "norra", date(2025, 3, 20), NOW)
        alone = {code: staffing_advice(session, "region", code, date(2025, 3, 20), NOW) for code in ("SE-Y", "SE-Z")}
    assert [r.region for r in advice.regions] == ["SE-AC", "SE-BD", "SE-Y", "SE-Z"]
    noon = datetime(2025, 3, 20, 12, tzinfo=STOCKHOLM).astimezone(UTC)
    summed = next(h for h in advice.hours if h.start == noon)
    by_region = {r.region: next(h for h in r.hours if h.start == noon) for r in advice.regions}
    assert str(by_region["SE-AC"].note) == str(by_region["SE-BD"].note) == "no forecast for this hour"  # no data
    assert str(summed.note) == "without SE-AC, SE-BD: no advice for this hour"
    assert summed.offered == 120
    nurses = {code: by_region[code].target.nurses for code in ("SE-Y", "SE-Z")}  # type: ignore[union-attr]
    assert summed.target is not None and summed.target.nurses == nurses["SE-Y"] + nurses["SE-Z"]
    assert nurses["SE-Y"] > nurses["SE-Z"]
    # the collaboration's needed rate is on its summed counts: 360 of 480 so far, 480 to come
    assert advice.offered_so_far == 480 and advice.answered_so_far == 360
    assert advice.needed_answer_rate == pytest.approx((0.85 * 960 - 360) / 480)
    # a member's target staffing is its own, whichever scope asks (same targets by default)
    for code in ("SE-Y", "SE-Z"):
        own = next(h for h in alone[code].hours if h.start == noon)
        assert own.target == by_region[code].target


@pytest.mark.parametrize(("kind", "code", "day", "error"), [
    ("region", "SE-QQ", date(2025, 3, 20), UnknownScope),
    ("collaboration", "nowhere", date(2025, 3, 20), UnknownScope),
    ("region", "SE-Z", date(2025, 6, 1), InvalidMonth),  # more than 62 days ahead
    ("region", "SE-Z", date(1, 1, 1), InvalidMonth),
])
def test_bad_scopes_and_dates_are_domain_errors(stored: sessionmaker[Session], kind: str, code: str, day: date,
                                                error: type[Exception]) -> None:
    with stored() as session, pytest.raises(error):
        staffing_advice(session, kind, code, day, NOW)


def test_the_api_serves_it_with_a_read_key_and_refuses_bad_input(
    stored: sessionmaker[Session], settings: Settings
) -> None:
    with TestClient(create_app(settings)) as client:
        read = key_headers(settings, "read")
        response = client.get("/api/v1/regions/SE-Z/staffing", params={"date": "2025-03-13"}, headers=read)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["scope"] == "SE-Z" and body["date"] == "2025-03-13" and body["month"] == "2025-03"
        assert body["advice_from"] == "2025-03-13T00:00:00+01:00"
        noon = next(h for h in body["hours"] if h["hour_start"] == "2025-03-13T12:00:00+01:00")
        assert noon["offered"] == 40 and noon["target"]["nurses"] >= 1 and noon["handling_seconds"] == 570
        slots = body["regions"][0]["parameters"]["slots"]
        thursday_noon = next(s for s in slots if (s["weekday"], s["hour"]) == (4, 12))
        assert thursday_noon["handling_seconds"] == {"value": 570.0, "calls": 90, "abandoned": None, "basis": "slot"}
        patience = thursday_noon["patience_seconds"]
        assert (patience["calls"], patience["abandoned"], patience["basis"]) == (120, 30, "slot")
        collab = client.get("/api/v1/collaborations/norra/staffing", params={"date": "2025-03-13"}, headers=read)
        assert collab.status_code == 200, collab.text
        assert [r["region"] for r in collab.json()["regions"]] == ["SE-AC", "SE-BD", "SE-Y", "SE-Z"]
        for path, params, status, error in [
            ("/api/v1/regions/SE-QQ/staffing", {}, 404, "not_found"),
            ("/api/v1/collaborations/SE-Z/staffing", {}, 404, "not_found"),
            ("/api/v1/regions/SE-Z/staffing", {"date": "2025-02-30"}, 422, "invalid_month"),
            ("/api/v1/regions/SE-Z/staffing", {"date": "20250313"}, 422, "invalid_month"),
            ("/api/v1/regions/SE-Z/staffing", {"date": "9999-12-31"}, 422, "invalid_month"),
            ("/api/v1/regions/SE-Z/staffing", {"date": "x" * 11}, 422, "validation_error"),
        ]:
            bad = client.get(path, params=params, headers=read)
            assert bad.status_code == status, (path, params, bad.text)
            assert bad.json()["error"] == error
        assert client.get("/api/v1/regions/SE-Z/staffing").status_code == 401
        ingest_only = key_headers(settings, "ingest", name="pusher")
        assert client.get("/api/v1/regions/SE-Z/staffing", headers=ingest_only).status_code == 403


def test_the_cli_prints_the_day_and_refuses_bad_dates(stored: sessionmaker[Session], settings: Settings,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VPT_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    result = runner.invoke(cli_app, ["staffing", "SE-Z", "--date", "2025-03-13"])
    assert result.exit_code == 0, result.output
    assert "03-13 12" in result.output and "skötersketimmar" in result.output
    result = runner.invoke(cli_app, ["staffing", "SE-Z", "--date", "2025-03-13", "--json"])
    assert result.exit_code == 0, result.output
    assert '"scope": "SE-Z"' in result.output
    bad = runner.invoke(cli_app, ["staffing", "SE-Z", "--date", "2025-13-01"])
    assert bad.exit_code == 2 and "--date" in bad.output
    unknown = runner.invoke(cli_app, ["staffing", "SE-QQ", "--date", "2025-03-13"])
    assert unknown.exit_code != 0 and "SE-QQ" in unknown.output
