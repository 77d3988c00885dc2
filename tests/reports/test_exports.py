"""CSV and XLSX exports of the scorecard: pure on hand-built documents, then through the API and the CLI."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from rich.console import Console
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app as cli_app
from app.cli import data as cli_data
from app.db.models import Region
from app.kpi.formulas import KPI_KEYS
from app.reports.exports import COLUMNS, header, safe_text, scorecard_csv, scorecard_rows, scorecard_xlsx
from app.scorecard.document import ScorecardDocument
from tests.auth import key_headers
from tests.helpers import ingest_text
from tests.scorecard.documents import document as typed

EVIL = '=HYPERLINK("http://evil")'
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

SV_HEADERS = [
    "Område", "Typ", "Kod", "Månad", "Inkommande samtal", "Besvarade", "Svarsfrekvens (%)", "Mål svarsfrekvens (%)",
    "Status svarsfrekvens", "Medelväntetid (s)", "Mål medelväntetid (s)", "Status medelväntetid",
    "Medelväntetid alla (s)", "Servicenivå (%)", "Avbrutna", "Korta avbrott", "Kön full", "Andel avbrutna (%)",
    "Andel kön full (%)", "Median väntetid (s)", "90:e percentil väntetid (s)", "Längsta väntetid (s)",
    "Besvarade av annan region", "Besvarade åt annan region",
    "Förändring svarsfrekvens mot föregående månad (procentenheter)",
    "Förändring svarsfrekvens mot samma månad föregående år (procentenheter)",
    "Förändring medelväntetid mot föregående månad (s)", "Förändring medelväntetid mot samma månad föregående år (s)",
    "Timmar med data", "Timmar i månaden", "Ofullständig", "Senaste post (UTC)", "Källor",
    "Förväntade samtal resten av månaden", "Behövd svarsfrekvens (%)", "Behövd medelväntetid (s)", "Datakvalitet",
]


def kpis(**values: Any) -> dict[str, Any]:
    return {key: values.get(key) for key in KPI_KEYS}


def target(kpi: str, value: float, status: str, **extra: Any) -> dict[str, Any]:
    return {"kpi": kpi, "comparator": ">=" if kpi == "answer_rate" else "<=", "value": value,
            "valid_from": "2025-01", "status": status, **extra}


def completeness(hours: int, partial: bool = False, latest: str | None = "2025-10-31T22:55:00Z") -> dict[str, Any]:
    return {"hours_with_data": hours, "hours_in_month": 745, "latest_record_at": latest, "partial": partial}


def closed_document() -> ScorecardDocument:
    return typed(closed_shape())


def in_progress_document() -> ScorecardDocument:
    return typed(in_progress_shape())


def closed_shape() -> dict[str, Any]:
    """Västerbotten with every key; a collaboration in the old shape (no comparisons, no forecast) with nulls;
    and a region whose name an admin set to a formula."""
    return {
        "month": "2025-10",
        "closed": True,
        "definitions": {"short_abandon_seconds": 0, "sl_seconds": 600},
        "generated_at": "2025-11-03T07:00:00Z",
        "scopes": [
            {
                "scope": "SE-AC", "kind": "region", "name": "Västerbotten",
                "kpis": kpis(offered=9, answered=7, abandoned=1, short_abandons=0, rejected=1, answer_rate=7 / 9,
                             mean_wait=500.0, mean_wait_all=470.4, abandon_rate=1 / 9, rejected_rate=1 / 9,
                             service_level=5 / 9, wait_p50=300.0, wait_p90=1020.0, longest_wait=1200.0,
                             answered_by_other_regions=1, answered_for_other_regions=0),
                "targets": [target("answer_rate", 0.85, "missed", needed=None), target("mean_wait", 600.0, "met")],
                "completeness": completeness(700),
                "data_quality": [],
                "forecast": None,
                "comparisons": {
                    "previous_month": {"month": "2025-09", "kpis": kpis(offered=10),
                                       "delta": {**dict.fromkeys(KPI_KEYS), "answer_rate": -0.05, "mean_wait": 45.5}},
                    "previous_year": {"month": "2024-10", "kpis": None, "delta": dict.fromkeys(KPI_KEYS)},
                },
            },
            {
                "scope": "norra", "kind": "collaboration", "name": "Norra sjukvårdsregionen",
                "kpis": kpis(offered=0, answered=0, abandoned=0, short_abandons=2, rejected=0),
                "targets": [target("answer_rate", 0.85, "no_data"), target("mean_wait", 600.0, "no_data")],
                "completeness": completeness(2, partial=True, latest=None),
                "data_quality": ["note one", "note two"],
            },
            {
                "scope": "SE-X", "kind": "region", "name": EVIL,
                "kpis": kpis(offered=1, answered=1, abandoned=0, short_abandons=0, rejected=0, answer_rate=1.0,
                             mean_wait=30.0),
                "targets": [],
                "completeness": completeness(1),
                "data_quality": [],
            },
        ],
    }


def in_progress_shape() -> dict[str, Any]:
    document = closed_shape()
    document["closed"] = False
    scope = document["scopes"][0]
    scope["forecast"] = {"expected_remaining_offered": 812.4, "expected_total_offered": 821.4, "weeks": 4}
    scope["targets"] = [target("answer_rate", 0.85, "at_risk", needed=0.912345),
                        target("mean_wait", 600.0, "unreachable", needed=-120.5)]
    return document


def read_csv(text: str, delimiter: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=delimiter))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


# --- CSV ----------------------------------------------------------------------------------------------------

def test_csv_in_swedish_parses_back_to_the_hand_computed_values():
    text = scorecard_csv(closed_document())
    assert text.count("\r\n") == 4 and "\n" not in text.replace("\r\n", "")
    header_row = next(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert header_row == SV_HEADERS  # the stable column list
    ac, norra, evil = read_csv(text, ";")
    assert ac == dict(zip(SV_HEADERS, [
        "Västerbotten", "region", "SE-AC", "2025-10", "9", "7", "77,78", "85,00", "ej uppfyllt", "500,0", "600,0",
        "uppfyllt", "470,4", "55,56", "1", "0", "1", "11,11", "11,11", "300,0", "1020,0", "1200,0", "1", "0",
        "-5,00", "", "45,5", "", "700", "745", "Nej", "2025-10-31T22:55:00Z", "", "", "", "", "",
    ], strict=True))
    assert float(ac["Svarsfrekvens (%)"].replace(",", ".")) == pytest.approx(700 / 9, abs=0.005)
    # the old document shape without comparisons/forecast; null KPIs are empty fields
    assert norra["Typ"] == "samverkan" and norra["Inkommande samtal"] == "0" and norra["Korta avbrott"] == "2"
    for empty in ("Svarsfrekvens (%)", "Medelväntetid (s)", "Median väntetid (s)", "Besvarade av annan region",
                  "Förändring svarsfrekvens mot föregående månad (procentenheter)", "Senaste post (UTC)"):
        assert norra[empty] == "", empty
    assert norra["Status svarsfrekvens"] == "ingen data" and norra["Ofullständig"] == "Ja"
    assert norra["Datakvalitet"] == "note one; note two"
    assert evil["Område"] == "'" + EVIL and evil["Status svarsfrekvens"] == ""


def test_csv_in_english_uses_commas_and_decimal_points():
    ac, norra, evil = read_csv(scorecard_csv(closed_document(), "en"), ",")
    assert ac["Region/collaboration"] == "Västerbotten" and ac["Offered"] == "9"
    assert ac["Answer rate (%)"] == "77.78" and ac["Answer rate status"] == "missed" and ac["Mean wait (s)"] == "500.0"
    assert ac["Answer rate change vs previous month (percentage points)"] == "-5.00"
    assert ac["Mean wait change vs previous month (s)"] == "45.5" and ac["Partial"] == "No"
    assert norra["Type"] == "collaboration" and norra["Answer rate status"] == "no data"
    assert evil["Region/collaboration"] == "'" + EVIL


def test_csv_of_a_month_in_progress_has_forecast_and_needed():
    rows = read_csv(scorecard_csv(in_progress_document()), ";")
    ac = rows[0]
    assert ac["Förväntade samtal resten av månaden"] == "812,4" and ac["Behövd svarsfrekvens (%)"] == "91,23"
    assert ac["Behövd medelväntetid (s)"] == "-120,5"
    assert ac["Status svarsfrekvens"] == "i fara" and ac["Status medelväntetid"] == "kan inte nås"


@pytest.mark.parametrize("name", [EVIL, "+1", "-1+2", "@SUM(A1)", "\tx", "\r=x", "\n=x"])
def test_every_formula_trigger_is_escaped(name):
    document = closed_shape()
    document["scopes"][0]["name"] = name
    document["scopes"][0]["scope"] = name
    row = read_csv(scorecard_csv(typed(document)), ";")[0]
    assert row["Område"] == "'" + name and row["Kod"] == "'" + name


def test_harmless_text_and_negative_numbers_are_not_escaped():
    assert safe_text("Region Nord-Väst") == "Region Nord-Väst"
    document = closed_shape()
    document["scopes"][0]["comparisons"]["previous_month"]["delta"]["answer_rate"] = -0.0000001
    row = read_csv(scorecard_csv(typed(document)), ";")[0]
    assert row["Förändring svarsfrekvens mot föregående månad (procentenheter)"] == "0,00"  # never "-0,00"
    assert row["Förändring medelväntetid mot föregående månad (s)"] == "45,5"


def test_rows_are_aligned_with_the_columns():
    rows = scorecard_rows(closed_document(), "en")
    assert all(len(row) == len(COLUMNS) for row in rows)
    by_key = dict(zip([c.key for c in COLUMNS], rows[0], strict=True))
    assert by_key["answer_rate"] == 7 / 9 and by_key["answer_rate_status"] == "missed" and by_key["kind"] == "region"


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="lang"):
        scorecard_csv(closed_document(), "de")  # type: ignore[arg-type]


# --- XLSX ---------------------------------------------------------------------------------------------------

def sheet_xml(data: bytes, index: int = 1) -> ElementTree.Element:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return ElementTree.fromstring(archive.read(f"xl/worksheets/sheet{index}.xml"))


def raw_cells(data: bytes) -> dict[str, tuple[str | None, str | None, bool]]:
    """coordinate -> (type attribute, stored value, has a formula) straight from the file."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    out = {}
    for cell in sheet_xml(data).iterfind(".//m:c", ns):
        value = cell.find("m:v", ns)
        out[cell.get("r")] = (cell.get("t"), None if value is None else value.text, cell.find("m:f", ns) is not None)
    return out


