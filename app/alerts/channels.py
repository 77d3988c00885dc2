"""Sending one rendered ``AlertMessage`` to one channel: a signed JSON webhook, Slack, Teams or e-mail.

``send`` either delivers or raises ``DeliveryError`` whose ``retryable`` tells the outbox whether to try again
later (the receiver is down, slow or throttling) or to give up (the receiver refuses this request and will
refuse it again). Error texts go to logs and the outbox table, so they never hold a key, a password or a Slack
or Teams URL (those URLs are credentials): at most the channel name, scheme and host, a status code and the
start of the response body, with every secret of the channel blanked out. How each kind sends is its entry in
``DELIVERIES``; how it is configured, its ``ChannelKind`` in ``app.alerts.channel_config.KINDS``.

Signed webhooks
---------------
The generic webhook posts an Alertmanager version 4 payload (receivers written for Alertmanager accept it as
it is; our own fields sit under ``vpt``) with these headers::

    Content-Type: application/json
    Idempotency-Key: <key>           the same on every retry of one notification: drop a key seen before
    X-VPT-Timestamp: <unix seconds>  when this attempt was made
    X-VPT-Signature: sha256=<hex>    only when the channel has a secret

where ``<hex>`` is the lowercase hex HMAC-SHA256, keyed with the shared secret, of the ASCII timestamp, one
``.`` and the raw body bytes: ``HMAC(secret, timestamp + "." + body)``. A receiver computes it over the body
exactly as received (before parsing JSON), compares in constant time, and refuses a timestamp more than five
minutes away from its own clock, so that a captured request cannot be replayed later. ``verify_signature``
below is the reference implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import re
import smtplib
import ssl
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import httpx

from app.alerts.channel_config import KINDS, ChannelConfig, ChannelConfigError, load_channels, safe_url
from app.alerts.message import AlertMessage
from app.kpi.localtime import utc_iso

__all__ = [
    "DELIVERIES", "KINDS", "ChannelConfig", "ChannelConfigError", "DeliveryError", "HttpDelivery", "email_message",
    "load_channels", "send", "slack_payload", "teams_payload", "verify_signature", "webhook_request",
]

logger = logging.getLogger(__name__)

AM_ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of an alert that has not resolved
_RETRYABLE_HTTP = {408, 425, 429}
_EXCERPT = 200
_MSGID_SAFE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,200}")

_WORDS = {
    "sv": {"firing": "Larm", "resolved": "Löst", "critical": "kritiskt", "warning": "varning", "open": "Öppna"},
    "en": {"firing": "Firing", "resolved": "Resolved", "critical": "critical", "warning": "warning", "open": "Open"},
}
_RESOLVED_PREFIX = {"sv": "LÖST: ", "en": "RESOLVED: "}


class DeliveryError(Exception):
    """A notification that did not arrive; ``retryable`` is False when repeating it cannot help."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status  # HTTP status or SMTP reply code, when the receiver answered


def send(
    channel: ChannelConfig, message: AlertMessage, *, client: httpx.Client | None = None, now: datetime | None = None
) -> None:
    """Deliver ``message`` once. ``client`` (its own TLS settings win over ``tls_verify``) lets the caller reuse
    connections; without it a client is made and closed here. ``now`` stamps the signature and the mail Date."""
    moment = now or datetime.now(UTC)
    deliver = DELIVERIES.get(channel.kind)
    if deliver is None:  # a configuration made in code: load_channels refuses an unknown kind
        raise _failure(channel, "no such kind of channel", retryable=False)
    deliver(channel, message, moment, client)
    logger.debug("alerts.channel.delivered", extra={"channel": channel.name, "kind": channel.kind,
                                                     "key": message.idempotency_key, "status": message.status})


