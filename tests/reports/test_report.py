"""The printable monthly board report (HTML + inline SVG), through the service, the API and the CLI (both databases).

History (Norra, 2025): August 5: ten answered calls each in Västerbotten (SE-AC) and Norrbotten (SE-BD), 60 s
waits. September 10: SE-AC 8 answered and 2 abandoned, Jämtland Härjedalen (SE-Z) 10 answered; 120 s waits.
October, one region a day, all at 10:00 local:

    day  region  answered  abandoned  rejected  wait   day's answer rate
    1    SE-AC   10        0          0         300 s  100 %
    2    SE-BD   6         4          0         900 s   60 %
    3    SE-Z    8         1          1         600 s   80 %
    4    SE-Y    3         1          0         600 s   75 %
    5    SE-AC   9         1          0         300 s   90 %
    6    SE-BD   2         0          3         1200 s  40 %
    7    SE-Z    7         3          0         600 s   70 %

So Norra in October: 59 offered, 45 answered (76,3 %, target 85 %: missed), mean wait 24 300 / 45 = 540 s
(9:00, target 10 min: met), 10 abandoned, 4 queue full; 37 answered within 600 s (62,7 %). September: 18 of
20 (90 %), so the change is −13,7 percentage points. The worst days are 6, 2, 7, 4 and 3 October.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app as cli_app
from app.config import Settings
from app.db.models import Collaboration, CollaborationMember, TargetVersion
from app.kpi.localtime import STOCKHOLM
from app.kpi.numbers import number, percent
from app.reports.board import build_report
from app.reports.board_html import render_report
from app.scorecard.service import UnknownScope, monthly_scorecard
from tests.auth import key_headers
from tests.helpers import LATER, ingest_text

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
OCTOBER = date(2025, 10, 1)
#: (day, region, answered, abandoned, rejected, wait seconds)
DAYS = [
    (date(2025, 8, 5), "SE-AC", 10, 0, 0, 60), (date(2025, 8, 5), "SE-BD", 10, 0, 0, 60),
    (date(2025, 9, 10), "SE-AC", 8, 2, 0, 120), (date(2025, 9, 10), "SE-Z", 10, 0, 0, 120),
    (date(2025, 10, 1), "SE-AC", 10, 0, 0, 300), (date(2025, 10, 2), "SE-BD", 6, 4, 0, 900),
    (date(2025, 10, 3), "SE-Z", 8, 1, 1, 600), (date(2025, 10, 4), "SE-Y", 3, 1, 0, 600),
    (date(2025, 10, 5), "SE-AC", 9, 1, 0, 300), (date(2025, 10, 6), "SE-BD", 2, 0, 3, 1200),
    (date(2025, 10, 7), "SE-Z", 7, 3, 0, 600),
]
WORST = ["2025-10-06", "2025-10-02", "2025-10-07", "2025-10-04", "2025-10-03"]


def calls_csv() -> str:
    rows = []
    for day, region, answered, abandoned, rejected, wait in DAYS:
        outcomes = ["answered"] * answered + ["abandoned"] * abandoned + ["rejected"] * rejected
        for n, outcome in enumerate(outcomes):
            arrived = datetime(day.year, day.month, day.day, 10, n, tzinfo=STOCKHOLM).astimezone(UTC)
            call_id = f"{day:%m%d}-{region}-{n}"
            if outcome == "answered":
                answered_at = arrived + timedelta(seconds=wait)
                rows.append(f"{call_id},{region},q,{arrived.isoformat()},answered,{answered_at.isoformat()},"
                            f"{(answered_at + timedelta(seconds=300)).isoformat()}")
            else:
                ended = arrived + timedelta(seconds=200 if outcome == "abandoned" else 0)
                rows.append(f"{call_id},{region},q,{arrived.isoformat()},{outcome},,{ended.isoformat()}")
    return HEADER + "\n".join(rows) + "\n"


# --- a small DOM from the stdlib parser ------------------------------------------------------------------

VOID = {"meta", "br", "link", "img", "hr", "input"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    content: list[Node | str] = field(default_factory=list)  # text and elements in document order

    def iter(self):  # type: ignore[no-untyped-def]
        yield self
        for child in self.content:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str, **attrs: str) -> list[Node]:
        """``class_="x"``: x is one of the classes; ``data_kpi="y"``: the attribute data-kpi is y."""
        def matches(node: Node) -> bool:
            return node.tag == tag and all(
                value in node.attrs.get("class", "").split() if key == "class_"
                else node.attrs.get(key.replace("_", "-")) == value
                for key, value in attrs.items()
            )
        return [node for node in self.iter() if matches(node)]

    def find(self, tag: str, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.content)

    def fragments(self) -> list[str]:
        """The pieces of text in document order, stripped, without empty ones."""
        out: list[str] = []
        for c in self.content:
            if isinstance(c, str):
                if c.strip():
                    out.append(c.strip())
            else:
                out.extend(c.fragments())
        return out


class TreeBuilder(HTMLParser):
    """Builds the tree and insists every element is closed where it was opened (well-formed nesting)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].content.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].content.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].content.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    assert builder.doctype.lower() == "doctype html"
    return builder.root


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture
def loaded(session_factory: sessionmaker[Session], settings: Settings) -> sessionmaker[Session]:
    report = ingest_text(session_factory, settings, "calls", calls_csv())
    assert report.rows_rejected == 0
    return session_factory