def by_header(sheet: Any, row: int) -> dict[str, Any]:
    return {sheet.cell(row=2, column=c).value: sheet.cell(row=row, column=c) for c in range(1, sheet.max_column + 1)}


def test_xlsx_has_typed_formatted_cells():
    data = scorecard_xlsx(closed_document())
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["Styrkort 2025-10", "Definitioner"]
    assert workbook.properties.creator == "vpt-monitor" and "2025-10" in workbook.properties.title
    sheet = workbook["Styrkort 2025-10"]
    assert sheet["A1"].value.startswith("Styrkort 1177 Vårdguiden på telefon 2025-10")
    assert [c.value for c in sheet[2]] == [header(c, "sv", "xlsx") for c in COLUMNS]
    assert all(c.font.b for c in sheet[2])
    assert sheet.freeze_panes == "B3" and sheet.auto_filter.ref == "A2:AK5"
    assert all(sheet.column_dimensions[letter].width for letter in ("A", "E", "AJ"))
    ac = by_header(sheet, 3)
    offered = ac["Inkommande samtal"]
    assert offered.value == 9 and isinstance(offered.value, int) and offered.number_format == "#,##0"
    assert ac["Svarsfrekvens"].value == 7 / 9 and ac["Svarsfrekvens"].number_format == "0.00%"
    assert ac["Mål svarsfrekvens"].value == 0.85 and ac["Servicenivå"].value == 5 / 9
    wait = ac["Medelväntetid (min:s)"]
    assert wait.number_format == "[mm]:ss" and wait.value == timedelta(seconds=500)  # openpyxl reads durations back
    assert ac["Mål medelväntetid (min:s)"].value == timedelta(minutes=10)
    assert ac["Förändring svarsfrekvens mot föregående månad (procentenheter)"].value == -0.05
    delta_wait = ac["Förändring medelväntetid mot föregående månad (s)"]
    assert delta_wait.value == 45.5 and delta_wait.number_format == "+0;-0;0"
    assert ac["Senaste post (UTC)"].value == datetime(2025, 10, 31, 22, 55)
    assert ac["Förändring svarsfrekvens mot samma månad föregående år (procentenheter)"].value is None
    raw = raw_cells(data)
    assert float(raw[wait.coordinate][1]) == 500 / 86400  # stored as an Excel duration, exactly
    assert float(raw[ac["Svarsfrekvens"].coordinate][1]) == 7 / 9
    # status fills: red missed, green met, grey no data
    assert ac["Status svarsfrekvens"].value == "ej uppfyllt"
    assert ac["Status svarsfrekvens"].fill.fgColor.rgb.endswith("FFC7CE")
    assert ac["Status medelväntetid"].fill.fgColor.rgb.endswith("C6EFCE")
    norra = by_header(sheet, 4)
    assert norra["Status svarsfrekvens"].fill.fgColor.rgb.endswith("EDEDED")
    for empty in ("Svarsfrekvens", "Medelväntetid (min:s)", "Besvarade av annan region",
                  "Förväntade samtal resten av månaden",
                  "Förändring svarsfrekvens mot föregående månad (procentenheter)"):
        assert norra[empty].value is None, empty
        assert norra[empty].coordinate not in raw, empty  # truly empty, not 0 or ""


