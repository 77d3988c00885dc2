"""Channels against real receivers on 127.0.0.1: what arrives, what is signed, what is retried, what never leaks."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.alerts.channels import (
    ChannelConfig,
    DeliveryError,
    send,
    verify_signature,
)
from app.alerts.message import AlertMessage
from tests.alerts.receivers import HttpReceiver, recording_http_receiver, smtp_receiver
from tests.servers import free_port

START = datetime(2025, 10, 14, 8, 30, tzinfo=UTC)
NOW = datetime(2025, 10, 14, 9, 0, 5, tzinfo=UTC)
HMAC_KEY = "hmac-key-s3cr3t-4f1c"
SLACK_PATH = "/services/T0AAA/B0BBB/slackTokenXYZ0123456789"
TEAMS_PATH = "/workflows/0a1b2c3d4e5f66/triggers/manual/paths/invoke?api-version=2016-06-01&sig=teamsSig0123456789abc"
SMTP_PASSWORD = "smtp-pa55word-9"
SECRETS = (HMAC_KEY, SMTP_PASSWORD, "slackTokenXYZ0123456789", "teamsSig0123456789abc", SLACK_PATH)
AM_ALERT_KEYS = {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
AM_KEYS = {"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels",
           "commonAnnotations", "externalURL", "alerts"}


def make_message(status: str = "firing", **changes: Any) -> AlertMessage:
    values: dict[str, Any] = {
        "idempotency_key": f"vpt-0123abcd-{status}",
        "status": status,
        "rule": "target_at_risk",
        "scope": "SE-AC",
        "scope_name": "Region Västerbotten",
        "kpi": "answer_rate",
        "period": "2025-10",
        "severity": "warning",
        "fingerprint": "abcdef0123456789",
        "starts_at": START,
        "ends_at": None if status == "firing" else START + timedelta(hours=5),
        "lang": "sv",
        "title": "Svarsfrekvensen i Region Västerbotten riskerar att missa målet för oktober",
        "text": "Hittills i oktober är svarsfrekvensen 81,2 % (mål ≥ 85 %). <Mer> & annat.",
        "facts": [("Region", "Region Västerbotten"), ("Värde", "81,2 %"), ("Mål", "≥ 85 %")],
        "link": "http://127.0.0.1:8000/scorecard/SE-AC",
    }
    values.update(changes)
    return AlertMessage(**values)


def webhook(url: str, secret: str | None = HMAC_KEY, **changes: Any) -> ChannelConfig:
    return ChannelConfig("ops-hook", "webhook", url, SecretStr(secret) if secret else None, **changes)


def email(port: int, **changes: Any) -> ChannelConfig:
    values: dict[str, Any] = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_from": "vpt@example.org",
                              "smtp_to": ("chef@example.org", "jour@example.org"), "starttls": False,
                              "timeout_seconds": 5}
    values.update(changes)
    return ChannelConfig("ops-mail", "email", **values)


@pytest.fixture(scope="module")
def shared_hook() -> Iterator[HttpReceiver]:
    with recording_http_receiver() as receiver:
        yield receiver


@pytest.fixture
def hook(shared_hook: HttpReceiver) -> HttpReceiver:
    """One server for the module (starting and stopping uvicorn costs a tenth of a second), reset per test."""
    shared_hook.start()
    shared_hook.reset()
    return shared_hook


def no_secrets_in(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"secret {secret[:6]}… leaked into: {text[:200]}"


# --- webhook ------------------------------------------------------------------------------------------------


def test_webhook_posts_an_alertmanager_v4_body_signed_over_the_exact_bytes(hook: HttpReceiver) -> None:
    send(webhook(hook.url + "/alerts"), make_message(), now=NOW)

    [request] = hook.requests
    body = request.json
    assert request.method == "POST" and request.path == "/alerts"
    assert set(body) >= AM_KEYS and set(body["alerts"][0]) == AM_ALERT_KEYS
    assert body["version"] == "4" and body["status"] == "firing" and body["receiver"] == "ops-hook"
    assert body["truncatedAlerts"] == 0 and body["groupLabels"] == {"alertname": "target_at_risk"}
    assert body["commonLabels"] == {"alertname": "target_at_risk", "scope": "SE-AC", "severity": "warning",
                                    "kpi": "answer_rate", "period": "2025-10"}
    alert = body["alerts"][0]
    assert alert["startsAt"] == "2025-10-14T08:30:00Z" and alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert alert["annotations"]["summary"].startswith("Svarsfrekvensen") and alert["fingerprint"] == "abcdef0123456789"
    assert alert["generatorURL"] == body["externalURL"] == "http://127.0.0.1:8000/scorecard/SE-AC"
    assert body["vpt"] == {"idempotencyKey": "vpt-0123abcd-firing", "lang": "sv", "scopeName": "Region Västerbotten",
                           "facts": [{"label": "Region", "value": "Region Västerbotten"},
                                     {"label": "Värde", "value": "81,2 %"}, {"label": "Mål", "value": "≥ 85 %"}]}

    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["idempotency-key"] == "vpt-0123abcd-firing"
    assert headers["x-vpt-timestamp"] == str(int(NOW.timestamp()))
    timestamp, signature, key = headers["x-vpt-timestamp"], headers["x-vpt-signature"], HMAC_KEY.encode()
    assert signature.startswith("sha256=")
    assert verify_signature(key, timestamp, request.body, signature, NOW)
    assert verify_signature(key, timestamp, request.body, signature, NOW + timedelta(seconds=299))
    assert not verify_signature(key, timestamp, request.body.replace(b"81,2", b"91,2"), signature, NOW)
    assert not verify_signature(key, timestamp, request.body, signature, NOW + timedelta(minutes=6))  # replayed
    assert not verify_signature(key, str(int(timestamp) + 60), request.body, signature, NOW)
    assert not verify_signature(b"another-key", timestamp, request.body, signature, NOW)
    assert not verify_signature(key, timestamp, request.body, signature.removeprefix("sha256="), NOW)
    assert not verify_signature(key, "yesterday", request.body, signature, NOW)


def test_a_resolved_alert_ends_and_a_retry_repeats_body_and_key(hook: HttpReceiver) -> None:
    message = make_message("resolved")
    send(webhook(hook.url), message, now=NOW)
    send(webhook(hook.url), message, now=NOW + timedelta(minutes=3))

    first, retry = hook.requests
    assert first.json["status"] == first.json["alerts"][0]["status"] == "resolved"
    assert first.json["alerts"][0]["endsAt"] == "2025-10-14T13:30:00Z"
    assert first.body == retry.body
    assert first.headers["idempotency-key"] == retry.headers["idempotency-key"] == "vpt-0123abcd-resolved"
    assert int(retry.headers["x-vpt-timestamp"]) - int(first.headers["x-vpt-timestamp"]) == 180


def test_an_unsigned_webhook_still_sends_key_and_timestamp(hook: HttpReceiver) -> None:
    send(webhook(hook.url, secret=None), make_message(), now=NOW)
    headers = hook.requests[0].headers
    assert "x-vpt-signature" not in headers
    assert headers["idempotency-key"] == "vpt-0123abcd-firing" and headers["x-vpt-timestamp"]


# --- Slack and Teams ----------------------------------------------------------------------------------------


def test_slack_gets_blocks_with_a_status_emoji_and_at_most_ten_fields(hook: HttpReceiver) -> None:
    facts = [(f"Fakta {n}", f"värde {n}") for n in range(12)]
    send(ChannelConfig("chat", "slack", hook.url + SLACK_PATH), make_message(facts=facts))
    send(ChannelConfig("chat", "slack", hook.url + SLACK_PATH), make_message("resolved", lang="en"))

    firing, resolved = (request.json for request in hook.requests)
    assert hook.requests[0].path == SLACK_PATH
    assert firing["text"].startswith("🔴 Svarsfrekvensen") and resolved["text"].startswith("✅ ")
    header, text, fields, actions, context = firing["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert text["text"]["type"] == "mrkdwn" and "&lt;Mer&gt; &amp; annat" in text["text"]["text"]
    assert len(fields["fields"]) == 10 and fields["fields"][0] == {"type": "mrkdwn", "text": "*Fakta 0*\nvärde 0"}
    assert actions["elements"][0]["url"] == "http://127.0.0.1:8000/scorecard/SE-AC"
    assert actions["elements"][0]["text"]["text"] == "Öppna" and context["type"] == "context"
    assert "Resolved" in resolved["blocks"][-1]["elements"][0]["text"]


def test_teams_gets_an_adaptive_card_and_202_counts_as_delivered(hook: HttpReceiver) -> None:
    hook.respond_with(202, "")
    send(ChannelConfig("teams", "teams", hook.url + TEAMS_PATH), make_message())
    send(ChannelConfig("teams", "teams", hook.url + TEAMS_PATH), make_message("resolved"))

    firing, resolved = (request.json for request in hook.requests)
    assert firing["type"] == "message"
    [attachment] = firing["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive" and attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    title, text, facts = card["body"]
    assert title == {"type": "TextBlock", "text": "🔴 " + make_message().title, "weight": "Bolder",
                     "size": "Medium", "color": "Attention", "wrap": True}
    assert text["type"] == "TextBlock" and text["wrap"] is True
    assert facts["type"] == "FactSet" and facts["facts"][1] == {"title": "Värde", "value": "81,2 %"}
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Öppna", "url": make_message().link}]
    assert resolved["attachments"][0]["content"]["body"][0]["color"] == "Good"


# --- HTTP failures ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "retryable"),
                         [(503, True), (500, True), (429, True), (408, True), (425, True),
                          (400, False), (404, False), (410, False), (302, False)])
def test_http_status_decides_whether_to_retry(hook: HttpReceiver, status: int, retryable: bool) -> None:
    hook.respond_with(status, "something went wrong " * 50)
    with pytest.raises(DeliveryError) as caught:
        send(webhook(hook.url + "/alerts"), make_message(), now=NOW)
    assert caught.value.retryable is retryable and caught.value.status == status
    assert f"HTTP {status}" in str(caught.value) and len(str(caught.value)) < 400  # the body is cut short
    assert len(hook.requests) == 1  # a redirect is not followed


def test_a_receiver_that_is_down_is_retryable_and_comes_back_on_the_same_port(hook: HttpReceiver) -> None:
    channel = webhook(hook.url + "/alerts")
    hook.stop()
    with pytest.raises(DeliveryError) as caught:
        send(channel, make_message(), now=NOW)
    assert caught.value.retryable and caught.value.status is None
    hook.start()
    send(channel, make_message(), now=NOW)
    assert len(hook.requests) == 1


@pytest.mark.parametrize("fault", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.RemoteProtocolError])
def test_timeouts_and_broken_connections_are_retryable(fault: type[httpx.TransportError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise fault(f"gave up on {request.url}", request=request)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client, pytest.raises(DeliveryError) as caught:
        send(ChannelConfig("chat", "slack", "https://hooks.slack.test" + SLACK_PATH), make_message(), client=client)
    assert caught.value.retryable
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no chained URL in a traceback
    no_secrets_in(str(caught.value))


# --- e-mail -------------------------------------------------------------------------------------------------


def test_email_arrives_with_subject_message_id_and_facts() -> None:
    with smtp_receiver() as mail:
        send(email(mail.port), make_message(), now=NOW)
        send(email(mail.port), make_message("resolved", lang="en", title="Answer rate is back on track"), now=NOW)
        firing, resolved = mail.wait_for(2)

    message = firing.message
    assert message["Subject"] == "[VPT] " + make_message().title
    assert message["Message-ID"] == "<vpt-0123abcd-firing@vpt-monitor>"
    assert message["X-VPT-Idempotency-Key"] == "vpt-0123abcd-firing"
    assert message["Date"].datetime == NOW and message["Auto-Submitted"] == "auto-generated"
    assert firing.rcpt_tos == ["chef@example.org", "jour@example.org"] and firing.mail_from == "vpt@example.org"
    plain = message.get_body(("plain",)).get_content()
    assert "81,2 %" in plain and "Värde: 81,2 %" in plain and plain.rstrip().endswith(make_message().link)
    assert "Region Västerbotten" in message.get_body(("html",)).get_content()
    assert not firing.tls
    assert resolved.message["Subject"] == "[VPT] RESOLVED: Answer rate is back on track"


def test_email_over_starttls_with_login() -> None:
    with smtp_receiver(starttls=True, users={"alerts": SMTP_PASSWORD}) as mail:
        assert mail.cert_path is not None
        channel = email(mail.port, starttls=True, tls_verify=str(mail.cert_path), smtp_user="alerts",
                        smtp_password=SecretStr(SMTP_PASSWORD))
        send(channel, make_message(), now=NOW)
        [received] = mail.wait_for(1)
        assert received.tls and received.login == "alerts"
        assert received.message["Message-ID"] == "<vpt-0123abcd-firing@vpt-monitor>"

        with pytest.raises(DeliveryError) as wrong:  # a refused login is not fixed by trying again
            send(replace(channel, smtp_password=SecretStr(SMTP_PASSWORD + "x")), make_message(), now=NOW)
        assert not wrong.value.retryable and wrong.value.status == 535
        no_secrets_in(str(wrong.value))

        with pytest.raises(DeliveryError) as untrusted:  # self-signed, checked against the system's CAs
            send(replace(channel, tls_verify=True), make_message(), now=NOW)
        assert untrusted.value.retryable and "SSL" in str(untrusted.value)


def test_email_over_implicit_tls() -> None:
    with smtp_receiver(implicit_tls=True) as mail:
        assert mail.cert_path is not None
        send(email(mail.port, ssl=True, tls_verify=str(mail.cert_path)), make_message(), now=NOW)
        assert mail.wait_for(1)[0].tls


def test_starttls_required_but_not_offered_is_a_permanent_failure() -> None:
    with smtp_receiver() as mail, pytest.raises(DeliveryError) as caught:
        send(email(mail.port, starttls=True), make_message(), now=NOW)
    assert not caught.value.retryable and "STARTTLS" in str(caught.value)
    assert mail.messages == []


@pytest.mark.parametrize(("reply", "retryable"), [("451 4.3.0 Try again later", True), ("550 5.7.1 Rejected", False)])
def test_smtp_reply_class_decides_whether_to_retry(reply: str, retryable: bool) -> None:
    with smtp_receiver() as mail:
        mail.reply_with(reply)
        with pytest.raises(DeliveryError) as caught:
            send(email(mail.port), make_message(), now=NOW)
    assert caught.value.retryable is retryable and caught.value.status == int(reply[:3])


def test_an_smtp_server_that_is_down_is_retryable() -> None:
    with pytest.raises(DeliveryError) as caught:
        send(email(free_port()), make_message(), now=NOW)
    assert caught.value.retryable


# --- secrets ------------------------------------------------------------------------------------------------


def test_no_secret_in_errors_descriptions_or_logs(hook: HttpReceiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for chatty in ("httpx", "httpcore"):  # as app.logs.setup_logging sets them: their INFO lines print URLs
        caplog.set_level(logging.WARNING, logger=chatty)
    channels = [webhook(hook.url + "/alerts?token=queryToken0123"),
                ChannelConfig("chat", "slack", hook.url + SLACK_PATH),
                ChannelConfig("teams", "teams", hook.url + TEAMS_PATH)]
    texts = [repr(channels), *(channel.describe() for channel in channels)]
    for channel in channels:
        send(channel, make_message(), now=NOW)
    for channel in channels:
        echoed = f"{channel.url} {channel.secret.get_secret_value() if channel.secret else ''}"
        hook.respond_with(400, f"invalid_token for {echoed}")  # a receiver echoing what it got
        with pytest.raises(DeliveryError) as caught:
            send(channel, make_message(), now=NOW)
        texts.append(str(caught.value))
    hook.stop()
    for channel in channels:
        with pytest.raises(DeliveryError) as caught:
            send(channel, make_message(), now=NOW)
        texts.append(str(caught.value))
    with smtp_receiver() as mail:
        mailer = email(mail.port, smtp_user="alerts", smtp_password=SecretStr(SMTP_PASSWORD))
        texts += [repr(mailer), mailer.describe()]
        with pytest.raises(DeliveryError) as caught:  # AUTH is not offered: a permanent failure
            send(mailer, make_message(), now=NOW)
        assert not caught.value.retryable
        texts.append(str(caught.value))
    no_secrets_in(*texts, caplog.text)
    assert "queryToken0123" not in " ".join(texts)
    assert channels[1].describe() == f"slack 'chat' → {hook.url} lang=sv"
    assert channels[0].describe().startswith(f"webhook 'ops-hook' → {hook.url} signed")  # no path: tokens hide there


def test_the_payload_is_json_the_receiver_parses_unchanged(hook: HttpReceiver) -> None:
    send(webhook(hook.url), make_message(title="Åtgärd krävs: \"citat\" och \n radbrytning"), now=NOW)
    request = hook.requests[0]
    assert json.loads(request.body) == request.json
    assert request.json["commonAnnotations"]["summary"] == "Åtgärd krävs: \"citat\" och \n radbrytning"