def report_html(factory: sessionmaker[Session], settings: Settings, scope: str | None = "norra", lang: str = "sv",
                now: datetime = LATER, month: date = OCTOBER) -> str:
    with factory() as session:
        return render_report(build_report(session, month, settings.definitions, now, scope), lang)  # type: ignore[arg-type]


def cell(page: Node, scope: str, kpi: str) -> Node:
    row = page.find("tr", data_scope=scope)
    return row.find("td", data_kpi=kpi)


# --- the page --------------------------------------------------------------------------------------------


def test_the_table_shows_the_scorecard_figures_with_marks_and_changes(loaded, settings):
    root = parse(report_html(loaded, settings))
    assert root.find("html").attrs["lang"] == "sv"
    page = root.find("section", class_="page")
    assert page.attrs["data-scope"] == "norra"
    assert page.find("h1").text() == ("Tillgänglighet 1177 Vårdguiden på telefon — Norra sjukvårdsregionen, "
                                      "oktober 2025")
    with loaded() as session:
        document = monthly_scorecard(session, OCTOBER, settings.definitions, LATER)
    norra = next(s for s in document.scopes if s.scope == "norra")
    assert norra.kpis.offered == 59 and norra.kpis.answered == 45  # the hand count above
    assert norra.kpis.mean_wait == 540.0

    answer_rate = cell(page, "norra", "answer_rate")
    assert answer_rate.attrs["data-status"] == "missed"
    assert answer_rate.fragments() == ["76,3\u00a0%", "✗", "−13,7\u00a0p.e."]
    assert answer_rate.find("span", class_="mark").attrs["title"] == "ej uppfyllt"
    mean_wait = cell(page, "norra", "mean_wait")
    assert mean_wait.attrs["data-status"] == "met"
    assert mean_wait.fragments() == ["9:00", "✓", "+7:00"]  # from 2:00 in September
    assert cell(page, "norra", "offered").fragments() == [number(norra.kpis.offered, "sv"), "+39"]
    assert cell(page, "norra", "answered").fragments() == ["45", "+27"]
    assert cell(page, "norra", "service_level").fragments()[0] == percent(norra.kpis.service_level, "sv")
    assert percent(norra.kpis.service_level, "sv") == "62,7\u00a0%"  # 37 of 59
    assert cell(page, "norra", "abandoned").fragments() == ["10", "16,9\u00a0%"]  # and its share of 59
    assert cell(page, "norra", "rejected").fragments() == ["4", "6,8\u00a0%"]

    # the member regions, in Swedish alphabetical order, each judged against its own target
    rows = page.find("table", class_="scorecard").find_all("tr", class_="member")
    assert [r.attrs["data-scope"] for r in rows] == ["SE-Z", "SE-BD", "SE-AC", "SE-Y"]
    assert cell(page, "SE-BD", "answer_rate").fragments()[:2] == ["53,3\u00a0%", "✗"]
    assert cell(page, "SE-BD", "mean_wait").fragments()[:2] == ["16:15", "✗"]
    assert cell(page, "SE-Z", "mean_wait").attrs["data-status"] == "met"  # exactly 600 s meets ≤ 10 min
    assert cell(page, "SE-AC", "answer_rate").fragments()[:2] == ["95,0\u00a0%", "✓"]
    assert cell(page, "SE-Y", "offered").find_all("span", class_="delta") == []  # no calls in September


