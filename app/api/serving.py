"""How ``vpt serve`` runs the API under uvicorn: whose forwarded address to believe, and how long a slow client
may hold a connection.

**Forwarded addresses.** Left alone, uvicorn believes ``X-Forwarded-For`` from 127.0.0.1 (or from whatever
``$FORWARDED_ALLOW_IPS`` says), so any local process, or a local proxy that passes the header through, could
write any address into the audit log. Here exactly ``VPT_FORWARDED_ALLOW_IPS`` is believed; empty (the default)
believes nobody, and the API and the audit log see the peer's own address.

**Slow clients.** uvicorn bounds the size of a request's headers and the idle time between requests
(keep-alive), not the time a client takes to send a request: 300 clients that send half a request line and stop
would hold 300 connections, and their file descriptors, forever. ``TimedH11Protocol`` adds the two clocks nginx
calls ``client_header_timeout`` and ``client_body_timeout``:

* headers: from the connection's start (or the first byte of a later request on it) until the request's headers
  are complete, at most ``VPT_HEADER_TIMEOUT_SECONDS``; then 408 and close (a connection that sent nothing of a
  request is just closed, as keep-alive would);
* body: at most ``VPT_BODY_TIMEOUT_SECONDS`` without a byte while the server wants more of it; then 408 when the
  answer has not started, and close. While the server itself has paused reading (the app is busy with what it
  has) the client is not late and the clock starts again. Once the answer has started, the rest of the body must
  arrive within one such period: bytes trickling after the answer no longer keep the connection open.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Literal

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.config import Settings

log = logging.getLogger(__name__)

Phase = Literal["headers", "body"]
SETTING = {"headers": "VPT_HEADER_TIMEOUT_SECONDS", "body": "VPT_BODY_TIMEOUT_SECONDS"}
WHAT = {"headers": "the request headers", "body": "the next part of the request body"}


def timeout_body(phase: Phase, seconds: float) -> bytes:
    """The 408 document, in the API's error shape, naming the setting."""
    return json.dumps({"error": "request_timeout",
                       "detail": f"{WHAT[phase]} did not arrive within {seconds:g} s ({SETTING[phase]})"}).encode()


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header clock and a body clock; ``protocol_for`` sets the two periods."""

    header_timeout: float = 20.0
    body_timeout: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock: asyncio.TimerHandle | None = None
        self._phase: Phase | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn narrows BaseTransport
        super().connection_made(transport)
        self._start("headers")

    def data_received(self, data: bytes) -> None:
        if self._clock is None and self.conn.their_state is h11.IDLE:
            self._start("headers")  # the first byte of a later request on a kept-alive connection
        super().data_received(data)
        self._follow(data_arrived=True)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow(data_arrived=False)  # a pipelined request may have been read from the buffer

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop()
        super().connection_lost(exc)

    def _follow(self, *, data_arrived: bool) -> None:
        state = self.conn.their_state
        if state is h11.IDLE:
            return  # the header clock (or, before any byte, uvicorn's keep-alive clock) runs on
        if state is h11.SEND_BODY:
            answering = self.cycle is not None and self.cycle.response_started
            if self._phase != "body" or (data_arrived and not answering):
                self._start("body")
            return
        self._stop()  # the whole request is in (or the connection is over)

    def _start(self, phase: Phase) -> None:
        self._stop()
        self._phase = phase
        seconds = self.header_timeout if phase == "headers" else self.body_timeout
        self._clock = self.loop.call_later(seconds, self._expired)

    def _stop(self) -> None:
        if self._clock is not None:
            self._clock.cancel()
        self._clock, self._phase = None, None

    def _expired(self) -> None:
        phase = self._phase or "headers"
        self._clock = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:  # the server is behind, not the client
            self._start(phase)
            return
        seconds = self.header_timeout if phase == "headers" else self.body_timeout
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "?"
        if phase == "headers":
            if self.conn.trailing_data[0]:  # part of a request came: say why it ends
                body = timeout_body(phase, seconds)
                self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                                     b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body))
                log.info("http.header_timeout", extra={"client": client, "seconds": seconds})
        else:
            self._answer_408(seconds)
            log.info("http.body_timeout", extra={"client": client, "seconds": seconds})
        self.transport.close()

    def _answer_408(self, seconds: float) -> None:
        """408 through h11 when the app has not started its answer; the app then sees the client as gone."""
        cycle = self.cycle
        if cycle is None or cycle.response_started:
            return
        cycle.disconnected = True  # the app's receive() returns http.disconnect, its sends are dropped
        cycle.message_event.set()
        body = timeout_body("body", seconds)
        try:
            for event in (h11.Response(status_code=408, reason=b"Request Timeout", headers=[
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close")]), h11.Data(data=body), h11.EndOfMessage()):
                self.transport.write(self.conn.send(event) or b"")
        except h11.LocalProtocolError:  # h11 cannot answer in this state: closing says enough
            pass


def protocol_for(settings: Settings) -> type[TimedH11Protocol]:
    """The protocol class with the settings' periods (uvicorn makes one instance per connection)."""
    return type("TimedH11Protocol", (TimedH11Protocol,), {
        "header_timeout": settings.header_timeout_seconds, "body_timeout": settings.body_timeout_seconds,
    })


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The ``uvicorn.Config`` options of ``vpt serve`` (tests start their servers with the same ones).

    ``log_config=None``: uvicorn's loggers (access lines included) propagate to our handler, so they get the same
    format and the same redaction of keys and bearer tokens (app.logs) as everything else.
    """
    proxies = list(settings.forwarded_allow_ips)
    return {
        "log_config": None,
        "http": protocol_for(settings),
        # Both given explicitly: uvicorn would otherwise believe 127.0.0.1 or read $FORWARDED_ALLOW_IPS.
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies,
    }
