"""``vpt alerts evaluate|deliver|channels|test`` against a real database and a real receiver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.cli import app
from app.config import Settings
from tests.alerts.receivers import recording_http_receiver
from tests.alerts.test_alerting import HEADER, calls
from tests.helpers import ingest_text

runner = CliRunner(env={"VPT_LANG": "en"})  # these tests read the English wording (tests/cli: both)


def test_evaluate_deliver_channels_and_a_test_message(
    monkeypatch: pytest.MonkeyPatch, database_url: str, session_factory: sessionmaker[Session], settings: Settings,
    tmp_path: Path,
) -> None:
    # an hour this morning with half the calls lost: the month so far is at risk for SE-AC (and Norra)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
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
