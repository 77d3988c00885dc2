"""How complete a scope's month is (SPEC §5), and the notes that say so in Swedish and English.

A region's month is partial when its data start late (the first hour with data begins more than
``PARTIAL_AFTER`` after the month's start) or end early (the newest record is more than ``PARTIAL_AFTER``
before the month's end, or before now for the month in progress). A collaboration is as complete as its
weakest member: it is partial when any member region is, and a member region without data in the month is
named, because the collaboration's figures then silently stand for fewer regions than its name says.

Pure: the service gathers each region's figures; this module decides and words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.kpi.glossary import Lang
from app.kpi.localtime import HOUR, STOCKHOLM, local_day_bounds, utc_iso
from app.scorecard.document import Completeness, MemberCompleteness, SourceDelivery

#: Data that start later than this after the month's start, or end earlier than this before its end (or now),
#: make the month partial.
PARTIAL_AFTER = 6 * HOUR



@dataclass(frozen=True)
class RegionData:
    """One region's data in the span: what its completeness is judged on."""

    code: str
    name: str
    hours_with_data: int
    first_hour: datetime | None  # UTC start of the first hour with data
    latest_record_at: datetime | None
    resolution: str | None = None  # ``Counts.resolution``: day figures end only with their day
    sources: tuple[SourceDelivery, ...] = ()  # those with records of the region in the span, by name


def starts_late(first_hour: datetime | None, start: datetime) -> bool:
    return first_hour is None or first_hour - start > PARTIAL_AFTER


def ends_early(latest: datetime | None, end: datetime, now: datetime, resolution: str | None = None) -> bool:
    """Daily figures are judged in whole local days: a day's figures exist only once the day is over."""
    if latest is None:
        return True
    limit = min(end, now)
    if resolution == "day":
        return latest < local_day_bounds(limit.astimezone(STOCKHOLM).date())[0]
    return latest < limit - PARTIAL_AFTER


def days_elapsed(start: datetime, end: datetime, now: datetime) -> int:
    """Whole local days of the month [start, end) that are over at ``now``."""
    first = start.astimezone(STOCKHOLM).date()
    return max(0, (min(end, now).astimezone(STOCKHOLM).date() - first).days)


def completeness(
    kind: str, hours_with_data: int, hours_in_span: int, latest: datetime | None, members: list[RegionData],
    start: datetime, end: datetime, now: datetime, *, resolution: str | None = None,
    days_with_data: int | None = None,
) -> Completeness:
    """The completeness of a scope's month; ``members`` is the region itself for a region.

    The first four fields are those of earlier versions; the rest were added without changing their meaning
    (``latest_record_at`` stays the newest record of any member). ``resolution`` is the coarsest of the scope's
    data (``Counts.resolution``); with daily figures ``days_with_data`` counts the days they cover, and a day
    missing among the days that are over makes the month partial. Monthly figures cover their month: complete.
    The scope's sources are those of its members (``RegionData.sources``), each named once.
    """
    firsts = [m.first_hour for m in members if m.first_hour is not None]
    first = min(firsts) if firsts else None
    with_data = [m for m in members if m.hours_with_data > 0]
    late = any(starts_late(m.first_hour, start) for m in with_data) if with_data else True
    early = any(ends_early(m.latest_record_at, end, now, m.resolution) for m in with_data) if with_data else True
    missing = [m for m in members if m.hours_with_data == 0]
    first_day, last_day = start.astimezone(STOCKHOLM).date(), end.astimezone(STOCKHOLM).date()
    days = days_with_data if resolution == "day" else None
    holes = days is not None and days < days_elapsed(start, end, now)
    delivering = {source.name: source for m in members for source in m.sources}  # one source, one entry
    return Completeness(
        hours_with_data=hours_with_data,
        hours_in_month=hours_in_span,
        latest_record_at=utc_iso(latest),
        partial=late or early or bool(missing) or holes,
        first_hour_with_data=utc_iso(first),
        starts_late=late,
        ends_early=early,
        members=() if kind == "region" else tuple(MemberCompleteness(
            code=m.code,
            name=m.name,
            hours_with_data=m.hours_with_data,
            first_hour_with_data=utc_iso(m.first_hour),
            latest_record_at=utc_iso(m.latest_record_at),
            partial=m.hours_with_data == 0 or starts_late(m.first_hour, start)
            or ends_early(m.latest_record_at, end, now, m.resolution),
            sources=m.sources,
        ) for m in members),
        members_without_data=tuple(m.code for m in missing) if kind != "region" else (),
        resolution=resolution,
        days_with_data=days,
        days_in_month=(last_day - first_day).days,
        sources=tuple(delivering[name] for name in sorted(delivering)),
    )


NOTES: dict[Lang, dict[str, str]] = {
    "sv": {"missing": "Medlemsregionen {name} ({code}) saknar data för {month}: samverkans siffror omfattar inte "
                      "den regionen"},
    "en": {"missing": "member region {name} ({code}) has no data in {month}: the collaboration's figures leave "
                      "it out"},
}


def member_notes(completeness: Completeness, month: str, lang: Lang = "en") -> list[str]:
    """A note naming each member region without data (the document's ``data_quality`` has the English ones)."""
    names = {m.code: m.name for m in completeness.members}
    return [NOTES[lang]["missing"].format(name=names.get(code) or code, code=code, month=month)
            for code in completeness.members_without_data]
