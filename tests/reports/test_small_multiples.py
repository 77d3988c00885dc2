"""The board report's small multiples: one row per member region with its answer rate and mean wait over the
thirteen months, so a region that misses in 10 of 12 months is plain to see; and value labels kept off the
target line, in the big charts and the small ones.

History (intervals at 10:00 local on the 15th of each month, October 2024 to September 2025): Västerbotten
(SE-AC) answers 5 of 10 calls (50 %) in ten months and 10 of 10 in December and June; Norrbotten (SE-BD) 9 of 10
(90 %) every month. Norra's default target is ≥ 85 %, so SE-AC misses 10 of 12 closed months and SE-BD none.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from app.reports.board import build_report
from app.reports.board_html import render_report
from app.reports.small_multiples import missed_months
from app.reports.svg import FILL, Chart, Slot, clear_of_target, render_chart
from tests.helpers import LATER, ingest_text

HEAD = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
        "answered_within_sl,sl_seconds,wait_answered_seconds_sum,wait_abandoned_seconds_sum,longest_wait_seconds,"
        "talk_seconds_sum,wrap_seconds_sum")
MONTHS = [date(2024, 10, 1)] + [date(2024 + (m > 12), (m - 1) % 12 + 1, 1) for m in range(11, 22)]
GOOD_MONTHS = {date(2024, 12, 1), date(2025, 6, 1)}


def intervals() -> str:
    rows = [HEAD]
    for month in MONTHS:
        answered = 10 if month in GOOD_MONTHS else 5
        rows.append(f"SE-AC,vpt,{month:%Y-%m}-15T10:00:00,60,10,{answered},{10 - answered},0,0,{answered},600,"
                    f"{answered * 120},{(10 - answered) * 60},300,{answered * 300},{answered * 60}")
        rows.append(f"SE-BD,vpt,{month:%Y-%m}-15T10:00:00,60,10,9,1,0,0,9,600,1080,60,300,2700,540")
    return "\n".join(rows) + "\n"


@pytest.fixture
def html(session_factory, settings) -> str:
    ingest_text(session_factory, settings, "intervals", intervals())
    with session_factory() as session:
        report = build_report(session, date(2025, 10, 1), settings.definitions, LATER, "norra")
    return render_report(report, "sv")


def test_every_member_region_has_its_two_small_charts(html):
    section = html[html.index('<section class="multiples"'):]
    section = section[:section.index("</section>")]
    rows = re.findall(r'<tr class="multiple" data-region="([^"]+)">', section)
    assert rows == ["SE-Z", "SE-BD", "SE-AC", "SE-Y"]  # the table's order: Swedish alphabetical by name
    assert len(re.findall(r'<svg class="chart mini" data-series="answer_rate"', section)) == 4
    assert len(re.findall(r'<svg class="chart mini" data-series="mean_wait"', section)) == 4
    assert section.count("<th scope=\"row\">") == 4 and "Västerbotten" in section and "Norrbotten" in section
    # month names once, under the last row only
    assert section.count(">sep<") == 2 and section.count(">okt<") == 4  # October 2024 and 2025, two charts


def test_a_region_that_misses_in_ten_of_twelve_months_stands_out(html):
    section = html[html.index('<section class="multiples"'):]
    row = section[section.index('data-region="SE-AC"'):]
    row = row[:row.index("</tr>")]
    assert 'data-series="answer_rate" data-missed="10" data-judged="12"' in row
    assert "Svarsfrekvens (%): ej uppfyllt 10 av 12 avslutade månader" in row
    rate = row[row.index('data-series="answer_rate"'):row.index('data-series="mean_wait"')]
    assert rate.count(f'fill="{FILL["missed"]}"') == 10 and rate.count(f'fill="{FILL["met"]}"') == 2
    neighbour = section[section.index('data-region="SE-BD"'):]
    assert 'data-series="answer_rate" data-missed="0" data-judged="12"' in neighbour[:neighbour.index("</tr>")]


def test_missed_months_count_only_closed_months_judged_against_a_target(session_factory, settings):
    ingest_text(session_factory, settings, "intervals", intervals())
    with session_factory() as session:
        page = build_report(session, date(2025, 10, 1), settings.definitions, LATER, "norra").pages[0]
    by_scope = {m.scope: m for m in page.member_series}
    assert missed_months(by_scope["SE-AC"].series, "answer_rate") == (10, 12)
    assert missed_months(by_scope["SE-AC"].series, "mean_wait") == (0, 12)
    assert missed_months(by_scope["SE-Y"].series, "answer_rate") == (0, 0)  # no data: nothing judged


def test_a_region_page_has_no_small_multiples(session_factory, settings):
    ingest_text(session_factory, settings, "intervals", intervals())
    with session_factory() as session:
        report = build_report(session, date(2025, 10, 1), settings.definitions, LATER, "SE-AC")
    assert report.pages[0].member_series == () and 'class="multiples"' not in render_report(report, "sv")


@pytest.mark.parametrize(("value", "target", "moved"), [(80.0, 85.0, True), (88.0, 90.0, True), (95.0, 85.0, False),
                                                         (40.0, 85.0, False), (90.0, 98.0, True)])
def test_a_value_label_never_sits_on_the_target_line(value, target, moved):
    slots = [Slot(key="2025-10", label="okt", sublabel="", value=value, value_label=f"{value:.1f}", target=target,
                  status="missed", mark="✗", highlight=True, in_progress=False, title="")]
    chart = Chart(kpi="answer_rate", title="t", style="bars", unit="%",
                  ticks=[(float(v), str(v)) for v in range(0, 101, 20)], slots=slots, no_data_label="–")
    svg = render_chart(chart)
    label_y = float(re.search(r'<text x="[^"]+" y="([^"]+)"[^>]*class="value"', svg).group(1))
    target_y = float(re.search(r'<path class="target" d="M[^,]+,([^H]+)H', svg).group(1))
    size = 9.5
    assert not label_y - size - 1 <= target_y <= label_y + 2.5  # the glyphs (and their halo) clear the line
    plot = 158 - 46 - 15  # HEIGHT - BOTTOM - TOP: the bar's top and where the label would be without the rule
    natural = 158 - 46 - plot * value / 100 - 3.5
    assert (abs(label_y - natural) > 0.05) is moved


def test_clear_of_target_goes_under_the_line_when_there_is_no_room_above():
    assert clear_of_target(baseline=10, target_y=8) == 8 + 9.5 + 2
    assert clear_of_target(baseline=40, target_y=39) == 36
    assert clear_of_target(baseline=40, target_y=None) == 40