def test_the_charts_have_thirteen_months_with_targets_and_gaps(loaded, settings):
    page = parse(report_html(loaded, settings)).find("section", class_="page")
    svgs = [s for s in page.find_all("svg") if "mini" not in s.attrs["class"].split()]  # not the small multiples
    assert sorted(s.attrs["data-kpi"] for s in svgs) == ["answer_rate", "mean_wait"]  # one chart per KPI
    for svg in svgs:
        slots = svg.find_all("g", class_="slot")
        assert [s.attrs["data-month"] for s in slots] == [f"{y}-{m:02d}" for y, m in
                                                          [(2024, 10), (2024, 11), (2024, 12)]
                                                          + [(2025, m) for m in range(1, 11)]]
        assert len(svg.find_all("path", class_="target")) == 1  # the dashed target line
        assert "stroke-dasharray" in svg.find("path", class_="target").attrs
        gaps = [s.attrs["data-month"] for s in slots if s.find_all("text", class_="gap")]
        assert gaps == [s.attrs["data-month"] for s in slots if s.attrs["data-month"] < "2025-08"]
    bars = page.find("svg", data_kpi="answer_rate").find_all("rect", class_="bar")
    assert len(bars) == 3
    october = page.find("svg", data_kpi="answer_rate").find("g", data_month="2025-10")
    assert "missed" in october.attrs["class"].split()
    assert october.find("text", class_="value").text() == "76,3"
    assert october.find("text", class_="mark").text() == "✗"
    assert "oktober 2025: 76,3\u00a0%" in october.find("title").text()
    wait = page.find("svg", data_kpi="mean_wait")
    assert len(wait.find_all("circle", class_="point")) == 3
    assert wait.find("g", data_month="2025-08").find("text", class_="value").text() == "1:00"
    assert [t.text() for t in wait.find_all("text", class_="mark")][-3:] == ["✓", "✓", "✓"]


def test_the_worst_days_are_the_five_lowest_answer_rates(loaded, settings):
    page = parse(report_html(loaded, settings)).find("section", class_="page")
    rows = page.find("table", class_="worst-days").find_all("tr")[1:]
    assert [r.attrs["data-date"] for r in rows] == WORST
    rates = [r.find("td", data_kpi="answer_rate").text() for r in rows]
    assert rates == ["40,0\u00a0%", "60,0\u00a0%", "70,0\u00a0%", "75,0\u00a0%", "80,0\u00a0%"]
    first = rows[0]
    assert first.find("th").text() == "mån 6 okt"
    assert first.find("td", data_kpi="offered").text() == "5"
    assert first.find("td", data_kpi="mean_wait").text() == "20:00"


def test_a_closed_month_with_a_data_gap_says_so(loaded, settings):
    html = report_html(loaded, settings)
    note = parse(html).find("div", class_="note")
    assert "Ofullständigt underlag" in note.text() and "senaste samtal 7 oktober 2025" in note.text()
    assert "pågår" not in note.text()
    assert "Definitioner" in html and "besvarade + avbrutna + kön full" in html


