"""Reads closed (the default): a browser signs in with an API key, kept as a signed session cookie, and out.

The key is never in a URL or a cookie; the session cookie is HttpOnly, SameSite=Strict, signed and expiring;
each form that changes something (sign in, sign out) is refused without its CSRF token; a revoked key ends its
sessions at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.access.keys import revoke_key
from app.api.app import create_app
from app.config import Settings
from app.db.auth_models import ApiKey
from app.db.session import transaction
from app.web.pages import web_now
from app.web.session import CSRF_COOKIE, SESSION_COOKIE, decode_session, encode_session
from app.web.texts import word
from tests.auth import make_key, secret_of
from tests.web.data import NOW

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # keys: tests/api/test_auth.py


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    app.dependency_overrides[web_now] = lambda: NOW
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert found, "no CSRF field in the form"
    return found.group(1)


def set_cookies(response: object) -> list[str]:
    return response.headers.get_list("set-cookie")  # type: ignore[attr-defined, no-any-return]


def sign_in(client: TestClient, key: str, next_path: str = "/") -> object:
    form = client.get("/login")
    return client.post("/login", data={"csrf_token": csrf_of(form.text), "api_key": key, "next": next_path},
                       follow_redirects=False)


def test_a_browser_is_sent_to_the_login_form_and_signs_in_with_a_key(
    client: TestClient, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    first = client.get("/regions/SE-AC?month=2025-09", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/login?next=%2Fregions%2FSE-AC%3Fmonth%3D2025-09"
    form = client.get(first.headers["location"])
    assert form.status_code == 200 and word("login_intro", "sv", hours=8) in form.text
    csrf_cookie = next(c for c in set_cookies(form) if c.startswith(CSRF_COOKIE + "="))
    assert "HttpOnly" in csrf_cookie and "SameSite=strict" in csrf_cookie
    assert 'method="post" action="/login"' in form.text and 'type="password"' in form.text

    key = make_key(session_factory, "read", name="board")
    signed = client.post("/login", data={"csrf_token": csrf_of(form.text), "api_key": key,
                                         "next": "/regions/SE-AC?month=2025-09"}, follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/regions/SE-AC?month=2025-09"
    cookie = next(c for c in set_cookies(signed) if c.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert f"Max-Age={settings.session_max_age_seconds}" in cookie
    assert key not in cookie and secret_of(key) not in cookie  # the secret is in no cookie
    assert key not in signed.headers["location"]
    page = client.get("/regions/SE-AC?month=2025-09")
    assert page.status_code == 200 and word("signed_in_as", "sv", name="board") in page.text
    assert "<code>/api/v1/regions/SE-AC/scorecards</code>" in page.text and 'href="/api/v1' not in page.text
    session = decode_session(settings, client.cookies.get(SESSION_COOKIE))
    assert session is not None and session.key_id == key.split("_")[1]


def test_login_without_or_with_a_wrong_csrf_token_is_refused(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    key = make_key(session_factory, "read")
    client.get("/login")  # the CSRF cookie, but no token sent back
    for data in ({"api_key": key}, {"api_key": key, "csrf_token": "0" * 64}):
        refused = client.post("/login", data=data, follow_redirects=False)
        assert refused.status_code == 403 and word("csrf_failed", "sv") in refused.text
        assert not [c for c in set_cookies(refused) if c.startswith(SESSION_COOKIE)]
    other = TestClient(client.app, base_url="http://127.0.0.1")  # a token of another browser's cookie
    token = csrf_of(client.get("/login").text)
    assert other.post("/login", data={"api_key": key, "csrf_token": token}, follow_redirects=False).status_code == 403


@pytest.mark.parametrize(("scopes", "reason"), [((), "malformed"), (("ingest",), "scope"), (None, "invalid")])
def test_a_key_that_may_not_read_does_not_sign_in(
    client: TestClient, session_factory: sessionmaker[Session], scopes: tuple[str, ...] | None, reason: str
) -> None:
    if scopes == ():
        key = "not-a-key"
    elif scopes is None:
        key = make_key(session_factory, "read")[:-4] + "AAAA"
    else:
        key = make_key(session_factory, *scopes)
    refused = sign_in(client, key)
    assert refused.status_code == 401  # type: ignore[attr-defined]
    assert word(f"reason_{reason}", "sv") in refused.text  # type: ignore[attr-defined]
    assert key not in refused.text  # type: ignore[attr-defined]  # never echoed
    assert client.get("/", follow_redirects=False).status_code == 303


def test_logout_needs_its_csrf_token_and_ends_the_session(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    assert sign_in(client, make_key(session_factory, "read")).status_code == 303  # type: ignore[attr-defined]
    page = client.get("/")
    assert page.status_code == 200 and 'action="/logout"' in page.text
    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403 and client.get("/", follow_redirects=False).status_code == 200
    out = client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    cleared = next(c for c in set_cookies(out) if c.startswith(SESSION_COOKIE + "="))
    assert "Max-Age=0" in cleared or "expires=Thu, 01 Jan 1970" in cleared
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_forged_expired_or_revoked_session_is_not_accepted(
    client: TestClient, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    key = make_key(session_factory, "read")
    public_id = key.split("_")[1]
    good = encode_session(settings, public_id)
    payload, signature = good.split(".")
    for cookie in (f"{payload}.{'0' * 64}", f"{payload}x.{signature}", "garbage",
                   encode_session(settings, public_id, now=datetime.now(UTC).timestamp() - 9 * 3600),
                   encode_session(settings.model_copy(update={"session_secret": SecretStr("another")}), public_id)):
        client.cookies.set(SESSION_COOKIE, cookie)
        assert client.get("/", follow_redirects=False).status_code == 303, cookie
    client.cookies.set(SESSION_COOKIE, good)
    assert client.get("/", follow_redirects=False).status_code == 200
    with transaction(session_factory) as session:
        row = session.scalars(select(ApiKey).where(ApiKey.public_id == public_id)).one()
        revoke_key(session, row, actor="test")
    assert client.get("/", follow_redirects=False).status_code == 303  # at once, not after a cache


def test_next_only_leads_to_this_site(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        signed = sign_in(client, make_key(session_factory, "read"), target)
        assert signed.headers["location"] == "/", target  # type: ignore[attr-defined]


def test_public_read_needs_no_login_but_the_form_still_works(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    app = create_app(settings.model_copy(update={"public_read": True}))
    with TestClient(app) as client:
        assert client.get("/", follow_redirects=False).status_code == 200
        assert sign_in(client, make_key(session_factory, "admin")).status_code == 303  # type: ignore[attr-defined]
