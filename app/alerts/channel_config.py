"""Where notifications go: one ``ChannelConfig`` per receiver, from the ``VPT_ALERT_*`` variables and the TOML file.

The variables give at most one channel of each kind (named ``webhook``, ``slack``, ``teams``, ``email``); the
file's ``[[channels]]`` tables give any number, each with its own language and rule/scope filter. Secrets never
sit in the file: ``secret_env``, ``url_env`` and ``password_env`` name environment variables, so the file can
be committed and mounted read-only. A Slack or Teams URL *is* a secret (whoever has it can post), so only a
plain webhook may write its ``url`` inline.

A mistake in the file stops the service at start with a message naming the channel and the key, rather than
surfacing hours later as a notification that silently went nowhere.

Each kind is one ``ChannelKind`` in ``KINDS``: the keys its table takes, how its table and its variables are read
and how it is shown. How it sends is its entry, under the same name, in ``app.alerts.channels.DELIVERIES``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import SecretStr

from app.config import Settings
from app.kpi.glossary import LANGS, Lang

_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_COMMON_KEYS = frozenset({"name", "kind", "lang", "scopes", "rules", "timeout_seconds", "tls_verify"})


class ChannelConfigError(ValueError):
    """A channel that cannot work as configured; the message names the channel and the key."""


@dataclass(frozen=True, repr=False)
class ChannelConfig:
    name: str
    kind: str  # a name in KINDS
    url: str | None = None  # a secret itself for slack and teams: see describe()
    secret: SecretStr | None = None  # HMAC-SHA256 key of a webhook
    lang: Lang = "sv"
    scopes: tuple[str, ...] = ()  # empty: every scope
    rules: tuple[str, ...] = ()  # empty: every rule
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None
    smtp_to: tuple[str, ...] = ()
    starttls: bool = True  # required when set: a server that does not offer it gets nothing
    ssl: bool = False  # implicit TLS, usually port 465
    timeout_seconds: float = 10
    tls_verify: bool | str = field(default=True)  # False, or a CA file, only for tests and private CAs

    def accepts(self, rule: str, scope: str) -> bool:
        """Whether this channel wants an alert of ``rule`` about ``scope`` (exact names, empty = all)."""
        return (not self.rules or rule in self.rules) and (not self.scopes or scope in self.scopes)

    def describe(self) -> str:
        """A line for logs and ``vpt`` output that is safe to show: no key, password or tokenised URL."""
        kind = KINDS.get(self.kind)
        target = kind.target(self) if kind is not None else _http_target(self)
        filters = "".join(
            f" {label}={','.join(values)}"
            for label, values in (("rules", self.rules), ("scopes", self.scopes))
            if values
        )
        return f"{self.kind} {self.name!r} → {target} lang={self.lang}{filters}"

    def __repr__(self) -> str:
        return f"ChannelConfig({self.describe()})"

    def secret_strings(self) -> list[str]:
        """Every text that must never appear in an error or a log line, longest first (for redaction). Whatever
        the kind, a URL is taken for a secret: Slack's and Teams' are, and a webhook's path may hold a token."""
        found = [s.get_secret_value() for s in (self.secret, self.smtp_password) if s is not None]
        if self.url:
            try:
                parts = urlsplit(self.url)
                password = parts.password
            except ValueError:
                parts, password = None, None
            found.append(self.url)
            if parts is not None:
                found += [parts.path, parts.query] + [part for part in parts.path.split("/") if len(part) >= 16]
                found += [value for _, value in parse_qsl(parts.query) if len(value) >= 4]
            if password:
                found.append(password)
        return sorted({text for text in found if text and text != "/"}, key=len, reverse=True)


@dataclass(frozen=True)
class ChannelKind:
    """How one kind of channel is configured and shown; how it sends is ``app.alerts.channels.DELIVERIES`` under
    the same name. A new kind is one entry in ``KINDS`` and one there."""

    name: str
    keys: frozenset[str]  # its [[channels]] keys beside the common ones
    from_settings: Callable[[Settings, Lang], ChannelConfig | None]  # its VPT_ALERT_* variables, when set
    from_table: Callable[[ChannelTable], ChannelConfig]  # its [[channels]] table, the common keys read
    target: Callable[[ChannelConfig], str]  # where it sends, safe to show