def verify_signature(
    secret: bytes, timestamp: str, body: bytes, signature: str, now: datetime, tolerance_seconds: float = 300
) -> bool:
    """The receiver's check of ``X-VPT-Signature`` and ``X-VPT-Timestamp`` (see the module docstring)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now.timestamp() - sent) > tolerance_seconds or not signature.startswith("sha256="):
        return False
    expected = _sign(secret, timestamp, body)
    return hmac.compare_digest(expected.encode(), signature.removeprefix("sha256=").encode("utf-8", "replace"))


def _sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


# --- payloads -----------------------------------------------------------------------------------------------


def webhook_request(channel: ChannelConfig, message: AlertMessage, now: datetime) -> tuple[bytes, dict[str, str]]:
    """The exact body bytes and headers of one attempt of a kind that posts JSON; the same body on every retry."""
    delivery = DELIVERIES.get(channel.kind)
    if not isinstance(delivery, HttpDelivery):
        raise ValueError(f"channel {channel.name!r} ({channel.kind}) does not post JSON")
    return delivery.request(channel, message, now)


def _alertmanager_payload(channel: ChannelConfig, message: AlertMessage) -> dict[str, Any]:
    labels = message.labels()
    annotations = {"summary": message.title, "description": message.text}
    if message.status == "firing":
        ends_at = AM_ZERO_TIME
    else:
        ends_at = utc_iso(message.ends_at or message.starts_at) or AM_ZERO_TIME
    # One alert per notification, so the group key names the whole label set: a receiver that opens one
    # incident per group key (and closes it on "resolved") must not merge two regions' alerts of one rule.
    group_key = "{}:{" + ", ".join(f'{name}="{value}"' for name, value in sorted(labels.items())) + "}"
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": message.status,
        "receiver": channel.name,
        "groupLabels": {"alertname": message.alertname},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": message.link,
        "alerts": [{
            "status": message.status,
            "labels": labels,
            "annotations": annotations,
            "startsAt": utc_iso(message.starts_at),
            "endsAt": ends_at,
            "generatorURL": message.link,
            "fingerprint": message.fingerprint,
        }],
        "vpt": {
            "idempotencyKey": message.idempotency_key,
            "lang": message.lang,
            "scopeName": message.scope_name,
            "facts": [{"label": label, "value": value} for label, value in message.facts],
        },
    }


def slack_payload(message: AlertMessage) -> dict[str, Any]:
    """Block Kit for an incoming webhook; ``text`` is what notifications and old clients show."""
    words = _WORDS[message.lang]
    headline = f"{_emoji(message)} {message.title}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(headline, 150), "emoji": True}},
    ]
    if message.text.strip():  # Slack refuses an empty section
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(_mrkdwn(message.text), 3000)}})
    if message.facts:  # Slack refuses a section with more than ten fields
        fields = [{"type": "mrkdwn", "text": _cut(f"*{_mrkdwn(label)}*\n{_mrkdwn(value)}", 2000)}
                  for label, value in message.facts[:10]]
        blocks.append({"type": "section", "fields": fields})
    if message.link:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": words["open"]}, "url": message.link}]})
    context = f"{words[message.status]} · {words[message.severity]} · {_mrkdwn(message.scope_name)}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": headline, "blocks": blocks}


def teams_payload(message: AlertMessage) -> dict[str, Any]:
    """An Adaptive Card message, the only thing a Teams Workflows webhook accepts."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": f"{_emoji(message)} {message.title}", "weight": "Bolder", "size": "Medium",
         "color": "Attention" if message.status == "firing" else "Good", "wrap": True},
        {"type": "TextBlock", "text": message.text, "wrap": True},
    ]
    if message.facts:
        body.append({"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in message.facts]})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    if message.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": _WORDS[message.lang]["open"], "url": message.link}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def email_message(channel: ChannelConfig, message: AlertMessage, now: datetime) -> EmailMessage:
    """Plain text first (what alert mailboxes and pagers read), with an HTML alternative for people.

    The subject is ``[VPT] `` and the title; a resolution gets ``LÖST: ``/``RESOLVED: `` in front, because its
    title ("... is back on track") is worded for people, and a mail rule needs a fixed word to sort on.
    """
    title = " ".join(message.title.split())  # a line break in a header would be refused
    prefix = _RESOLVED_PREFIX[message.lang]
    if message.status == "resolved" and not title.upper().startswith(prefix.strip(": ")):
        title = prefix + title
    key = message.idempotency_key
    mail = EmailMessage()
    mail["Subject"] = f"[VPT] {title}"
    mail["From"] = channel.smtp_from or ""
    mail["To"] = ", ".join(channel.smtp_to)
    mail["Date"] = format_datetime(now.astimezone(UTC))
    # The same key gives the same Message-ID on every retry, so a mail system drops a second copy.
    local = key if _MSGID_SAFE.fullmatch(key) and ".." not in key else hashlib.sha256(key.encode()).hexdigest()
    mail["Message-ID"] = f"<{local.strip('.')}@vpt-monitor>"
    mail["X-VPT-Idempotency-Key"] = key
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to an alert sender
    facts = "\n".join(f"{label}: {value}" for label, value in message.facts)
    mail.set_content("\n\n".join(part for part in (message.text, facts, message.link) if part) + "\n",
                     cte="quoted-printable")
    rows = "".join(f"<tr><th align='left'>{html.escape(a)}</th><td>{html.escape(b)}</td></tr>"
                   for a, b in message.facts)
    link = f"<p><a href='{html.escape(message.link)}'>{html.escape(message.link)}</a></p>" if message.link else ""
    mail.add_alternative(
        f"<html><body><h2>{html.escape(_emoji(message) + ' ' + title)}</h2><p>{html.escape(message.text)}</p>"
        f"<table>{rows}</table>{link}</body></html>", subtype="html", cte="quoted-printable")
    return mail


def _emoji(message: AlertMessage) -> str:
    return "🔴" if message.status == "firing" else "✅"


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- transports ---------------------------------------------------------------------------------------------


def _post(
    channel: ChannelConfig, body: bytes, headers: dict[str, str], client: httpx.Client | None, *, path_is_safe: bool,
) -> None:
    if not channel.url:
        raise _failure(channel, "no URL configured", retryable=False)
    where = safe_url(channel.url, with_path=path_is_safe)
    try:
        verify: bool | ssl.SSLContext = True if channel.tls_verify is True else _tls_context(channel.tls_verify)
    except OSError as exc:
        raise _failure(channel, f"CA file {channel.tls_verify}: {exc.strerror or exc}", retryable=False) from None
    http = client or httpx.Client(verify=verify, follow_redirects=False)
    # Every failure is raised "from None": an httpx exception carries the request, hence the URL, and a
    # chained traceback in a log would print it.
    try:
        with http.stream("POST", channel.url, content=body, headers=headers, timeout=channel.timeout_seconds,
                         follow_redirects=False) as response:
            status = response.status_code
            if 200 <= status < 300:
                return
            excerpt = _read_excerpt(response)
    except httpx.TimeoutException as exc:
        raise _failure(channel, f"{type(exc).__name__} after {channel.timeout_seconds:g} s at {where}",
                       retryable=True) from None
    except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as exc:
        raise _failure(channel, f"{type(exc).__name__} for {where}: {exc}", retryable=False) from None
    except httpx.TransportError as exc:  # refused, reset, DNS, TLS: the receiver is down or unreachable for now
        raise _failure(channel, f"{type(exc).__name__} at {where}: {exc}", retryable=True) from None
    except httpx.HTTPError as exc:  # e.g. an undecodable error body: the receiver misbehaved this once
        raise _failure(channel, f"{type(exc).__name__} from {where}: {exc}", retryable=True) from None
    finally:
        if client is None:
            http.close()
    retryable = status in _RETRYABLE_HTTP or status >= 500
    note = " (redirects are not followed)" if 300 <= status < 400 else ""
    text = f"HTTP {status} from {where}{note}" + (f": {excerpt}" if excerpt else "")
    raise _failure(channel, text, retryable=retryable, status=status)


def _read_excerpt(response: httpx.Response) -> str:
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) > _EXCERPT * 4:  # the start says what went wrong; an HTML error page need not be read
            break
    return _cut(" ".join(data.decode("utf-8", "replace").split()), _EXCERPT)