def test_xlsx_of_a_month_in_progress_colours_risk_and_keeps_negative_needed_waits():
    workbook = load_workbook(io.BytesIO(scorecard_xlsx(in_progress_document())))
    sheet = workbook.worksheets[0]
    assert "(pågår)" in sheet["A1"].value
    ac = by_header(sheet, 3)
    assert ac["Status svarsfrekvens"].value == "i fara"
    assert ac["Status svarsfrekvens"].fill.fgColor.rgb.endswith("FFEB9C")
    assert ac["Status medelväntetid"].fill.fgColor.rgb.endswith("FFC7CE")
    assert ac["Behövd svarsfrekvens"].value == 0.912345 and ac["Behövd svarsfrekvens"].number_format == "0.00%"
    assert ac["Behövd medelväntetid (s)"].value == -120.5  # seconds: Excel cannot show a negative duration
    assert ac["Förväntade samtal resten av månaden"].value == 812.4


def test_a_formula_in_a_name_stays_a_string_in_xlsx():
    document = closed_shape()
    document["scopes"][1]["name"] = "#N/A"  # an Excel error code, also kept as text
    data = scorecard_xlsx(typed(document))
    raw = raw_cells(data)
    assert not any(has_formula for _t, _v, has_formula in raw.values())
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    evil = sheet["A5"]
    assert evil.value == "'" + EVIL and evil.data_type == "s" and raw["A5"][0] in {"s", "inlineStr"}
    assert sheet["A4"].value == "#N/A" and raw["A4"][0] in {"s", "inlineStr"}


