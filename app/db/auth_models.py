"""API keys and the audit log (access control, issue 7).

An API key is stored only as ``HMAC-SHA256(salt, secret)`` with a per-key random salt; the secret itself is
shown once when the key is made and is never written anywhere. The public id (the 8 characters after
``vpt_``) is what finds the row, so a lookup is one indexed read and needs no secret.

The audit log is append-only: one row per admin action, written in the same transaction as the change it
records, so a change without its audit row (or the reverse) cannot be committed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models import Base, BigId, utcnow
from app.db.types import UTCDateTime


class ApiKey(Base):
    """One API key: who it is for, what it may do, and its salted keyed hash. Never the secret."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(8), unique=True)  # the unique constraint is the lookup index
    name: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(32))  # space-separated, sorted: "ingest read"
    salt: Mapped[str] = mapped_column(String(32))  # 16 random bytes, hex
    secret_hash: Mapped[str] = mapped_column(String(64))  # HMAC-SHA256(salt, secret), hex
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(160))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(160))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # at most a minute stale


class AuditEntry(Base):
    """One admin action: who (``actor``), what (``action``, ``subject``, ``details``), when and from where."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(160))  # "key:<name>:<public id>" or "cli:<os user>"
    action: Mapped[str] = mapped_column(String(64))  # "target.set", "key.create", "silence.expire", …
    subject: Mapped[str] = mapped_column(String(160))  # "target:SE-AC/answer_rate", "key:Ab3dEf7h", "silence:3"
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    remote_addr: Mapped[str | None] = mapped_column(String(64))  # the API client's address; None from the CLI
