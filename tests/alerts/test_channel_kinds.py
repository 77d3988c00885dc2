"""Channel kinds are a registry (issue 13): a kind is its ``ChannelKind`` (configuration) and its delivery under
the same name, looked up wherever a channel is read, shown or sent; no ``kind ==`` spread over the modules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.alerts import channel_config
from app.alerts.channel_config import KINDS, ChannelConfig, ChannelKind, ChannelTable
from app.alerts.channels import DELIVERIES, DeliveryError, HttpDelivery, load_channels, send
from app.alerts.message import AlertMessage
from app.config import Settings
from tests.alerts.receivers import recording_http_receiver
from tests.alerts.test_channels import make_message

PAGER_TOKEN = "pager-token-0123456789abcdef"


def test_every_kind_is_configured_and_delivered_under_one_name() -> None:
    assert list(KINDS) == ["webhook", "slack", "teams", "email"]
    assert set(DELIVERIES) == set(KINDS)


def _pager_from_table(reader: ChannelTable) -> ChannelConfig:
    return ChannelConfig(reader.name, "pager", reader.from_env("url_env", required=True), **reader.common)


def _pager_payload(channel: ChannelConfig, message: AlertMessage) -> dict[str, Any]:
    return {"service": channel.name, "summary": message.title, "state": message.status}


@pytest.fixture
def pager(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kind added the way the modules say: one ChannelKind in KINDS, one delivery in DELIVERIES."""
    for name in [name for name in __import__("os").environ if name.startswith("VPT_ALERT")]:
        monkeypatch.delenv(name)
    monkeypatch.setitem(KINDS, "pager", ChannelKind(
        "pager", frozenset({"url_env"}), lambda settings, lang: None, _pager_from_table,
        lambda channel: channel_config.safe_url(channel.url or "", with_path=False) + " (pager)",
    ))
    monkeypatch.setitem(DELIVERIES, "pager", HttpDelivery(_pager_payload))


def test_a_kind_added_to_both_registries_is_read_from_the_file_shown_and_sent(pager: None, tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text('[[channels]]\nname = "duty"\nkind = "pager"\nurl_env = "PAGER_URL"\nlang = "en"\n')
    with recording_http_receiver() as receiver:
        env = {"PAGER_URL": f"{receiver.url}/{PAGER_TOKEN}"}
        [channel] = load_channels(Settings(_env_file=None, alerts_file=str(path)), env=env)  # type: ignore[call-arg]
        send(channel, make_message(lang="en"), now=datetime(2025, 10, 14, 9, tzinfo=UTC))
        [request] = receiver.wait_for(1)
    assert (channel.kind, channel.lang) == ("pager", "en")
    assert channel.describe() == f"pager 'duty' → {receiver.url} (pager) lang=en"  # no token: the kind says so
    assert request.path == f"/{PAGER_TOKEN}" and request.json["service"] == "duty"
    assert "x-vpt-signature" not in request.headers and request.headers["idempotency-key"] == "vpt-0123abcd-firing"


def test_a_kind_of_the_file_must_be_registered_and_its_table_takes_its_own_keys(pager: None, tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    settings = Settings(_env_file=None, alerts_file=str(path))  # type: ignore[call-arg]
    path.write_text('[[channels]]\nname = "duty"\nkind = "sms"\n')
    with pytest.raises(channel_config.ChannelConfigError,
                       match="key 'kind': required, one of webhook, slack, teams, email, pager \\(not 'sms'\\)"):
        load_channels(settings, env={})
    path.write_text('[[channels]]\nname = "duty"\nkind = "pager"\nurl_env = "X"\nsmtp_host = "h"\n')
    with pytest.raises(channel_config.ChannelConfigError, match="key 'smtp_host': not a key of a pager channel"):
        load_channels(settings, env={"X": "https://p.example"})


def test_a_channel_of_no_registered_kind_is_refused_for_good_not_sent_somewhere() -> None:
    with pytest.raises(DeliveryError, match="no such kind of channel") as refused:
        send(ChannelConfig("odd", "sms", "http://127.0.0.1:9/x"), make_message())
    assert refused.value.retryable is False