def test_xlsx_survives_control_characters_in_names():
    document = closed_shape()
    document["scopes"][0]["name"] = "Väster\x07botten"
    sheet = load_workbook(io.BytesIO(scorecard_xlsx(typed(document)))).worksheets[0]
    assert sheet["A3"].value == "Väster\ufffdbotten"


@pytest.mark.parametrize(("lang", "names", "short", "sl"), [
    ("sv", ["Styrkort 2025-10", "Definitioner"], "Korta avbrott", "Servicenivå"),
    ("en", ["Scorecard 2025-10", "Definitions"], "Short abandons", "Service level"),
])
def test_the_definitions_sheet_explains_every_column(lang, names, short, sl):
    workbook = load_workbook(io.BytesIO(scorecard_xlsx(closed_document(), lang)))
    assert workbook.sheetnames == names
    rows = {row[0]: row[1] for row in workbook[names[1]].iter_rows(values_only=True) if row[0]}
    assert next(v for k, v in rows.items() if k.startswith(short)) == 0
    assert next(v for k, v in rows.items() if k.startswith(sl)) == 600
    assert datetime(2025, 11, 3, 7, 0) in rows.values()  # generated_at
    for column in COLUMNS:
        assert rows[header(column, lang, "xlsx")], column.key
    statuses = {"sv": ["uppfyllt", "ej uppfyllt", "ingen data", "i fas", "i fara", "kan inte nås"],
                "en": ["met", "missed", "no data", "on track", "at risk", "unreachable"]}[lang]
    assert all(rows[label] for label in statuses)
    header_row = [c.value for c in workbook.worksheets[0][2]]
    assert ("Answer rate" if lang == "en" else "Svarsfrekvens") in header_row


