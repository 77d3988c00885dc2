"""Versioned targets (SPEC §6): what is in force in a month, every version ever stored, and a new version.

The ``targets`` table is append-only: a change is a new row, never an UPDATE or a DELETE, so a past month
is always judged by the target that was valid then and auditors can see who changed what, when and why.

The version in force for a scope and KPI in a month is the one with the latest ``valid_from`` not after the
month; of two with the same ``valid_from`` the later-created one (``created_at``, then ``id``) wins. That is
the rule the monthly scorecard applies (``app.scorecard.service`` with ``app.kpi.targets``), so
what ``list_in_force`` shows is what the scorecard judges by.

Used by the API and the CLI alike. A change writes its audit row (``target.set``) itself, as whichever actor the
entry point names. Functions flush, never commit: the caller owns the transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.access.audit import record
from app.db.models import Collaboration, Region, ScopeKind, TargetVersion
from app.errors import VptError
from app.kpi.catalog import HIGHER_IS_BETTER, RATIO_KPIS, SECONDS_KPIS, TARGETABLE_KPIS
from app.kpi.localtime import local_month_of
from app.kpi.targets import Comparator, ComparatorText
from app.scorecard.service import FIRST_YEAR, LAST_YEAR, UnknownScope

SCOPE_KINDS: tuple[str, ...] = ("region", "collaboration")
# Which KPIs take a target, their units (a ratio's target is in [0, 1], a wait's in [0, MAX_SECONDS]) and which
# are better higher (the default comparator) are the KPI catalogue's (app.kpi.catalog).
MAX_SECONDS = Decimal(86_400)  # a target wait longer than a day is a typo, not a target
MAX_DECIMALS = 6  # the column is Numeric(14, 6)
REASON_MAX = 500
SET_BY_MAX = 128  # the column's length
MONTH_REGEX = r"^\d{4}-(0[1-9]|1[0-2])$"
_MONTH = re.compile(MONTH_REGEX)


class InvalidTarget(VptError, ValueError):
    """A target change or filter that breaks a rule; ``problems`` names each field at fault."""

    code = "invalid_target"
    status_code = 422

    def __init__(self, problems: Iterable[tuple[str, str]]) -> None:
        self.problems: list[tuple[str, str]] = list(problems)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.problems))


@dataclass(frozen=True, slots=True)
class TargetRecord:
    """One stored version of a target, with its scope's display name."""

    id: int
    scope_kind: ScopeKind
    scope: str
    scope_name: str
    kpi: str
    comparator: ComparatorText
    value: Decimal
    valid_from: date
    set_by: str
    reason: str
    created_at: datetime

    @property
    def valid_from_month(self) -> str:
        return self.valid_from.strftime("%Y-%m")


@dataclass(frozen=True, slots=True)
class TargetChange:
    """The outcome of ``set_target``: the stored version and what it means."""

    version: TargetRecord
    #: The version in force in ``version.valid_from`` before this change (None: the KPI had no target then).
    previous: TargetRecord | None
    #: True when ``valid_from`` is before the current month: closed months are now judged by this version.
    affects_closed_months: bool


def current_month(now: datetime | None = None) -> date:
    """The first day of the Europe/Stockholm month containing ``now``."""
    return local_month_of(now or datetime.now(UTC))


def parse_month_field(text: str, field: str) -> date:
    """``YYYY-MM`` → its first day; a bad value is an ``InvalidTarget`` naming ``field``."""
    if not _MONTH.match(text):
        raise InvalidTarget([(field, f"must be a month YYYY-MM, got {text!r}")])
    year, month = int(text[:4]), int(text[5:])
    if not FIRST_YEAR <= year <= LAST_YEAR:  # the scorecards' range: no scorecard judges a month outside it
        raise InvalidTarget([(field, f"year must be between {FIRST_YEAR} and {LAST_YEAR}, got {year}")])
    return date(year, month, 1)


