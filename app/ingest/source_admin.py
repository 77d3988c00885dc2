"""Making push sources and removing sources: admin actions (``vpt sources add/remove``, ``/api/v1/sources``).

Pushes create no sources (but ``DEFAULT_PUSH_SOURCE``), so a push source is made here, by an admin. Removing a
source that holds records needs ``purge``: its calls, interval records, runs and rejected rows go in the
caller's transaction, under the ingest lock, together with the aggregates of every hour they touched, so
the hourly and monthly figures, the metrics' running totals and the sources' record counts per month
(app.db.source_months) equal a recompute from what remains. The interval
records of other sources that the purged one had superseded (it was preferred) count again, where nothing that
stays overlaps them (app.ingest.conflicts.restore_superseded): otherwise its period would be left without figures.

Each writes its audit row (``source.create``, ``source.remove``) in the same transaction, as the actor the entry
point names: making a source that exists already changes nothing and writes none, unless it names another import
profile for it (``source.update``, the profile from and to). Marking a source preferred (``vpt sources prefer``,
``PATCH /api/v1/sources/{name}``) is ``set_preferred``, audited as ``source.update`` when it changes something.

A push source may name the import profile its pushes are read through when they name none (docs/profiles.md);
the entry point checks the name against the profiles (app.ingest.profile_choice) before it is stored here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, union
from sqlalchemy.orm import Session

from app.access.audit import record
from app.config import Settings
from app.db import source_months
from app.db.aggregates import create_touched_table, drop_touched_table, refresh_touched_hours, touched_hours
from app.db.models import AggregateDefinitions, Call, IngestRun, IntervalRow, RejectedRow, Source
from app.db.run_models import IngestWarning
from app.errors import VptError
from app.ingest.conflicts import prefer_source, restore_superseded
from app.ingest.dropdir import KINDS as DROP_FOLDERS
from app.ingest.dropdir import profile_source_name
from app.ingest.dropdir import source_name as drop_source_name
from app.ingest.lock import LockWait, take_ingest_lock
from app.ingest.runs import DEFAULT_PUSH_SOURCE, SourceKindMismatch, UnknownSource, check_source_name
from app.ingest.runs import InvalidSourceName as InvalidSourceName  # raised here too; its callers import it here
from app.kpi.counts import Definitions


class SourceNameReserved(VptError):
    """A name the file ingests use (a drop folder's, ``VPT_DEFAULT_SOURCE``): a push source under it would
    refuse their next delivery."""

    code = "source_name_reserved"
    status_code = 409

    def __init__(self, name: str) -> None:
        super().__init__(f"source name {name!r} is reserved for file ingests (the drop directory, `vpt ingest`)")


class SourceNotEmpty(VptError):
    """Removing a source that holds records (or ingest runs) without ``purge``."""

    code = "source_not_empty"
    status_code = 409

    def __init__(self, removal: Removal) -> None:
        super().__init__(
            f"source {removal.name!r} holds {removal.calls} calls, {removal.intervals} interval records and "
            f"{removal.runs} ingest runs ({removal.rejected_rows} rejected rows): purge them with it "
            "(`vpt sources remove --purge`, DELETE ?purge=true) or keep the source"
        )
        self.removal = removal


@dataclass(frozen=True, slots=True)
class Removal:
    """What a removal took (or would take) with it."""

    name: str
    kind: str
    calls: int
    intervals: int
    runs: int
    rejected_rows: int
    hours_refreshed: int = 0
    purged: bool = False
    #: interval records of other sources it had superseded, counted again
    restored: int = 0

    @property
    def empty(self) -> bool:
        return not (self.calls or self.intervals or self.runs)

    def details(self) -> dict[str, Any]:
        """The audit row's details (``restored`` only of a purge: nothing else can restore)."""
        return {key: value for key, value in asdict(self).items()
                if key != "name" and (key != "restored" or self.purged)}


def reserved_names(settings: Settings) -> frozenset[str]:
    """The names file ingests create their sources under: the drop folders' and ``VPT_DEFAULT_SOURCE`` (and every
    name of a profile folder's source, which ``is_reserved`` tells by its prefix)."""
    return frozenset({settings.default_source, *(drop_source_name(folder) for folder in DROP_FOLDERS)})


def is_reserved(name: str, reserved: frozenset[str]) -> bool:
    """Whether a push source may not take ``name``: one of ``reserved``, or a drop profile folder's source name
    (app.ingest.dropdir.profile_source_name), whichever profiles exist now."""
    return name in reserved or name.startswith(profile_source_name(""))


def check_push_source(session: Session, name: str) -> str | None:
    """Refuse a push before its body is read: an unknown name (but the default) or a source of another kind.
    Returns the import profile the source reads pushes through when they name none, or None.

    The ingest itself resolves the source again, under the lock: this is the early answer, not the guard.
    """
    row = session.execute(select(Source.kind, Source.profile).where(Source.name == name)).one_or_none()
    if row is None:
        if name != DEFAULT_PUSH_SOURCE:
            raise UnknownSource(name)
        return None
    kind, profile = row
    if kind != "push":
        raise SourceKindMismatch(name, kind, "push")
    return profile


def create_push_source(
    session: Session, name: str, reserved: frozenset[str] = frozenset(), lock: LockWait | None = None, *,
    actor: str | None = None, remote_addr: str | None = None, profile: str | None = None,
) -> tuple[Source, bool]:
    """The push source ``name`` and whether it was made now (with its audit row, as ``actor``); making one that
    exists is a no-op, but for a ``profile`` other than its own, which it then takes (audited as ``source.update``).

    ``reserved`` are names the file ingests use: refused (``is_reserved``), so no push source can block them.
    ``profile`` is a checked profile's name (app.ingest.profile_choice). Raises ``IngestBusy`` when the ingest lock
    stays taken longer than ``lock.seconds``.
    """
    check_source_name(name)
    # Two admins making the same name at once, or a first delivery to it: one makes it, the other finds it.
    take_ingest_lock(session, lock or LockWait(actor="source.create"))
    source = session.scalar(select(Source).where(Source.name == name))
    if source is not None:
        if source.kind != "push":
            raise SourceKindMismatch(name, source.kind, "push")
        if profile is not None and profile != source.profile:
            record(session, actor=actor, action="source.update", subject=f"source:{name}",
                   details={"profile": profile, "previous_profile": source.profile}, remote_addr=remote_addr)
            source.profile = profile
            session.flush()
        return source, False
    if is_reserved(name, reserved):
        raise SourceNameReserved(name)
    source = Source(name=name, kind="push", profile=profile)
    session.add(source)
    session.flush()
    details: dict[str, Any] = {"kind": source.kind} | ({"profile": profile} if profile is not None else {})
    record(session, actor=actor, action="source.create", subject=f"source:{name}", details=details,
           remote_addr=remote_addr)
    return source, True


def remove_source(
    session: Session, name: str, *, purge: bool = False, lock: LockWait | None = None, actor: str | None = None,
    remote_addr: str | None = None,
) -> Removal:
    """Remove a source of any kind; one holding records or runs only with ``purge``, which deletes them too.
    Writes the audit row as ``actor``.

    Key bindings by its name stay: a key bound to it writes nowhere until a source of that name exists again.
    Raises ``IngestBusy`` when the ingest lock stays taken longer than ``lock.seconds``.
    """
    check_source_name(name)
    take_ingest_lock(session, lock or LockWait(actor="source.remove"))
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        raise UnknownSource(name)
    runs = select(IngestRun.id).where(IngestRun.source_id == source.id).scalar_subquery()
    removal = Removal(
        name=name, kind=source.kind,
        calls=_count(session, Call, Call.source_id == source.id),
        intervals=_count(session, IntervalRow, IntervalRow.source_id == source.id),
        runs=_count(session, IngestRun, IngestRun.source_id == source.id),
        rejected_rows=_count(session, RejectedRow, RejectedRow.run_id.in_(runs)),
        purged=purge,
    )
    if not removal.empty and not purge:
        raise SourceNotEmpty(removal)
    hours = restored = 0
    if not removal.empty:
        hours, restored = _purge(session, source.id)
    session.delete(source)
    session.flush()
    removal = replace(removal, hours_refreshed=hours, restored=restored)
    record(session, actor=actor, action="source.remove", subject=f"source:{name}", details=removal.details(),
           remote_addr=remote_addr)
    return removal


def set_preferred(
    session: Session, name: str, preferred: bool, *, lock: LockWait | None = None, actor: str | None = None,
    remote_addr: str | None = None,
) -> bool:
    """Mark (or unmark) the source ``name`` preferred; returns whether it was preferred before. The one home of the
    CLI's ``vpt sources prefer`` and the API's PATCH: a change is audited (``source.update``, from and to) as
    ``actor``; setting what is already set changes nothing and writes no audit row.

    Under the ingest lock: a delivery reads the preference to choose between refusing and superseding, and must
    not see it change between the two. Raises ``NoSuchSource`` (app.ingest.conflicts) for an unknown name and
    ``IngestBusy`` when the lock stays taken longer than ``lock.seconds``.
    """
    take_ingest_lock(session, lock or LockWait(actor="source.update"))
    before = prefer_source(session.connection(), name, preferred)
    for loaded in session.identity_map.values():  # written in SQL: a row this session holds must read it again
        if isinstance(loaded, Source) and loaded.name == name:
            session.expire(loaded, ["preferred"])
    if before != preferred:
        record(session, actor=actor, action="source.update", subject=f"source:{name}",
               details={"preferred": preferred, "previous_preferred": before}, remote_addr=remote_addr)
    return before


def _count(session: Session, model: type[Any], condition: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(condition)) or 0)


