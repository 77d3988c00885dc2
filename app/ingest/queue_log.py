"""Asterisk ``queue_log`` in, canonical call records out (SPEC §3).

queue_log is an event stream, not a table: one call is spread over several lines (ENTERQUEUE, then CONNECT
and COMPLETE*, or an EXIT*, perhaps in several queues) that are interleaved with every other call's. So this
parser, unlike the tabular ones, keeps a little state per call and yields a ``CallRecord`` only once the
call's outcome can no longer change. A call is counted once, in the first queue it reached, from the moment
it reached it, with its final outcome; that is the caller's experience, which is what §4 measures.

Memory holds the open calls (queued or talking) plus, for ``SETTLE_AFTER`` of log time, the calls whose
outcome is settled but might still be revised (left a queue, may enter another) or whose uniqueid may
still show up (a transferred call entering a new queue must not be counted twice).

Nothing that identifies a caller leaves this parser: ENTERQUEUE's data (url|callerid|position) is never
read. A rejected line whose structure could be read (a valid epoch, a call event, a uniqueid and a queue) keeps
that structure, with long digit runs (a phone number that slipped into the wrong field) removed; one that could
not be read keeps only its event name, if it names a call event, and the reason, which quotes none of its text:
such a "line" may be anything at all, a line of a secrets file among them. Reading one line, and what of it may
be kept, is app.ingest.queue_log_lines; this module keeps the calls' state across lines.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import IO

from app.ingest.fields import FUTURE_TOLERANCE, RowError
from app.ingest.lines import BoundedLines, LineTooLong
from app.ingest.parsers import MAX_WAIT_SECONDS, Parsed, ParseResult
from app.ingest.queue_log_lines import (
    ABANDON,
    CALL_EVENTS,
    CONNECT,
    ENDS_ANSWERED,
    ENTERQUEUE,
    EXITS,
    CallEvent,
    raw_text,
    read_line,
    read_seconds,
    show,
)
from app.ingest.rows import Rejection
from app.kpi.records import CallRecord, Outcome

#: How long (in log time) after its last event a left or refused call is taken to be over. A channel that
#: left a queue and is still in the dialplan a day later to enter another is not a real case.
SETTLE_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class QueueLogOptions:
    queue_map: Mapping[str, str]
    known_regions: frozenset[str]
    max_field_length: int = 256
    max_line_length: int = 65_536
    now: datetime | None = None  # the time of ingest (None: the clock's, read once per log)


class _State(Enum):
    QUEUED = "queued"  # in a queue now: open
    CONNECTED = "connected"  # answered, talking: open, outcome known
    LEFT = "left"  # left a queue unanswered (EXIT*, or refused after queueing): abandoned unless it queues again
    REFUSED = "refused"  # only ever refused (FULL, JOIN*): rejected unless it queues after all
    DONE = "done"  # yielded; remembered for a while only so that later lines are not counted again


_SETTLING = (_State.LEFT, _State.REFUSED, _State.DONE)


@dataclass(slots=True)
class _Call:
    call_id: str
    queue: str  # the first queue reached: the call is counted there
    region: str
    arrived_at: datetime
    state: _State
    current_queue: str
    position: int  # the last line that was part of this call
    touched_at: datetime  # that line's time
    answered_at: datetime | None = None
    left_at: datetime | None = None


class QueueLogParser:
    """Streams one queue_log; after the iterator is exhausted its counters describe what was read.

    ``lines`` (non-blank lines) = ``used`` (part of a call) + ``ignored`` + ``rejected``. ``pending``
    counts calls still queued when the log ended: not yielded, because their outcome is in a later log.
    One parser reads one stream at a time; ``parse`` starts afresh.
    """

    def __init__(self, options: QueueLogOptions) -> None:
        self.options = options
        self._regions: dict[str, str] = {}
        for queue, region in options.queue_map.items():
            self._regions.setdefault(queue.strip(), region.strip().upper())
        self._folded = {queue.casefold(): region for queue, region in self._regions.items()}
        self._reset()

    def _reset(self) -> None:
        self._not_after = (self.options.now or datetime.now(UTC)) + FUTURE_TOLERANCE
        self.lines = self.used = self.ignored = self.rejected = self.pending = 0
        self._calls: dict[str, _Call] = {}
        self._settling: OrderedDict[str, None] = OrderedDict()  # LEFT/REFUSED/DONE calls by last touch

    def parse(self, stream: IO[str]) -> Iterator[ParseResult]:
        self._reset()
        lines = BoundedLines(stream, self.options.max_line_length)
        while True:
            try:
                line = next(lines)
            except StopIteration:
                break
            except LineTooLong as exc:
                self.lines += 1
                self.rejected += 1
                yield Rejection(lines.position, None, None, str(exc), "")
                continue
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            self.lines += 1
            yield from self._line(lines.position, text)
        yield from self._finish()

    # --- one line ------------------------------------------------------------------------------------

    def _line(self, position: int, text: str) -> Iterator[ParseResult]:
        fields = text.split("|")
        try:
            at, line = read_line(position, fields, not_after=self._not_after,
                                 max_field_length=self.options.max_field_length)
        except RowError as exc:  # not a queue_log line as far as can be told: nothing of its text is kept
            self.rejected += 1
            event = fields[4].strip().upper() if len(fields) > 4 else ""
            yield Rejection(position, None, exc.field, exc.reason, event if event in CALL_EVENTS else "")
            return
        yield from self._settle(at)
        if line is None:
            self.ignored += 1
            return
        try:
            yield from self._apply(line)
        except RowError as exc:
            self.rejected += 1
            raw = raw_text(fields, self.options.max_field_length)
            yield Rejection(position, line.call_id, exc.field, exc.reason, raw)

    def _apply(self, line: CallEvent) -> Iterator[ParseResult]:
        call = self._calls.get(line.call_id)
        if call is not None and call.state is _State.DONE:
            self.ignored += 1  # e.g. a transferred call entering its next queue: already counted
            return
        if call is not None and line.at < call.arrived_at:
            raise RowError("epoch", f"{line.at.isoformat()} is before the call arrived, {call.arrived_at.isoformat()}")
        event = line.event
        if event == ENTERQUEUE:
            yield from self._enter(line, call)
        elif event == CONNECT:
            self._connect(line, call)
        elif event in ENDS_ANSWERED:
            yield self._end_answered(line, call)
        elif event == ABANDON:
            yield self._abandon(line, call)
        elif event in EXITS:
            self._exit(line, call)
        else:
            yield from self._refusal(line, call)

    def _enter(self, line: CallEvent, call: _Call | None) -> Iterator[ParseResult]:
        if call is None:
            self._open(line, line.at, _State.QUEUED)
        elif call.state is _State.CONNECTED:
            # Answered, then queued again with no TRANSFER line: the answer stands and the new leg is not a new call.
            yield self._close(call)
            self.ignored += 1
        elif call.state is _State.QUEUED and call.current_queue.casefold() == line.queue.casefold():
            self.ignored += 1  # the same ENTERQUEUE logged twice
        else:
            # Another queue after leaving or being refused: still the same caller waiting, in the same first queue.
            call.state, call.current_queue, call.left_at = _State.QUEUED, line.queue, None
            self._touch(call, line)

    def _connect(self, line: CallEvent, call: _Call | None) -> None:
        holdtime = self._seconds(line, "holdtime", 0, required=call is None)
        if call is None:  # the log began while this call was queued
            assert holdtime is not None
            self._open(line, line.at - timedelta(seconds=holdtime), _State.CONNECTED, answered_at=line.at)
        elif call.state is _State.CONNECTED:
            self.ignored += 1
        else:
            self._check_wait(line, call, line.at)
            call.state, call.current_queue, call.answered_at, call.left_at = _State.CONNECTED, line.queue, line.at, None
            self._touch(call, line)

    def _end_answered(self, line: CallEvent, call: _Call | None) -> Parsed:
        hold_index, call_index = ENDS_ANSWERED[line.event]
        calltime = self._seconds(line, "calltime", call_index, required=True)
        holdtime = self._seconds(line, "holdtime", hold_index, required=call is None)
        assert calltime is not None
        answered_at = line.at - timedelta(seconds=calltime)
        if call is None:  # the log began after this call was answered
            assert holdtime is not None
            arrived_at = answered_at - timedelta(seconds=holdtime)
        elif call.state is _State.CONNECTED:
            assert call.answered_at is not None
            if line.at < call.answered_at:
                raise RowError("epoch", f"{line.at.isoformat()} is before the call was answered")
            arrived_at, answered_at = call.arrived_at, call.answered_at
        else:  # its CONNECT line is missing: the talk time says when it was answered
            answered_at = max(answered_at, call.arrived_at)
            self._check_wait(line, call, answered_at)
            arrived_at = call.arrived_at
        return self._final(line, call, Outcome.ANSWERED, arrived_at, answered_at=answered_at, talk=float(calltime))

    def _abandon(self, line: CallEvent, call: _Call | None) -> Parsed:
        waittime = self._seconds(line, "waittime", 2, required=call is None)
        if call is None:
            assert waittime is not None
            arrived_at = line.at - timedelta(seconds=waittime)
        elif call.state is _State.CONNECTED:
            raise RowError("event", "ABANDON for a call that was already answered")
        else:
            self._check_wait(line, call, line.at)
            arrived_at = call.arrived_at
        return self._final(line, call, Outcome.ABANDONED, arrived_at)

    def _exit(self, line: CallEvent, call: _Call | None) -> None:
        waittime = self._seconds(line, "waittime", EXITS[line.event], required=call is None)
        if call is None:
            assert waittime is not None
            self._open(line, line.at - timedelta(seconds=waittime), _State.LEFT, left_at=line.at)
        elif call.state is _State.CONNECTED:
            raise RowError("event", f"{line.event} for a call that was already answered")
        else:
            self._check_wait(line, call, line.at)
            call.state, call.left_at = _State.LEFT, line.at
            self._touch(call, line)

    def _refusal(self, line: CallEvent, call: _Call | None) -> Iterator[ParseResult]:
        if call is None:
            self._open(line, line.at, _State.REFUSED)
        elif call.state is _State.CONNECTED:
            yield self._close(call)  # as for ENTERQUEUE after an answer: the answer stands
            self.ignored += 1
        elif call.state is _State.REFUSED:
            self._touch(call, line)
        else:  # it had queued: turned away from the next queue, it left unanswered
            self._check_wait(line, call, line.at)
            call.state, call.left_at = _State.LEFT, line.at
            self._touch(call, line)

    # --- call bookkeeping ------------------------------------------------------------------------------

    def _open(
        self, line: CallEvent, arrived_at: datetime, state: _State, *,
        answered_at: datetime | None = None, left_at: datetime | None = None,
    ) -> None:
        region = self._region(line)
        call = _Call(line.call_id, line.queue, region, arrived_at, state, line.queue, line.position, line.at,
                     answered_at, left_at)
        self._calls[call.call_id] = call
        self._touch(call, line)

    def _touch(self, call: _Call, line: CallEvent) -> None:
        self.used += 1
        call.position, call.touched_at = line.position, line.at
        if call.state in _SETTLING:
            self._settling[call.call_id] = None
            self._settling.move_to_end(call.call_id)
        else:
            self._settling.pop(call.call_id, None)

    def _final(
        self, line: CallEvent, call: _Call | None, outcome: Outcome, arrived_at: datetime, *,
        answered_at: datetime | None = None, talk: float | None = None,
    ) -> Parsed:
        """The line that ends the call: its record now, and its uniqueid remembered as counted."""
        queue, region = (call.queue, call.region) if call is not None else (line.queue, self._region(line))
        self.used += 1
        record = CallRecord(
            call_id=line.call_id, region=region, queue=queue, arrived_at=arrived_at, outcome=outcome,
            answered_at=answered_at, ended_at=line.at, talk_seconds=talk,
        )
        self._mark_done(line.call_id, line.position, line.at)
        return Parsed(line.position, record)

    def _close(self, call: _Call) -> Parsed:
        """The call's outcome as its last line left it (LEFT, REFUSED or CONNECTED), yielded later."""
        outcome = {_State.CONNECTED: Outcome.ANSWERED, _State.LEFT: Outcome.ABANDONED}.get(call.state, Outcome.REJECTED)
        record = CallRecord(
            call_id=call.call_id, region=call.region, queue=call.queue, arrived_at=call.arrived_at, outcome=outcome,
            answered_at=call.answered_at if outcome is Outcome.ANSWERED else None,
            ended_at=call.left_at if outcome is Outcome.ABANDONED else None,
        )
        self._mark_done(call.call_id, call.position, call.touched_at)
        return Parsed(call.position, record)

    def _mark_done(self, call_id: str, position: int, at: datetime) -> None:
        """Keep only the uniqueid, for ``SETTLE_AFTER``, so that later lines of the call are not a new call."""
        self._calls[call_id] = _Call(call_id, "", "", at, _State.DONE, "", position, at)
        self._settling[call_id] = None
        self._settling.move_to_end(call_id)

    def _settle(self, now: datetime) -> Iterator[ParseResult]:
        """Yield the left and refused calls whose last line is ``SETTLE_AFTER`` behind this one; forget the done."""
        horizon = now - SETTLE_AFTER
        while self._settling:
            call = self._calls[next(iter(self._settling))]
            if call.touched_at >= horizon:
                return
            if call.state is not _State.DONE:
                yield self._close(call)
            del self._settling[call.call_id]
            del self._calls[call.call_id]

    def _finish(self) -> Iterator[ParseResult]:
        """End of the log: every call whose outcome is known is yielded, in the order of its last line."""
        for call in sorted(self._calls.values(), key=lambda c: c.position):
            if call.state is _State.QUEUED:
                self.pending += 1
            elif call.state is not _State.DONE:
                yield self._close(call)
        self._calls.clear()
        self._settling.clear()

    # --- fields --------------------------------------------------------------------------------------

    def _region(self, line: CallEvent) -> str:
        """Only the line that opens a call needs its queue mapped: later queues do not move the call."""
        region = self._regions.get(line.queue) or self._folded.get(line.queue.casefold())
        if region is None:
            raise RowError("queue", f"queue {self._show(line.queue)} is not in the queue map")
        if region not in self.options.known_regions:
            raise RowError(
                "region", f"queue {self._show(line.queue)} maps to {self._show(region)}, which is not a known region"
            )
        return region

    def _seconds(self, line: CallEvent, name: str, index: int, *, required: bool) -> int | None:
        return read_seconds(line, name, index, required=required, max_field_length=self.options.max_field_length)

    @staticmethod
    def _check_wait(line: CallEvent, call: _Call, until: datetime) -> None:
        wait = (until - call.arrived_at).total_seconds()
        if wait > MAX_WAIT_SECONDS:
            raise RowError("epoch", f"{line.event} {wait:.0f} s after the call arrived: longer than 24 hours")

    def _show(self, value: str) -> str:
        return show(value, self.options.max_field_length)


def parse_queue_log(stream: IO[str], options: QueueLogOptions) -> Iterator[ParseResult]:
    """For callers that need the records only; use ``QueueLogParser`` to read ``pending`` and the counters."""
    return QueueLogParser(options).parse(stream)
