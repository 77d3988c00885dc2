"""``vpt alerts evaluate|deliver|channels|test`` against a real database and a real receiver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.cli import app
from app.config import Settings
from app.kpi.localtime import floor_hour, local_month_bounds, local_month_of
from tests.alerts.receivers import recording_http_receiver
from tests.alerts.test_alerting import HEADER, calls
from tests.helpers import ingest_text

runner = CliRunner(env={"VPT_LANG": "en"})  # these tests read the English wording (tests/cli: both)


def past_hour_of_this_month(now: datetime) -> datetime:
    """The hour before ``now``, unless that lies in the previous Stockholm month (the first hour of a month):
    then the month's first hour, which has begun. Data in a closed month would be ``target_missed``, not at risk."""
    hour = floor_hour(now) - timedelta(hours=1)
    if local_month_of(hour) == local_month_of(now):
        return hour
    return local_month_bounds(local_month_of(now))[0]


def test_evaluate_deliver_channels_and_a_test_message(
    monkeypatch: pytest.MonkeyPatch, database_url: str, session_factory: sessionmaker[Session], settings: Settings,
    tmp_path: Path,
) -> None:
    # an hour of this local month with half the calls lost: the month so far is at risk for SE-AC (and Norra)
    hour = past_hour_of_this_month(datetime.now(UTC))
    ingest_text(session_factory, settings, "calls", HEADER + calls("SE-AC", hour, 20, 10))
    with recording_http_receiver() as receiver:
        monkeypatch.setenv("VPT_DATABASE_URL", database_url)
        rules = tmp_path / "alerts.toml"
        rules.write_text("[rules.target_at_risk]\nmin_offered = 0\n")  # 20 calls are enough for this test
        monkeypatch.setenv("VPT_ALERTS_FILE", str(rules))
        monkeypatch.setenv("VPT_ALERT_WEBHOOK_URL", receiver.url + "/hook")
        monkeypatch.setenv("VPT_ALERT_WEBHOOK_SECRET", "cli-test-secret-123")
        result = runner.invoke(app, ["alerts", "channels"])
        assert result.exit_code == 0 and "webhook 'webhook'" in result.stdout and "signed" in result.stdout
        assert "cli-test-secret-123" not in result.stdout
        result = runner.invoke(app, ["alerts", "evaluate"])
        assert result.exit_code == 0, result.output
        assert "target_at_risk/SE-AC/answer_rate" in result.stdout and "inactive → pending" in result.stdout
        result = runner.invoke(app, ["alerts", "deliver"])
        assert result.exit_code == 0 and "0 delivered" in result.stdout  # pending is not told to anyone
        result = runner.invoke(app, ["alerts", "test", "webhook", "--lang", "en"])
        assert result.exit_code == 0, result.output
        (request,) = receiver.wait_for(1)
        assert "(TEST)" in request.json["alerts"][0]["annotations"]["summary"]
        assert request.headers["x-vpt-signature"].startswith("sha256=")
        receiver.stop()
        result = runner.invoke(app, ["alerts", "test", "webhook"])
        assert result.exit_code == 1 and "retryable" in result.output
        assert runner.invoke(app, ["alerts", "test", "nope"]).exit_code == 1


@pytest.mark.parametrize("now", [
    datetime(2026, 11, 30, 23, 10, tzinfo=UTC),  # 00:10 on 1 December in Stockholm (CET)
    datetime(2026, 3, 31, 22, 0, tzinfo=UTC),  # midnight on 1 April in Stockholm (CEST)
    datetime(2026, 10, 15, 9, 59, tzinfo=UTC),
])
def test_the_hour_the_cli_test_uses_has_begun_and_lies_in_the_local_month_of_now(now: datetime) -> None:
    """Before: ``now - 1h`` lay in the previous month during each month's first local hour (a red CI hour)."""
    hour = past_hour_of_this_month(now)
    assert hour <= now and local_month_of(hour) == local_month_of(now)
    assert hour == floor_hour(now) - timedelta(hours=1) or hour == local_month_bounds(local_month_of(now))[0]
