"""Local time rules (SPEC §3–§4): calls belong to the Europe/Stockholm hour, day and month they arrived in.

Stockholm's offsets are whole hours, so a local hour is exactly one UTC hour; storing aggregates by
UTC hour start keeps the repeated autumn hour as two distinct rows and needs no offset column.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, date, datetime, timedelta
from typing import overload
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")
HOUR = timedelta(hours=1)


class NonexistentLocalTime(ValueError):
    """A naive wall-clock time inside the spring-forward gap."""


# --- the fast reading of a wall time whose hour has one offset ------------------------------------------------
#
# zoneinfo per timestamp was two thirds of parsing a naive file (issue 15). Stockholm's offset changes only on the
# hour, twice a year, so every wall hour but the repeated autumn hour and the spring gap has one offset: kept per
# local day, the UTC instant is then two timedelta steps. The two odd hours keep the exact zoneinfo logic below.

_EPOCH = datetime(2000, 1, 1)  # noqa: DTZ001  # any naive base: naive − _EPOCH is the wall time's distance from it
#: local day (proleptic ordinal) → per wall hour 0–23: ``_EPOCH`` in UTC less the hour's offset, or None when the
#: hour does not have one reading (repeated, in the gap, or a day at datetime's limits).
_DAYS: dict[int, tuple[datetime | None, ...]] = {}
_DAYS_KEPT = 40_000  # a century and more of local days; cleared beyond (a bound on memory, not a behaviour)


def _day_shifts(ordinal: int) -> tuple[datetime | None, ...]:
    day = date.fromordinal(ordinal)
    if not 1 < day.year < 9999:  # the conversion itself may overflow there: the exact path says so
        shifts: tuple[datetime | None, ...] = (None,) * 24
    else:
        base = _EPOCH.replace(tzinfo=UTC)
        shifts = tuple(
            None if (offset := _hour_offset(datetime(day.year, day.month, day.day, hour))) is None  # noqa: DTZ001
            else base - offset
            for hour in range(24)
        )
    if len(_DAYS) >= _DAYS_KEPT:
        _DAYS.clear()
    _DAYS[ordinal] = shifts
    return shifts


def _hour_offset(start: datetime) -> timedelta | None:
    """The offset every wall time of the hour starting at ``start`` has, or None when they do not share one reading:
    a wall time has one reading exactly when both folds give it the same offset (PEP 495), and checking both ends
    of the hour suffices as the offset changes on the hour and never twice in one."""
    first = start.replace(tzinfo=STOCKHOLM)
    last = first.replace(minute=59, second=59, microsecond=999_999)
    offsets = {moment.replace(fold=fold).utcoffset() for moment in (first, last) for fold in (0, 1)}
    return offsets.pop() if len(offsets) == 1 else None


def hour_offset(wall: datetime) -> timedelta | None:
    """The Stockholm offset of every wall time of ``wall``'s hour, or None when they do not share one reading (the
    repeated autumn hour, the spring gap): the one rule the parsers' and the import profiles' fast paths share."""
    return _hour_offset(wall.replace(minute=0, second=0, microsecond=0, fold=0, tzinfo=None))


def _single_reading(naive: datetime) -> datetime | None:
    """``naive`` as a UTC instant when its hour has one offset, else None (also for an aware datetime)."""
    if naive.tzinfo is not None:
        return None
    ordinal = naive.toordinal()
    shifts = _DAYS.get(ordinal) or _day_shifts(ordinal)
    shift = shifts[naive.hour]
    return None if shift is None else shift + (naive - _EPOCH)


def floor_hour(moment: datetime) -> datetime:
    """UTC start of the hour containing an aware instant."""
    utc = moment.astimezone(UTC)
    return utc.replace(minute=0, second=0, microsecond=0)


def is_ambiguous(naive: datetime) -> bool:
    """True only in the repeated autumn hour (fold 0 and 1 also differ inside the spring gap)."""
    if _single_reading(naive) is not None:
        return False
    if is_nonexistent(naive):
        return False
    return naive.replace(fold=0, tzinfo=STOCKHOLM).utcoffset() != naive.replace(
        fold=1, tzinfo=STOCKHOLM
    ).utcoffset()


def is_nonexistent(naive: datetime) -> bool:
    if _single_reading(naive) is not None:
        return False
    aware = naive.replace(tzinfo=STOCKHOLM)
    round_trip = aware.astimezone(UTC).astimezone(STOCKHOLM).replace(tzinfo=None)
    return round_trip != naive.replace(fold=0)


def local_to_utc(naive: datetime, fold: int = 0) -> datetime:
    fast = _single_reading(naive)
    if fast is not None:
        return fast
    if is_nonexistent(naive):
        raise NonexistentLocalTime(f"local time {naive.isoformat()} does not exist (spring-forward gap)")
    return naive.replace(fold=fold, tzinfo=STOCKHOLM).astimezone(UTC)


class FallBackResolver:
    """Resolves naive local times read from one file, in file order.

    In the repeated autumn hour the first occurrence is summer time and the second winter time (§3).
    Per stream key (e.g. region and queue) a time that repeats, or goes back, inside the ambiguous hour
    marks the switch to winter time; every later ambiguous time of that key and day is winter time.
    ``repeat_is_second`` is true for interval reports (one row per interval) and false for calls, where
    two calls may well arrive in the same second.
    Memory is bounded: only the times of the ambiguous hour are remembered.
    """

    def __init__(self, *, repeat_is_second: bool) -> None:
        self._repeat_is_second = repeat_is_second
        self._latest: dict[tuple[Hashable, date], datetime] = {}
        self._winter: set[tuple[Hashable, date]] = set()

    def to_utc(self, naive: datetime, key: Hashable = None) -> datetime:
        fast = _single_reading(naive)
        if fast is not None:
            return fast
        if not is_ambiguous(naive):
            return local_to_utc(naive)
        day_key = (key, naive.date())
        if day_key not in self._winter:
            latest = self._latest.get(day_key)
            went_back = latest is not None and (
                naive < latest or (self._repeat_is_second and naive == latest)
            )
            if went_back:
                self._winter.add(day_key)
            else:
                self._latest[day_key] = naive if latest is None else max(latest, naive)
                return local_to_utc(naive, fold=0)
        return local_to_utc(naive, fold=1)


def resolve_after(naive: datetime, not_before: datetime) -> datetime:
    """A naive time that ends something which began at ``not_before`` (answer, hang-up).

    In the repeated hour, take the earliest reading that is not before the start; if neither is,
    the summer reading, which the caller's validation will then reject as "before arrival".
    """
    fast = _single_reading(naive)
    if fast is not None:
        return fast
    if not is_ambiguous(naive):
        return local_to_utc(naive)
    first, second = local_to_utc(naive, 0), local_to_utc(naive, 1)
    return first if first >= not_before or second < not_before else second


def month_start(month: date) -> date:
    return month.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


@overload
def utc_iso(moment: datetime) -> str: ...


@overload
def utc_iso(moment: None) -> None: ...


@overload
def utc_iso(moment: datetime | None) -> str | None: ...


def utc_iso(moment: datetime | None) -> str | None:
    """An instant as ISO 8601 in UTC with a ``Z``: how every document and feed of the service writes time."""
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """UTC [start, end) of a local calendar day (23, 24 or 25 hours long)."""
    start = datetime(day.year, day.month, day.day, tzinfo=STOCKHOLM).astimezone(UTC)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=STOCKHOLM).astimezone(UTC)
    return start, end


def local_month_bounds(month: date) -> tuple[datetime, datetime]:
    """UTC [start, end) of a local calendar month."""
    first = month_start(month)
    following = next_month(first)
    start = datetime(first.year, first.month, 1, tzinfo=STOCKHOLM).astimezone(UTC)
    end = datetime(following.year, following.month, 1, tzinfo=STOCKHOLM).astimezone(UTC)
    return start, end


def hours_between(start: datetime, end: datetime) -> int:
    return int((end - start) / HOUR)


def local_month_of(moment: datetime) -> date:
    local = moment.astimezone(STOCKHOLM)
    return date(local.year, local.month, 1)