class ChannelTable:
    """One ``[[channels]]`` table being read: each problem names the file, the channel and the key."""

    def __init__(self, table: dict[str, Any], name: str, kind: str, where: str, env: Mapping[str, str]) -> None:
        self.table, self.name, self.kind, self.where, self.env = table, name, kind, where, env
        self.common: dict[str, Any] = {}  # lang, scopes, rules, timeout_seconds, tls_verify

    def fail(self, key: str, problem: str) -> ChannelConfigError:
        return ChannelConfigError(f"{self.where}: key {key!r}: {problem}")

    def get(self, key: str, types: type | tuple[type, ...], default: Any = None, required: bool = False) -> Any:
        if key not in self.table:
            if required:
                raise self.fail(key, "required")
            return default
        value = self.table[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
            raise self.fail(key, f"wrong type {type(value).__name__}")
        return value

    def from_env(self, key: str, required: bool = False) -> str | None:
        variable = self.get(key, str, required=required)
        if variable is None:
            return None
        value = self.env.get(variable, "")
        if not value:
            raise self.fail(key, f"environment variable {variable} is not set")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        values = self.get(key, list, [])
        if not all(isinstance(v, str) and v for v in values):
            raise self.fail(key, "expected a list of non-empty strings")
        return tuple(values)


def safe_url(url: str, *, with_path: bool) -> str:
    """scheme://host[:port], plus the path when it carries no token; never user info or query values."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return "<invalid url>"
    shown = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    if with_path:
        shown += parts.path + ("?…" if parts.query else "")
    return shown


def load_channels(settings: Settings, env: Mapping[str, str] | None = None) -> list[ChannelConfig]:
    """The channels of the ``VPT_ALERT_*`` settings, then those of ``settings.alerts_file``; names are unique."""
    environ = os.environ if env is None else env
    channels = _from_settings(settings)
    if settings.alerts_file:
        channels += _from_file(Path(settings.alerts_file), environ, settings.alert_lang)
    seen: set[str] = set()
    for channel in channels:
        if channel.name in seen:
            raise ChannelConfigError(f"channel {channel.name!r}: key 'name': the name is used by another channel")
        seen.add(channel.name)
    return channels


def _from_settings(settings: Settings) -> list[ChannelConfig]:
    lang = _lang(settings.alert_lang, "VPT_ALERT_LANG")
    return [channel for kind in KINDS.values() if (channel := kind.from_settings(settings, lang)) is not None]


def _from_file(path: Path, env: Mapping[str, str], default_lang: str) -> list[ChannelConfig]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ChannelConfigError(f"{path}: {exc}") from exc
    tables = document.get("channels", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ChannelConfigError(f"{path}: key 'channels': expected [[channels]] tables")
    return [_from_table(table, n, path, env, default_lang) for n, table in enumerate(tables, 1)]


def _from_table(table: dict[str, Any], number: int, path: Path, env: Mapping[str, str], lang: str) -> ChannelConfig:
    name = table.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        label = f"[[channels]] #{number}" if not isinstance(name, str) else f"channel {name!r}"
        raise ChannelConfigError(f"{path}: {label}: key 'name': required, 1–64 of A–Z a–z 0–9 . _ -")
    kind_name = table.get("kind")
    kind = KINDS.get(kind_name) if isinstance(kind_name, str) else None
    reader = ChannelTable(table, name, kind.name if kind else "", f"{path}: channel {name!r}", env)
    if kind is None:
        raise reader.fail("kind", f"required, one of {', '.join(KINDS)} (not {kind_name!r})")
    unknown = sorted(set(table) - _COMMON_KEYS - kind.keys)
    if unknown:
        hint = " (secrets are named with url_env)" if "url" in unknown else ""
        raise reader.fail(unknown[0], f"not a key of a {kind.name} channel{hint}")
    timeout = reader.get("timeout_seconds", (int, float), 10)
    if timeout <= 0:
        raise reader.fail("timeout_seconds", "must be positive")
    reader.common = {
        "lang": _lang(reader.get("lang", str, lang), f"{reader.where}: key 'lang'"),
        "scopes": reader.strings("scopes"),
        "rules": reader.strings("rules"),
        "timeout_seconds": float(timeout),
        "tls_verify": _ca_file(reader.get("tls_verify", (bool, str), True), path, reader.fail),
    }
    return kind.from_table(reader)


# --- the kinds ------------------------------------------------------------------------------------------------


def _http_target(channel: ChannelConfig) -> str:
    # scheme and host only, for every kind: many webhook services (Zapier, n8n, Discord-style) put their token
    # in the path, so a path is never safe to show
    return safe_url(channel.url or "", with_path=False)


def _webhook_from_settings(settings: Settings, lang: Lang) -> ChannelConfig | None:
    if not settings.alert_webhook_url:
        return None
    _check_url("webhook", "VPT_ALERT_WEBHOOK_URL", settings.alert_webhook_url)
    secret = settings.alert_webhook_secret
    if not _filled(secret):
        secret = None  # VPT_ALERT_WEBHOOK_SECRET= (empty, as compose passes an unset one): unsigned, not signed
    return ChannelConfig("webhook", "webhook", settings.alert_webhook_url, secret, lang)


def _webhook_from_table(reader: ChannelTable) -> ChannelConfig:
    if ("url" in reader.table) == ("url_env" in reader.table):
        raise reader.fail("url", "give exactly one of url and url_env")
    url = reader.get("url", str) or reader.from_env("url_env")
    secret = reader.from_env("secret_env")
    _check_url(reader.name, "url" if "url" in reader.table else "url_env", url or "", reader.where)
    return ChannelConfig(reader.name, "webhook", url, SecretStr(secret) if secret else None, **reader.common)


def _webhook_target(channel: ChannelConfig) -> str:
    return _http_target(channel) + (" signed" if channel.secret is not None else " unsigned")


def _chat_from_settings(kind: str, secret_url: SecretStr | None, lang: Lang) -> ChannelConfig | None:
    """Slack or Teams: the whole URL is the secret, so it is a SecretStr setting."""
    if secret_url is None or not _filled(secret_url):
        return None
    url = secret_url.get_secret_value()
    _check_url(kind, f"VPT_ALERT_{kind.upper()}_URL", url)
    return ChannelConfig(kind, kind, url, lang=lang)


def _chat_from_table(reader: ChannelTable) -> ChannelConfig:
    url = reader.from_env("url_env", required=True)
    _check_url(reader.name, "url_env", url or "", reader.where)
    return ChannelConfig(reader.name, reader.kind, url, **reader.common)


def _email_from_settings(settings: Settings, lang: Lang) -> ChannelConfig | None:
    if not settings.alert_smtp_host:
        return None
    recipients = tuple(a.strip() for a in (settings.alert_smtp_to or "").split(",") if a.strip())
    implicit = settings.alert_smtp_port == 465  # no variable for it: 465 is implicit TLS by convention
    email = ChannelConfig(
        "email", "email", lang=lang, smtp_host=settings.alert_smtp_host, smtp_port=settings.alert_smtp_port,
        smtp_user=settings.alert_smtp_user or None,
        smtp_password=settings.alert_smtp_password if _filled(settings.alert_smtp_password) else None,
        smtp_from=settings.alert_smtp_from or None, smtp_to=recipients,
        starttls=settings.alert_smtp_starttls and not implicit, ssl=implicit,
    )
    _check_email(email, {"smtp_from": "VPT_ALERT_SMTP_FROM", "smtp_to": "VPT_ALERT_SMTP_TO",
                         "smtp_user": "VPT_ALERT_SMTP_USER", "password": "VPT_ALERT_SMTP_PASSWORD"})
    return email


def _email_from_table(reader: ChannelTable) -> ChannelConfig:
    ssl = reader.get("ssl", bool, False)
    password = reader.from_env("password_env")
    email = ChannelConfig(
        reader.name, "email", smtp_host=reader.get("smtp_host", str, required=True),
        smtp_port=reader.get("smtp_port", int, 465 if ssl else 587), smtp_user=reader.get("smtp_user", str),
        smtp_password=SecretStr(password) if password else None,
        smtp_from=reader.get("smtp_from", str, required=True), smtp_to=reader.strings("smtp_to"),
        starttls=reader.get("starttls", bool, not ssl), ssl=ssl, **reader.common,
    )
    if not 0 < email.smtp_port < 65536:
        raise reader.fail("smtp_port", "must be a TCP port")
    _check_email(email, {"smtp_from": "smtp_from", "smtp_to": "smtp_to", "smtp_user": "smtp_user",
                         "password": "password_env", "starttls": "starttls"}, reader.where)
    return email


def _email_target(channel: ChannelConfig) -> str:
    tls = "tls" if channel.ssl else "starttls" if channel.starttls else "plain"
    login = f" user={channel.smtp_user}" if channel.smtp_user else ""
    return f"{channel.smtp_host}:{channel.smtp_port} {tls}{login} to={','.join(channel.smtp_to)}"


def _slack_from_settings(settings: Settings, lang: Lang) -> ChannelConfig | None:
    return _chat_from_settings("slack", settings.alert_slack_url, lang)


def _teams_from_settings(settings: Settings, lang: Lang) -> ChannelConfig | None:
    return _chat_from_settings("teams", settings.alert_teams_url, lang)


_CHAT_KEYS = frozenset({"url_env"})  # no inline url: it is the secret
_EMAIL_KEYS = frozenset({"smtp_host", "smtp_port", "smtp_user", "password_env", "smtp_from", "smtp_to", "starttls",
                         "ssl"})
#: Every kind of channel, in the order the VPT_ALERT_* variables make theirs.
KINDS: dict[str, ChannelKind] = {kind.name: kind for kind in (
    ChannelKind("webhook", frozenset({"url", "url_env", "secret_env"}), _webhook_from_settings, _webhook_from_table,
                _webhook_target),
    ChannelKind("slack", _CHAT_KEYS, _slack_from_settings, _chat_from_table, _http_target),
    ChannelKind("teams", _CHAT_KEYS, _teams_from_settings, _chat_from_table, _http_target),
    ChannelKind("email", _EMAIL_KEYS, _email_from_settings, _email_from_table, _email_target),
)}


def _ca_file(value: bool | str, path: Path, fail: Callable[[str, str], ChannelConfigError]) -> bool | str:
    """A CA file named relative to the TOML file, so that the two can be mounted together anywhere."""
    if isinstance(value, bool):
        return value
    ca = path.parent / value
    if not ca.is_file():
        raise fail("tls_verify", f"no CA file at {ca}")
    return str(ca)


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _filled(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value())


def _lang(value: str, where: str) -> Lang:
    if value not in LANGS:
        raise ChannelConfigError(f"{where}: language must be 'sv' or 'en', not {value!r}")
    return value


def _check_url(name: str, key: str, url: str, where: str | None = None) -> None:
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:  # the URL itself is not shown: for Slack and Teams it is the secret
        raise ChannelConfigError(f"{where or f'channel {name!r}'}: key {key!r}: not an http(s) URL")


def _check_email(channel: ChannelConfig, keys: Mapping[str, str], where: str | None = None) -> None:
    def fail(key: str, problem: str) -> ChannelConfigError:
        return ChannelConfigError(f"{where or f'channel {channel.name!r}'}: key {keys.get(key, key)!r}: {problem}")

    if not channel.smtp_from:
        raise fail("smtp_from", "required: the sender address")
    if not channel.smtp_to:
        raise fail("smtp_to", "required: at least one recipient")
    if bool(channel.smtp_user) != (channel.smtp_password is not None):
        raise fail("password" if channel.smtp_user else "smtp_user", "a login needs both a user and a password")
    if channel.ssl and channel.starttls:
        raise fail("starttls", "implicit TLS (ssl = true) and STARTTLS exclude each other")
    if channel.smtp_user and not (channel.ssl or channel.starttls):
        raise fail("starttls", "a login over an unencrypted connection would send the password in clear: "
                               "use STARTTLS or implicit TLS")
