"""The staffing section of a region's and a collaboration's page (issue 17), for a browser signed in with a key.

History (tests/staffing/history.py): on four Thursdays 40 calls arrive in each of the local hours 12 and 13 in
Jämtland Härjedalen (SE-Z), 30 answered after 120 s (talk 400 s + wrap 170 s = 9:30) and 10 abandoned after 300 s.
The page is opened on Thursday 20 March 2025 at 10:00: today's hours left are 10:00–23:00, of which 12:00 and 13:00
expect 40 calls each (the scorecard's forecast), the others none. Hand count per busy hour: λ = 40/h, μ = 1/570 s,
θ = 40 abandons / (120 × 120 + 40 × 300) s of waiting = 1/660 s (patience 11:00), so the nurses are Erlang A's
``servers_needed`` for 85 % answered within a 10:00 mean wait, and for the 95 % the month needs
((0.85 × 320 − 120) / 160); the day's nurse-hours are twice an hour's, the month's four times (the 27th too).
The same figures are checked against the staffing service's own output for the same data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.config import Settings
from app.kpi.localtime import STOCKHOLM
from app.kpi.numbers import percent
from app.kpi.staffing import Goal, servers_needed
from app.reports.board_text import wait
from app.staffing.service import staffing_advice
from app.web.pages import web_now
from app.web.texts import word
from tests.auth import make_key
from tests.helpers import ingest_text
from tests.staffing.history import NOW, THETA, calls_csv
from tests.web.test_web_login import sign_in

NBSP = "\u00a0"
NOON = datetime(2025, 3, 20, 12, tzinfo=STOCKHOLM)


@pytest.fixture
def client(session_factory: sessionmaker[Session], settings: Settings) -> Iterator[TestClient]:
    """Reads closed (the default): the browser signs in with a read key; the clock at ``NOW``."""
    report = ingest_text(session_factory, settings, "calls", calls_csv())
    assert report.rows_rejected == 0
    app = create_app(settings)
    app.dependency_overrides[web_now] = lambda: NOW
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        signed = sign_in(test_client, make_key(session_factory, "read", name="planner"), "/regions/SE-Z")
        assert signed.status_code == 303  # type: ignore[attr-defined]
        yield test_client


def shown(text: str) -> str:
    return text.replace(NBSP, " ")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(NBSP, " ")


def cells(html: str, hour: datetime) -> list[str]:
    row = re.search(rf'<tr data-hour="{re.escape(hour.isoformat())}">(.*?)</tr>', html, re.S)
    assert row, f"no staffing row for {hour}"
    return [text_of(cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row.group(1), re.S)]


def hand_count() -> tuple[int, int, float, float, float]:
    """Nurses for the target and for the month, with the answer rate and mean wait Erlang A predicts."""
    lam, mu = 40 / 3600, 1 / 570
    target = servers_needed(lam, mu, THETA, Goal(0.85, 600))
    recover = servers_needed(lam, mu, THETA, Goal(0.95, 600))
    return target.servers, recover.servers, target.answer_rate, target.mean_wait_answered, recover.answer_rate


def test_the_region_page_shows_todays_hours_nurse_hours_and_estimates(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    page = client.get("/regions/SE-Z")
    assert page.status_code == 200, page.text
    html = page.text
    nurses, recover, rate, mean_wait, recover_rate = hand_count()
    assert 1 <= nurses < recover
    assert pytest.approx(660) == 1 / THETA
    assert "Bemanning i dag" in html
    # noon: hour, expected calls, nurses, predicted answer rate and mean wait, nurses and answer rate for the month
    assert cells(html, NOON) == ["12:00", "40,0", str(nurses), shown(percent(rate, "sv")),
                                 wait(mean_wait, "sv"), str(recover), shown(percent(recover_rate, "sv")), ""]
    quiet = cells(html, datetime(2025, 3, 20, 15, tzinfo=STOCKHOLM))
    assert quiet[:3] == ["15:00", "0,0", "0"] and quiet[-1] == "inga förväntade samtal"
    hours = re.findall(r'<tr data-hour="2025-03-20T(\d\d):00:00\+01:00">', html)
    assert hours == [f"{h:02d}" for h in range(10, 24)]  # the hours left today, and no other day's
    text = text_of(html)
    assert word("staffing_nurse_hours", "sv", today=2 * nurses, month=4 * nurses) in text
    assert word("staffing_nurse_hours_recover", "sv", today=2 * recover, month=4 * recover) in text
    assert word("staffing_recover", "sv", needed="95,0 %").replace(NBSP, " ") in text
    # the estimates with the calls they rest on: 120 answered calls for Thursday noon's handling time, 160 callers
    # and 40 abandons for its patience; over all hours 240, 320 and 80
    assert "Jämtland Härjedalen 12:00 9:30 120 11:00 160 40 samma veckodag och timme" in text
    assert "Jämtland Härjedalen alla timmar 9:30 240 11:00 320 80 regionens alla timmar" in text
    assert "<code>/api/v1/regions/SE-Z/staffing?date=2025-03-20</code>" in html

    # the same figures as the staffing service's for the same data
    with session_factory() as session:
        advice = staffing_advice(session, "region", "SE-Z", date(2025, 3, 20), NOW)
    noon = next(h for h in advice.hours if h.start == NOON.astimezone(UTC))
    assert noon.target is not None and noon.recover is not None
    assert (noon.target.nurses, noon.recover.nurses) == (nurses, recover)
    assert noon.target.answer_rate == pytest.approx(rate) and noon.target.mean_wait_seconds == pytest.approx(mean_wait)
    assert (advice.today.nurse_hours, advice.today.nurse_hours_recover) == (2 * nurses, 2 * recover)
    assert (advice.month_rest.nurse_hours, advice.month_rest.nurse_hours_recover) == (4 * nurses, 4 * recover)


def test_in_english_and_on_the_collaboration_page(client: TestClient) -> None:
    nurses, _, rate, mean_wait, _ = hand_count()
    english = client.get("/regions/SE-Z?lang=en")
    assert english.status_code == 200
    assert "Staffing today" in english.text and "Nurses needed" in english.text
    assert cells(english.text, NOON)[:5] == ["12:00", "40.0", str(nurses), percent(rate, "en"), wait(mean_wait, "en")]
    assert word("staffing_nurse_hours", "en", today=2 * nurses, month=4 * nurses) in text_of(english.text)

    norra = client.get("/collaborations/norra")
    assert norra.status_code == 200, norra.text
    row = cells(norra.text, NOON)
    # only SE-Z has calls: the sum is its figures, and the hour says which members have no advice
    assert row[:3] == ["12:00", "40,0", str(nurses)]
    assert row[-1] == "utan SE-AC, SE-BD, SE-Y: inget råd för timmen"
    text = text_of(norra.text)
    assert word("staffing_nurse_hours", "sv", today=2 * nurses, month=4 * nurses) in text
    assert "Jämtland Härjedalen 12:00 9:30 120 11:00 160 40" in text
    assert "<code>/api/v1/collaborations/norra/staffing?date=2025-03-20</code>" in norra.text


def test_a_closed_month_has_no_staffing_section_and_a_signed_out_browser_no_page(
    client: TestClient, settings: Settings
) -> None:
    closed = client.get("/regions/SE-Z?month=2025-02")
    assert closed.status_code == 200 and "Bemanning i dag" not in closed.text
    app = create_app(settings)
    app.dependency_overrides[web_now] = lambda: NOW
    with TestClient(app, base_url="http://127.0.0.1") as stranger:
        refused = stranger.get("/regions/SE-Z", follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")


def test_staffed_positions_and_the_difference_to_plan_where_the_platform_reports_them(
    client: TestClient, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Noon: queue a staffed 4 then 6 (half-hours), queue b 2 then 3: 7.5 positions against the hand-counted
    nurses; 13:00 reports none (blank). Without any staffed positions today the columns are not shown."""
    html = client.get("/regions/SE-Z").text
    assert word("staffing_staffed", "sv") not in html
    header = "region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected," \
             "answered_within_sl,sl_seconds,agents_staffed\n"
    rows = [f"SE-Z,{queue},2025-03-20T{start}:00+01:00,30,0,0,0,0,0,0,600,{staffed}"
            for queue, start, staffed in [("a", "12:00", 4), ("a", "12:30", 6), ("b", "12:00", 2), ("b", "12:30", 3)]]
    rows.append("SE-Z,a,2025-03-20T13:00:00+01:00,60,0,0,0,0,0,0,600,")
    report = ingest_text(session_factory, settings, "intervals", header + "\n".join(rows) + "\n", source="platform")
    assert (report.rows_stored, report.rows_rejected) == (5, 0)
    html = client.get("/regions/SE-Z").text
    assert word("staffing_staffed", "sv") in html and word("staffing_difference", "sv") in html
    nurses = hand_count()[0]
    difference = f"{7.5 - nurses:+.1f}".replace(".", ",").replace("-", "\u2212")
    assert cells(html, NOON)[-3:] == ["7,5", difference, ""]
    assert cells(html, datetime(2025, 3, 20, 13, tzinfo=STOCKHOLM))[-3:-1] == ["", ""]
