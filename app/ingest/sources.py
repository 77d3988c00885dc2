"""Pull-source configuration: a TOML file (or rows in the database) describing each platform feed.

::

    [[source]]
    name = "platform-norra"
    kind = "calls"                      # or "intervals"
    base_url = "http://127.0.0.1:8181"
    auth_header_env = "VPT_PLATFORM_TOKEN"   # the header value is read from this variable, never stored
    cadence_seconds = 60
    page_size = 1000
    overlap_seconds = 300
    region_map = { "Norrbotten" = "SE-BD" }
    # profile = "amazon-connect-ctr"   # read each page's records through this import profile (app.ingest.pull)

The secret itself never enters the database or a log line: only the name of the variable that holds it. The
profile is stored in the source's own column (``Source.profile``), as every source's is, not in its config.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Source
from app.errors import VptError
from app.ingest.profiles.model import NAME as PROFILE_NAME
from app.kpi.records import SOURCE_NAME_PATTERN, SOURCE_NAME_RULE

NAME = re.compile(SOURCE_NAME_PATTERN)
MAX_PAGE_SIZE = 5000


class SourceConfigError(VptError, ValueError):
    code = "source_config_error"
    status_code = 422


@dataclass(frozen=True)
class PullSourceConfig:
    name: str
    kind: str  # calls | intervals
    base_url: str
    auth_header_env: str | None = None
    auth_header_name: str = "Authorization"
    cadence_seconds: int = 60
    page_size: int = 1000
    overlap_seconds: int = 300
    timeout_seconds: float = 10.0
    max_retries: int = 5
    backoff_seconds: float = 0.5
    backoff_max_seconds: float = 60.0
    batch_records: int = 20_000  # records stored per transaction (with the cursor that covers them)
    start: datetime | None = None  # where a new source begins reading; None = the platform's beginning
    region_map: dict[str, str] = field(default_factory=dict)
    enabled: bool = True
    profile: str | None = None  # an import profile of this kind whose container is JSON (app.ingest.pull)

    def auth_header(self) -> dict[str, str]:
        if not self.auth_header_env:
            return {}
        value = os.environ.get(self.auth_header_env)
        if value is None:
            raise SourceConfigError(f"source {self.name}: environment variable {self.auth_header_env} is not set")
        return {self.auth_header_name: value}

    @property
    def public_url(self) -> str:
        """The base URL fit for logs, error messages and ingest-run origins."""
        return redact_url(self.base_url)

    def to_json(self) -> dict[str, Any]:
        """The stored config: all but the profile, which has a column of its own (``Source.profile``)."""
        data = asdict(self)
        data["start"] = self.start.isoformat() if self.start else None
        del data["profile"]
        return data

    @classmethod
    def from_mapping(cls, data: dict[str, Any], where: str = "source") -> PullSourceConfig:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise SourceConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
        for required in ("name", "kind", "base_url"):
            if not data.get(required):
                raise SourceConfigError(f"{where}: '{required}' is required")
        values = dict(data)
        if isinstance(values.get("start"), str):
            values["start"] = datetime.fromisoformat(values["start"])
        try:
            config = cls(**values)
        except TypeError as exc:
            raise SourceConfigError(f"{where}: {exc}") from exc
        config.validate(where)
        return config

    def validate(self, where: str) -> None:
        if not NAME.fullmatch(self.name):
            raise SourceConfigError(f"{where}: name must be {SOURCE_NAME_RULE}")
        if self.kind not in ("calls", "intervals"):
            raise SourceConfigError(f"{where}: kind must be 'calls' or 'intervals', not {self.kind!r}")
        if not self.base_url.startswith(("http://", "https://")):
            raise SourceConfigError(f"{where}: base_url must start with http:// or https://")
        if "?" in self.base_url or "#" in self.base_url:  # "/calls" and ?since=&limit= are appended to it
            raise SourceConfigError(f"{where}: base_url must not have a query string or fragment ('?', '#'); "
                                    "put a token in the variable named by auth_header_env")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise SourceConfigError(f"{where}: page_size must be between 1 and {MAX_PAGE_SIZE}")
        if self.cadence_seconds < 1 or self.overlap_seconds < 0 or self.max_retries < 0:
            raise SourceConfigError(f"{where}: cadence_seconds ≥ 1, overlap_seconds ≥ 0, max_retries ≥ 0")
        if self.start is not None and self.start.tzinfo is None:
            raise SourceConfigError(f"{where}: start must carry a UTC offset")
        if self.profile is not None and not PROFILE_NAME.fullmatch(self.profile):
            raise SourceConfigError(f"{where}: profile must be a profile's name (1–64 of a–z 0–9 . _ -)")


def redact_url(url: str) -> str:
    """The URL without secrets: a password becomes ``***`` and so does every query value."""
    try:
        parts = urlsplit(url)
        password, username, host, port = parts.password, parts.username, parts.hostname, parts.port
    except ValueError:
        return "***"
    netloc = parts.netloc
    if password is not None or username is not None:
        netloc = f"{username or ''}{':***' if password is not None else ''}@{host or ''}"
        if port is not None:
            netloc += f":{port}"
    query = urlencode([(key, "***") for key, _ in parse_qsl(parts.query, keep_blank_values=True)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def load_sources_file(path: Path) -> list[PullSourceConfig]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SourceConfigError(f"{path}: {exc}") from exc
    entries = document.get("source", [])
    if not isinstance(entries, list):
        raise SourceConfigError(f"{path}: expected [[source]] tables")
    configs = [PullSourceConfig.from_mapping(entry, f"{path} [[source]] #{n}") for n, entry in enumerate(entries, 1)]
    names = [config.name for config in configs]
    if len(set(names)) != len(names):
        raise SourceConfigError(f"{path}: source names must be unique")
    return configs


def save_source(session: Session, config: PullSourceConfig) -> Source:
    """Create or update the source row; its cursor and history are kept when the settings change."""
    source = session.scalar(select(Source).where(Source.name == config.name))
    if source is None:
        source = Source(name=config.name, kind="http")
        session.add(source)
    elif source.kind != "http":
        raise SourceConfigError(f"source {config.name} already exists as a {source.kind} source")
    source.config = config.to_json()
    source.profile = config.profile
    source.enabled = config.enabled
    session.flush()
    return source


def pull_sources(session: Session) -> list[PullSourceConfig]:
    """The enabled pull sources. One whose stored settings no longer validate is left out, with the reason
    on its row, so that it cannot keep the others from being scheduled."""
    configs = []
    rows = session.scalars(select(Source).where(Source.kind == "http", Source.enabled.is_(True)).order_by(Source.name))
    for row in rows:
        try:
            configs.append(PullSourceConfig.from_mapping({**(row.config or {}), "profile": row.profile},
                                                         f"source {row.name}"))
        except (SourceConfigError, ValueError, TypeError) as exc:
            message = f"invalid configuration: {exc}"
            if row.last_error != message:
                row.last_error, row.last_error_at = message, datetime.now(UTC)
    return configs
