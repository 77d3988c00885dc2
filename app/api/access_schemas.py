"""Request and response models of the key and audit endpoints. A key's secret appears in exactly one model,
``ApiKeyCreatedOut``, the answer to the request that made it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from app.access.keys import MAX_KEY_SOURCES, NAME_PATTERN, Scope, scopes_of
from app.db.auth_models import ApiKey, AuditEntry
from app.kpi.records import SOURCE_NAME_PATTERN


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("needs a time zone, e.g. 2026-12-31T00:00:00+01:00")
    return value


class ApiKeyIn(BaseModel):
    name: str = Field(pattern=NAME_PATTERN, max_length=64, description="Who or what the key is for",
                      examples=["platform-norra"])
    scopes: list[Scope] = Field(min_length=1, max_length=3, description="admin implies read and ingest",
                                examples=[["ingest"]])
    expires_at: Annotated[datetime | None, AfterValidator(_aware)] = Field(
        default=None, description="When the key stops working (with an offset); never when left out")
    sources: list[Annotated[str, Field(pattern=SOURCE_NAME_PATTERN, max_length=128)]] | None = Field(
        default=None, max_length=MAX_KEY_SOURCES,
        description="The push sources an ingest key (without admin) may write, each an existing push source; "
        "every push source when left out", examples=[["platform-norra"]])


class ApiKeyOut(BaseModel):
    id: int
    public_id: str = Field(description="The 8 characters after vpt_; safe to show and to log",
                           examples=["Kx3mP9qa"])
    name: str
    scopes: list[Scope]
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None = Field(description="At most a minute stale")
    sources: list[str] | None = Field(description="The push sources the key may write; null: every push source "
                                      "(as its scopes allow)")

    @classmethod
    def of(cls, row: ApiKey, sources: list[str] | None) -> ApiKeyOut:
        return cls(id=row.id, public_id=row.public_id, name=row.name, scopes=sorted(scopes_of(row)),
                   created_at=row.created_at, created_by=row.created_by, expires_at=row.expires_at,
                   revoked_at=row.revoked_at, revoked_by=row.revoked_by, last_used_at=row.last_used_at,
                   sources=sources)


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="The key itself, shown this once: it is stored only as a salted hash and "
                     "cannot be shown again", examples=["vpt_Kx3mP9qa_…"])


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="key:<name>:<public id> or cli:<os user>", examples=["cli:anna"])
    action: str = Field(examples=["target.set"])
    subject: str = Field(examples=["target:SE-AC/answer_rate"])
    details: dict[str, Any] | None
    remote_addr: str | None = Field(description="The API client's address as the server saw it; null from the CLI")

    @classmethod
    def of(cls, row: AuditEntry) -> AuditEntryOut:
        return cls(id=row.id, at=row.at, actor=row.actor, action=row.action, subject=row.subject,
                   details=row.details, remote_addr=row.remote_addr)


class AuditPageOut(BaseModel):
    entries: list[AuditEntryOut]
    next_before_id: int | None = Field(description="Pass as before= for the next, older page; null on the last")
