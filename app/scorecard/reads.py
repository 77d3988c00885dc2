"""The reads every month's scorecard document shares (stored targets, the names of regions and collaborations,
their members) and the bundle of them one request reads once for several documents (app.metrics.collector)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CompoundSelect, literal, literal_column, select, union_all
from sqlalchemy.orm import Session

from app.db.models import Collaboration, CollaborationMember, Region, TargetVersion
from app.kpi.counts import Counts, Definitions
from app.kpi.localtime import local_month_bounds
from app.kpi.targets import Comparator, Target
from app.scorecard.queries import Span, first_hours_in_spans, month_counts


def targets_by_scope(session: Session) -> dict[tuple[str, str], list[Target]]:
    """All target versions; of two with the same valid_from the later-created one wins. Read as plain columns (ORM
    objects cost a millisecond of client time per scorecard)."""
    by_key: dict[tuple[str, str, str, date], tuple[str, Decimal]] = {}
    for kind, code, kpi, valid_from, comparator, value in session.execute(_TARGETS):
        by_key[(kind, code, kpi, valid_from)] = (comparator, value)
    out: dict[tuple[str, str], list[Target]] = {}
    for (kind, code, kpi, valid_from), (comparator, value) in by_key.items():
        out.setdefault((kind, code), []).append(
            Target(kpi=kpi, comparator=Comparator(comparator), value=value, valid_from=valid_from)
        )
    return out


_T = TargetVersion.__table__.c
_TARGETS = select(_T.scope_kind, _T.scope_code, _T.kpi, _T.valid_from, _T.comparator, _T.value).order_by(
    _T.created_at, _T.id)


@dataclass(frozen=True)
class ScopeNames:
    """Region names, collaborations (by code) and their members: read once per document, not per month read."""

    regions: dict[str, str]
    collaborations: tuple[tuple[str, str], ...]
    members: dict[str, list[str]]


def scope_names(session: Session) -> ScopeNames:
    """One statement for the three small tables (three round trips before, on every scrape)."""
    regions: dict[str, str] = {}
    collaborations: list[tuple[str, str]] = []
    members: dict[str, list[str]] = {}
    for kind, code, name in session.execute(_SCOPE_NAMES).all():
        if kind == "region":
            regions[code] = name
        elif kind == "collaboration":
            collaborations.append((code, name))
        else:
            members.setdefault(code, []).append(name)
    return ScopeNames(regions, tuple(collaborations), members)


def _scope_names() -> CompoundSelect[str, str, str]:
    parts = [select(literal(kind).label("kind"), code.label("code"), name.label("name")) for kind, code, name in (
        ("region", Region.code, Region.name),
        ("collaboration", Collaboration.code, Collaboration.name),
        ("member", CollaborationMember.collaboration_code, CollaborationMember.region_code),
    )]
    # by code: collaborations as the database sorts them, as before; a collaboration's members by region code
    return union_all(*parts).order_by(literal_column("kind"), literal_column("code"), literal_column("name"))


_SCOPE_NAMES = _scope_names()  # built once: its construction cost more than its round trip


@dataclass(frozen=True)
class SharedReads:
    """What every month's document reads alike (stored definitions, targets, names) and the roll-up of the months
    wanted: read once where one request builds several documents (/metrics: the month in progress and the one
    before, which each read them on its own in a process's first scrape)."""

    definitions: Definitions | None
    targets: dict[tuple[str, str], list[Target]]
    names: ScopeNames
    counts: dict[date, dict[str, tuple[Counts, int]]]
    #: the known regions' first hours with data by span (``first_hours_in_spans``): None is all of history (the
    #: forecast), a month's bounds its completeness
    firsts: dict[Span, dict[str, datetime]] = field(default_factory=dict)

    def with_first_hours(self, session: Session, spans: Sequence[Span]) -> SharedReads:
        """These reads plus the first hours of ``spans`` not held yet, read in one statement."""
        missing = [span for span in dict.fromkeys(spans) if span not in self.firsts]
        if not missing:
            return self
        found = first_hours_in_spans(session, self.names.regions, missing)
        return replace(self, firsts={**self.firsts, **dict(zip(missing, found, strict=True))})

    def first_hours(self, session: Session, regions: Iterable[str], span: Span) -> dict[str, datetime]:
        """``first_hours_in_spans`` of ``regions`` in one span: from these reads when they hold it."""
        wanted = set(regions)
        held = self.firsts.get(span)
        if held is None or not wanted <= self.names.regions.keys():
            return first_hours_in_spans(session, wanted, [span])[0]
        return {code: moment for code, moment in held.items() if code in wanted}


def shared_reads(session: Session, months: list[date], definitions: Definitions | None) -> SharedReads:
    """With the first hours of all history and of each month, for the forecast and the completeness.
    ``definitions``: the stored ones, which the caller read with the data version (None: none stored)."""
    names = scope_names(session)
    spans: list[Span] = [None, *(local_month_bounds(month) for month in months)]
    return SharedReads(definitions, targets_by_scope(session), names, month_counts(session, months),
                       ).with_first_hours(session, spans)


def scope_regions(session: Session, names: ScopeNames | None = None) -> dict[tuple[str, str], list[str]]:
    names = names or scope_names(session)
    members: dict[tuple[str, str], list[str]] = {("region", code): [code] for code in names.regions}
    for collab_code, regions in names.members.items():
        members[("collaboration", collab_code)] = list(regions)
    return members
