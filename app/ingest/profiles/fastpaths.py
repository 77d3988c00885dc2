"""Fast paths of the conversions a profile runs on every row, each equal to its reference by construction and by
property test (tests/ingest/profiles/test_engine_fast_paths.py): a fast path is proven equal, never assumed.

``strptime(pattern)`` reads the numeric patterns exports use (``%Y-%m-%d %H:%M:%S``, ``%Y%m%d %H:%M``,
``%d/%m/%Y``, …) with one strict regular expression and ``datetime``'s constructor instead of
``datetime.strptime``, which builds a match object, a dictionary and a time tuple for every value. Only a text of
exactly the pattern's shape (four digits for ``%Y``, two for the others, the literals as written, ASCII digits) is
read this way; any other text, and every other pattern, goes to ``datetime.strptime`` itself.

Why the two agree on a text of that shape: ``strptime``'s regular expression accepts one or two digits for
``%m %d %H %M %S`` and exactly four for ``%Y``, and must consume the whole text. Separated by literals that are no
digits, a field cannot take one digit of two (a digit would then stand where the literal must); run together
(``%Y%m%d``), a field taking one digit leaves the text longer than what every field can take, since none takes more
than the strict width. So ``strptime`` succeeds only with the strict split, the same numbers, and then builds the
same ``datetime`` from them; where a number is out of range (month 13, 30 February, 24:00, second 60) both raise
``ValueError``.

``stockholm_text(wall)`` hands a Europe/Stockholm wall time the engine made on with its offset when its hour has one
reading (the instant the canonical parser would resolve it to, which it then reads as given, without resolving a
zone for every time), and as the wall time alone in the repeated autumn hour and the spring gap, which the canonical
parser judges by SPEC §3 in file order. ``stockholm_reader(pattern)`` gives the same text straight from a text of
the pattern's strict shape. Offsets are cached per hour.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime

from app.ingest.rows import EARLIEST_YEAR, LATEST_YEAR
from app.kpi.localtime import hour_offset

#: Directives read by the fast path, in the order of ``datetime``'s arguments, and their strict widths.
_ORDER = ("Y", "m", "d", "H", "M", "S")
_WIDTH = {"Y": 4, "m": 2, "d": 2, "H": 2, "M": 2, "S": 2}
#: Literals the fast path takes: no digit, no letter but T, no whitespace but one space (strptime reads a space as
#: any run of whitespace and T either way up: the strict text is one of the texts it reads).
_LITERALS = frozenset("-/:._, T")


def _reference(pattern: str) -> Callable[[str], datetime]:
    def parse(text: str) -> datetime:
        return datetime.strptime(text, pattern)  # noqa: DTZ007  # the profile's zone decides, after

    return parse


@functools.cache
def _shape(pattern: str) -> tuple[re.Pattern[str], tuple[int, ...]] | None:
    """The strict regular expression of a pattern and, for datetime's arguments in order, the group of each; None
    when the pattern has no fast path (another directive, a letter or digit as a literal, a field twice, or not
    a date with hours, minutes and seconds as far as given)."""
    pieces: list[str] = []
    order: list[str] = []
    at = 0
    while at < len(pattern):
        char = pattern[at]
        if char == "%":
            directive = pattern[at + 1:at + 2]
            if directive not in _WIDTH or directive in order:
                return None
            pieces.append(f"([0-9]{{{_WIDTH[directive]}}})")
            order.append(directive)
            at += 2
        elif char in _LITERALS:
            pieces.append(re.escape(char))
            at += 1
        else:
            return None
    if sorted(order, key=_ORDER.index) != list(_ORDER[:max(len(order), 3)]):
        return None
    return re.compile("".join(pieces)), tuple(order.index(d) for d in _ORDER[:len(order)])


@functools.cache
def strptime(pattern: str) -> Callable[[str], datetime]:
    """A function equal to ``datetime.strptime(text, pattern)`` for every text: the same ``datetime`` or a
    ``ValueError``."""
    reference = _reference(pattern)
    found_shape = _shape(pattern)
    if found_shape is None:
        return reference
    shape, slots = found_shape

    if slots == (0, 1, 2, 3, 4, 5):
        def parse(text: str) -> datetime:
            found = shape.fullmatch(text)
            if found is None:
                return reference(text)
            y, mo, d, h, mi, s = found.groups()
            return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))  # noqa: DTZ001  # as strptime's
        return parse

    def parse_any(text: str) -> datetime:
        found = shape.fullmatch(text)
        if found is None:
            return reference(text)
        groups = found.groups()
        y, mo, d, h, mi, s = (int(groups[slots[i]]) if i < len(slots) else 0 for i in range(6))
        return datetime(y, mo, d, h, mi, s)  # noqa: DTZ001  # as strptime's

    return parse_any


@functools.cache
def stockholm_reader(pattern: str) -> Callable[[str], str | None] | None:
    """For a pattern with a date, hours and minutes: a function giving a trimmed text of the pattern's strict shape
    the text ``stockholm_text(datetime.strptime(text, pattern))`` gives, assembled from the text's own digits
    without a ``datetime``; None for any other text (the caller takes the general path, which also words the
    error). None when the pattern has no such path."""
    found_shape = _shape(pattern)
    if found_shape is None or len(found_shape[1]) < 5:
        return None
    shape, slots = found_shape
    seconds = len(slots) == 6
    iy, imo, iday, ih, imi = slots[:5]
    isec = slots[5] if seconds else 0
    hours: dict[tuple[str, str, str, str], str] = {}  # (Y, m, d, H) texts → offset text; a day has 24 or 25

    def read(text: str) -> str | None:
        found = shape.fullmatch(text)
        if found is None:
            return None
        groups = found.groups()
        minute = groups[imi]
        second = groups[isec] if seconds else "00"
        if minute >= "60" or second >= "60":  # two ASCII digits each: out of range, the general path says so
            return None
        key = (groups[iy], groups[imo], groups[iday], groups[ih])
        suffix = hours.get(key)
        if suffix is None:
            try:
                hour = datetime(int(key[0]), int(key[1]), int(key[2]), int(key[3]))  # noqa: DTZ001  # wall time
            except ValueError:
                return None
            suffix = _offset_of(hour)
            if len(hours) >= _OFFSETS_KEPT:
                hours.clear()
            hours[key] = suffix
        wall = f"{key[0]}-{key[1]}-{key[2]}T{key[3]}:{minute}:{second}"  # datetime.isoformat's, microsecond 0
        return wall + suffix if suffix else wall

    return read


# --- a Stockholm wall time's offset ------------------------------------------------------------------------------

#: (year, month, day, hour) of a wall time → its offset text ("+01:00"), or "" when the hour is not one reading
#: (the repeated autumn hour, the spring gap) or lies outside the years a record may have.
_OFFSETS: dict[tuple[int, int, int, int], str] = {}
_OFFSETS_KEPT = 100_000  # hours; a year is 8 760


def stockholm_text(moment: datetime) -> str:
    """A naive Europe/Stockholm wall time as the canonical parser reads it: with its offset when the hour has one
    reading (then the canonical parser takes that instant, as it would resolve the wall time itself), else as the
    wall time alone, for the canonical parser to resolve by SPEC §3 (the repeated hour in file order, the gap an
    error). A property test holds it to ``app.kpi.localtime``'s reading."""
    suffix = _offset_of(moment)
    text = moment.isoformat()
    return text + suffix if suffix else text


def _offset_of(moment: datetime) -> str:
    key = (moment.year, moment.month, moment.day, moment.hour)
    suffix = _OFFSETS.get(key)
    if suffix is None:
        suffix = _hour_offset(moment)
        if len(_OFFSETS) >= _OFFSETS_KEPT:
            _OFFSETS.clear()
        _OFFSETS[key] = suffix
    return suffix


def _hour_offset(moment: datetime) -> str:
    """The offset of every wall time of ``moment``'s hour as ISO text, or "" when they do not share one reading
    (app.kpi.localtime.hour_offset says which)."""
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        return ""  # the canonical parser words its error about the wall time as written
    offset = hour_offset(moment)
    if offset is None:
        return ""
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
