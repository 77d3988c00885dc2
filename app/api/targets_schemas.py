"""Request and response models of targets (SPEC §6, §7)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.db.models import ScopeKind as ScopeKind  # the column's Literal; the targets router's, too
from app.kpi.catalog import CATALOG, HIGHER_IS_BETTER, TARGETABLE_KEYS
from app.kpi.targets import ComparatorText
from app.scorecard.service import FIRST_YEAR, LAST_YEAR
from app.scorecard.targets import MONTH_REGEX, REASON_MAX, TargetChange, TargetRecord

if TYPE_CHECKING:
    TargetableKpi = str
else:  # the catalogue's targetable KPIs, an enum in the OpenAPI document and checked on the way in
    TargetableKpi = Literal[TARGETABLE_KEYS]


def _keys(unit: str) -> str:
    return ", ".join(s.key for s in CATALOG if s.targetable and s.unit == unit)


_HIGHER = ", ".join(k for k in TARGETABLE_KEYS if k in HIGHER_IS_BETTER)


class TargetVersionOut(BaseModel):
    """One stored version of a target. Versions are never changed or deleted; a newer one supersedes."""

    id: int = Field(description="Increases with every version stored")
    scope_kind: ScopeKind
    scope: str = Field(examples=["SE-AC"], description="Region code (ISO 3166-2:SE) or collaboration code")
    scope_name: str = Field(examples=["Västerbotten"])
    kpi: TargetableKpi = Field(examples=["answer_rate"])
    comparator: ComparatorText = Field(description="'>=': the KPI must be at least value; '<=': at most")
    value: float = Field(examples=[0.85], description="A ratio in [0, 1], or seconds for waits")
    valid_from: str = Field(examples=["2026-01"], description="YYYY-MM: the first month this version applies to")
    set_by: str = Field(description="Who stored this version ('system' for the shipped defaults)")
    reason: str = Field(description="Why the target was set or changed")
    created_at: datetime = Field(description="When this version was stored (UTC)")

    @classmethod
    def of(cls, record: TargetRecord) -> TargetVersionOut:
        return cls(
            id=record.id, scope_kind=record.scope_kind, scope=record.scope,
            scope_name=record.scope_name, kpi=record.kpi, comparator=record.comparator,
            value=float(record.value), valid_from=record.valid_from_month, set_by=record.set_by,
            reason=record.reason, created_at=record.created_at,
        )


class TargetsInForce(BaseModel):
    month: str = Field(examples=["2026-01"], description="The month asked for (default: the current local month)")
    targets: list[TargetVersionOut] = Field(
        description="Per scope and KPI, the version in force: the latest valid_from not after the month; of two "
        "with the same valid_from, the later-stored. The scorecard judges the month by exactly these."
    )


class TargetIn(BaseModel):
    """A new version of a target. Every field but the comparator is required."""

    model_config = ConfigDict(extra="forbid")

    comparator: ComparatorText | None = Field(
        default=None,
        description=f"Default by KPI: '>=' where more is better ({_HIGHER}), '<=' for every other KPI",
    )
    value: float = Field(
        strict=True, allow_inf_nan=False, examples=[0.9],
        description=f"Ratio KPIs ({_keys('ratio')}): 0 to 1. Seconds ({_keys('seconds')}): 0 to 86400. At most 6 "
        "decimals.",
    )
    valid_from: str = Field(
        pattern=MONTH_REGEX, examples=["2026-01"],
        description=f"YYYY-MM, a year from {FIRST_YEAR} to {LAST_YEAR} (the scorecards' range). A past month is "
        "allowed: closed months are then judged again by this version",
    )
    reason: str = Field(
        min_length=1, max_length=REASON_MAX, pattern=r"^[^\x00]*$",  # PostgreSQL stores no NUL in text
        examples=["Regionstyrelsen beslut 2025-12-10, § 123"],
        description="Why the target changes; shown to auditors with the version",
    )


class TargetSetOut(TargetVersionOut):
    affects_closed_months: bool = Field(
        description="True when valid_from is before the current month: the scorecards of closed months from "
        "valid_from on (until the next version) are now judged by this version"
    )
    previous: TargetVersionOut | None = Field(
        description="The version that was in force in valid_from before this one (null: no target before)"
    )

    @classmethod
    def of_change(cls, change: TargetChange) -> TargetSetOut:
        return cls(
            **TargetVersionOut.of(change.version).model_dump(),
            affects_closed_months=change.affects_closed_months,
            previous=TargetVersionOut.of(change.previous) if change.previous is not None else None,
        )
