"""Silences: mute a rule, a scope, or a rule in one scope, until a time.

A silenced alert still changes phase and is kept in history (the event names the silence), but no
notification is written for it: muting is about people's attention, not about what the data says. Making and
ending a silence write their audit rows (``silence.create``, ``silence.expire``) as the actor the entry point
names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.audit import record
from app.alerts.rules import RULE_SETTINGS
from app.db.alert_models import AlertSilence
from app.errors import VptError

MAX_REASON = 512


class SilenceError(VptError, ValueError):
    """A silence that cannot be made; names the field at fault."""

    code = "invalid_silence"
    status_code = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class SilenceRequest:
    rule: str | None
    scope: str | None
    ends_at: datetime
    reason: str
    created_by: str


def create_silence(
    session: Session, request: SilenceRequest, now: datetime | None = None, *, actor: str | None = None,
    remote_addr: str | None = None,
) -> AlertSilence:
    """Make a silence and its audit row, as ``actor`` (who acted; ``request.created_by`` is who mutes)."""
    now = now or datetime.now(UTC)
    if not request.rule and not request.scope:
        raise SilenceError("rule", "give a rule, a scope or both; a silence of everything is not allowed")
    if request.rule and request.rule not in RULE_SETTINGS:
        raise SilenceError("rule", f"no rule {request.rule!r} (rules: {', '.join(sorted(RULE_SETTINGS))})")
    if request.ends_at.tzinfo is None:
        raise SilenceError("ends_at", "needs a time zone (e.g. 2025-10-06T18:00:00+02:00)")
    if request.ends_at <= now:
        raise SilenceError("ends_at", "must be in the future")
    reason = request.reason.strip()
    if not reason:
        raise SilenceError("reason", "say why, so the next person knows")
    if len(reason) > MAX_REASON:
        raise SilenceError("reason", f"at most {MAX_REASON} characters")
    silence = AlertSilence(rule=request.rule or None, scope=request.scope or None, starts_at=now,
                           ends_at=request.ends_at.astimezone(UTC), reason=reason, created_by=request.created_by,
                           created_at=now)
    session.add(silence)
    session.flush()
    _audit(session, "silence.create", silence, actor, remote_addr)
    return silence


def expire_silence(
    session: Session, silence_id: int, now: datetime | None = None, *, actor: str | None = None,
    remote_addr: str | None = None,
) -> AlertSilence | None:
    """End a silence now, with its audit row. Returns None for an unknown id; an already ended silence is left
    as it was, with nothing to audit."""
    now = now or datetime.now(UTC)
    silence = session.get(AlertSilence, silence_id)
    if silence is not None and silence.ends_at > now:
        silence.ends_at = now
        _audit(session, "silence.expire", silence, actor, remote_addr)
    return silence


def _audit(
    session: Session, action: str, silence: AlertSilence, actor: str | None, remote_addr: str | None
) -> None:
    """``action`` on ``silence``, as it is after the change."""
    record(session, actor=actor, action=action, subject=f"silence:{silence.id}", remote_addr=remote_addr,
           details={"rule": silence.rule, "scope": silence.scope, "ends_at": silence.ends_at.isoformat(),
                    "reason": silence.reason})


def list_silences(session: Session, now: datetime | None = None, *, include_ended: bool = False) -> list[AlertSilence]:
    now = now or datetime.now(UTC)
    query = select(AlertSilence).order_by(AlertSilence.ends_at.desc(), AlertSilence.id.desc())
    if not include_ended:
        query = query.where(AlertSilence.ends_at > now)
    return list(session.scalars(query))


def active_silences(session: Session, now: datetime) -> list[AlertSilence]:
    return list(session.scalars(
        select(AlertSilence).where(AlertSilence.starts_at <= now, AlertSilence.ends_at > now)
        .order_by(AlertSilence.id)
    ))


def matching_silence(silences: list[AlertSilence], rule: str, scope: str) -> AlertSilence | None:
    for silence in silences:
        if (silence.rule is None or silence.rule == rule) and (silence.scope is None or silence.scope == scope):
            return silence
    return None

