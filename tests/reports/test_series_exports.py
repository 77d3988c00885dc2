"""CSV and XLSX of the monthly series and of the day and hour breakdowns: hand-computed figures, through the
functions, the API (``format`` and ``Accept``) and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app as cli_app
from app.reports.series_exports import days_table, hours_table, series_table, table_csv, table_xlsx
from app.scorecard.breakdowns import daily, hourly, monthly_series
from tests.auth import key_headers
from tests.helpers import ingest_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEAD = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
        "answered_within_sl,sl_seconds,wait_answered_seconds_sum,wait_abandoned_seconds_sum,longest_wait_seconds,"
        "talk_seconds_sum,wrap_seconds_sum")
#: September: 8 of 10 answered (80 %), waits 2400 s / 8 = 300 s, 6 within 10 min (60 %).
#: 5 October: 09:00 3 of 4 (waits 900 s), 10:00 6 of 6 (waits 600 s): the day 9 of 10 (90 %), 1500 / 9 = 166.67 s.
INTERVALS = "\n".join([
    HEAD,
    "SE-AC,vpt,2025-09-10T10:00:00,60,10,8,2,0,0,6,600,2400,100,700,2400,480",
    "SE-AC,vpt,2025-10-05T09:00:00,60,4,3,1,0,0,3,600,900,50,400,900,180",
    "SE-AC,vpt,2025-10-05T10:00:00,60,6,6,0,0,0,6,600,600,0,200,1800,360",
]) + "\n"


def rows(text: str, delimiter: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff") and "\r\n" in text
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=delimiter))


def by_header(sheet, row: int) -> dict:
    return {sheet.cell(2, c).value.split(" (")[0]: sheet.cell(row, c) for c in range(1, sheet.max_column + 1)}


@pytest.fixture
def loaded(session_factory, settings):
    ingest_text(session_factory, settings, "intervals", INTERVALS)
    return settings


def test_series_csv_has_the_monthly_columns_and_hand_computed_months(loaded, session_factory):
    now = datetime(2025, 10, 20, 10, 0, tzinfo=UTC)
    with session_factory() as session:
        document = monthly_series(session, "region", "SE-AC", date(2025, 9, 1), date(2025, 11, 1), now)
    september, october, november = rows(table_csv(series_table(document, now, "sv"), "sv"), ";")
    assert (september["Månad"], september["Månaden"], october["Månaden"], november["Månaden"]) == (
        "2025-09", "avslutad", "pågår", "kommande")
    assert (september["Inkommande samtal"], september["Besvarade"], september["Svarsfrekvens (%)"]) == (
        "10", "8", "80,00")
    assert (september["Medelväntetid (s)"], september["Servicenivå (%)"]) == ("300,0", "60,00")
    assert (september["Mål svarsfrekvens (%)"], september["Status svarsfrekvens"]) == ("85,00", "ej uppfyllt")
    assert september["Status medelväntetid"] == "uppfyllt"
    assert (october["Svarsfrekvens (%)"], october["Medelväntetid (s)"]) == ("90,00", "166,7")
    assert november["Inkommande samtal"] == "0" and november["Svarsfrekvens (%)"] == ""
    assert not any("Förändring" in h for h in september)  # the row above is the previous month
    english = rows(table_csv(series_table(document, now, "en"), "en"), ",")
    assert (english[0]["Answer rate (%)"], english[0]["Answer rate status"], english[2]["The month"]) == (
        "80.00", "missed", "to come")


def test_series_xlsx_cells_are_typed_and_coloured(loaded, session_factory):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with session_factory() as session:
        document = monthly_series(session, "region", "SE-AC", date(2025, 9, 1), date(2025, 10, 1), now)
    workbook = load_workbook(io.BytesIO(table_xlsx(series_table(document, now, "sv"), "sv")))
    assert workbook.sheetnames == ["Månadsserie", "Definitioner"]
    sheet = workbook.worksheets[0]
    assert sheet["A1"].value == "Månadsserie Västerbotten (SE-AC) 2025-09–2025-10"
    september = by_header(sheet, 3)
    assert september["Inkommande samtal"].value == 10 and september["Inkommande samtal"].number_format == "#,##0"
    assert september["Svarsfrekvens"].value == pytest.approx(0.8)
    assert september["Svarsfrekvens"].number_format == "0.00%"
    assert september["Medelväntetid"].value == timedelta(seconds=300)  # stored as 300 / 86400 days
    assert september["Medelväntetid"].number_format == "[mm]:ss"
    assert september["Status svarsfrekvens"].value == "ej uppfyllt"
    assert september["Status svarsfrekvens"].fill.fgColor.rgb.endswith("FFC7CE")  # Excel's "Bad"
    assert by_header(sheet, 4)["Medelväntetid"].value.total_seconds() == pytest.approx(1500 / 9, abs=0.01)
    last = sheet.cell(2, sheet.max_column).column_letter
    assert sheet.freeze_panes == "B3" and sheet.auto_filter.ref == f"A2:{last}4"
    explained = {r[0].value: r[1].value for r in workbook.worksheets[1].iter_rows(min_row=4)}
    assert explained["Månaden"].startswith("avslutad") and explained["Svarsfrekvens"] == "besvarade / inkommande samtal"


def test_days_and_hours_csv_and_xlsx_hold_the_hand_computed_day(loaded, session_factory):
    with session_factory() as session:
        days = daily(session, "region", "SE-AC", date(2025, 10, 1))
        hours = hourly(session, "region", "SE-AC", date(2025, 10, 5))
    day_rows = rows(table_csv(days_table(days, "sv"), "sv"), ";")
    assert len(day_rows) == 31
    fifth = day_rows[4]
    assert (fifth["Datum"], fifth["Veckodag"], fifth["Inkommande samtal"], fifth["Besvarade"]) == (
        "2025-10-05", "sön", "10", "9")
    assert (fifth["Svarsfrekvens (%)"], fifth["Medelväntetid (s)"], fifth["Timmar med data"]) == ("90,00", "166,7", "2")
    assert (fifth["Timmar i dygnet"], fifth["Upplösning"], fifth["Anmärkning"]) == ("24", "timdata", "")
    assert day_rows[0]["Svarsfrekvens (%)"] == "" and day_rows[0]["Inkommande samtal"] == "0"
    hour_rows = rows(table_csv(hours_table(hours, "en"), "en"), ",")
    assert len(hour_rows) == 24
    nine, ten = hour_rows[9], hour_rows[10]
    assert (nine["Hour"], nine["UTC offset"], nine["Data"], nine["Answer rate (%)"], nine["Mean wait (s)"]) == (
        "09:00", "UTC+02:00", "Yes", "75.00", "300.0")
    assert (ten["Answer rate (%)"], ten["Mean wait (s)"], hour_rows[8]["Data"]) == ("100.00", "100.0", "No")
    sheet = load_workbook(io.BytesIO(table_xlsx(hours_table(hours, "sv"), "sv"))).worksheets[0]
    assert sheet.title == "Timmar"
    cells = by_header(sheet, 3 + 9)
    assert cells["Timme"].value == "09:00" and cells["Svarsfrekvens"].value == pytest.approx(0.75)
    assert cells["Inkommande samtal"].value == 4 and cells["Data"].value == "Ja"
    day_sheet = load_workbook(io.BytesIO(table_xlsx(days_table(days, "en"), "en"))).worksheets[0]
    assert by_header(day_sheet, 3 + 4)["Mean wait"].value.total_seconds() == pytest.approx(1500 / 9, abs=0.01)


def test_a_day_of_monthly_figures_says_why_its_kpis_are_empty():
    document = {"scope": "SE-X", "kind": "region", "name": "=Gävleborg", "month": "2025-10", "days": [
        {"date": "2025-10-01", "weekday": 3, "kpis": None, "hours_with_data": 0, "hours_in_day": 24,
         "resolution": "month", "note": "monthly figures: …"}]}
    (row,) = rows(table_csv(days_table(document, "sv"), "sv"), ";")
    assert row["Område"] == "'=Gävleborg"  # a formula in a name stays text
    assert row["Upplösning"] == "månadssiffror" and row["Anmärkning"].startswith("en summa för månaden")
    assert row["Svarsfrekvens (%)"] == "" and row["Inkommande samtal"] == ""


def test_api_sends_csv_and_xlsx_by_format_or_accept(loaded):
    with TestClient(create_app(loaded), headers=key_headers(loaded, "read")) as client:
        series = client.get("/api/v1/regions/SE-AC/scorecards", params={"from": "2025-09", "to": "2025-10",
                                                                         "format": "csv"})
        days = client.get("/api/v1/regions/SE-AC/days", params={"month": "2025-10"}, headers={"Accept": XLSX})
        hours = client.get("/api/v1/collaborations/norra/hours", params={"date": "2025-10-05", "lang": "en"},
                           headers={"Accept": "text/csv;q=0.9, */*;q=0.1"})
        plain = client.get("/api/v1/regions/SE-AC/days", params={"month": "2025-10"},
                           headers={"Accept": "application/json"})
        bad = client.get("/api/v1/regions/SE-AC/days", params={"month": "2025-10", "format": "pdf"})
    assert series.status_code == 200 and series.headers["content-type"] == "text/csv; charset=utf-8"
    assert series.headers["content-disposition"] == 'attachment; filename="manadsserie-SE-AC-2025-09-2025-10.csv"'
    assert [r["Svarsfrekvens (%)"] for r in rows(series.content.decode("utf-8"), ";")] == ["80,00", "90,00"]
    assert days.status_code == 200 and days.headers["content-type"] == XLSX
    assert days.headers["content-disposition"] == 'attachment; filename="dagar-SE-AC-2025-10.xlsx"'
    assert by_header(load_workbook(io.BytesIO(days.content)).worksheets[0], 7)["Besvarade"].value == 9
    assert hours.headers["content-disposition"] == 'attachment; filename="hours-norra-2025-10-05.csv"'
    norra = rows(hours.text, ",")
    assert (norra[9]["Type"], norra[9]["Offered"], norra[9]["Answer rate (%)"]) == ("collaboration", "4", "75.00")
    assert plain.headers["content-type"] == "application/json" and plain.json()["days"][4]["kpis"]["answered"] == 9
    assert bad.status_code == 422 and bad.json()["error"] == "validation_error"


runner = CliRunner()


def test_cli_exports_series_days_and_hours(loaded, monkeypatch, tmp_path):
    monkeypatch.setenv("VPT_DATABASE_URL", loaded.database_url)
    series = runner.invoke(cli_app, ["export", "series", "SE-AC", "--from", "2025-09", "--to", "2025-10"])
    assert series.exit_code == 0, series.output
    assert [r["Besvarade"] for r in rows(series.stdout_bytes.decode("utf-8"), ";")] == ["8", "9"]
    path = tmp_path / "days.xlsx"
    days = runner.invoke(cli_app, ["export", "days", "norra", "2025-10", "--format", "xlsx", "--lang", "en",
                                   "--out", str(path)])
    assert days.exit_code == 0 and "31 rows" in days.stderr
    assert by_header(load_workbook(path).worksheets[0], 7)["Answer rate"].value == pytest.approx(0.9)
    hours = runner.invoke(cli_app, ["export", "hours", "SE-AC", "2025-10-05", "--lang", "en"])
    assert rows(hours.stdout_bytes.decode("utf-8"), ",")[10]["Answered"] == "6"
    assert runner.invoke(cli_app, ["export", "hours", "SE-NOPE", "2025-10-05"]).exit_code == 1
    for bad in (["export", "days", "SE-AC", "2025-13"], ["export", "days", "SE-AC", "2025-10", "--format", "pdf"]):
        assert runner.invoke(cli_app, bad).exit_code == 2, bad