def _send_mail(channel: ChannelConfig, mail: EmailMessage) -> None:
    host, port = channel.smtp_host or "", channel.smtp_port
    try:
        context = _tls_context(channel.tls_verify)
    except OSError as exc:
        raise _failure(channel, f"CA file {channel.tls_verify}: {exc.strerror or exc}", retryable=False) from None
    try:
        if channel.ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=channel.timeout_seconds, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=channel.timeout_seconds)
        try:
            smtp.ehlo()
            if channel.starttls:
                if not smtp.has_extn("starttls"):  # sending in clear instead would defeat the setting
                    raise _failure(channel, f"{host}:{port} does not offer STARTTLS", retryable=False)
                smtp.starttls(context=context)
                smtp.ehlo()
            if channel.smtp_user and channel.smtp_password is not None:
                smtp.login(channel.smtp_user, channel.smtp_password.get_secret_value())
            refused = smtp.send_message(mail, from_addr=channel.smtp_from, to_addrs=list(channel.smtp_to))
        finally:
            with suppress(smtplib.SMTPException, OSError):
                smtp.quit()  # after a delivered message a failed goodbye is not a failed delivery
            smtp.close()
    except DeliveryError:
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({code for code, _ in exc.recipients.values()})
        raise _failure(channel, f"SMTP recipients refused ({', '.join(map(str, codes))})",
                       retryable=all(400 <= code < 500 for code in codes), status=max(codes, default=None)) from None
    except smtplib.SMTPResponseException as exc:
        reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise _failure(channel, f"SMTP {exc.smtp_code} {_cut(' '.join(reply.split()), _EXCERPT)}",
                       retryable=400 <= exc.smtp_code < 500, status=exc.smtp_code) from None
    except smtplib.SMTPServerDisconnected as exc:
        raise _failure(channel, f"SMTP server {host}:{port} disconnected: {exc}", retryable=True) from None
    except smtplib.SMTPException as exc:  # e.g. AUTH not offered: the server's setup, not a passing state
        raise _failure(channel, f"SMTP {type(exc).__name__}: {exc}", retryable=False) from None
    except OSError as exc:  # refused, timed out, DNS, TLS handshake
        raise _failure(channel, f"{type(exc).__name__} at {host}:{port}: {exc}", retryable=True) from None
    if refused:
        logger.warning("alerts.channel.recipients_refused",
                       extra={"channel": channel.name, "refused": ",".join(sorted(refused))})