def _purge(session: Session, source_id: int) -> tuple[int, int]:
    """Delete the source's records, runs and rejected rows; restore what it superseded; rebuild the hours they
    touched. Returns the hours and the restored rows."""
    conn = session.connection()
    create_touched_table(conn)
    touched = union(
        select(Call.region, Call.hour_start).where(Call.source_id == source_id),
        select(IntervalRow.region, IntervalRow.hour_start).where(IntervalRow.source_id == source_id),
    )
    conn.execute(insert(touched_hours).from_select(["region", "hour_start"], touched))
    restored = restore_superseded(conn, source_id)  # while its rows still say what they had superseded
    runs = select(IngestRun.id).where(IngestRun.source_id == source_id).scalar_subquery()
    conn.execute(delete(RejectedRow).where(RejectedRow.run_id.in_(runs)))
    conn.execute(delete(IngestWarning).where(IngestWarning.run_id.in_(runs)))
    conn.execute(delete(Call).where(Call.source_id == source_id))
    conn.execute(delete(IntervalRow).where(IntervalRow.source_id == source_id))
    conn.execute(delete(IngestRun).where(IngestRun.source_id == source_id))
    hours = 0
    stored = session.get(AggregateDefinitions, 1)
    if stored is not None:  # absent only if nothing was ever ingested, and then no hour has figures
        # The definitions the figures were built with, whatever the settings say now: every other hour keeps them.
        hours = refresh_touched_hours(conn, Definitions(stored.short_abandon_seconds, stored.sl_seconds))
        source_months.recount(conn, calls=False, intervals=True)  # the restored records count again
        # Figures changed without a new run: the caches that key on the newest run (app.scorecard.queries
        # data_version) would keep the purged figures while another source's run stays the newest.
        stored.updated_at = datetime.now(UTC)
    source_months.forget_source(conn, source_id)  # the cascade would too, but only once the source goes
    drop_touched_table(conn)
    return hours, restored