# --- through the API and the CLI, on a real database ---------------------------------------------------------

CALLS = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n" + "\n".join([
    # September: two calls answered after 60 s
    "s1,SE-AC,q,2025-09-10T08:00:00+02:00,answered,2025-09-10T08:01:00+02:00,",
    "s2,SE-AC,q,2025-09-10T09:00:00+02:00,answered,2025-09-10T09:01:00+02:00,",
    # October: answered after 60, 120 and 900 s; one abandoned after 200 s
    "o1,SE-AC,q,2025-10-06T08:00:00+02:00,answered,2025-10-06T08:01:00+02:00,",
    "o2,SE-AC,q,2025-10-06T08:10:00+02:00,answered,2025-10-06T08:12:00+02:00,",
    "o3,SE-AC,q,2025-10-06T08:20:00+02:00,answered,2025-10-06T08:35:00+02:00,",
    "o4,SE-AC,q,2025-10-06T08:30:00+02:00,abandoned,,2025-10-06T08:33:20+02:00",
]) + "\n"


@pytest.fixture
def loaded(session_factory, settings):
    ingest_text(session_factory, settings, "calls", CALLS)
    with session_factory.begin() as session:
        session.get(Region, "SE-AC").name = EVIL  # an admin with a sense of humour
    return settings