def test_a_month_in_progress_shows_the_forecast_and_what_is_needed(loaded, settings):
    now = datetime(2025, 10, 8, 12, 0, tzinfo=STOCKHOLM).astimezone(UTC)
    with loaded() as session:
        document = monthly_scorecard(session, OCTOBER, settings.definitions, now)
    norra = next(s for s in document.scopes if s.scope == "norra")
    assert norra.forecast is not None
    rest = norra.forecast.expected_remaining_offered
    needed = next(t for t in norra.targets if t.kpi == "answer_rate").needed
    assert rest > 0 and needed is not None
    page = parse(report_html(loaded, settings, now=now)).find("section", class_="page")
    note = page.find("div", class_="note").text()
    assert note.startswith("Oktober 2025 pågår")
    assert f"ytterligare cirka {number(rest, 'sv')} inkommande samtal" in note
    # by hand: (0.85 × (59 + rest) − 45) / rest
    assert needed == pytest.approx((0.85 * (59 + rest) - 45) / rest, abs=1e-3)  # rest rounded to 0.1
    assert f"behöver {percent(needed, 'sv')} av de förväntade samtalen resten av månaden besvaras" in note
    october = page.find("svg", data_kpi="answer_rate").find("g", data_month="2025-10")
    assert october.find_all("text")[-1].text() == "okt*"  # marked as the month so far


def test_english(loaded, settings):
    root = parse(report_html(loaded, settings, lang="en"))
    assert root.find("html").attrs["lang"] == "en"
    page = root.find("section", class_="page")
    assert page.find("h1").text().endswith("— Norra sjukvårdsregionen, October 2025")
    assert cell(page, "norra", "answer_rate").fragments() == ["76.3%", "✗", "−13.7\u00a0pp"]
    assert "Worst days of the month" in page.text()


def test_a_changed_target_and_a_scope_without_targets(loaded, settings):
    with loaded() as session:
        session.add(TargetVersion(scope_kind="collaboration", scope_code="norra", kpi="answer_rate", comparator=">=",
                                  value=Decimal("0.9"), valid_from=date(2025, 9, 1), set_by="test", reason="test"))
        session.add(Collaboration(code="vast", name="Utan mål"))
        session.add(CollaborationMember(collaboration_code="vast", region_code="SE-Z"))
        session.commit()
    root = parse(report_html(loaded, settings, scope=None))
    pages = root.find_all("section", class_="page")
    assert [p.attrs["data-scope"] for p in pages] == ["norra", "vast"]  # every collaboration with data
    norra, vast = pages
    assert "mål ≥ 90\u00a0%" in norra.find("table", class_="scorecard").find("thead").text()
    target = norra.find("svg", data_kpi="answer_rate").find("path", class_="target").attrs["d"]
    assert "V" in target  # a step where 85 % became 90 %
    september = norra.find("svg", data_kpi="answer_rate").find("g", data_month="2025-09")
    assert september.find("title").text() == "september 2025: 90,0\u00a0% — mål ≥ 90\u00a0%: uppfyllt"  # 18 of 20
    for svg in [s for s in vast.find_all("svg") if "mini" not in s.attrs["class"].split()]:  # SE-Z has its own
        assert svg.find_all("path", class_="target") == []
        assert {t.text() for t in svg.find_all("text", class_="mark")} == {"○"}  # no target in any month
    assert "data-status" not in cell(vast, "vast", "answer_rate").attrs


def test_database_text_is_escaped(loaded, settings):
    evil = "<script>alert('x')</script> & \"co\""
    with loaded() as session:
        session.add(Collaboration(code='x"><b>y', name=evil))
        session.add(CollaborationMember(collaboration_code='x"><b>y', region_code="SE-AC"))
        session.commit()
    html = report_html(loaded, settings, scope=None)
    assert "<script" not in html and "&lt;script&gt;" in html
    root = parse(html)
    assert root.find_all("script") == [] and root.find_all("b") == []
    page = root.find("section", data_scope='x"><b>y')
    assert page.find("h1").text() == f"Tillgänglighet 1177 Vårdguiden på telefon — {evil}, oktober 2025"


def test_unknown_scope_and_a_scope_without_data(loaded, settings):
    with pytest.raises(UnknownScope):
        report_html(loaded, settings, scope="nowhere")
    page = parse(report_html(loaded, settings, scope="SE-Y", month=date(2025, 9, 1))).find("section", class_="page")
    assert "Inga samtal är registrerade för Västernorrland i september 2025." in page.find("div", class_="note").text()
    assert page.find_all("tr", class_="member") == []
    assert len(page.find_all("svg")) == 2