def default_comparator(kpi: str) -> Comparator:
    return Comparator.AT_LEAST if kpi in HIGHER_IS_BETTER else Comparator.AT_MOST


# --- scopes -------------------------------------------------------------------------------------------------


def scope_names(session: Session) -> dict[tuple[str, str], str]:
    """``{(kind, code): name}`` of every region and collaboration, regions first, each sorted by code."""
    # sorted here, not by ORDER BY: PostgreSQL's collation may order codes differently from Python's sort
    regions = session.execute(select(Region.code, Region.name))
    collaborations = session.execute(select(Collaboration.code, Collaboration.name))
    names = dict(sorted((("region", code), name) for code, name in regions))
    names.update(sorted((("collaboration", code), name) for code, name in collaborations))
    return names


def _check_kind(scope_kind: str | None, problems: list[tuple[str, str]]) -> None:
    if scope_kind is not None and scope_kind not in SCOPE_KINDS:
        problems.append(("scope_kind", f"must be 'region' or 'collaboration', got {scope_kind!r}"))


def _check_kpi(kpi: str | None, problems: list[tuple[str, str]]) -> None:
    if kpi is not None and kpi not in TARGETABLE_KPIS:
        problems.append(("kpi", f"{kpi!r} cannot have a target; one of {', '.join(sorted(TARGETABLE_KPIS))}"))


