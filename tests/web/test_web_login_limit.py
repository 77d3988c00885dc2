"""Failed sign-ins are limited per client address: past ``VPT_LOGIN_MAX_FAILURES`` within the window, the form
answers 429 with ``Retry-After`` and says when to try again (Swedish, English), whatever key is sent; the refusal
is logged with the address sanitised; other addresses are not affected; the count is in bounded memory."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.config import Settings
from app.web.texts import word
from app.web.throttle import FailedSignIns
from tests.auth import make_key, secret_of
from tests.web.test_web_login import csrf_of

#: the count is in memory, not in the store: the web tests on SQLite only
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
WRONG = "vpt_abcd1234_" + "x" * 43
LIMIT = 3


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"login_max_failures": LIMIT, "login_window_seconds": 600})


def browser(settings: Settings, address: str = "192.0.2.7") -> TestClient:
    return TestClient(create_app(settings), base_url="http://127.0.0.1", client=(address, 50000))


def attempt(client: TestClient, key: str, lang: str = "sv") -> object:
    suffix = "?lang=en" if lang == "en" else ""
    form = client.get("/login" + suffix)
    return client.post("/login" + suffix, data={"csrf_token": csrf_of(form.text), "api_key": key, "next": "/"},
                       follow_redirects=False)


@pytest.fixture
def client(app_settings: Settings) -> Iterator[TestClient]:
    with browser(app_settings) as test_client:
        yield test_client


@SQLITE
@pytest.mark.parametrize("lang", ["sv", "en"])
def test_failed_sign_ins_past_the_limit_are_refused_with_429_and_retry_after(
    client: TestClient, session_factory: sessionmaker[Session], lang: str, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(LIMIT):
        assert attempt(client, WRONG, lang).status_code == 401  # type: ignore[attr-defined]
    good = make_key(session_factory, "read", name="board")
    with caplog.at_level(logging.INFO, logger="app.web"):
        refused = attempt(client, good, lang)  # even the right key: the guessing stops here
    assert refused.status_code == 429  # type: ignore[attr-defined]
    wait = int(refused.headers["retry-after"])  # type: ignore[attr-defined]
    assert 590 <= wait <= 600
    assert word("login_throttled", lang, minutes=10) in refused.text  # type: ignore[attr-defined, arg-type]
    assert "vpt_session" not in refused.headers.get("set-cookie", "")  # type: ignore[attr-defined]
    assert f'<html lang="{lang}">' in refused.text and 'name="api_key"' in refused.text  # type: ignore[attr-defined]
    throttled = [r for r in caplog.records if r.getMessage() == "web.login.throttled"]
    assert len(throttled) == 1 and throttled[0].client == "192.0.2.7"  # type: ignore[attr-defined]
    assert good not in caplog.text and secret_of(good) not in caplog.text


@SQLITE
def test_the_limit_is_per_address_and_a_success_does_not_reset_it(
    app_settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    good = make_key(session_factory, "read", name="board")
    app = create_app(app_settings)
    with TestClient(app, base_url="http://127.0.0.1", client=("192.0.2.7", 1)) as first, \
            TestClient(app, base_url="http://127.0.0.1", client=("192.0.2.8", 1)) as second:
        assert attempt(first, WRONG).status_code == 401  # type: ignore[attr-defined]
        assert attempt(first, good).status_code == 303  # type: ignore[attr-defined]
        for _ in range(LIMIT - 1):
            assert attempt(first, WRONG).status_code == 401  # type: ignore[attr-defined]
        assert attempt(first, good).status_code == 429  # type: ignore[attr-defined]
        assert attempt(second, good).status_code == 303  # type: ignore[attr-defined]


@SQLITE
def test_the_refusal_logs_the_address_sanitised(app_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with browser(app_settings, address="evil\x1b[31m\u202e") as client:
        for _ in range(LIMIT):
            attempt(client, WRONG)
        with caplog.at_level(logging.INFO, logger="app.web"):
            assert attempt(client, WRONG).status_code == 429  # type: ignore[attr-defined]
    record = next(r for r in caplog.records if r.getMessage() == "web.login.throttled")
    assert record.client == "evil\\x1b[31m\\u202e"  # type: ignore[attr-defined]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_slides_and_a_client_may_try_again_when_the_oldest_failure_leaves_it() -> None:
    clock = Clock()
    throttle = FailedSignIns(3, 60, clock=clock)
    for step in (0, 10, 20):
        clock.now = 1000 + step
        assert throttle.retry_after("a") is None
        throttle.failed("a")
    assert throttle.retry_after("a") == 40  # the first failure (at 1000) leaves the window at 1060
    clock.now = 1059.5
    assert throttle.retry_after("a") == 1
    clock.now = 1060
    assert throttle.retry_after("a") is None  # two left in the window
    throttle.failed("a")
    assert throttle.retry_after("a") == 10  # now the one at 1010 is the oldest
    clock.now = 2000
    assert throttle.retry_after("a") is None and len(throttle) == 0  # forgotten once all have left


def test_the_table_is_bounded_whatever_number_of_addresses_fail() -> None:
    clock = Clock()
    throttle = FailedSignIns(2, 60, max_clients=100, clock=clock)
    for index in range(10_000):
        clock.now += 0.001
        throttle.failed(f"10.0.{index // 256}.{index % 256}")
        assert len(throttle) <= 100
    throttle.failed("blocked")
    throttle.failed("blocked")
    assert throttle.retry_after("blocked") is not None  # the newest stays: the least recently failed go first
    clock.now += 61  # every failure has left the window: a new address clears them all away
    throttle.failed("late")
    assert len(throttle) == 1
