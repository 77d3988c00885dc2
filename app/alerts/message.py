"""One notification as every channel receives it: already worded, in one language, with a stable identity.

It is rendered once, when the alert changes phase, and stored in the outbox as JSON, so a delivery that
happens hours later (a receiver was down) says what was true when the alert fired, not what is true now,
and a retry sends byte-for-byte the same words under the same idempotency key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

from app.kpi.glossary import Lang
from app.kpi.localtime import utc_iso

Status = Literal["firing", "resolved"]


@dataclass(frozen=True)
class AlertMessage:
    idempotency_key: str  # one per (alert transition, channel): receivers drop a repeat of the same key
    status: Status
    rule: str  # target_at_risk | target_unreachable | target_missed | fast_slip | data_stale | worker_stale
    scope: str  # region or collaboration code, source name or worker id
    scope_name: str  # what people call it: "Region Västerbotten"
    kpi: str  # answer_rate | mean_wait | "" for rules that are not about a KPI
    period: str  # "2025-10" for month rules, "" otherwise
    severity: Literal["critical", "warning"]
    fingerprint: str  # stable per alert key (the same for its firing and its resolution)
    starts_at: datetime  # when the alert fired
    ends_at: datetime | None  # when it resolved; None while firing
    lang: Lang
    title: str  # one line, e.g. "Svarsfrekvensen i Region Jämtland Härjedalen riskerar att missa målet"
    text: str  # a few sentences for people: value, target, what is needed to recover
    facts: list[tuple[str, str]] = field(default_factory=list)  # (label, value) pairs, worded and formatted
    link: str = ""  # scorecard or dashboard

    @property
    def alertname(self) -> str:
        return self.rule

    def labels(self) -> dict[str, str]:
        """Alertmanager-style labels: what identifies the alert, never what changes between evaluations."""
        labels = {"alertname": self.rule, "scope": self.scope, "severity": self.severity}
        if self.kpi:
            labels["kpi"] = self.kpi
        if self.period:
            labels["period"] = self.period
        return labels

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["starts_at"] = utc_iso(self.starts_at)
        out["ends_at"] = utc_iso(self.ends_at)
        out["facts"] = [list(pair) for pair in self.facts]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertMessage:
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}  # newer versions may add keys
        values["starts_at"] = _parse_time(values["starts_at"])
        values["ends_at"] = None if values.get("ends_at") is None else _parse_time(values["ends_at"])
        values["facts"] = [(str(a), str(b)) for a, b in values.get("facts", [])]
        return cls(**values)


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