def test_api_serves_csv_and_xlsx_with_filenames(loaded):
    with TestClient(create_app(loaded), headers=key_headers(loaded, "read")) as client:
        as_csv = client.get("/api/v1/scorecards/2025-10", params={"format": "csv"})
        as_csv_en = client.get("/api/v1/scorecards/2025-10", params={"format": "csv", "lang": "en"})
        as_xlsx = client.get("/api/v1/scorecards/2025-10", params={"format": "xlsx"})
        as_json = client.get("/api/v1/scorecards/2025-10", params={"format": "json"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.headers["content-disposition"] == 'attachment; filename="styrkort-2025-10.csv"'
    assert as_csv.content.startswith(b"\xef\xbb\xbf")
    ac, norra = read_csv(as_csv.content.decode("utf-8"), ";")
    assert ac["Område"] == "'" + EVIL and ac["Kod"] == "SE-AC" and norra["Kod"] == "norra"
    assert (ac["Inkommande samtal"], ac["Besvarade"], ac["Svarsfrekvens (%)"]) == ("4", "3", "75,00")
    assert (ac["Medelväntetid (s)"], ac["Medelväntetid alla (s)"], ac["Servicenivå (%)"]) == ("360,0", "320,0", "50,00")
    assert ac["Status svarsfrekvens"] == "ej uppfyllt" and ac["Status medelväntetid"] == "uppfyllt"
    assert ac["Förändring svarsfrekvens mot föregående månad (procentenheter)"] == "-25,00"
    assert ac["Förändring medelväntetid mot föregående månad (s)"] == "300,0"
    assert ac["Förändring svarsfrekvens mot samma månad föregående år (procentenheter)"] == ""
    assert as_csv_en.headers["content-disposition"] == 'attachment; filename="scorecard-2025-10.csv"'
    assert read_csv(as_csv_en.text, ",")[0]["Answer rate (%)"] == "75.00"
    assert as_xlsx.status_code == 200 and as_xlsx.headers["content-type"] == XLSX
    assert as_xlsx.headers["content-disposition"] == 'attachment; filename="styrkort-2025-10.xlsx"'
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).worksheets[0]
    assert sheet["A3"].value == "'" + EVIL and sheet["A3"].data_type == "s"
    assert by_header(sheet, 3)["Svarsfrekvens"].value == 0.75
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.json()["scopes"][0]["kpis"]["answer_rate"] == 0.75


def test_api_refuses_unknown_format_and_lang_with_the_error_shape(settings):
    with TestClient(create_app(settings), headers=key_headers(settings, "read")) as client:
        bad_format = client.get("/api/v1/scorecards/2025-10", params={"format": "pdf"})
        bad_lang = client.get("/api/v1/scorecards/2025-10", params={"format": "csv", "lang": "de"})
        spec = client.get("/openapi.json").json()
    for response in (bad_format, bad_lang):
        assert response.status_code == 422 and response.json()["error"] == "validation_error"
    operation = spec["paths"]["/api/v1/scorecards/{month}"]["get"]
    assert {"application/json", "text/csv", XLSX} <= set(operation["responses"]["200"]["content"])
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["format"]["schema"]["enum"] == ["json", "csv", "xlsx"]
    assert params["lang"]["schema"]["enum"] == ["sv", "en"]


runner = CliRunner()


@pytest.fixture
def cli_env(loaded, monkeypatch):
    monkeypatch.setenv("VPT_DATABASE_URL", loaded.database_url)


def test_cli_writes_xlsx_and_csv_files(cli_env, tmp_path):
    path = tmp_path / "styrkort.xlsx"
    result = runner.invoke(cli_app, ["scorecard", "2025-10", "--format", "xlsx", "--lang", "en", "--out", str(path)])
    assert result.exit_code == 0, result.output
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["Scorecard 2025-10", "Definitions"]
    assert by_header(workbook.worksheets[0], 3)["Answer rate"].value == 0.75
    csv_path = tmp_path / "styrkort.csv"
    result = runner.invoke(cli_app, ["scorecard", "2025-10", "--format", "csv", "--out", str(csv_path)])
    assert result.exit_code == 0 and result.stdout == ""
    assert read_csv(csv_path.read_bytes().decode("utf-8"), ";")[0]["Svarsfrekvens (%)"] == "75,00"


def test_cli_writes_xlsx_to_a_pipe_but_never_to_a_terminal(cli_env, monkeypatch):
    piped = runner.invoke(cli_app, ["scorecard", "2025-10", "--format", "xlsx"])
    assert piped.exit_code == 0 and piped.stdout_bytes.startswith(b"PK")
    assert load_workbook(io.BytesIO(piped.stdout_bytes)).worksheets[0].title == "Styrkort 2025-10"
    monkeypatch.setattr(cli_data, "_stdout_is_terminal", lambda: True)
    refused = runner.invoke(cli_app, ["scorecard", "2025-10", "--format", "xlsx"])
    assert refused.exit_code == 2 and refused.stdout_bytes == b"" and "terminal" in refused.stderr
    for bad in (["--lang", "de"], ["--format", "pdf"], ["--out", "x.txt"]):
        assert runner.invoke(cli_app, ["scorecard", "2025-10", *bad]).exit_code == 2, bad


def test_cli_table_shows_the_change_against_the_previous_month(cli_env):
    result = runner.invoke(cli_app, ["scorecard", "2025-10"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Under värdet: förändring mot föregående månad" in out  # the change sits under its value
    assert "−25,0 p.e." in out and "+5:00" in out and "75,0 %" in out
    assert EVIL in out  # shown as text: rich markup in names is escaped, nothing is evaluated


def render_table(document: ScorecardDocument, monkeypatch, lang: str = "sv") -> str:
    console = Console(file=io.StringIO(), width=240, force_terminal=True, color_system="standard")
    monkeypatch.setattr(cli_data, "console", console)
    cli_data._print_table(document, lang)  # type: ignore[arg-type]
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_table_of_a_month_in_progress_shows_forecast_and_needed_rate_coloured(monkeypatch):
    out = render_table(in_progress_document(), monkeypatch)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert "(pågår)" in plain and "Förväntade" in plain and "Behövd" in plain  # headers may wrap
    assert "812" in plain and "91,2 %" in plain and "77,8 % !" in plain and "8:20 ✗" in plain
    assert "\x1b[33m77,8 % !" in out  # at risk in yellow
    assert "\x1b[31m8:20 ✗" in out  # unreachable in red
    closed = re.sub(r"\x1b\[[0-9;]*m", "", render_table(closed_document(), monkeypatch, "en"))
    assert "Forecast rest" not in closed and "Answer rate needed" not in closed
    assert "change against the previous month" in closed and "−5.0 pp" in closed and "+0:46" in closed

