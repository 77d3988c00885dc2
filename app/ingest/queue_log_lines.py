"""One line of an Asterisk ``queue_log`` on its own: the event vocabulary, reading a line into a call event, and
what of a line a rejection or a reason may keep.

Apart from app.ingest.queue_log, which keeps the state of the calls across lines: everything here looks at one line
alone, and everything that decides what of a line's text may leave the parser is here, in one place. ENTERQUEUE's
data (url|callerid|position) holds the caller's number: it is never read, and never kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.ingest.fields import RowError, bad_char_reason
from app.ingest.parsers import CALL_WIDTHS, MAX_WAIT_SECONDS
from app.sanitize import withhold_digits

HEADER_FIELDS = ("epoch", "uniqueid", "queue", "agent", "event")

ENTERQUEUE = "ENTERQUEUE"
CONNECT = "CONNECT"
ABANDON = "ABANDON"
#: event → index of (holdtime, calltime) in its data. The transfers are indexed from the end because
#: ATTENDEDTRANSFER's method part has one or two fields (BRIDGE|id, APP|name, LINK|chan|chan).
ENDS_ANSWERED: dict[str, tuple[int, int]] = {
    "COMPLETEAGENT": (0, 1),
    "COMPLETECALLER": (0, 1),
    "TRANSFER": (-3, -2),
    "BLINDTRANSFER": (-3, -2),
    "ATTENDEDTRANSFER": (-3, -2),
}
#: event → index of waittime in its data (EXITWITHKEY starts with the key pressed).
EXITS: dict[str, int] = {"EXITWITHTIMEOUT": 2, "EXITEMPTY": 2, "EXITWITHKEY": 3}
REFUSALS = frozenset({"FULL", "JOINEMPTY", "JOINUNAVAIL"})
CALL_EVENTS = frozenset({ENTERQUEUE, CONNECT, ABANDON, *ENDS_ANSWERED, *EXITS, *REFUSALS})
#: Events whose data may be kept in a rejected line's raw text: counters and ids, never caller identity.
DATA_KEPT = CALL_EVENTS - {ENTERQUEUE}

_EPOCH = re.compile(r"([0-9]{1,12})(?:\.([0-9]*))?")
_EPOCH_RANGE = (946_684_800, 4_102_444_800)  # 2000-01-01 .. 2100-01-01: anything else is a broken line
_UNIX = datetime(1970, 1, 1, tzinfo=UTC)
_SECONDS = re.compile(r"-?[0-9]{1,12}")
_DOTTED_ID = re.compile(r"(?:.*-)?[0-9]+\.[0-9]+")  # Asterisk uniqueid: [systemname-]epoch.sequence


@dataclass(frozen=True, slots=True)
class CallEvent:
    """A line that bears on a call's outcome: its time, the call's uniqueid, the queue, the event and its data."""

    position: int
    at: datetime
    call_id: str
    queue: str
    event: str
    data: list[str]


def parse_epoch(text: str) -> datetime | None:
    """Whole or fractional epoch seconds as an exact UTC instant (microseconds kept, no float rounding)."""
    match = _EPOCH.fullmatch(text.strip())
    if match is None:
        return None
    seconds = int(match[1])
    micro = (int(((match[2] or "") + "0000000")[:7]) + 5) // 10  # round half up to the microsecond
    if not _EPOCH_RANGE[0] <= seconds < _EPOCH_RANGE[1]:
        return None
    return _UNIX + timedelta(seconds=seconds, microseconds=micro)


def read_line(
    position: int, fields: list[str], *, not_after: datetime, max_field_length: int,
) -> tuple[datetime, CallEvent | None]:
    """The line's time and call event; no event for a well-formed line that has no bearing on any outcome."""
    if len(fields) < len(HEADER_FIELDS):
        missing = HEADER_FIELDS[len(fields)]
        raise RowError(
            missing, f"the line has {len(fields)} field(s); expected epoch|uniqueid|queue|agent|event|data..."
        )
    at = parse_epoch(fields[0])
    if at is None:
        raise RowError("epoch", "not an epoch time between 2000 and 2100")
    if at > not_after:
        raise RowError("epoch", f"more than a day in the future: {at.isoformat()}")
    event = fields[4].strip().upper()
    if not event:
        raise RowError("event", "the event name is empty")
    if event not in CALL_EVENTS:
        return at, None
    call_id, queue = fields[1].strip(), fields[2].strip()
    if not call_id or call_id.upper() == "NONE":
        raise RowError("uniqueid", f"{event} without the call's uniqueid")
    limit = min(max_field_length, CALL_WIDTHS["call_id"])
    if len(call_id) > limit:
        raise RowError("uniqueid", f"longer than {limit} characters")
    if (bad := bad_char_reason(call_id)) is not None:
        raise RowError("uniqueid", bad)
    if withhold_digits(call_id) != call_id and not _DOTTED_ID.fullmatch(call_id):
        # A uniqueid is [systemname-]epoch.sequence; a bare run of digits means a broken line, maybe a number.
        raise RowError("uniqueid", "not an Asterisk uniqueid ([systemname-]epoch.sequence)")
    if not queue or queue.upper() == "NONE":
        raise RowError("queue", f"{event} without a queue name")
    return at, CallEvent(position, at, call_id, queue, event, [d.strip() for d in fields[5:]])


def read_seconds(line: CallEvent, name: str, index: int, *, required: bool, max_field_length: int) -> int | None:
    """A whole-second counter from the data; checked whenever present, required only where it is needed."""
    count = len(line.data)
    value = line.data[index] if (index >= 0 and index < count) or (index < 0 and count >= 5) else ""
    if not value:
        if required:
            raise RowError(name, f"{line.event} without {name}")
        return None
    if _SECONDS.fullmatch(value) is None:
        raise RowError(name, f"not a whole number of seconds: {show(value, max_field_length)}")
    seconds = int(value)
    if seconds < 0:
        raise RowError(name, f"negative: {show(value, max_field_length)}")
    if seconds > MAX_WAIT_SECONDS:
        raise RowError(name, f"{show(value, max_field_length)} seconds is longer than 24 hours")
    return seconds


# --- what a rejection may show -------------------------------------------------------------------------------------


def safe(value: str, max_field_length: int, *, epoch: bool = False) -> str:
    """A field as it may be kept: clipped, and with any run of digits that could be a phone number removed."""
    value = value.strip()
    if len(value) > max_field_length:
        value = value[:max_field_length] + "…"
    if (epoch and parse_epoch(value) is not None) or _DOTTED_ID.fullmatch(value):
        return value
    return withhold_digits(value)


def show(value: str, max_field_length: int) -> str:
    """A field as a reason may quote it."""
    return repr(safe(value, max_field_length))


def raw_text(fields: list[str], max_field_length: int) -> str:
    """Of a line whose structure was read: epoch, uniqueid, queue, agent, event, and the data only of events
    whose data holds no caller identity."""
    event = fields[4].strip().upper()
    kept = fields if event in DATA_KEPT else fields[:5]
    return "|".join(safe(field, max_field_length, epoch=i == 0) for i, field in enumerate(kept))
