"""Channel configuration: from the environment and a TOML file, every mistake named, secrets never shown."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from app.alerts.channels import ChannelConfig, ChannelConfigError, load_channels
from app.config import Settings
from tests.alerts.test_channels import HMAC_KEY, SLACK_PATH, SMTP_PASSWORD, TEAMS_PATH, no_secrets_in

# --- configuration ------------------------------------------------------------------------------------------


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in [name for name in __import__("os").environ if name.startswith("VPT_ALERT")]:
        monkeypatch.delenv(name)

    def make(**values: Any) -> Settings:
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


def test_one_channel_per_kind_from_the_environment_settings(settings: Any) -> None:
    channels = load_channels(settings(
        alert_lang="en", alert_webhook_url="https://hooks.example/vpt", alert_webhook_secret=HMAC_KEY,
        alert_slack_url="https://hooks.slack.com" + SLACK_PATH, alert_teams_url="https://teams.example" + TEAMS_PATH,
        alert_smtp_host="smtp.example", alert_smtp_user="alerts", alert_smtp_password=SMTP_PASSWORD,
        alert_smtp_from="vpt@example.org", alert_smtp_to="chef@example.org, jour@example.org",
    ), env={})
    assert [(c.name, c.kind, c.lang) for c in channels] == [
        ("webhook", "webhook", "en"), ("slack", "slack", "en"), ("teams", "teams", "en"), ("email", "email", "en")]
    hook, slack, _, mail = channels
    assert hook.secret is not None and hook.secret.get_secret_value() == HMAC_KEY
    assert slack.url == "https://hooks.slack.com" + SLACK_PATH
    assert mail.smtp_to == ("chef@example.org", "jour@example.org") and mail.starttls and not mail.ssl
    assert mail.smtp_port == 587 and mail.smtp_password is not None
    implicit = load_channels(settings(alert_smtp_host="smtp.example", alert_smtp_port=465, alert_smtp_from="a@b.se",
                                      alert_smtp_to="c@d.se"), env={})
    assert implicit[0].ssl and not implicit[0].starttls
    assert load_channels(settings(), env={}) == []
    [unsigned] = load_channels(settings(alert_webhook_url="https://h.example", alert_webhook_secret=""), env={})
    assert unsigned.secret is None  # an empty variable, as compose passes an unset one
    with pytest.raises(ChannelConfigError, match=r"'email'.*VPT_ALERT_SMTP_FROM"):
        load_channels(settings(alert_smtp_host="smtp.example", alert_smtp_to="c@d.se"), env={})


EXAMPLE = """
[rules.target_at_risk]
for_minutes = 30

[[channels]]
name = "ops-hook"
kind = "webhook"
url = "https://hooks.example/vpt"
secret_env = "HOOK_SECRET"

[[channels]]
name = "norra-slack"
kind = "slack"
url_env = "SLACK_URL"
scopes = ["SE-AC", "SE-BD"]

[[channels]]
name = "teams"
kind = "teams"
url_env = "TEAMS_URL"
rules = ["target_missed"]
timeout_seconds = 3

