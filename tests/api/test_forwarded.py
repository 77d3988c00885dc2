"""Whose address the audit log records: the peer's, unless the peer is a proxy the operator listed.

uvicorn on its own believes ``X-Forwarded-For`` from 127.0.0.1 and from ``$FORWARDED_ALLOW_IPS``; ``vpt serve``
believes exactly ``VPT_FORWARDED_ALLOW_IPS`` (nobody by default). The default is tested against the real
``vpt serve`` in a child process; the lists against uvicorn in this process with the same options.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.api.serving import uvicorn_options
from app.config import Settings
from app.db.auth_models import AuditEntry
from tests.api.vpt_serve import vpt_serve
from tests.auth import admin_headers
from tests.servers import running_server


def set_target_through(port: int, headers: dict[str, str], forwarded_for: bytes) -> None:
    response = httpx.put(
        f"http://127.0.0.1:{port}/api/v1/targets/region/SE-AC/answer_rate",
        json={"value": 0.9, "valid_from": "2026-01", "reason": "beslut"},
        headers=[*((k.encode(), v.encode()) for k, v in headers.items()), (b"X-Forwarded-For", forwarded_for)],
        timeout=10,
    )
    assert response.status_code == 200, response.text


def recorded_addresses(factory: sessionmaker[Session]) -> list[str | None]:
    with factory() as session:
        return list(session.scalars(select(AuditEntry.remote_addr).where(AuditEntry.action == "target.set")))


def test_vpt_serve_believes_nobody_by_default(
    settings: Settings, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Not a local process either, and not whatever uvicorn's own ``FORWARDED_ALLOW_IPS`` says."""
    env = {"VPT_DATABASE_URL": settings.database_url, "FORWARDED_ALLOW_IPS": "*"}
    with vpt_serve(env, tmp_path / "serve.log") as port:
        set_target_through(port, admin_headers(settings), b"203.0.113.7")
    assert recorded_addresses(session_factory) == ["127.0.0.1"]


@pytest.mark.parametrize(("allowed", "recorded"), [
    ("10.0.0.0/8", "127.0.0.1"),  # a listed proxy elsewhere does not make the local peer one
    ("127.0.0.1", "203.0.113.7"),  # the peer is a listed proxy: the client it names is recorded
    ("::1,127.0.0.0/8", "203.0.113.7"),
])
def test_x_forwarded_for_is_believed_only_from_listed_proxies(
    settings: Settings, session_factory: sessionmaker[Session], allowed: str, recorded: str
) -> None:
    """Real uvicorn in this process, with ``vpt serve``'s options (app.api.serving), which start faster."""
    served = settings.model_copy(update={"forwarded_allow_ips": Settings(
        forwarded_allow_ips=allowed, _env_file=None).forwarded_allow_ips})  # type: ignore[call-arg]
    with running_server(create_app(served), **uvicorn_options(served)) as url:
        set_target_through(int(url.rsplit(":", 1)[1]), admin_headers(settings), b"203.0.113.7")
    assert recorded_addresses(session_factory) == [recorded]


def test_a_forwarded_address_is_stored_through_the_sanitiser(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    """A listed proxy passes on whatever its client wrote; a C1 control (byte 0x9b, CSI) is kept visibly."""
    served = settings.model_copy(update={"forwarded_allow_ips": ["127.0.0.1"]})
    with running_server(create_app(served), **uvicorn_options(served)) as url:
        set_target_through(int(url.rsplit(":", 1)[1]), admin_headers(settings), b"203.0.113.7\x9b2J")
    assert recorded_addresses(session_factory) == ["203.0.113.7\\x9b2J"]


@pytest.mark.parametrize("value", ["*", "proxy.internal", "10.0.0.1/8", "10.0.0.1,*"])
def test_the_setting_takes_addresses_and_networks_only(value: str) -> None:
    with pytest.raises(ValidationError, match="forwarded_allow_ips"):
        Settings(forwarded_allow_ips=value, _env_file=None)  # type: ignore[call-arg]


def test_the_setting_reads_a_list() -> None:
    assert Settings(_env_file=None).forwarded_allow_ips == []  # type: ignore[call-arg]
    assert Settings(forwarded_allow_ips=" 10.0.0.5, 10.1.0.0/16,::1", _env_file=None  # type: ignore[call-arg]
                    ).forwarded_allow_ips == ["10.0.0.5", "10.1.0.0/16", "::1"]
    assert Settings(forwarded_allow_ips='["fd00::/8"]', _env_file=None  # type: ignore[call-arg]
                    ).forwarded_allow_ips == ["fd00::/8"]
