"""Parsers for the canonical formats of SPEC §3: call CSV, call JSON Lines, interval CSV.

Each yields, in file order and in constant memory, either a canonical record or a ``Rejection`` that
names the line and the field. Parsing knows nothing of fetching or storing.

Strict where it matters, forgiving where it is safe (SPEC §3, issue 14 §4): a bad value of a field the record's
identity or its KPIs rest on rejects the row; a bad *optional* field is left out of the record, which is stored,
and the row carries a ``FieldWarning`` (field, reason). Bad means whatever the field's reader refuses (not a number,
negative, too long, a control character, an unknown region, a time that cannot be read or lies outside the years or
in the future, a profile's failed conversion in ``RawRow.field_errors``) and the consistency checks named below.

- Calls. Required: ``call_id``, ``region``, ``arrived_at``, ``outcome``; ``answered_at`` of an answered call (and
  none may be given for another outcome); ``ended_at`` of an abandoned call (it gives the wait). Optional, dropped
  with a warning: ``queue`` (no part of the call's key), ``answered_by_region`` (also when the call was not
  answered), ``talk_seconds`` and ``wrap_seconds`` (also over 24 hours), and ``ended_at`` of an answered or
  rejected call (also when it lies before the answer or the arrival). A wait over 24 hours rejects: it rests on
  required times only.
- Intervals. Required: everything but the five sums below and ``agents_staffed``; ``queue`` too, when given, is
  strict (part of the record's key). Optional, dropped with a warning: ``wait_answered_seconds_sum`` (also when
  the interval answered no call, or it exceeds 24 hours per answered call), ``wait_abandoned_seconds_sum`` (over
  24 hours per abandoned call), ``longest_wait_seconds`` (over 24 hours, or, where both wait sums are given, more
  than a second past their total: one call's wait is part of them), ``talk_seconds_sum`` and
  ``wrap_seconds_sum`` (over 24 hours per answered call), ``agents_staffed`` (over ``MAX_AGENTS_STAFFED``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import IO, Literal

from app.ingest.fields import FUTURE_TOLERANCE, FieldReader, RowError
from app.ingest.lines import RawRow, read_csv_rows, read_jsonl_rows
from app.ingest.rows import FieldWarning, Rejection
from app.kpi.localtime import STOCKHOLM, FallBackResolver
from app.kpi.records import (
    CALL_COLUMNS,
    CALL_ID_LENGTH,
    DAY_MINUTES,
    INTERVAL_COLUMNS,
    MONTH_WORD,
    QUEUE_LENGTH,
    CallRecord,
    IntervalRecord,
    Outcome,
    month_minutes,
)
from app.sanitize import withhold_digits

log = logging.getLogger(__name__)

CALL_REQUIRED = frozenset({"call_id", "region", "arrived_at", "outcome"})
INTERVAL_REQUIRED = frozenset({
    "region", "interval_start", "interval_minutes", "offered", "answered", "abandoned", "abandoned_short",
    "rejected", "answered_within_sl", "sl_seconds",
})

MAX_WAIT_SECONDS = 24 * 3600  # a longer "wait" is a broken record, not a long queue
#: How far an interval's longest wait may pass its wait sums together: platforms round each figure on its own.
LONGEST_SLACK_SECONDS = 1
INTERVAL_LENGTHS = (15, 30, 60)
#: Calls in one queue's interval report. All of Sweden's 1177 lines take about 6 million calls a year, so a
#: million in an hour is a broken row; the bound also keeps the 32-bit hourly and monthly sums far from overflow.
MAX_INTERVAL_CALLS = 1_000_000
#: Staffed positions of one queue's interval: a region's 1177 line has tens to a few hundred nurses, so more is a
#: broken value (a caller's number in the column), not a roster.
MAX_AGENTS_STAFFED = 10_000

#: Text fields whose column is narrower than ``max_field_length`` may be: checked against the column's width.
CALL_WIDTHS = {"call_id": CALL_ID_LENGTH, "queue": QUEUE_LENGTH}
INTERVAL_WIDTHS = {"queue": QUEUE_LENGTH}

Format = Literal["csv", "jsonl"]


@dataclass(frozen=True, slots=True)
class Parsed:
    position: int
    record: CallRecord | IntervalRecord
    warnings: tuple[FieldWarning, ...] = ()  # optional fields left out of ``record``, and why


ParseResult = Parsed | Rejection


@dataclass(frozen=True, slots=True)
class ParseOptions:
    known_regions: frozenset[str]
    max_field_length: int = 256
    max_line_length: int = 65_536
    now: datetime | None = None  # the time of ingest (None: the clock's, read once per delivery)

    def not_after(self) -> datetime:
        """The latest instant a record of this delivery may have."""
        return (self.now or datetime.now(UTC)) + FUTURE_TOLERANCE


def _region(reader: FieldReader, name: str, known: frozenset[str], *, required: bool) -> str | None:
    code = reader.text(name, required=required)
    if code is None:
        return None
    code = code.upper()
    if code not in known:
        # quoted with digit runs withheld: no region code has digits, a caller's number in its column has
        shown = withhold_digits(code)
        raise RowError(name, f"unknown region: {shown!r} (expected an ISO 3166-2:SE code such as SE-AC)")
    return code


def _call(reader: FieldReader, options: ParseOptions, resolver: FallBackResolver) -> CallRecord:
    call_id = reader.text("call_id", required=True)
    region = _region(reader, "region", options.known_regions, required=True)
    queue = reader.optional(lambda: reader.text("queue", required=False))
    assert call_id is not None and region is not None
    arrived_naive = reader.timestamp("arrived_at", required=True)
    assert arrived_naive is not None
    arrived_at = reader.utc("arrived_at", arrived_naive, resolver, (region, queue))
    outcome_text = (reader.text("outcome", required=True) or "").lower()
    try:
        outcome = Outcome(outcome_text)
    except ValueError:
        raise RowError(
            "outcome", f"unknown outcome: {outcome_text!r} (expected answered, abandoned or rejected)"
        ) from None
    answered_raw = reader.timestamp("answered_at", required=False)
    answered_at = reader.utc_after("answered_at", answered_raw, arrived_at) if answered_raw else None

    def read_ended() -> datetime | None:
        ended_raw = reader.timestamp("ended_at", required=False)
        return reader.utc_after("ended_at", ended_raw, answered_at or arrived_at) if ended_raw else None

    # ended_at gives an abandoned call its wait; of any other call it is a detail, dropped when bad
    ended_at = read_ended() if outcome is Outcome.ABANDONED else reader.optional(read_ended)
    answered_by = reader.optional(
        lambda: _region(reader, "answered_by_region", options.known_regions, required=False)
    )

    if outcome is Outcome.ANSWERED:
        if answered_at is None:
            raise RowError("answered_at", "answered without answered_at")
        if answered_at < arrived_at:
            raise RowError("answered_at", "answered before arrival")
        if ended_at is not None and ended_at < answered_at:
            reader.drop("ended_at", "ended before it was answered")
            ended_at = None
        wait = (answered_at - arrived_at).total_seconds()
    else:
        if answered_at is not None:
            raise RowError("answered_at", f"answered_at given for a call that was {outcome.value}")
        if answered_by is not None:
            reader.drop("answered_by_region", f"answered_by_region given for a call that was {outcome.value}")
            answered_by = None
        if outcome is Outcome.ABANDONED and ended_at is None:
            raise RowError("ended_at", "abandoned without ended_at")
        if ended_at is not None and ended_at < arrived_at:
            if outcome is Outcome.ABANDONED:
                raise RowError("ended_at", "ended before arrival")
            reader.drop("ended_at", "ended before arrival")
            ended_at = None
        wait = (ended_at - arrived_at).total_seconds() if ended_at and outcome is Outcome.ABANDONED else 0
    if wait > MAX_WAIT_SECONDS:
        field = "answered_at" if outcome is Outcome.ANSWERED else "ended_at"
        raise RowError(field, f"wait of {wait:.0f} s is longer than 24 hours")
    return CallRecord(
        call_id=call_id,
        region=region,
        queue=queue,
        arrived_at=arrived_at,
        outcome=outcome,
        answered_at=answered_at,
        ended_at=ended_at,
        answered_by_region=answered_by,
        talk_seconds=_bounded(reader, "talk_seconds", MAX_WAIT_SECONDS, "longer than 24 hours"),
        wrap_seconds=_bounded(reader, "wrap_seconds", MAX_WAIT_SECONDS, "longer than 24 hours"),
    )


def _interval_minutes(reader: FieldReader, start: datetime) -> int:
    """The stored length of an interval starting at ``start``: 15, 30 or 60 aligned to its length, 1440 for a local
    day or the word ``month`` for a calendar month (stored as its days × 1440, ``app.kpi.records``), each starting
    at local midnight: a day or month that does not is a report of something else, and would be counted in the
    wrong day or month."""
    text = (reader.text("interval_minutes", required=True) or "").lower()
    if text == MONTH_WORD:
        local = start.astimezone(STOCKHOLM)
        if local.time() != time(0) or local.day != 1:
            raise RowError("interval_start", "a month's figures must start at local midnight of the 1st "
                                             f"(Europe/Stockholm), got {local.isoformat()}")
        return month_minutes(local.date())
    minutes = reader.count("interval_minutes", required=True)
    if minutes == DAY_MINUTES:
        local = start.astimezone(STOCKHOLM)
        if local.time() != time(0):
            raise RowError("interval_start", "a day's figures must start at local midnight (Europe/Stockholm), "
                                             f"got {local.isoformat()}")
        return DAY_MINUTES
    if minutes not in INTERVAL_LENGTHS:
        raise RowError("interval_minutes", f"must be 15, 30, 60, 1440 (a day) or month, got {minutes}")
    if start.minute % minutes or start.second or start.microsecond:
        raise RowError("interval_start", f"not aligned to {minutes}-minute intervals")
    return minutes


def _interval(reader: FieldReader, options: ParseOptions, resolver: FallBackResolver) -> IntervalRecord:
    region = _region(reader, "region", options.known_regions, required=True)
    queue = reader.text("queue", required=False) or ""
    start_raw = reader.timestamp("interval_start", required=True)
    assert region is not None and start_raw is not None
    start = reader.utc("interval_start", start_raw, resolver, (region, queue))
    minutes = _interval_minutes(reader, start)

    def count(name: str, maximum: int = MAX_INTERVAL_CALLS) -> int:
        value = reader.count(name, required=True, maximum=maximum)
        assert value is not None
        return value

    answered, abandoned = count("answered"), count("abandoned")
    abandoned_short, answered_within_sl = count("abandoned_short"), count("answered_within_sl")
    if abandoned_short > abandoned:
        raise RowError("abandoned_short", "more short abandons than abandons")
    if answered_within_sl > answered:
        raise RowError("answered_within_sl", "more answered within service level than answered")
    wait_answered = _optional_number(reader, "wait_answered_seconds_sum")
    wait_abandoned = _optional_number(reader, "wait_abandoned_seconds_sum")
    longest = _optional_number(reader, "longest_wait_seconds")
    if answered == 0 and wait_answered:
        reader.drop("wait_answered_seconds_sum", "wait recorded for an interval with no answered calls")
        wait_answered = None
    if wait_answered is not None and wait_answered > answered * MAX_WAIT_SECONDS:
        reader.drop("wait_answered_seconds_sum", f"more than 24 hours per answered call ({answered})")
        wait_answered = None
    if wait_abandoned is not None and wait_abandoned > abandoned * MAX_WAIT_SECONDS:
        reader.drop("wait_abandoned_seconds_sum", f"more than 24 hours per abandoned call ({abandoned})")
        wait_abandoned = None
    if longest is not None and longest > MAX_WAIT_SECONDS:
        reader.drop("longest_wait_seconds", "longer than 24 hours")
        longest = None
    if longest and wait_answered is not None and wait_abandoned is not None \
            and longest > wait_answered + wait_abandoned + LONGEST_SLACK_SECONDS:
        # one call's wait is part of the interval's waits: a longest wait past all of them together is a wrong figure
        reader.drop("longest_wait_seconds", f"longer than all waits of the interval together "
                                            f"({wait_answered + wait_abandoned:g} s)")
        longest = None
    return IntervalRecord(
        region=region,
        queue=queue,
        interval_start=start,
        interval_minutes=minutes,
        offered=count("offered"),
        answered=answered,
        abandoned=abandoned,
        abandoned_short=abandoned_short,
        rejected=count("rejected"),
        answered_within_sl=answered_within_sl,
        sl_seconds=count("sl_seconds", MAX_WAIT_SECONDS),
        wait_answered_seconds_sum=wait_answered,
        wait_abandoned_seconds_sum=wait_abandoned,
        longest_wait_seconds=longest,
        talk_seconds_sum=_bounded(reader, "talk_seconds_sum", answered * MAX_WAIT_SECONDS,
                                  f"more than 24 hours per answered call ({answered})"),
        wrap_seconds_sum=_bounded(reader, "wrap_seconds_sum", answered * MAX_WAIT_SECONDS,
                                  f"more than 24 hours per answered call ({answered})"),
        agents_staffed=_bounded(reader, "agents_staffed", MAX_AGENTS_STAFFED, f"more than {MAX_AGENTS_STAFFED}"),
    )


def _optional_number(reader: FieldReader, name: str) -> float | None:
    return reader.optional(lambda: reader.number(name, required=False))


def _bounded(reader: FieldReader, name: str, limit: float, reason: str) -> float | None:
    """An optional duration no call can reach is left out with a warning: a caller's number in a talk-time column
    (0701234567 s is 22 years) is a valid number, and stored it would be a talk time and a sum."""
    value = _optional_number(reader, name)
    if value is not None and value > limit:
        reader.drop(name, reason)
        return None
    return value


Builder = Callable[[FieldReader, ParseOptions, FallBackResolver], CallRecord | IntervalRecord]


def _parse(
    rows: Iterator[RawRow],
    columns: tuple[str, ...],
    key_field: str | None,
    build: Builder,
    options: ParseOptions,
    resolver: FallBackResolver,
    widths: dict[str, int],
) -> Iterator[ParseResult]:
    not_after = options.not_after()
    for row in rows:
        key = row.key or ((row.fields.get(key_field) or None) if key_field else None)
        if key is not None:
            key = key.strip()[:256] or None
        if row.error is not None:
            yield Rejection(row.position, key, row.error_field, row.error, row.raw_text(columns, row.error_field))
            continue
        reader = FieldReader(row.fields, options.max_field_length, widths, not_after, row.decimal_comma,
                             row.field_errors)
        try:
            record = build(reader, options, resolver)
        except RowError as exc:
            yield Rejection(row.position, key, exc.field, exc.reason, row.raw_text(columns, exc.field))
        except (ValueError, ArithmeticError) as exc:  # a check this parser lacks: the row, not the delivery, fails
            log.warning("ingest.row.unreadable", extra={"position": row.position, "error": type(exc).__name__})
            reason = f"unreadable row ({type(exc).__name__}: {exc})"
            yield Rejection(row.position, key, None, reason, row.raw_text(columns))
        else:
            warnings = tuple(FieldWarning(row.position, record_key(record), field, reason)
                             for field, reason in reader.warnings)
            yield Parsed(row.position, record, warnings)


def record_key(record: CallRecord | IntervalRecord) -> str:
    """How a stored record is named to its reader: its call_id, or region/queue/interval_start (UTC)."""
    if isinstance(record, CallRecord):
        return record.call_id
    return f"{record.region}/{record.queue}/{record.interval_start.isoformat()}"


def parse_calls(stream: IO[str], fmt: Format, options: ParseOptions) -> Iterator[ParseResult]:
    rows = (
        read_csv_rows(stream, CALL_COLUMNS, CALL_REQUIRED, options.max_line_length, key_column="call_id")
        if fmt == "csv"
        else read_jsonl_rows(stream, CALL_COLUMNS, options.max_line_length)
    )
    resolver = FallBackResolver(repeat_is_second=False)
    return _parse(rows, CALL_COLUMNS, "call_id", _call, options, resolver, CALL_WIDTHS)


def parse_intervals(stream: IO[str], fmt: Format, options: ParseOptions) -> Iterator[ParseResult]:
    rows = (
        read_csv_rows(stream, INTERVAL_COLUMNS, INTERVAL_REQUIRED, options.max_line_length)
        if fmt == "csv"
        else read_jsonl_rows(stream, INTERVAL_COLUMNS, options.max_line_length)
    )
    resolver = FallBackResolver(repeat_is_second=True)
    return _parse(rows, INTERVAL_COLUMNS, None, _interval, options, resolver, INTERVAL_WIDTHS)


def parse_call_rows(rows: Iterator[RawRow], options: ParseOptions) -> Iterator[ParseResult]:
    """Call records from rows already named in canonical fields (an import profile's output): the same checks as
    the canonical formats, so nothing a profile maps can pass that they would refuse."""
    resolver = FallBackResolver(repeat_is_second=False)
    return _parse(rows, CALL_COLUMNS, "call_id", _call, options, resolver, CALL_WIDTHS)


def parse_interval_rows(rows: Iterator[RawRow], options: ParseOptions) -> Iterator[ParseResult]:
    """Interval records from rows already named in canonical fields, checked as ``parse_intervals`` checks them."""
    resolver = FallBackResolver(repeat_is_second=True)
    return _parse(rows, INTERVAL_COLUMNS, None, _interval, options, resolver, INTERVAL_WIDTHS)