[[channels]]
name = "chefer"
kind = "email"
lang = "en"
smtp_host = "smtp.example"
smtp_user = "alerts"
password_env = "SMTP_PASSWORD"
smtp_from = "vpt@example.org"
smtp_to = ["chef@example.org"]
tls_verify = "ca.pem"
"""
ENV = {"HOOK_SECRET": HMAC_KEY, "SLACK_URL": "https://hooks.slack.com" + SLACK_PATH,
       "TEAMS_URL": "https://teams.example" + TEAMS_PATH, "SMTP_PASSWORD": SMTP_PASSWORD}


def test_channels_from_the_toml_file(settings: Any, tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    (tmp_path / "ca.pem").write_text("not parsed until a mail is sent", encoding="utf-8")
    channels = load_channels(settings(alerts_file=str(path), alert_webhook_url="https://env.example/hook"), env=ENV)
    assert [c.name for c in channels] == ["webhook", "ops-hook", "norra-slack", "teams", "chefer"]
    _, hook, slack, teams, mail = channels
    assert hook.url == "https://hooks.example/vpt" and hook.secret == SecretStr(HMAC_KEY)
    assert slack.url == ENV["SLACK_URL"] and slack.scopes == ("SE-AC", "SE-BD") and slack.lang == "sv"
    assert teams.rules == ("target_missed",) and teams.timeout_seconds == 3
    assert mail.lang == "en" and mail.smtp_password == SecretStr(SMTP_PASSWORD) and mail.starttls
    assert mail.smtp_to == ("chef@example.org",) and mail.smtp_port == 587
    assert mail.tls_verify == str(tmp_path / "ca.pem") and hook.tls_verify is True  # relative to the file
    no_secrets_in(repr(channels))


def test_the_example_file_in_deploy_loads(settings: Any) -> None:
    example = Path(__file__).resolve().parents[2] / "deploy" / "alerts.example.toml"
    env = {"VPT_HOOK_OPS_SECRET": "k", "VPT_SLACK_NORRA_URL": "https://hooks.slack.com/services/x",
           "VPT_TEAMS_CHEFER_URL": "https://teams.example/x", "VPT_SMTP_RELAY_PASSWORD": "p"}
    assert {c.kind for c in load_channels(settings(alerts_file=str(example)), env=env)} == {
        "webhook", "slack", "teams", "email"}


CHAT = '[[channels]]\nname = "chat"\nkind = "slack"\nurl_env = "SLACK_URL"\n'
MAIL = '[[channels]]\nname = "mail"\nkind = "email"\nsmtp_host = "h"\nsmtp_from = "a@b.se"\nsmtp_to = ["c@d.se"]\n'


@pytest.mark.parametrize(("text", "fragments"), [
    (CHAT + CHAT, ["'chat'", "'name'"]),
    (CHAT.replace('"slack"', '"pager"'), ["'chat'", "'kind'", "pager"]),
    (CHAT + 'colour = "red"\n', ["'chat'", "'colour'"]),
    (CHAT + 'url = "https://hooks.slack.com/services/x"\n', ["'chat'", "'url'", "url_env"]),
    (CHAT.replace('name = "chat"\n', ""), ["#1", "'name'"]),
    (CHAT.replace('kind = "slack"\n', ""), ["'chat'", "'kind'"]),
    (CHAT.replace("SLACK_URL", "NOT_SET_ANYWHERE"), ["'chat'", "'url_env'", "NOT_SET_ANYWHERE"]),
    (CHAT.replace('url_env = "SLACK_URL"\n', ""), ["'chat'", "'url_env'", "required"]),
    (CHAT + 'lang = "de"\n', ["'chat'", "'lang'"]),
    (CHAT + 'scopes = "SE-AC"\n', ["'chat'", "'scopes'"]),
    (CHAT + "timeout_seconds = 0\n", ["'chat'", "'timeout_seconds'"]),
    ('[[channels]]\nname = "hook"\nkind = "webhook"\n', ["'hook'", "'url'"]),
    ('[[channels]]\nname = "hook"\nkind = "webhook"\nurl = "ftp://x"\n', ["'hook'", "'url'", "http"]),
    ('[[channels]]\nname = "hook"\nkind = "webhook"\nurl = "https://x"\nsecret_env = "NOPE"\n',
     ["'hook'", "'secret_env'", "NOPE"]),
    (MAIL.replace('smtp_host = "h"\n', ""), ["'mail'", "'smtp_host'"]),
    (MAIL.replace('smtp_to = ["c@d.se"]\n', ""), ["'mail'", "'smtp_to'"]),
    (MAIL + 'smtp_user = "u"\n', ["'mail'", "'password_env'"]),
    (MAIL + 'smtp_user = "u"\npassword_env = "NOPE"\n', ["'mail'", "'password_env'", "NOPE"]),
    (MAIL + "ssl = true\nstarttls = true\n", ["'mail'", "'starttls'"]),
    (MAIL + 'smtp_port = "25"\n', ["'mail'", "'smtp_port'"]),
    (MAIL + "starttls = 1\n", ["'mail'", "'starttls'"]),
    (MAIL + 'tls_verify = "missing-ca.pem"\n', ["'mail'", "'tls_verify'", "missing-ca.pem"]),
    ('[[channels]]\nname = "webhook"\nkind = "webhook"\nurl = "https://x"\n', ["'webhook'", "'name'"]),
    ("[[channels]\n", ["alerts.toml"]),
])
def test_configuration_errors_name_the_channel_and_the_key(
    settings: Any, tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ChannelConfigError) as caught:
        load_channels(settings(alerts_file=str(path), alert_webhook_url="https://env.example/hook"),
                      env={"SLACK_URL": "https://hooks.slack.com" + SLACK_PATH})
    for fragment in fragments:
        assert fragment in str(caught.value)
    no_secrets_in(str(caught.value))


def test_a_channel_accepts_only_its_rules_and_scopes() -> None:
    everything = ChannelConfig("all", "slack", "https://x")
    assert everything.accepts("target_at_risk", "SE-AC")
    narrow = replace(everything, rules=("target_missed", "data_stale"), scopes=("SE-AC",))
    assert narrow.accepts("target_missed", "SE-AC")
    assert not narrow.accepts("target_at_risk", "SE-AC")
    assert not narrow.accepts("target_missed", "SE-BD")
    assert replace(everything, scopes=("platform-norra",)).accepts("data_stale", "platform-norra")


