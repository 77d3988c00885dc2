"""The monthly scorecard (SPEC §4–§7): one document for the API, the CLI and exports."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Collaboration, CollaborationMember, Region, TargetVersion
from app.kpi.counts import Counts, Definitions, sum_counts
from app.kpi.formulas import Kpis, compute_kpis, data_quality_notes
from app.kpi.localtime import HOUR, hours_between, local_month_bounds
from app.kpi.targets import Comparator, Status, Target, closed_month_status, month_to_date_status, target_in_force
from app.scorecard.queries import counts_by_region, distinct_hours_with_data, stored_definitions

#: A span whose newest record is older than this before its end (or now) is reported as partial.
PARTIAL_AFTER = 6 * HOUR
MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class InvalidMonth(ValueError):
    status_code = 422


class UnknownScope(LookupError):
    status_code = 404


def parse_month(text: str) -> date:
    match = MONTH_PATTERN.match(text)
    if not match:
        raise InvalidMonth(f"month must be YYYY-MM, got {text!r}")
    return date(int(match.group(1)), int(match.group(2)), 1)


@dataclass(frozen=True)
class ScopeFigures:
    scope: str
    kind: str  # region | collaboration
    name: str
    counts: Counts
    kpis: Kpis
    hours_with_data: int
    hours_in_span: int


def _targets_by_scope(session: Session) -> dict[tuple[str, str], list[Target]]:
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


def _target_rows(targets: list[Target], kpis: Kpis, month: date, closed: bool) -> list[dict[str, Any]]:
    rows = []
    for kpi in sorted({t.kpi for t in targets}):
        target = target_in_force(targets, kpi, month)
        if target is None:
            continue
        status: Status = closed_month_status(kpis, target) if closed else month_to_date_status(kpis, target)
        rows.append({
            "kpi": kpi,
            "comparator": target.comparator.value,
            "value": float(target.value),
            "valid_from": target.valid_from.strftime("%Y-%m"),
            "status": status.value,
        })
    return rows


def region_and_collaboration_figures(session: Session, start: datetime, end: datetime) -> list[ScopeFigures]:
    """Figures of every region with data in [start, end) and every collaboration with a member that has data."""
    by_region = counts_by_region(session, None, start, end)
    names = dict(session.execute(select(Region.code, Region.name)).all())
    hours_in_span = hours_between(start, end)
    scopes: list[ScopeFigures] = []
    for code in sorted(by_region):
        counts, hours = by_region[code]
        if not counts.has_data:
            continue
        scopes.append(ScopeFigures(code, "region", names.get(code, code), counts, compute_kpis(counts), hours,
                                   hours_in_span))
    members: dict[str, list[str]] = {}
    for collab_code, region in session.execute(
        select(CollaborationMember.collaboration_code, CollaborationMember.region_code)
    ).all():
        members.setdefault(collab_code, []).append(region)
    for collab in session.scalars(select(Collaboration).order_by(Collaboration.code)):
        regions = members.get(collab.code, [])
        present = [by_region[r][0] for r in regions if r in by_region and by_region[r][0].has_data]
        if not present:
            continue
        counts = sum_counts(present)
        scopes.append(ScopeFigures(
            collab.code, "collaboration", collab.name, counts, compute_kpis(counts, cross_region=False),
            distinct_hours_with_data(session, regions, start, end), hours_in_span,
        ))
    return scopes


def monthly_scorecard(
    session: Session, month: date, definitions: Definitions, now: datetime | None = None
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    start, end = local_month_bounds(month)
    closed = end <= now
    stored = stored_definitions(session) or definitions
    targets = _targets_by_scope(session)
    scopes = []
    for figures in region_and_collaboration_figures(session, start, end):
        latest = figures.counts.latest_record_at
        scopes.append({
            "scope": figures.scope,
            "kind": figures.kind,
            "name": figures.name,
            "kpis": figures.kpis.as_dict(),
            "targets": _target_rows(targets.get((figures.kind, figures.scope), []), figures.kpis, month, closed),
            "completeness": {
                "hours_with_data": figures.hours_with_data,
                "hours_in_month": figures.hours_in_span,
                "latest_record_at": latest.isoformat().replace("+00:00", "Z") if latest else None,
                "partial": latest is None or latest < min(end, now) - PARTIAL_AFTER,
            },
            "data_quality": data_quality_notes(figures.counts, region=figures.kind == "region"),
        })
    return {
        "month": month.strftime("%Y-%m"),
        "closed": closed,
        "definitions": {"short_abandon_seconds": stored.short_abandon_seconds, "sl_seconds": stored.sl_seconds},
        "generated_at": now.isoformat().replace("+00:00", "Z"),
        "scopes": scopes,
    }

