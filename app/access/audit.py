"""The audit log: who changed a target, a key, a silence or a source, when, from where, and what exactly.

The service that makes a change writes its row (``app.scorecard.targets``, ``app.access.keys``,
``app.alerts.silences``, ``app.ingest.source_admin``), given the actor by its entry point: what a row says is
written once, beside the change, whichever entry point (API, CLI) asked for it. A row is written by the same
session, in the same transaction, as the change it records, so the two commit together or not at all.

Actors are ``key:<name>:<public id>`` for API keys and ``cli:<os user>`` for the command line; ``remote_addr`` is
the API client's address as the server saw it: the peer itself, or the address a proxy listed in
``VPT_FORWARDED_ALLOW_IPS`` forwarded (``app.api.serving``); nobody else's ``X-Forwarded-For`` is believed.
Text is stored through the sanitiser: a forwarded address or a key name is whatever someone sent. Rows are never
updated or deleted by the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.auth_models import AuditEntry
from app.sanitize import clean

ACTIONS = ("target.set", "key.create", "key.revoke", "silence.create", "silence.expire", "source.create",
           "source.update", "source.remove")


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before_id: int | None  # pass as ``before`` for the next (older) page; None on the last page


def record(
    session: Session, *, actor: str | None, action: str, subject: str, details: dict[str, Any] | None = None,
    remote_addr: str | None = None, now: datetime | None = None,
) -> AuditEntry | None:
    """Write the row of a change made by ``actor``. No actor, no row: the change was made by code, not by someone
    (a test's or a seed's setup); every API and CLI entry point names its actor."""
    if actor is None:
        return None
    entry = AuditEntry(at=now or datetime.now(UTC), actor=clean(actor, 160), action=action, subject=clean(subject, 160),
                       details=_cleaned(details), remote_addr=clean(remote_addr, 64) if remote_addr else None)
    session.add(entry)
    session.flush()
    return entry


def _cleaned(details: dict[str, Any] | None) -> dict[str, Any] | None:
    if details is None:
        return None
    return {key: clean(value) if isinstance(value, str) else value for key, value in details.items()}


def list_entries(session: Session, *, limit: int = 100, before_id: int | None = None) -> AuditPage:
    """Newest first, keyset paged by id."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(entries=rows, next_before_id=rows[-1].id if more and rows else None)
