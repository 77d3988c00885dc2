"""No API key or bearer token in any log line: the redaction filter, and a real server's whole log at DEBUG."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app as cli_app
from app.config import Settings
from app.logs import EventFormatter, RedactSecrets, setup_logging
from tests.auth import make_key
from tests.servers import running_server

LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore", "app", "sqlalchemy.engine")
FAKE = "vpt_Fake1234_" + "s3cr3t-" * 6 + "x"  # well formed, never stored


def render(record: logging.LogRecord) -> str:
    """Everything of a record a handler could write: message, arguments, extras, traceback."""
    line = EventFormatter("%(name)s %(message)s").format(record)
    return " ".join([line, repr(record.args), repr(vars(record))])


def test_the_filter_redacts_message_arguments_extras_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(EventFormatter("%(message)s"))
    handler.addFilter(RedactSecrets())
    log = logging.getLogger("tests.redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("key %s in args", FAKE)
        log.warning(f"key {FAKE} in the message")
        log.warning("header", extra={"headers": {"authorization": f"Bearer {FAKE}"}, "token": "Bearer abc.def"})
        log.warning("count %d of %s", 3, "things")  # untouched, and its arguments still format
        try:
            raise ValueError(f"bad key {FAKE}")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    output = stream.getvalue()
    assert "s3cr3t" not in output and "abc.def" not in output
    assert "vpt_Fake1234_[redacted]" in output and "Bearer [redacted]" in output
    assert "count 3 of things" in output and "ValueError: bad key vpt_Fake1234_[redacted]" in output


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The API under uvicorn configured as ``vpt serve`` does (log_config=None), access log on, at DEBUG."""
    with running_server(app, log_config=None, log_level="debug", access_log=True) as url:
        yield url


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """Logging as in a fresh ``vpt serve`` process, and back afterwards: a server started earlier in this test
    process with uvicorn's default configuration gave its loggers their own handlers and stopped propagation."""
    loggers = [logging.getLogger(name) for name in LOGGERS]
    saved = [(logger, logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    for logger in loggers[1:]:
        logger.handlers[:] = []
        logger.propagate = True
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def test_no_key_or_token_reaches_any_log_line(settings: Settings, caplog: pytest.LogCaptureFixture,
                                              capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                              logging_restored: None) -> None:
    setup_logging("DEBUG")  # the service's own handler (with the filter) on the root logger, writing to stderr
    logging.getLogger().addHandler(caplog.handler)  # and pytest's, which sees every record unfiltered
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    key = make_key(settings, "read")
    revoked = make_key(settings, "admin", name="old")
    secret = key.split("_", 2)[2]
    monkeypatch.setenv("VPT_DATABASE_URL", settings.database_url)
    made = CliRunner().invoke(cli_app, ["keys", "create", "--name", "cli-made", "--scope", "admin"])
    assert made.exit_code == 0, made.output
    cli_key = made.stdout.strip()
    app = create_app(settings.model_copy(update={"metrics_token": SecretStr("scrape-token-123")}))
    with serving(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/api/v1/regions", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert client.get("/api/v1/regions", headers={"X-API-Key": key}).status_code == 200
        assert client.get("/api/v1/audit", headers={"X-API-Key": key}).status_code == 403
        assert client.get("/api/v1/regions", headers={"X-API-Key": key[:-2] + "zz"}).status_code == 401
        assert client.get("/api/v1/regions", headers={"X-API-Key": "garbage " + secret}).status_code == 401
        assert client.delete(f"/api/v1/keys/{revoked.split('_')[1]}",
                             headers={"X-API-Key": cli_key}).status_code == 200
        assert client.get("/api/v1/regions", headers={"X-API-Key": revoked}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"}).status_code == 200
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong-token-456"}).status_code == 401
        # A key pasted into a query string reaches the access line; the filter removes it from the service's log.
        assert client.get("/api/v1/regions", params={"api_key": FAKE}).status_code == 401
    secrets = [secret, revoked.split("_", 2)[2], cli_key.split("_", 2)[2], "scrape-token-123", "wrong-token-456"]

    records = [r for r in caplog.records if "api_key=vpt_Fake1234" not in r.getMessage()]
    assert records
    leaks = [render(r) for r in records if any(s in render(r) for s in secrets)]
    assert leaks == []
    access = [r for r in caplog.records if r.name == "uvicorn.access"]
    assert len(access) == 10
    for record in access:  # uvicorn's access line: client, method, path, version, status; no header at all
        assert not any(word in render(record).lower() for word in ("authorization", "bearer", "x-api-key"))
    assert any(r.name.startswith("httpx") for r in caplog.records)  # httpx's own lines were captured too

    written = capsys.readouterr().err
    assert "uvicorn.access" in written and "GET /api/v1/regions" in written
    assert "api_key=vpt_Fake1234_[redacted]" in written and "s3cr3t" not in written
    assert not any(s in written for s in secrets)
