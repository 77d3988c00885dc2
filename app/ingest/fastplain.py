"""Which call rows of a block are *plain*, and their staged values, computed column-wise with pyarrow.

A row is plain when every field lies in a class narrow enough that the values computed here are, by construction,
the ones ``app.ingest.parsers._call`` would give, and the reference parser would neither reject the row nor warn
about it. Whatever is not plain goes to the reference parser itself (app.ingest.fastcsv), so rejections and
warnings are its own. The classes (tests/ingest/test_fast_path.py holds each equal to the reference):

- ``call_id``: 1 to min(VPT_MAX_FIELD_LENGTH, 128) printable ASCII characters, no space (nothing to strip).
- ``region``: a known region code exactly as stored (upper case ASCII); ``answered_by_region`` too, or empty.
- ``queue``: empty, or 1 to min(VPT_MAX_FIELD_LENGTH, 128) printable ASCII characters without a space at either end.
- ``outcome``: ``answered``, ``abandoned`` or ``rejected`` in lower case.
- times: ``YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|±HH:MM)``, a real calendar date and time of day, whose UTC instant lies in
  the years 2000–2099 and not after the delivery's ``not_after``. A naive (local) time is never plain: the
  reference's resolver keeps per-queue state across the file, and it alone reads those rows.
- ``talk_seconds``, ``wrap_seconds``: empty, or ``[0-9]{1,9}(.[0-9]{1,6})?`` and at most 24 hours (at most 15
  significant digits: every correctly rounded parser, Python's ``float`` and Arrow's alike, gives the same double).
- the outcome rules of ``_call`` hold without a warning: answered with ``answered_at`` not before arrival, a wait
  of at most 24 h and ``ended_at`` empty or not before the answer; abandoned with ``ended_at`` not before arrival,
  a wait of at most 24 h, no ``answered_at`` and no ``answered_by_region``; rejected with no ``answered_at``, no
  ``answered_by_region`` and ``ended_at`` empty or not before arrival.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from app.kpi.records import CALL_ID_LENGTH, QUEUE_LENGTH

_TIME = (r"^(?P<y>(?:19|20|21)[0-9]{2})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})T(?P<h>[0-9]{2}):(?P<mi>[0-9]{2}):"
         r"(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]{1,6}))?(?P<z>Z|[+-][0-9]{2}:[0-9]{2})$")
_NUMBER = r"^[0-9]{1,9}(?:\.[0-9]{1,6})?$"
_CALL_ID = r"^[!-~]+$"
_QUEUE = r"^[!-~](?:[ -~]*[!-~])?$"
_CODE = r"^[A-Z0-9-]+$"
_OUTCOMES = pa.array(["answered", "abandoned", "rejected"])
_HOUR_US = 3_600_000_000
MAX_WAIT_US = 24 * 3600 * 1_000_000
EARLIEST_US = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
END_US = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000  # first instant past the years
#: Days of each month of a common year, index = month (0 is unused).
_MONTH_DAYS = pa.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], pa.int64())
#: The stage_calls columns the fast path computes, in its order (app.ingest.staging.stage_calls).
STAGE_COLUMNS = ("seq", "call_id", "region", "queue", "arrived_at", "outcome", "answered_at", "ended_at",
                 "answered_by_region", "talk_seconds", "wrap_seconds", "wait_ms", "hour_start")
UTC_US = pa.timestamp("us", tz="UTC")
_DUMMY_TIME = pa.scalar("2000-01-01T00:00:00Z")
_UTC_ZONE = pa.scalar("+00:00")
_EMPTY, _FALSE, _DAY_SECONDS = pa.scalar(""), pa.scalar(False), pa.scalar(86_400.0)
_ANSWERED, _ABANDONED = pa.scalar("answered"), pa.scalar("abandoned")


@dataclass(frozen=True)
class Limits:
    """What a plain row must keep within: the delivery's settings and the clock it was read against."""

    known_regions: pa.Array
    max_field_length: int
    not_after_us: int

    @staticmethod
    def of(known: frozenset[str], max_field_length: int, not_after: datetime) -> Limits:
        codes = sorted(code for code in known if code.isascii() and code == code.upper() and code.strip() == code
                       and 0 < len(code) <= max_field_length)
        delta = not_after.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
        return Limits(pa.array(codes, pa.string()), max_field_length,
                      (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)


def _k(value: int) -> pa.Scalar:
    """An int64 scalar: a Python int as an argument costs a failed ``import numpy`` per compute call."""
    scalar = _SCALARS.get(value)
    if scalar is None:
        scalar = _SCALARS[value] = pa.scalar(value, pa.int64())
    return scalar


_SCALARS: dict[int, pa.Scalar] = {}


def _div(a: pa.Array, b: int) -> pa.Array:
    """Integer division of non-negative integers."""
    return pc.divide(a, _k(b))


def _mod(a: pa.Array, b: int) -> pa.Array:
    return pc.subtract(a, pc.multiply(_div(a, b), _k(b)))


def _int(values: pa.Array) -> pa.Array:
    return pc.cast(values, pa.int64())


def _add(*terms: pa.Array) -> pa.Array:
    total = terms[0]
    for term in terms[1:]:
        total = pc.add(total, term)
    return total


def _times(a: pa.Array, b: int) -> pa.Array:
    return pc.multiply(a, _k(b))


def _between(a: pa.Array, low: int, high: int) -> pa.Array:
    return pc.and_(pc.greater_equal(a, _k(low)), pc.less_equal(a, _k(high)))


def instants(text: pa.Array, limits: Limits) -> tuple[pa.Array, pa.Array]:
    """(plain, microseconds since the epoch in UTC) of a column of times; the instant is meaningful where plain.
    The regular expression decides the shape. Arrow's ISO 8601 cast then reads the instants, 30 times faster than
    the arithmetic below (issue 15: 0.9 of 1.6 s of a 200 k-row parse), when it accepts every shaped value: it
    refuses each that Python's ``fromisoformat`` refuses (day past the month's end, hour 24, second 60, offset
    ±24:00), and one more (offset minutes 60, which Python reads as the next hour). A column it refuses is read by
    the arithmetic, which decides value by value (tests/ingest/test_fast_path.py holds the two equal)."""
    text = pc.fill_null(text, _EMPTY)
    matched = pc.match_substring_regex(text, _TIME)
    text = pc.if_else(matched, text, _DUMMY_TIME)
    try:
        moment = pc.cast(pc.cast(text, UTC_US), pa.int64())
    except pa.ArrowInvalid:
        valid, moment = calendar_instants(text, matched)
    else:
        valid = matched
    within = pc.and_(pc.greater_equal(moment, _k(EARLIEST_US)),
                     pc.and_(pc.less(moment, _k(END_US)), pc.less_equal(moment, _k(limits.not_after_us))))
    return pc.and_(valid, within), moment


def calendar_instants(text: pa.Array, matched: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(a real date, time and offset, microseconds since the epoch in UTC) of times of the shape ``_TIME`` where
    ``matched`` (the others are ``_DUMMY_TIME``); the fields are read at their fixed places."""
    y, mo, d = (_int(pc.utf8_slice_codeunits(text, a, b)) for a, b in ((0, 4), (5, 7), (8, 10)))
    h, mi, s = (_int(pc.utf8_slice_codeunits(text, a, b)) for a, b in ((11, 13), (14, 16), (17, 19)))
    utc = pc.ends_with(text, "Z")
    zone = pc.if_else(utc, _UTC_ZONE, pc.utf8_slice_codeunits(text, -6))
    head = pc.if_else(utc, pc.utf8_slice_codeunits(text, 0, -1), pc.utf8_slice_codeunits(text, 0, -6))
    micro = _int(pc.utf8_rpad(pc.utf8_slice_codeunits(head, 20), width=6, padding="0"))
    zh, zm = _int(pc.utf8_slice_codeunits(zone, 1, 3)), _int(pc.utf8_slice_codeunits(zone, 4, 6))
    sign = pc.if_else(pc.starts_with(zone, "-"), _k(-1), _k(1))
    month_ok = _between(mo, 1, 12)
    mo_safe = pc.if_else(month_ok, mo, _k(1))
    leap = pc.or_(pc.and_(pc.equal(_mod(y, 4), _k(0)), pc.not_equal(_mod(y, 100), _k(0))),
                  pc.equal(_mod(y, 400), _k(0)))
    feb_29 = pc.if_else(pc.and_(leap, pc.equal(mo_safe, _k(2))), _k(1), _k(0))
    days_in_month = pc.add(pc.take(_MONTH_DAYS, mo_safe), feb_29)
    valid = pc.and_(matched, pc.and_(month_ok, pc.and_(pc.greater_equal(d, _k(1)), pc.less_equal(d, days_in_month))))
    valid = pc.and_(valid, pc.and_(_between(h, 0, 23), pc.and_(_between(mi, 0, 59), _between(s, 0, 59))))
    valid = pc.and_(valid, pc.and_(_between(zh, 0, 23), _between(zm, 0, 59)))
    # days from the civil date (H. Hinnant's algorithm; years here are 1900-2199, so every term is positive)
    march = pc.less_equal(mo_safe, _k(2))
    yy = pc.subtract(y, pc.if_else(march, _k(1), _k(0)))
    era = _div(yy, 400)
    yoe = pc.subtract(yy, _times(era, 400))
    mp = pc.if_else(march, pc.add(mo_safe, _k(9)), pc.subtract(mo_safe, _k(3)))
    doy = pc.add(_div(pc.add(_times(mp, 153), _k(2)), 5), pc.subtract(d, _k(1)))
    doe = pc.add(pc.subtract(pc.add(_times(yoe, 365), _div(yoe, 4)), _div(yoe, 100)), doy)
    days = pc.subtract(pc.add(_times(era, 146_097), doe), _k(719_468))
    seconds = _add(_times(days, 86_400), _times(h, 3600), _times(mi, 60), s)
    seconds = pc.subtract(seconds, pc.multiply(sign, pc.add(_times(zh, 3600), _times(zm, 60))))
    return valid, pc.add(_times(seconds, 1_000_000), micro)


def _empty(values: pa.Array) -> pa.Array:
    return pc.equal(values, _EMPTY)


def _text(values: pa.Array, pattern: str, limit: int) -> pa.Array:
    short = pc.less_equal(pc.binary_length(values), pa.scalar(limit, pa.int32()))
    return pc.and_(pc.match_substring_regex(values, pattern), short)


def _seconds(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(plain, the number or null) of an optional duration column."""
    number = pc.match_substring_regex(values, _NUMBER)
    parsed = pc.cast(pc.if_else(number, values, pa.scalar(None, pa.string())), pa.float64())
    plain = pc.or_(_empty(values), pc.and_(number, pc.fill_null(pc.less_equal(parsed, _DAY_SECONDS), _FALSE)))
    return plain, parsed


def _nullify(values: pa.Array, keep: pa.Array) -> pa.Array:
    return pc.if_else(keep, values, pa.scalar(None, values.type))


def classify(columns: dict[str, pa.Array], limits: Limits) -> tuple[pa.Array, dict[str, pa.Array]]:
    """(plain mask, the stage columns but ``seq``) of one block. ``columns`` holds every canonical call column as
    strings (an absent optional column as empty strings). The stage values are meaningful where plain."""
    width = limits.max_field_length
    call_id, region, queue = columns["call_id"], columns["region"], columns["queue"]
    outcome, by = columns["outcome"], columns["answered_by_region"]
    plain = _text(call_id, _CALL_ID, min(width, CALL_ID_LENGTH))
    plain = pc.and_(plain, pc.and_(pc.match_substring_regex(region, _CODE), pc.is_in(region, limits.known_regions)))
    has_queue = pc.invert(_empty(queue))
    plain = pc.and_(plain, pc.or_(pc.invert(has_queue), _text(queue, _QUEUE, min(width, QUEUE_LENGTH))))
    has_by = pc.invert(_empty(by))
    by_known = pc.and_(pc.match_substring_regex(by, _CODE), pc.is_in(by, limits.known_regions))
    plain = pc.and_(plain, pc.or_(pc.invert(has_by), by_known))
    plain = pc.and_(plain, pc.is_in(outcome, _OUTCOMES))
    arrived_ok, arrived = instants(columns["arrived_at"], limits)
    plain = pc.and_(plain, arrived_ok)
    has_answer, has_end = pc.invert(_empty(columns["answered_at"])), pc.invert(_empty(columns["ended_at"]))
    answer_ok, answered = instants(columns["answered_at"], limits)
    end_ok, ended = instants(columns["ended_at"], limits)
    plain = pc.and_(plain, pc.and_(pc.or_(pc.invert(has_answer), answer_ok), pc.or_(pc.invert(has_end), end_ok)))
    talk_ok, talk = _seconds(columns["talk_seconds"])
    wrap_ok, wrap = _seconds(columns["wrap_seconds"])
    plain = pc.and_(plain, pc.and_(talk_ok, wrap_ok))

    answer_wait = pc.subtract(answered, arrived)
    end_wait = pc.subtract(ended, arrived)
    is_answered, is_abandoned = pc.equal(outcome, _ANSWERED), pc.equal(outcome, _ABANDONED)
    answered_rule = pc.and_(
        pc.and_(has_answer, _between(answer_wait, 0, MAX_WAIT_US)),
        pc.or_(pc.invert(has_end), pc.greater_equal(ended, answered)),
    )
    unanswered = pc.and_(pc.invert(has_answer), pc.invert(has_by))
    abandoned_rule = pc.and_(unanswered, pc.and_(
        has_end, _between(end_wait, 0, MAX_WAIT_US)))
    rejected_rule = pc.and_(unanswered, pc.or_(pc.invert(has_end), pc.greater_equal(end_wait, _k(0))))
    rule = pc.if_else(is_answered, answered_rule, pc.if_else(is_abandoned, abandoned_rule, rejected_rule))
    plain = pc.fill_null(pc.and_(plain, rule), _FALSE)

    wait = pc.if_else(is_answered, answer_wait, end_wait)
    wait_ms = _nullify(_div(pc.add(wait, _k(500)), 1000), pc.or_(is_answered, is_abandoned))
    hour = _times(_div(arrived, _HOUR_US), _HOUR_US)
    stage = {
        "call_id": call_id,
        "region": region,
        "queue": _nullify(queue, has_queue),
        "arrived_at": pc.cast(arrived, UTC_US),
        "outcome": outcome,
        "answered_at": _nullify(pc.cast(answered, UTC_US), has_answer),
        "ended_at": _nullify(pc.cast(ended, UTC_US), has_end),
        "answered_by_region": _nullify(by, has_by),
        "talk_seconds": talk,
        "wrap_seconds": wrap,
        "wait_ms": wait_ms,
        "hour_start": pc.cast(hour, UTC_US),
    }
    return plain, stage


def epoch_us(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_epoch_us(value: int) -> datetime:
    return datetime.fromtimestamp(value // 1_000_000, UTC).replace(microsecond=value % 1_000_000)
