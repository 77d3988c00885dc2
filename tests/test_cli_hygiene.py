"""The CLI prints text that came from input literally: no Rich markup (a ``[link=...]`` hyperlink), no escape
sequence and no C1 control (U+009B, CSI) reaches the terminal; each is shown as visible text instead.

Rich renders hyperlinks and colours only on a terminal, so the consoles are forced to be one: the real ``vpt``
in a child process with ``FORCE_COLOR``, or the CLI in this process with forced-terminal consoles.
"""

from __future__ import annotations

import importlib
import io
import os
import pkgutil
import re
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

import app.cli
from app.access.keys import create_key
from app.cli import app as cli_app
from app.db.alert_models import AlertSilence
from app.db.auth_models import ApiKey, AuditEntry
from app.db.models import Source, TargetVersion
from app.db.session import transaction
from tests.alerts.test_alerts_api import T0, _alert, _event, _notify

LINK = "[link=https://evil.example]x[/link]"
EVIL = LINK + "\x1b[2J\u009b"  # markup, an escape sequence (clear screen) and CSI: 40 characters, the shortest column
TERMINAL = {"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1", "COLORTERM": "truecolor", "TERM": "xterm-256color",
            "COLUMNS": "1000"}
SGR = re.compile("\x1b\\[[0-9;]*m")  # the colours Rich itself writes


def assert_literal(output: str) -> None:
    """No hyperlink, no C1 control, no escape sequence but Rich's colours; the hostile text shown as text."""
    assert "\x1b]8;" not in output, "an OSC 8 hyperlink reached the terminal"
    assert "\u009b" not in output, "a C1 control (CSI) reached the terminal"
    assert "\x1b" not in SGR.sub("", output), "an escape sequence from input reached the terminal"
    assert LINK in SGR.sub("", output) and "\\x1b[2J\\x9b" in SGR.sub("", output), output


def test_ingest_prints_a_hostile_call_id_and_file_name_literally(database_url: str, tmp_path: Path) -> None:
    """The issue's case, through the real ``vpt`` on a terminal: a rejected row's key is echoed on stderr."""
    path = tmp_path / "[link=https:evil.example]f.csv"
    path.write_text("call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
                    f"{EVIL},SE-AC,vpt,2025-10-01T08:00:00+02:00,abandoned,,2025-10-01T08:01:00+02:00\n"
                    "ok-1,SE-AC,vpt,2025-10-01T08:00:00+02:00,abandoned,,2025-10-01T08:01:00+02:00\n",
                    encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VPT_")}
    done = subprocess.run([sys.executable, "-m", "app", "ingest", "calls", path.name], cwd=tmp_path, timeout=300,
                          env={**env, **TERMINAL, "VPT_DATABASE_URL": database_url}, capture_output=True)
    output = (done.stdout + done.stderr).decode("utf-8")
    assert done.returncode == 3, output  # some rows rejected
    assert "[link=https:evil.example]f.csv" in SGR.sub("", output)
    assert_literal(output)


@pytest.fixture
def terminal_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every CLI module's ``console`` and ``errors`` replaced by consoles that believe they write to a terminal."""
    out = Console(force_terminal=True, color_system="truecolor", width=1000)
    err = Console(stderr=True, force_terminal=True, color_system="truecolor", width=1000)
    for found in pkgutil.iter_modules(app.cli.__path__, "app.cli."):
        module = importlib.import_module(found.name)
        for name, replacement in (("console", out), ("errors", err)):
            if isinstance(getattr(module, name, None), Console):
                monkeypatch.setattr(module, name, replacement)


@pytest.fixture
def cli_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)


@pytest.fixture
def hostile_rows(cli_database: None, session_factory: sessionmaker[Session]) -> None:
    """Stored text as an older version, or another writer, may have left it: never passed through the sanitiser."""
    with transaction(session_factory) as session:
        session.add(Source(name=EVIL, kind="push", last_error=EVIL, last_error_at=T0))
        session.add(TargetVersion(scope_kind="region", scope_code="SE-AC", kpi="answer_rate", comparator=">=",
                                  value=Decimal("0.9"), valid_from=date(2025, 1, 1), set_by=EVIL, reason=EVIL,
                                  created_at=T0))
        key = create_key(session, name="plain", scopes=["read"], actor="test").row
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(name=EVIL, created_by=EVIL))
        session.add(AuditEntry(at=T0, actor=EVIL, action="target.set", subject=EVIL, details={"reason": EVIL},
                               remote_addr=EVIL))
        alert = _alert(session, EVIL, EVIL, "mean_wait", "2025-10", "firing", fired_at=T0, value=421.0,
                       threshold=420.0)
        _notify(session, _event(session, alert, T0, "pending", "firing"), EVIL, "failed", error=EVIL)
        session.add(AlertSilence(rule=EVIL, scope=EVIL, starts_at=T0, ends_at=T0 + timedelta(days=1), reason=EVIL,
                                 created_by=EVIL, created_at=T0))


@pytest.mark.parametrize("command", [
    ["sources", "list"], ["targets", "list", "--history"], ["keys", "list"], ["audit"], ["alerts", "list"],
    ["alerts", "history"], ["alerts", "notifications"], ["silences", "list", "--all"],
])
def test_commands_print_stored_text_literally(terminal_consoles: None, hostile_rows: None, command: list[str]) -> None:
    result = CliRunner().invoke(cli_app, command)
    assert result.exit_code == 0, result.output
    assert_literal(result.stdout)


@pytest.mark.parametrize("command", [
    ["targets", "set", "SE-AC", "answer_rate", "0.9", "--from", EVIL, "--reason", "r"],
    ["silences", "add", "--reason", "r", "--for", EVIL],
    ["alerts", "notifications", "--status", EVIL],
    ["recompute", "--from", EVIL],
])
def test_errors_echo_bad_input_literally(terminal_consoles: None, cli_database: None, command: list[str]) -> None:
    result = CliRunner().invoke(cli_app, command)
    assert result.exit_code == 1, result.output
    assert_literal(result.stderr)


def test_the_check_catches_what_unescaped_text_does_on_a_terminal() -> None:
    """So the tests above can fail: printed raw, the text makes a hyperlink and passes the controls through."""
    screen = io.StringIO()
    Console(file=screen, force_terminal=True, color_system="truecolor", width=1000).print(EVIL)
    with pytest.raises(AssertionError, match="OSC 8"):
        assert_literal(screen.getvalue())
    with pytest.raises(AssertionError, match="C1"):
        assert_literal(f"{LINK} \\x1b[2J\\x9b \u009b")
    with pytest.raises(AssertionError, match="escape sequence"):
        assert_literal(f"{LINK} \\x1b[2J\\x9b \x1b]0;title\x07")
