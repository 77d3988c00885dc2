"""API keys for tests: the API is closed by default, so tests that call it make a key in their database."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.access.keys import KEY_PATTERN, create_key
from app.api.app import create_app
from app.config import Settings
from app.db.session import make_engine, make_session_factory, transaction


def make_key(target: Settings | sessionmaker[Session], *scopes: str, name: str = "test") -> str:
    """A new key with ``scopes`` (default admin, which implies read and ingest) in the test database."""
    if isinstance(target, Settings):
        engine = make_engine(target)
        try:
            return make_key(make_session_factory(engine), *scopes, name=name)
        finally:
            engine.dispose()
    with transaction(target) as session:
        return create_key(session, name=name, scopes=scopes or ("admin",), actor="test").key


def secret_of(key: str) -> str:
    """The secret part of a key: it may itself hold ``_``, so ``key.split("_")[2]`` is not it."""
    match = KEY_PATTERN.match(key)
    assert match is not None, "not a key"
    return match.group(2)


def key_headers(target: Settings | sessionmaker[Session], *scopes: str, name: str = "test") -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(target, *scopes, name=name)}"}


def admin_headers(target: Settings | sessionmaker[Session]) -> dict[str, str]:
    """Headers carrying a new admin key: what most API tests send."""
    return key_headers(target, "admin")


def read_json(settings: Settings, *urls: str) -> list[dict[str, Any]]:
    """The JSON of each GET of ``urls`` with a new read key, one app for all; each must answer 200."""
    out = []
    with TestClient(create_app(settings), headers=key_headers(settings, "read")) as client:
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, response.text
            out.append(response.json())
    return out
