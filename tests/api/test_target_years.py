"""A target's ``valid_from`` takes the years a scorecard takes (1970–9998, ``app.scorecard.service``), from the API,
the CLI and the service alike: a target from year 1 was stored, yet no scorecard could ever be asked for its month."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app as cli_app
from app.config import Settings
from app.db.models import TargetVersion
from app.db.session import transaction
from app.scorecard.service import FIRST_YEAR, LAST_YEAR, InvalidMonth, parse_month
from app.scorecard.targets import InvalidTarget, set_target
from tests.auth import admin_headers

BODY = {"comparator": ">=", "value": 0.9, "reason": "beslut"}


def stored(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(TargetVersion).where(TargetVersion.set_by != "system"))


@pytest.mark.parametrize("month", ["0001-01", "1969-12", "9999-01"])
def test_a_month_no_scorecard_takes_is_refused_naming_the_field(
    settings: Settings, session_factory: sessionmaker[Session], month: str
) -> None:
    with pytest.raises(InvalidMonth):
        parse_month(month)  # the scorecard's rule, which the target now shares
    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        response = client.put("/api/v1/targets/region/SE-AC/answer_rate", json={**BODY, "valid_from": month})
    assert response.status_code == 422, response.text
    assert response.json() == {"error": "validation_error", "detail": [{
        "loc": ["body", "valid_from"], "msg": f"year must be between 1970 and 9998, got {int(month[:4])}",
        "type": "invalid_target"}]}
    with pytest.raises(InvalidTarget, match="valid_from: year must be between"), transaction(session_factory) as s:
        set_target(s, "SE-AC", "answer_rate", value="0.9", valid_from=date(int(month[:4]), 1, 1), reason="r",
                   set_by="t")
    assert stored(session_factory) == 0


def test_the_cli_refuses_it_naming_the_option(
    settings: Settings, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VPT_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(cli_app, ["targets", "set", "SE-AC", "answer_rate", "0.9", "--from", "0001-01",
                                          "--reason", "r"])
    assert result.exit_code == 1, result.output
    assert "--from: year must be between 1970 and 9998, got 1" in result.stderr
    assert stored(session_factory) == 0


@pytest.mark.parametrize("month", [f"{FIRST_YEAR}-01", f"{LAST_YEAR}-12"])
def test_the_first_and_last_years_are_taken(settings: Settings, month: str) -> None:
    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        response = client.put("/api/v1/targets/region/SE-AC/answer_rate", json={**BODY, "valid_from": month})
        assert response.status_code == 200, response.text
        assert client.get("/api/v1/targets", params={"month": month, "scope": "SE-AC", "kpi": "answer_rate"}
                          ).json()["targets"][0]["valid_from"] == month