def _tls_context(verify: bool | str) -> ssl.SSLContext:
    """The system's trust store (where a private CA is installed) unless a CA file is named or checks are off."""
    context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _failure(channel: ChannelConfig, text: str, *, retryable: bool, status: int | None = None) -> DeliveryError:
    for secret in channel.secret_strings():
        text = text.replace(secret, "***")
    return DeliveryError(f"channel {channel.name!r} ({channel.kind}): {text}", retryable=retryable, status=status)


# --- the kinds ------------------------------------------------------------------------------------------------

#: Sends one message to one channel: channel, message, the time of the attempt, the caller's HTTP client (if any).
Sender = Callable[[ChannelConfig, AlertMessage, datetime, httpx.Client | None], None]


@dataclass(frozen=True)
class HttpDelivery:
    """A kind that posts JSON: its payload, whether it signs (``X-VPT-Signature`` when the channel has a secret)
    and whether its URL's path may be shown in an error (it holds no token)."""

    payload: Callable[[ChannelConfig, AlertMessage], dict[str, Any]]
    signs: bool = False
    path_is_safe: bool = False

    def request(self, channel: ChannelConfig, message: AlertMessage, now: datetime) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(self.payload(channel, message), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timestamp = str(int(now.timestamp()))
        headers = {"Content-Type": "application/json", "Idempotency-Key": message.idempotency_key,
                   "X-VPT-Timestamp": timestamp}
        if self.signs and channel.secret is not None:
            headers["X-VPT-Signature"] = "sha256=" + _sign(channel.secret.get_secret_value().encode(), timestamp, body)
        return body, headers

    def __call__(
        self, channel: ChannelConfig, message: AlertMessage, now: datetime, client: httpx.Client | None
    ) -> None:
        body, headers = self.request(channel, message, now)
        _post(channel, body, headers, client, path_is_safe=self.path_is_safe)


def _send_email(channel: ChannelConfig, message: AlertMessage, now: datetime, _: httpx.Client | None) -> None:
    _send_mail(channel, email_message(channel, message, now))


#: How each kind of channel sends, by the names of ``app.alerts.channel_config.KINDS`` (how each is configured).
DELIVERIES: dict[str, Sender] = {
    "webhook": HttpDelivery(_alertmanager_payload, signs=True, path_is_safe=True),
    "slack": HttpDelivery(lambda _, message: slack_payload(message)),
    "teams": HttpDelivery(lambda _, message: teams_payload(message)),
    "email": _send_email,
}
