"""One error base (issue 13): every domain error is a ``VptError`` carrying the code and status the API has always
answered with, the API renders the base (so it lists no domain module), and the CLI prints any of them one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.models import CommandInfo
from typer.testing import CliRunner

from app.access.keys import InvalidKeyRequest, KeySourceKindMismatch, UnknownKeySource
from app.alerts.silences import SilenceError
from app.api.app import create_app
from app.cli import app as cli_app
from app.config import Settings
from app.errors import VptError
from app.ingest.dropdir import RefusedFile
from app.ingest.loader import DefinitionsChanged, IngestError, TooManyRows
from app.ingest.lock import IngestBusy
from app.ingest.pull import PullError, PullStopped
from app.ingest.queries import RejectedCursorNotFound
from app.ingest.runs import SourceKindMismatch, UnknownSource
from app.ingest.source_admin import InvalidSourceName, SourceNameReserved, SourceNotEmpty
from app.ingest.sources import SourceConfigError
from app.scorecard.service import InvalidMonth, UnknownScope
from app.scorecard.targets import InvalidTarget

APP = Path(__file__).resolve().parents[1] / "app"

#: class → the API's `error` value → HTTP status. The codes are what clients and tests match on: never change one.
ERROR_TABLE: list[tuple[type[VptError], str, int]] = [
    (InvalidMonth, "invalid_month", 422),
    (UnknownScope, "not_found", 404),
    (InvalidTarget, "invalid_target", 422),
    (IngestError, "ingest_failed", 422),
    (RefusedFile, "ingest_failed", 422),
    (TooManyRows, "too_many_rows", 413),
    (DefinitionsChanged, "definitions_changed", 409),
    (SourceKindMismatch, "source_kind_mismatch", 409),
    (UnknownSource, "not_found", 404),
    (IngestBusy, "ingest_busy", 503),
    (InvalidSourceName, "invalid_source_name", 422),
    (SourceNameReserved, "source_name_reserved", 409),
    (SourceNotEmpty, "source_not_empty", 409),
    (SourceConfigError, "source_config_error", 422),
    (RejectedCursorNotFound, "not_found", 404),
    (PullError, "pull_failed", 502),
    (PullStopped, "pull_failed", 502),
    (SilenceError, "invalid_silence", 422),
    (InvalidKeyRequest, "invalid_key", 422),
    (UnknownKeySource, "not_found", 404),
    (KeySourceKindMismatch, "source_kind_mismatch", 409),
]


@pytest.mark.parametrize(("error", "code", "status"), ERROR_TABLE, ids=[e.__name__ for e, _, _ in ERROR_TABLE])
def test_every_domain_error_is_a_vpt_error_with_its_code_and_status(
    error: type[VptError], code: str, status: int
) -> None:
    assert issubclass(error, VptError)
    assert (error.code, error.status_code) == (code, status)


def test_errors_that_were_value_or_lookup_errors_still_are() -> None:
    """Callers that catch ValueError or LookupError keep catching them."""
    for error in (InvalidMonth, InvalidTarget, InvalidSourceName, SourceConfigError, SilenceError, InvalidKeyRequest):
        assert issubclass(error, ValueError), error
    for error in (UnknownScope, RejectedCursorNotFound):
        assert issubclass(error, LookupError), error


def test_a_vpt_error_without_a_code_or_an_error_status_is_refused_where_it_is_defined() -> None:
    with pytest.raises(TypeError, match="needs an error code"):
        type("Nameless", (VptError,), {"status_code": 400})
    with pytest.raises(TypeError, match="needs an HTTP error status"):
        type("Fine", (VptError,), {"code": "fine", "status_code": 200})


def _app_imports(path: Path) -> set[str]:
    """The ``app.*`` modules a source file imports, at any depth."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "app" or name.startswith("app.")}


def test_the_error_base_imports_nothing_of_the_app() -> None:
    assert _app_imports(APP / "errors.py") == set()


def test_the_api_error_handlers_import_no_domain_module() -> None:
    """They render the base: a new domain error needs no entry there (and api/errors.py no longer imports ingest)."""
    assert _app_imports(APP / "api" / "errors.py") == {"app.db.session", "app.errors", "app.sanitize"}


def test_the_audit_log_imports_nothing_but_storage() -> None:
    """The services write their rows; the audit log knows no target, silence or source."""
    assert _app_imports(APP / "access" / "audit.py") == {"app.db.auth_models", "app.sanitize"}


class Teapot(VptError):
    code = "short_and_stout"  # not the class name: the code is the error's own, not derived
    status_code = 418


def test_a_new_domain_error_is_answered_with_its_code_and_status_without_a_handler_of_its_own(
    settings: Settings,
) -> None:
    app = create_app(settings)

    @app.get("/teapot")
    def teapot() -> None:
        raise Teapot("refused to brew \x1b[2J here")

    with TestClient(app) as client:
        response = client.get("/teapot")
    assert response.status_code == 418
    assert response.json() == {"error": "short_and_stout", "detail": "refused to brew \\x1b[2J here"}


def test_a_domain_error_no_command_catches_is_one_escaped_error_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def brew() -> None:
        raise Teapot("refused to brew [bold]\x1b[2J here")

    monkeypatch.setattr(cli_app, "registered_commands",
                        [*cli_app.registered_commands, CommandInfo(name="brew", callback=brew)])
    result = CliRunner(env={"VPT_LANG": "en"}).invoke(cli_app, ["brew"])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert result.stderr.strip() == "error: refused to brew [bold]\\x1b[2J here"
