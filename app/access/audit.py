"""The audit log: who changed a target, a key or a silence, when, from where, and what exactly.

A row is written by the same session, in the same transaction, as the change it records, so the two commit
together or not at all. Actors are ``key:<name>:<public id>`` for API keys and ``cli:<os user>`` for the
command line; ``remote_addr`` is the API client's address as the server saw it: the peer itself, or the address a
proxy listed in ``VPT_FORWARDED_ALLOW_IPS`` forwarded (``app.api.serving``); nobody else's ``X-Forwarded-For`` is
believed. Text is stored through the sanitiser: a forwarded address or a key name is whatever someone sent.
Rows are never updated or deleted by the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.alert_models import AlertSilence
from app.db.auth_models import AuditEntry
from app.sanitize import clean
from app.scorecard.targets import TargetChange

ACTIONS = ("target.set", "key.create", "key.revoke", "silence.create", "silence.expire")


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before_id: int | None  # pass as ``before`` for the next (older) page; None on the last page


def record(
    session: Session, *, actor: str, action: str, subject: str, details: dict[str, Any] | None = None,
    remote_addr: str | None = None, now: datetime | None = None,
) -> AuditEntry:
    entry = AuditEntry(at=now or datetime.now(UTC), actor=clean(actor, 160), action=action, subject=clean(subject, 160),
                       details=_cleaned(details), remote_addr=clean(remote_addr, 64) if remote_addr else None)
    session.add(entry)
    session.flush()
    return entry


def _cleaned(details: dict[str, Any] | None) -> dict[str, Any] | None:
    if details is None:
        return None
    return {key: clean(value) if isinstance(value, str) else value for key, value in details.items()}


def record_target_set(session: Session, actor: str, change: TargetChange, remote_addr: str | None = None) -> None:
    version = change.version
    record(session, actor=actor, action="target.set", subject=f"target:{version.scope}/{version.kpi}",
           remote_addr=remote_addr, details={
               "version_id": version.id, "scope_kind": version.scope_kind, "comparator": version.comparator,
               "value": f"{version.value.normalize():f}", "valid_from": version.valid_from_month,
               "reason": version.reason, "set_by": version.set_by,
               "previous_version_id": change.previous.id if change.previous else None,
               "affects_closed_months": change.affects_closed_months,
           })


def record_silence(
    session: Session, actor: str, action: str, silence: AlertSilence, remote_addr: str | None = None
) -> None:
    """``silence.create`` or ``silence.expire`` of ``silence`` (after the change)."""
    record(session, actor=actor, action=action, subject=f"silence:{silence.id}", remote_addr=remote_addr,
           details={"rule": silence.rule, "scope": silence.scope, "ends_at": silence.ends_at.isoformat(),
                    "reason": silence.reason})


def list_entries(session: Session, *, limit: int = 100, before_id: int | None = None) -> AuditPage:
    """Newest first, keyset paged by id."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(entries=rows, next_before_id=rows[-1].id if more and rows else None)