def _resolve(names: dict[tuple[str, str], str], scope: str, scope_kind: str | None) -> tuple[str, str]:
    """The (kind, code) of a scope code; the kind is inferred when not given. Unknown: ``UnknownScope``."""
    kinds = [scope_kind] if scope_kind else list(SCOPE_KINDS)
    found = [(kind, scope) for kind in kinds if (kind, scope) in names]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:  # not possible with today's codes (SE-… versus lower-case names), but never guess
        raise InvalidTarget([("scope_kind", f"{scope!r} is both a region and a collaboration: name the kind")])
    what = scope_kind or "region or collaboration"
    other_kind = [kind for kind, code in names if kind not in kinds and code == scope]
    if other_kind:
        raise UnknownScope(f"no {what} {scope!r} ({scope!r} is a {other_kind[0]})")
    hint = [code for kind, code in names if kind in kinds and code.lower() == scope.lower()]
    raise UnknownScope(f"no {what} {scope!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))


def resolve_scope(session: Session, scope: str, scope_kind: str | None = None) -> tuple[str, str]:
    problems: list[tuple[str, str]] = []
    _check_kind(scope_kind, problems)
    if problems:
        raise InvalidTarget(problems)
    return _resolve(scope_names(session), scope, scope_kind)


# --- reading ------------------------------------------------------------------------------------------------


def _record(row: TargetVersion, names: dict[tuple[str, str], str]) -> TargetRecord:
    return TargetRecord(
        id=row.id, scope_kind=row.scope_kind, scope=row.scope_code,
        scope_name=names.get((row.scope_kind, row.scope_code), row.scope_code), kpi=row.kpi,
        comparator=row.comparator, value=row.value, valid_from=row.valid_from, set_by=row.set_by,
        reason=row.reason, created_at=row.created_at,
    )


def _filtered(
    names: dict[tuple[str, str], str], scope_kind: str | None, scope: str | None, kpi: str | None
) -> Select[TargetVersion]:
    problems: list[tuple[str, str]] = []
    _check_kind(scope_kind, problems)
    _check_kpi(kpi, problems)
    if problems:
        raise InvalidTarget(problems)
    query = select(TargetVersion).order_by(TargetVersion.created_at, TargetVersion.id)
    if scope is not None:
        kind, code = _resolve(names, scope, scope_kind)
        query = query.where(TargetVersion.scope_kind == kind, TargetVersion.scope_code == code)
    elif scope_kind is not None:
        query = query.where(TargetVersion.scope_kind == scope_kind)
    if kpi is not None:
        query = query.where(TargetVersion.kpi == kpi)
    return query


def _wins_over(row: TargetVersion, other: TargetVersion) -> bool:
    """The scorecard's rule: the latest valid_from; then the later-created (created_at, then id)."""
    return (row.valid_from, row.created_at, row.id) > (other.valid_from, other.created_at, other.id)


def _in_force(rows: Iterable[TargetVersion], month: date) -> dict[tuple[str, str, str], TargetVersion]:
    winners: dict[tuple[str, str, str], TargetVersion] = {}
    for row in rows:
        if row.valid_from > month:
            continue
        key = (row.scope_kind, row.scope_code, row.kpi)
        if key not in winners or _wins_over(row, winners[key]):
            winners[key] = row
    return winners


def list_in_force(
    session: Session, month: date, *, scope_kind: str | None = None, scope: str | None = None,
    kpi: str | None = None,
) -> list[TargetRecord]:
    """The version in force in ``month`` of every (filtered) scope and KPI that has one.

    Ordered as the scorecard lists scopes: regions, then collaborations, each by code; then by KPI.
    """
    names = scope_names(session)
    month = month.replace(day=1)
    query = _filtered(names, scope_kind, scope, kpi).where(TargetVersion.valid_from <= month)
    winners = _in_force(session.scalars(query), month)
    order = {key: i for i, key in enumerate(names)}
    keys = sorted(winners, key=lambda k: (order.get((k[0], k[1]), len(order)), k[0], k[1], k[2]))
    return [_record(winners[key], names) for key in keys]


def target_history(
    session: Session, *, scope_kind: str | None = None, scope: str | None = None, kpi: str | None = None
) -> list[TargetRecord]:
    """Every version ever stored for the (filtered) scopes and KPIs, oldest first."""
    names = scope_names(session)
    return [_record(row, names) for row in session.scalars(_filtered(names, scope_kind, scope, kpi))]


# --- changing -----------------------------------------------------------------------------------------------


def _parse_value(raw: Decimal | float | int | str, kpi: str, problems: list[tuple[str, str]]) -> Decimal | None:
    if isinstance(raw, bool):
        problems.append(("value", "must be a number"))
        return None
    try:
        value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw.strip() if isinstance(raw, str) else raw)
    except (InvalidOperation, ValueError):
        problems.append(("value", f"must be a number, got {raw!r}"))
        return None
    if not value.is_finite():
        problems.append(("value", f"must be a finite number, got {raw!r}"))
        return None
    if value == 0:
        value = Decimal(0)  # no negative zero
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        problems.append(("value", f"has more than {MAX_DECIMALS} decimals: {raw!r}"))
    elif kpi in RATIO_KPIS and not Decimal(0) <= value <= Decimal(1):
        problems.append(("value", f"{kpi} is a ratio: must be between 0 and 1, got {raw!r}"))
    elif kpi in SECONDS_KPIS and not Decimal(0) <= value <= MAX_SECONDS:
        problems.append(("value", f"{kpi} is in seconds: must be between 0 and {MAX_SECONDS}, got {raw!r}"))
    elif kpi in TARGETABLE_KPIS and kpi not in RATIO_KPIS | SECONDS_KPIS:
        problems.append(("kpi", f"{kpi!r} has no value rule yet (app/scorecard/targets.py)"))
    return value


def _parse_valid_from(raw: date | str, problems: list[tuple[str, str]]) -> date | None:
    if isinstance(raw, date):
        if raw.day != 1:
            problems.append(("valid_from", f"must be the first day of a month, got {raw.isoformat()}"))
            return None
        try:
            return parse_month_field(f"{raw.year:04d}-{raw.month:02d}", "valid_from")
        except InvalidTarget as exc:
            problems.extend(exc.problems)
            return None
    try:
        return parse_month_field(raw.strip(), "valid_from")
    except InvalidTarget as exc:
        problems.extend(exc.problems)
        return None


