"""The one settings object. Read from the environment (prefix ``VPT_``) once, then passed down."""

from __future__ import annotations

import json
from functools import cached_property
from ipaddress import ip_address, ip_network
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.kpi import Definitions
from app.kpi.records import SOURCE_NAME_PATTERN


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VPT_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./vpt.db",
        description="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user:pw@host/db",
    )
    short_abandon_seconds: int = Field(default=0, ge=0, description="Hang-ups before this are short abandons")
    sl_seconds: int = Field(default=600, ge=0, description="Service-level threshold in seconds")
    default_source: str = Field(default="files", pattern=SOURCE_NAME_PATTERN,
                                description="Source name for file ingests without --source")
    ingest_batch_rows: int = Field(default=50_000, ge=1_000, description="Rows staged per round trip")
    ingest_fast_path: bool = Field(
        default=True, description="Read canonical call CSV with the pyarrow fast path (rows it cannot prove plain "
        "still go through the reference parser); off: the reference parser reads every row",
    )
    max_field_length: int = Field(default=256, ge=16, description="Longest accepted text field")
    max_upload_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1, description="Largest body accepted by the push-ingest endpoints (413 above)"
    )
    max_upload_rows: int = Field(
        default=2_000_000, ge=1, description="Most rows in one pushed file (413 above; nothing of it is stored)"
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest body accepted by any endpoint but push ingest (413 above)"
    )
    max_line_length: int = Field(
        default=65_536, ge=1024, description="Longest line of an ingested file, in characters (that row is rejected)"
    )
    # Room for the largest legal page: 5000 records (page_size) of up to 2 KiB each is under 10 MiB decoded.
    max_pull_page_bytes: int = Field(
        default=16 * 1024 * 1024, ge=64 * 1024,
        description="Largest decoded page a pull source may send; a larger one is refused as the source's error",
    )
    ingest_lock_wait_seconds: float = Field(
        default=30.0, gt=0, le=3600,
        description="Longest wait of an ingest or recompute for another to finish; then it gives up (503, exit 1) "
        "naming the holder, and an ingest records a failed run",
    )
    log_level: str = Field(default="INFO")
    lang: str = Field(
        default="sv", pattern="^(sv|en)$",
        description="Language of the vpt command line's output (one per run; `vpt --lang en` overrides it)",
    )
    api_host: str = Field(default="127.0.0.1")
    api_port: int = Field(default=8000)
    sources_file: str | None = Field(default=None, description="TOML file of HTTP pull sources (synced at start)")
    drop_dir: str | None = Field(default=None, description="Folder the worker ingests files from once")
    queue_map_file: str | None = Field(default=None, description="CSV queue,region for queue_log files")
    profiles_dir: str | None = Field(
        default=None, description="Folder of the operator's import profiles (*.toml, docs/profiles.md)"
    )
    worker_heartbeat_seconds: int = Field(default=10, ge=1)
    drop_scan_seconds: int = Field(default=15, ge=1)
    ready_requires_worker: bool = Field(default=False, description="/readyz is 503 without a live worker")
    lease_seconds: int = Field(default=60, ge=10, description="A dead worker's job lease expires after this")
    scorecard_version_ttl_seconds: float = Field(
        default=1.0, ge=0, le=60,
        description="The API re-reads the data version at most this often: an ingest shows in its scorecard "
        "at most this much later (0: on every request)",
    )
    scorecard_cache_bytes: int = Field(
        default=64 * 1024 * 1024, ge=0,
        description="Bytes of month documents (and their JSON) the API keeps; ~0.2 MB a month with 21 regions",
    )
    public_base_url: str = Field(default="http://127.0.0.1:8000", description="Links in messages")
    dashboard_url: str | None = Field(default=None, description="Grafana dashboard linked from alert messages")

    # Access control (README "Security"). Closed by default: every endpoint but /healthz and /readyz needs an
    # API key, unless reads are opened on purpose; /metrics needs the token only when one is set (Prometheus
    # scrapers are often configured without one); no cross-origin browser access unless origins are listed.
    public_read: bool = Field(default=False, description="GET endpoints of the read scope need no key")
    metrics_token: SecretStr | None = Field(default=None, description="/metrics needs 'Bearer <token>' when set")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed cross-origin (comma-separated or JSON); none by default"
    )
    auth_cache_seconds: float = Field(
        default=10.0, ge=0, le=10, description="How long a verified key is trusted without a lookup (revocation delay)"
    )
    # The web view (app.web): a browser signs in with an API key once; its session cookie is signed with this.
    session_secret: SecretStr | None = Field(
        default=None, description="Signs the web view's session and CSRF cookies (32+ random characters); unset: "
        "a random secret per process, so sessions end on restart and several API workers need it set",
    )
    session_max_age_seconds: int = Field(
        default=8 * 3600, ge=60, le=7 * 24 * 3600, description="A web view session ends this long after sign-in"
    )
    login_max_failures: int = Field(
        default=10, ge=1, le=1000,
        description="Failed web sign-ins a client address may make in VPT_LOGIN_WINDOW_SECONDS before a 429",
    )
    login_window_seconds: int = Field(
        default=600, ge=1, le=24 * 3600, description="The window over which failed web sign-ins are counted"
    )
    # Serving (`vpt serve`, app.api.serving). Nobody's X-Forwarded-For is believed unless listed: the audit log
    # records the peer itself. Slow clients: a connection may not hold a half-sent request forever.
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Proxies (IP addresses or networks, comma-separated) whose X-Forwarded-For is believed; none "
        "by default",
    )
    header_timeout_seconds: float = Field(
        default=20.0, gt=0, le=600, description="A request's headers must arrive within this (408 and close)"
    )
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, le=3600,
        description="Longest wait for the next piece of a request body (408 and close), as nginx's client_body_timeout",
    )

    # Alerts (SPEC §8). Rules, per-scope thresholds and any number of channels come from the TOML file; the
    # variables below configure one channel of each kind without a file. Webhook URLs of Slack and Teams carry
    # their own secret, so they are SecretStr like the HMAC key and the SMTP password: never printed or logged.
    alerts_file: str | None = Field(default=None, description="TOML file of alert rules and channels")
    alert_lang: str = Field(default="sv", pattern="^(sv|en)$", description="Language of alert messages")
    alert_evaluate_seconds: int = Field(default=60, ge=5, description="Evaluation on a schedule, besides ingests")
    alert_deliver_seconds: int = Field(default=10, ge=1, description="How often the outbox is sent")
    alert_retry_hours: float = Field(default=24.0, gt=0, description="A notification is retried this long")
    alert_first_retry_seconds: float = Field(default=30.0, gt=0, description="Doubling up to 30 min")
    alert_webhook_url: str | None = None
    alert_webhook_secret: SecretStr | None = None
    alert_slack_url: SecretStr | None = None
    alert_teams_url: SecretStr | None = None
    alert_smtp_host: str | None = None
    alert_smtp_port: int = 587
    alert_smtp_user: str | None = None
    alert_smtp_password: SecretStr | None = None
    alert_smtp_from: str | None = None
    alert_smtp_to: str | None = Field(default=None, description="Comma-separated recipients")
    alert_smtp_starttls: bool = True

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        """``https://a.example,https://b.example`` or a JSON list; a wildcard is refused, origins are explicit."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [o.strip() for o in text.split(",") if o.strip()]
        if isinstance(value, list) and any(str(origin).strip() == "*" for origin in value):
            raise ValueError("list the allowed origins explicitly; '*' is not accepted")
        return value

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _proxies(cls, value: object) -> object:
        """``10.0.0.5,10.1.0.0/16`` or a JSON list of addresses and networks; a wildcard or a host name is refused
        (uvicorn would silently never match a malformed entry, or with ``*`` believe every client)."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [p.strip() for p in text.split(",") if p.strip()]
        if isinstance(value, list):
            value = [str(entry).strip() for entry in value]
            for entry in value:
                try:
                    ip_network(entry) if "/" in entry else ip_address(entry)
                except ValueError:
                    raise ValueError(f"{entry!r} is not an IP address or network (10.0.0.5, 10.1.0.0/16); list the "
                                     "proxies explicitly, '*' is not accepted") from None
        return value

    @cached_property
    def definitions(self) -> Definitions:
        return Definitions(
            short_abandon_seconds=self.short_abandon_seconds, sl_seconds=self.sl_seconds
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: Any) -> Settings:  # Any: each is a field's own type, validated by Settings
    return Settings(**overrides)
