"""The reads every month's scorecard document shares (stored targets, the names of regions and collaborations,
their members) and the bundle of them one request reads once for several documents (app.metrics.collector)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Collaboration, CollaborationMember, Region, TargetVersion
from app.kpi.counts import Counts, Definitions
from app.kpi.targets import Comparator, Target
from app.scorecard.queries import month_counts, stored_definitions


def targets_by_scope(session: Session) -> dict[tuple[str, str], list[Target]]:
    """All target versions; of two with the same valid_from the later-created one wins."""
    rows = session.scalars(select(TargetVersion).order_by(TargetVersion.created_at, TargetVersion.id))
    by_key: dict[tuple[str, str, str, date], TargetVersion] = {}
    for row in rows:
        by_key[(row.scope_kind, row.scope_code, row.kpi, row.valid_from)] = row
    out: dict[tuple[str, str], list[Target]] = {}
    for (kind, code, kpi, valid_from), row in by_key.items():
        out.setdefault((kind, code), []).append(
            Target(kpi=kpi, comparator=Comparator(row.comparator), value=row.value, valid_from=valid_from)
        )
    return out


@dataclass(frozen=True)
class ScopeNames:
    """Region names, collaborations (by code) and their members: read once per document, not per month read."""

    regions: dict[str, str]
    collaborations: tuple[tuple[str, str], ...]
    members: dict[str, list[str]]


def scope_names(session: Session) -> ScopeNames:
    members: dict[str, list[str]] = {}
    for collab_code, region in session.execute(
        select(CollaborationMember.collaboration_code, CollaborationMember.region_code)
    ).all():
        members.setdefault(collab_code, []).append(region)
    collaborations = tuple((code, name) for code, name in session.execute(
        select(Collaboration.code, Collaboration.name).order_by(Collaboration.code)).all())
    return ScopeNames(dict(session.execute(select(Region.code, Region.name)).all()), collaborations, members)


@dataclass(frozen=True)
class SharedReads:
    """What every month's document reads alike (stored definitions, targets, names) and the roll-up of the months
    wanted: read once where one request builds several documents (/metrics: the month in progress and the one
    before, which each read them on its own in a process's first scrape)."""

    definitions: Definitions | None
    targets: dict[tuple[str, str], list[Target]]
    names: ScopeNames
    counts: dict[date, dict[str, tuple[Counts, int]]]


def shared_reads(session: Session, months: list[date]) -> SharedReads:
    return SharedReads(stored_definitions(session), targets_by_scope(session), scope_names(session),
                       month_counts(session, months))


def scope_regions(session: Session, names: ScopeNames | None = None) -> dict[tuple[str, str], list[str]]:
    names = names or scope_names(session)
    members: dict[tuple[str, str], list[str]] = {("region", code): [code] for code in names.regions}
    for collab_code, regions in names.members.items():
        members[("collaboration", collab_code)] = list(regions)
    return members