def test_a_month_without_any_data_is_one_page_saying_so(settings):
    root = parse(report_html_empty(settings))
    pages = root.find_all("section", class_="page")
    assert len(pages) == 1 and "Inga samtal är registrerade för oktober 2025." in pages[0].text()


def report_html_empty(settings: Settings) -> str:
    from app.db.session import make_engine, make_session_factory

    engine = make_engine(settings)
    try:
        return report_html(make_session_factory(engine), settings, scope=None)
    finally:
        engine.dispose()


# --- API and CLI ------------------------------------------------------------------------------------------


def test_api_serves_html_and_clear_errors(loaded, settings):
    with TestClient(create_app(settings), headers=key_headers(settings, "read")) as client:
        response = client.get("/api/v1/reports/2025-10")
        one = client.get("/api/v1/reports/2025-10", params={"scope": "SE-BD", "lang": "en"})
        unknown = client.get("/api/v1/reports/2025-10", params={"scope": "nowhere"})
        bad_month = client.get("/api/v1/reports/2025-13")
        bad_lang = client.get("/api/v1/reports/2025-10", params={"lang": "de"})
    assert response.status_code == 200 and response.headers["content-type"] == "text/html; charset=utf-8"
    assert [p.attrs["data-scope"] for p in parse(response.text).find_all("section", class_="page")] == ["norra"]
    assert one.status_code == 200
    page = parse(one.text).find("section", class_="page")
    assert page.attrs["data-scope"] == "SE-BD" and parse(one.text).find("html").attrs["lang"] == "en"
    assert cell(page, "SE-BD", "offered").fragments()[0] == "15"
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    assert bad_month.status_code == 422 and bad_month.json()["error"] == "invalid_month"
    assert bad_lang.status_code == 422


def test_cli_writes_the_file(loaded, settings, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("VPT_DATABASE_URL", settings.database_url)
    out = tmp_path / "reports" / "norra.html"
    result = CliRunner().invoke(cli_app, ["report", "2025-10", "--out", str(out), "--scope", "norra"])
    assert result.exit_code == 0, result.output
    assert "1 sida (Norra sjukvårdsregionen)" in result.stdout  # the run's language: Swedish by default
    page = parse(out.read_text(encoding="utf-8")).find("section", class_="page")
    assert cell(page, "norra", "answer_rate").fragments()[:2] == ["76,3\u00a0%", "✗"]
    assert list(out.parent.iterdir()) == [out]  # no temporary file left behind
    unknown = CliRunner().invoke(cli_app, ["report", "2025-10", "--out", str(out), "--scope", "nowhere"])
    assert unknown.exit_code == 1 and "nowhere" in unknown.stderr
    assert CliRunner().invoke(cli_app, ["report", "2025-13", "--out", str(out)]).exit_code == 2
    assert CliRunner().invoke(cli_app, ["report", "2025-10", "--out", str(out), "--lang", "de"]).exit_code == 2


# --- number formats (pure) -------------------------------------------------------------------------------


def test_a_figure_never_rounds_across_its_target():
    from app.reports.board_text import delta, percent_judged, wait

    assert percent_judged(0.8496, "sv", ">=", 0.85) == "84,96\u00a0%"  # not "85,0 %" next to ✗
    assert percent_judged(0.8504, "sv", ">=", 0.85) == "85,0\u00a0%"
    assert percent_judged(0.85, "en", ">=", 0.85) == "85.0%"
    assert wait(600.4, "sv", "<=", 600) == "10:00,4"  # not "10:00" next to ✗
    assert wait(600, "sv", "<=", 600) == "10:00"
    assert number(12345, "sv") == "12\u00a0345" and number(12345, "en") == "12,345"
    assert delta("answer_rate", -0.0001, "sv") == "±0,0\u00a0p.e."  # never "−0,0"
    assert delta("mean_wait", -70, "sv") == "−1:10" and delta("offered", 39, "sv") == "+39"

