"""The demo's webhook receiver: where its alerts arrive, are checked and can be seen, with nothing configured.

A receiver on 127.0.0.1 rather than a notifications view inside the API, so that the demo shows the path a real
integration takes: the worker's outbox posts the signed Alertmanager-style webhook over HTTP, and this page checks
``X-VPT-Signature`` with the shared secret exactly as ``app.alerts.channels.verify_signature`` documents it for
any receiver. ``GET /`` lists what arrived, newest first, with the verdict on each signature; ``GET /deliveries``
is the same as JSON. Everything kept came from a request, so it is cleaned (``app.sanitize``) before it is kept
and escaped when shown.
"""

from __future__ import annotations

import html
import json
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from app.alerts.channels import verify_signature
from app.kpi.localtime import STOCKHOLM
from app.sanitize import clean

MAX_BODY_BYTES = 256 * 1024
KEPT = 200  # deliveries shown; older ones are dropped
_TEXT_LIMIT = 4000


@dataclass
class Delivery:
    received_at: str  # ISO, Europe/Stockholm
    verified: bool
    status: str  # firing | resolved
    rule: str
    scope: str
    title: str
    text: str
    link: str
    idempotency_key: str
    repeats: int = 0  # the same Idempotency-Key again (an outbox retry): counted, not listed twice


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return clean(value if isinstance(value, str) else "", _TEXT_LIMIT)


class WebhookReceiver:
    """Deliveries kept in memory (the demo's, gone when it stops)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def receive(self, body: bytes, headers: dict[str, str], now: datetime) -> Delivery:
        verified = verify_signature(self._secret, headers.get("x-vpt-timestamp", ""), body,
                                    headers.get("x-vpt-signature", ""), now)
        try:
            payload: object = json.loads(body) if verified else {}
        except ValueError:
            payload = {}
        alerts = payload.get("alerts") if isinstance(payload, dict) else None
        alert = _table(alerts[0] if isinstance(alerts, list) and alerts else None)
        labels, notes = _table(alert.get("labels")), _table(alert.get("annotations"))
        payload = _table(payload)
        key = clean(headers.get("idempotency-key", ""), 200)
        delivery = Delivery(
            received_at=now.astimezone(STOCKHOLM).isoformat(timespec="seconds"), verified=verified,
            status=_text(payload.get("status")), rule=_text(labels.get("alertname")), scope=_text(labels.get("scope")),
            title=_text(notes.get("summary")) if verified else "(ogiltig signatur: innehållet visas inte)",
            text=_text(notes.get("description")), link=_text(alert.get("generatorURL")), idempotency_key=key,
        )
        with self._lock:
            for seen in self._deliveries:
                if verified and seen.verified and key and seen.idempotency_key == key:
                    seen.repeats += 1
                    return seen
            self._deliveries.insert(0, delivery)
            del self._deliveries[KEPT:]
        return delivery

    def app(self) -> FastAPI:
        api = FastAPI(title="vpt demo webhook receiver", docs_url=None, redoc_url=None, openapi_url=None)

        @api.post("/hook")
        async def hook(request: Request) -> Response:
            body = await request.body()
            if len(body) > MAX_BODY_BYTES:
                return JSONResponse({"error": "too_large", "detail": "body over 256 KiB"}, status_code=413)
            delivery = self.receive(body, {k.lower(): v for k, v in request.headers.items()}, datetime.now(UTC))
            if not delivery.verified:
                return JSONResponse({"error": "bad_signature", "detail": "X-VPT-Signature does not verify"},
                                    status_code=401)
            return JSONResponse({"received": delivery.idempotency_key})

        @api.get("/deliveries")
        def listed() -> list[dict[str, Any]]:
            return [asdict(d) for d in self.deliveries()]

        @api.get("/", response_class=HTMLResponse)
        def page() -> HTMLResponse:
            return HTMLResponse(render_page(self.deliveries()))

        return api


def render_page(deliveries: list[Delivery]) -> str:
    rows = "".join(_row(d) for d in deliveries) or (
        '<tr><td colspan="5">Inga larm än. Sidan laddas om var 5:e sekund.</td></tr>')
    return (
        '<!doctype html><html lang="sv"><head><meta charset="utf-8">'
        '<meta http-equiv="refresh" content="5"><title>Demons webhook-mottagare</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}"
        "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;padding:.4rem;"
        "text-align:left;vertical-align:top}.ok{color:#0a6b2d}.bad{color:#a00}</style></head><body>"
        "<h1>Larm som demon har levererat</h1>"
        "<p>Signerade webhooks från arbetsprocessens utkorg (Alertmanager-format). Signaturen "
        "(<code>X-VPT-Signature</code>, HMAC-SHA256) kontrolleras med demons hemliga nyckel.</p>"
        "<table><thead><tr><th>Mottaget</th><th>Signatur</th><th>Larm</th><th>Text</th><th>Länk</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></body></html>"
    )


def _row(d: Delivery) -> str:
    verdict = ('<span class="ok">✓ verifierad</span>' if d.verified else '<span class="bad">✗ ogiltig</span>')
    repeats = f" (+{d.repeats} omsändning)" if d.repeats else ""
    link = (f'<a href="{html.escape(d.link)}">{html.escape(d.link)}</a>'
            if d.link.startswith(("http://", "https://")) else html.escape(d.link))
    return (
        f"<tr><td>{html.escape(d.received_at)}{repeats}</td><td>{verdict}</td>"
        f"<td><strong>{html.escape(d.title)}</strong><br><small>{html.escape(d.status)} · {html.escape(d.rule)} · "
        f"{html.escape(d.scope)}</small></td><td>{html.escape(d.text)}</td><td>{link}</td></tr>"
    )
