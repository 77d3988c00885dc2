"""Slow clients cannot hold connections: the real ``vpt serve`` closes a request whose headers or body stop coming.

The server runs with half-second clocks (``VPT_HEADER_TIMEOUT_SECONDS``, ``VPT_BODY_TIMEOUT_SECONDS``); each test
speaks raw HTTP over a socket, because no HTTP client library can be told to stop half-way through a request.
"""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections.abc import Iterator

import pytest

from app.db.migrate import upgrade
from tests.api.vpt_serve import vpt_serve

TIMEOUT = 0.5
# A loaded CI machine (pytest -n 2 on two cores) may be seconds late to close; a server without the clock never
# closes at all (uvicorn's keep-alive clock starts only after an answer), so a wide margin still catches it.
MARGIN = 15.0
PUT_TARGET = (b"PUT /api/v1/targets/region/SE-AC/answer_rate HTTP/1.1\r\nHost: t\r\n"
              b"Content-Type: application/json\r\n")


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    folder = tmp_path_factory.mktemp("slow")
    database_url = f"sqlite:///{folder / 'unused.db'}"
    upgrade(database_url)  # vpt serve refuses a database without a schema
    env = {"VPT_DATABASE_URL": database_url, "VPT_HEADER_TIMEOUT_SECONDS": str(TIMEOUT),
           "VPT_BODY_TIMEOUT_SECONDS": str(TIMEOUT)}
    with vpt_serve(env, folder / "serve.log") as serving:
        yield serving


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT + MARGIN)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; fails if it keeps the connection open past the margin."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            pytest.fail(f"the server kept the connection open; got {data!r}")
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def status_and_document(response: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def test_partial_headers_get_408_and_the_connection_closed(port: int) -> None:
    started = time.monotonic()  # before connecting: the server's header clock cannot start earlier
    with connect(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        response = read_until_closed(sock)
        elapsed = time.monotonic() - started
    assert TIMEOUT * 0.8 <= elapsed < TIMEOUT + MARGIN
    status, document = status_and_document(response)
    assert status == 408 and document == {
        "error": "request_timeout",
        "detail": "the request headers did not arrive within 0.5 s (VPT_HEADER_TIMEOUT_SECONDS)"}


def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    with connect(port) as sock:
        started = time.monotonic()
        assert read_until_closed(sock) == b""  # nothing was asked, nothing is answered
        assert time.monotonic() - started < TIMEOUT + MARGIN


def test_the_header_clock_runs_again_for_the_next_request_on_a_kept_alive_connection(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        first = b""
        while b'"status"' not in first:
            first += sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        time.sleep(TIMEOUT)  # longer than the header clock: the idle time between requests is keep-alive's
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        started = time.monotonic()
        response = read_until_closed(sock)
        assert time.monotonic() - started < TIMEOUT + MARGIN
    assert status_and_document(response)[0] == 408


def test_300_half_open_connections_are_all_closed(port: int) -> None:
    sockets = [connect(port) for _ in range(300)]
    try:
        for sock in sockets:
            sock.sendall(b"POST /api/v1/ingest/calls HTTP/1.1\r\nHost: t\r\n")
        started = time.monotonic()
        for sock in sockets:
            read_until_closed(sock)
        assert time.monotonic() - started < TIMEOUT + MARGIN * 2
    finally:
        for sock in sockets:
            sock.close()


def test_a_body_that_stops_midway_gets_408_and_the_connection_closed(port: int) -> None:
    with connect(port) as sock:
        started = time.monotonic()  # before sending: the server's body clock cannot start earlier
        sock.sendall(PUT_TARGET + b"Content-Length: 100\r\n\r\n{\"value\": ")
        response = read_until_closed(sock)
        elapsed = time.monotonic() - started
    assert TIMEOUT * 0.8 <= elapsed < TIMEOUT + MARGIN
    status, document = status_and_document(response)
    assert status == 408 and document == {
        "error": "request_timeout",
        "detail": "the next part of the request body did not arrive within 0.5 s (VPT_BODY_TIMEOUT_SECONDS)"}


def test_a_body_that_keeps_coming_is_read_whole_however_long_it_takes(port: int) -> None:
    """12 pieces 0.1 s apart: 1.2 s in all, each piece well within the body clock. A 408 (or a closed connection)
    is only a failure when this client really sent every piece in time: a loaded machine may stall it past the
    clock, and then the attempt proves nothing and is made again."""
    body = b'{"value": 0.9, "valid_from": "2026-01", "reason": "slow but steady"}'
    piece = len(body) // 12 + 1
    head = PUT_TARGET + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    for _ in range(5):
        sent: list[tuple[float, float]] = []  # (before, after) each send: the server's view lies in between
        response = b""
        with connect(port) as sock:
            try:
                for start in [None, *range(0, len(body), piece)]:
                    if start is not None:
                        time.sleep(0.1)
                    before = time.monotonic()
                    try:
                        sock.sendall(head if start is None else body[start:start + piece])
                    finally:
                        sent.append((before, time.monotonic()))
                response = read_until_closed(sock)
            except OSError:  # closed by the server while we were sending: judged below
                pass
        # the longest the server can have waited for a piece: from the start of one send to the end of the next
        late = max((nxt[1] - this[0] for this, nxt in itertools.pairwise(sent)), default=0.0) >= TIMEOUT * 0.8
        if not late:
            break
    assert not late, "every attempt was stalled past the body clock: the machine is too busy to judge"
    assert sent[-1][0] - sent[0][1] > TIMEOUT * 2  # the whole body took longer than the clock allows one piece
    assert response, "the server closed the connection of a client that sent every piece in time"
    status, document = status_and_document(response)
    assert status == 401 and document["error"] == "unauthorized"  # read whole, then judged: no key was sent


def test_bytes_trickling_after_the_answer_do_not_keep_the_connection(port: int) -> None:
    """/healthz answers without reading the body; a client that then sends it a byte at a time gains nothing."""
    with connect(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n")
        deadline = time.monotonic() + TIMEOUT + MARGIN
        while time.monotonic() < deadline:
            time.sleep(0.1)
            try:
                sock.sendall(b"x")
            except OSError:  # closed by the server (a reset, as it left our bytes unread)
                return
    pytest.fail("a byte every 0.1 s kept the connection open")