def _check_text(field: str, text: str, limit: int, problems: list[tuple[str, str]], why: str) -> str:
    text = text.strip()
    if not text:
        problems.append((field, f"is required: {why}"))
    elif len(text) > limit:
        problems.append((field, f"is {len(text)} characters long; at most {limit}"))
    return text


def set_target(
    session: Session,
    scope: str,
    kpi: str,
    *,
    value: Decimal | float | int | str,
    valid_from: date | str,
    reason: str,
    set_by: str,
    comparator: str | None = None,
    scope_kind: str | None = None,
    now: datetime | None = None,
    actor: str | None = None,
    remote_addr: str | None = None,
) -> TargetChange:
    """Append a new version of a scope's target for ``kpi``, valid from a month on.

    ``scope_kind`` is inferred from the code when not given. The comparator defaults by KPI (≥ where more is
    better, ≤ otherwise). A version for a (scope, KPI, month) that already has one supersedes it; the old row
    stays. Raises ``UnknownScope`` for a scope that does not exist and ``InvalidTarget`` naming every field at
    fault. Writes the audit row as ``actor`` (who acted, from ``remote_addr``; ``set_by`` is who decided).
    Flushes; the caller commits.
    """
    problems: list[tuple[str, str]] = []
    _check_kind(scope_kind, problems)
    _check_kpi(kpi, problems)
    if problems:  # the scope cannot be looked up, and a value cannot be judged, without a valid kind and KPI
        raise InvalidTarget(problems)
    names = scope_names(session)
    kind, code = _resolve(names, scope, scope_kind)
    if comparator is None:
        chosen: Comparator | None = default_comparator(kpi)
    elif comparator in (Comparator.AT_LEAST.value, Comparator.AT_MOST.value):
        chosen = Comparator(comparator)
    else:
        chosen = None
        problems.append(("comparator", f"must be '>=' or '<=', got {comparator!r}"))
    number = _parse_value(value, kpi, problems)
    month = _parse_valid_from(valid_from, problems)
    why = _check_text("reason", reason, REASON_MAX, problems, "say why the target changes; auditors read it")
    who = _check_text("set_by", set_by, SET_BY_MAX, problems, "name who changes the target")
    if problems or chosen is None or number is None or month is None:
        raise InvalidTarget(problems)

    existing = session.scalars(
        select(TargetVersion).where(
            TargetVersion.scope_kind == kind, TargetVersion.scope_code == code, TargetVersion.kpi == kpi,
            TargetVersion.valid_from <= month,
        )
    )
    previous = _in_force(existing, month).get((kind, code, kpi))
    row = TargetVersion(
        scope_kind=kind, scope_code=code, kpi=kpi, comparator=chosen.value, value=number, valid_from=month,
        set_by=who, reason=why, created_at=now or datetime.now(UTC),
    )
    if previous is not None and row.created_at <= previous.created_at:
        # A clock set back must not let an older version win: the scorecard orders by created_at first.
        row.created_at = previous.created_at
    session.add(row)
    session.flush()
    session.refresh(row)  # the stored value as it reads back (Numeric(14, 6)), exactly as others will see it
    change = TargetChange(
        version=_record(row, names),
        previous=_record(previous, names) if previous is not None else None,
        affects_closed_months=month < current_month(now),
    )
    _audit(session, change, actor, remote_addr)
    return change


def _audit(session: Session, change: TargetChange, actor: str | None, remote_addr: str | None) -> None:
    version = change.version
    record(session, actor=actor, action="target.set", subject=f"target:{version.scope}/{version.kpi}",
           remote_addr=remote_addr, details={
               "version_id": version.id, "scope_kind": version.scope_kind, "comparator": version.comparator,
               "value": f"{version.value.normalize():f}", "valid_from": version.valid_from_month,
               "reason": version.reason, "set_by": version.set_by,
               "previous_version_id": change.previous.id if change.previous else None,
               "affects_closed_months": change.affects_closed_months,
           })
