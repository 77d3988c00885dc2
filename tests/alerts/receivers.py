"""Real receivers for alert tests: an HTTP endpoint and an SMTP server, both on 127.0.0.1.

    with recording_http_receiver() as hook:          # hook.url, e.g. "http://127.0.0.1:53211"
        send(channel_with(url=hook.url + "/alerts"), message)
        request = hook.requests[0]                   # RecordedRequest: method, path, headers, body, json
        hook.respond_with(503)                       # the next requests get 503 (body "error")
        hook.stop()                                  # the port now refuses connections...
        hook.start()                                 # ...and is served again, on the same port
        hook.reset()                                 # forget the requests, answer 200 "ok" again

    with smtp_receiver(starttls=True) as mail:       # mail.host, mail.port, mail.cert_path (CA for tls_verify)
        ...
        mail.messages[0].message["Subject"]          # ReceivedMail: message, mail_from, rcpt_tos, tls, login
        mail.reply_with("451 4.3.0 Try again later")  # the next DATA gets this reply instead of 250

Both keep what they receive in lists guarded by a lock (the servers run in their own threads), and
``wait_for(n)`` waits until ``n`` items arrived, for tests where delivery happens in a background job.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.servers import free_port, running_server

__all__ = ["ReceivedMail", "RecordedRequest", "recording_http_receiver", "smtp_receiver"]


def _wait(items: list[Any], lock: threading.Lock, count: int, timeout: float) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        with lock:
            if len(items) >= count:
                return list(items)
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} deliveries within {timeout} s, got {len(items)}")
        time.sleep(0.01)


# --- HTTP -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes  # exactly as received: what a signature is computed over
    json: Any  # the parsed body, or None when it is not JSON


class HttpReceiver:
    """Records every request on any path and answers ``respond_with``'s status (200 "ok" at first)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._status, self._body = 200, "ok"
        self._stack: ExitStack | None = None
        self._app = Starlette(routes=[Route("/{path:path}", self._record, methods=["GET", "POST", "PUT"])])

    async def _record(self, request: Request) -> Response:
        body = await request.body()
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        recorded = RecordedRequest(request.method, request.url.path, request.url.query,
                                   {k.lower(): v for k, v in request.headers.items()}, body, parsed)
        with self._lock:
            self._requests.append(recorded)
            status, text = self._status, self._body
        return Response(text, status_code=status, media_type="text/plain")

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy, in arrival order."""
        with self._lock:
            return list(self._requests)

    def wait_for(self, count: int = 1, timeout: float = 30) -> list[RecordedRequest]:
        return _wait(self._requests, self._lock, count, timeout)

    def respond_with(self, status: int, body: str | None = None) -> None:
        """Answer later requests with ``status`` (body "ok" for 2xx, "error" otherwise, unless given)."""
        with self._lock:
            self._status, self._body = status, body if body is not None else ("ok" if status < 300 else "error")

    def reset(self) -> None:
        """Forget what was received and answer 200 "ok" again (for a receiver shared between tests)."""
        with self._lock:
            self._requests.clear()
            self._status, self._body = 200, "ok"

    def start(self) -> None:
        """Serve (again) on the same port."""
        if self._stack is None:
            stack = ExitStack()
            stack.enter_context(running_server(self._app, port=self.port))
            self._stack = stack

    def stop(self) -> None:
        """Close the listening socket: connections to ``url`` are refused until ``start``."""
        if self._stack is not None:
            stack, self._stack = self._stack, None
            stack.close()


@contextmanager
def recording_http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


# --- SMTP -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    message: EmailMessage
    mail_from: str
    rcpt_tos: list[str]
    tls: bool  # whether the session was encrypted (STARTTLS or implicit TLS) when the mail was sent
    login: str | None  # the user that authenticated, if any


class SmtpReceiver:
    def __init__(self, host: str, port: int, cert_path: Path | None, users: dict[str, str]) -> None:
        self.host, self.port, self.cert_path = host, port, cert_path
        self.users = users
        self._lock = threading.Lock()
        self._messages: list[ReceivedMail] = []
        self._reply: str | None = None

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._messages)

    def wait_for(self, count: int = 1, timeout: float = 30) -> list[ReceivedMail]:
        return _wait(self._messages, self._lock, count, timeout)

    def reply_with(self, reply: str | None) -> None:
        """Answer DATA with this SMTP reply (e.g. "451 4.3.0 Try later") instead of accepting; None accepts."""
        with self._lock:
            self._reply = reply

    # aiosmtpd hooks (run in the controller's thread)
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self._reply is not None:
                return self._reply
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        mail = ReceivedMail(parsed, envelope.mail_from, list(envelope.rcpt_tos), encrypted, login)
        with self._lock:
            self._messages.append(mail)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and self.users.get(data.login.decode()) == data.password.decode()
        return AuthResult(success=ok, auth_data=data if ok else None, handled=False)


@contextmanager
def smtp_receiver(
    starttls: bool = False, *, implicit_tls: bool = False, users: dict[str, str] | None = None
) -> Iterator[SmtpReceiver]:
    """An SMTP server on 127.0.0.1. ``starttls`` offers STARTTLS (and requires it before MAIL);
    ``implicit_tls`` speaks TLS from the first byte (port-465 style); ``users`` enables AUTH LOGIN/PLAIN.
    With TLS, ``cert_path`` is a self-signed certificate for 127.0.0.1: pass it as ``tls_verify``."""
    with tempfile.TemporaryDirectory(prefix="vpt-smtp-") as folder:
        cert_path = _self_signed_cert(Path(folder)) if starttls or implicit_tls else None
        context = None
        if cert_path is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert_path, Path(folder) / "key.pem")
        receiver = SmtpReceiver("127.0.0.1", free_port(), cert_path, dict(users or {}))
        options: dict[str, Any] = {"hostname": "127.0.0.1", "port": receiver.port, "server_hostname": "vpt-test"}
        if implicit_tls:
            options["ssl_context"] = context
        elif starttls:
            options.update(tls_context=context, require_starttls=True)
        if users:
            options.update(authenticator=receiver.authenticate, auth_require_tls=bool(starttls or implicit_tls))
        controller = Controller(receiver, **options)
        controller.start()
        try:
            yield receiver
        finally:
            controller.stop()


def _self_signed_cert(folder: Path) -> Path:
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail("the openssl command is needed for the SMTP TLS tests and is missing in CI")
        pytest.skip("the openssl command is not installed: cannot make a certificate for the SMTP TLS test")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )
    return cert
