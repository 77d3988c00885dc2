"""Genesys Cloud conversation details as call records (SPEC §3, issue 14 §2): the response of
``POST /api/v2/analytics/conversations/details/query``, one JSON document ``{"conversations": [...]}``.

Why Python and not an import profile: a call is not one object of the export but a reading of a tree
(conversation → participants → sessions → segments) — the first segment of one participant purpose, whether a
segment of another purpose exists, sums of segment spans — which docs/profiles.md's column paths cannot say.

Sources (docs/vendor-field-references.md §2): [G1] MyPureCloud/platform-client-sdk-python, models generated from
the Genesys Cloud OpenAPI, ``build/docs/AnalyticsConversationQueryResponse.md`` (``conversations``),
``AnalyticsConversationWithoutAttributes.md`` (``conversationId``, ``conversationEnd``, ``originatingDirection``,
``participants``), ``AnalyticsParticipantWithoutAttributes.md`` (``purpose``, ``sessions``), ``AnalyticsSession.md``
(``mediaType``, ``flowOutType`` "type of flow out that occurred when emitting tFlowOut", ``segments``),
``AnalyticsConversationSegment.md`` (``segmentStart``/``segmentEnd`` "ISO-8601 string … yyyy-MM-ddTHH:mm:ss[.mmm]Z",
``segmentType`` interact | alert | wrapup | hold …, ``queueId``); JSON keys from the models' ``attribute_map``.
[G3] help.mypurecloud.com/?p=334996: Offered = answered + abandoned + flow-out; "Abandoned … the customer hangs up
before an agent answers"; "Answered increments when the agent is the first to connect".

The reading (the vendor documents the fields, not this rule: it is ours, and inference where marked):
- one conversation (``conversationId``) is one call: a transfer between queues stays inside it [G1 ``peerId``], so it
  counts once. Only ``originatingDirection`` "inbound" conversations with a voice session of an ``acd``
  participant are calls; the others (outbound, chat, IVR only) are skipped, and so is a conversation without
  ``conversationEnd`` (still in progress: a later query delivers it whole).
- ``arrived_at`` = start of the first segment of an acd voice session; ``queue`` = its ``queueId``; ``region`` =
  that queue through the queue map (VPT_QUEUE_MAP_FILE, as for queue_log).
- answered when an ``agent`` participant has a voice ``interact`` segment starting at or after the arrival:
  ``answered_at`` = the start of the first (the caller's wait ends when a nurse first speaks to them, inference);
  ``talk_seconds`` = that participant's interact spans summed (hold segments fall between them), ``wrap_seconds``
  = its ``wrapup`` spans summed.
- otherwise abandoned, ``ended_at`` = the end of the last acd voice segment, the moment the call left the queue
  (inference: with no agent, the caller hanging up ends it [G3]) — unless that session carries ``flowOutType``: a
  flow-out is neither answered nor abandoned in Genesys' own figures [G3], and no canonical outcome, so it is
  rejected with that reason rather than counted as an abandon.
- ``t*`` metrics are not read: their unit is not stated in any vendor page found (docs/vendor-field-references.md).
- Nothing else is read: participant names, ``ani``, ``addressFrom``, ``remote``, user and team ids never leave this
  module. What is read goes to the canonical parser (``parse_call_rows``), so every canonical check applies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from app.config import Settings
from app.ingest.formats import FormatUnavailable, IngestFormat
from app.ingest.lines import FileFormatError, RawRow
from app.ingest.loader import Parser
from app.ingest.parsers import ParseOptions, ParseResult, parse_call_rows
from app.ingest.queue_map import QueueMapError, read_queue_map

_LATEST, _EARLIEST = datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)
RESPONSE = "the response of POST /api/v2/analytics/conversations/details/query"


class _Malformed(ValueError):
    """The conversation's nesting is not the documented one: the conversation is rejected, naming where."""


@dataclass(frozen=True, slots=True)
class _Segment:
    participant: int  # index of its participant: segments of one agent belong together
    purpose: str
    kind: str  # segmentType
    start_text: str | None
    end_text: str | None
    start: datetime | None  # None: missing, unreadable, or without an offset
    end: datetime | None
    queue_id: str | None
    flow_out: bool  # its session carries flowOutType


def _moment(text: str | None) -> datetime | None:
    """An instant as Genesys writes it ([G1]: ISO 8601 with ``Z``). A time without an offset is not that format:
    taken as unreadable, not as Stockholm time."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _start(segment: _Segment) -> datetime:
    return segment.start or _LATEST


def _time(text: str | None, moment: datetime | None, field: str, fields: dict[str, str | None],
          errors: dict[str, str]) -> None:
    """A segment time as a canonical timestamp field. An unreadable text goes on as it is, so the canonical
    parser's rejection quotes it; a time without an offset is refused here, since the canonical parser would take
    it as Stockholm time, and Genesys writes UTC ([G1]: ``…Z``)."""
    if moment is not None or text is None:
        fields[field] = text  # None: the canonical parser says the field is required, where it is
        return
    try:
        datetime.fromisoformat(text)
    except ValueError:
        fields[field] = text
        return
    errors[field] = f"{text!r} has no offset: Genesys writes ISO 8601 in UTC (…Z)"


def _list(value: object, where: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _Malformed(f"{where} is not a list of objects")
    return value


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _voice_segments(conversation: dict[str, Any]) -> list[_Segment]:
    segments = []
    if "participants" not in conversation:
        raise _Malformed("participants is missing")
    for p, participant in enumerate(_list(conversation["participants"], "participants")):
        purpose = _text(participant.get("purpose")) or ""
        for session in _list(participant.get("sessions"), f"participants[{p}].sessions"):
            if session.get("mediaType") != "voice":
                continue
            flow_out = bool(_text(session.get("flowOutType")))
            for segment in _list(session.get("segments"), f"participants[{p}].sessions[].segments"):
                start, end = _text(segment.get("segmentStart")), _text(segment.get("segmentEnd"))
                segments.append(_Segment(
                    p, purpose, _text(segment.get("segmentType")) or "", start, end, _moment(start), _moment(end),
                    _text(segment.get("queueId")), flow_out,
                ))
    return segments


def _span_sum(segments: list[_Segment], what: str) -> tuple[str | None, str | None]:
    """The summed seconds of these segments as text, or None and why not."""
    total = 0.0
    for segment in segments:
        if segment.start is None or segment.end is None:
            return None, f"a {what} segment has no readable segmentStart and segmentEnd (ISO 8601 with an offset)"
        if segment.end < segment.start:
            return None, f"a {what} segment ends before it starts"
        total += (segment.end - segment.start).total_seconds()
    return (f"{total:.3f}" if segments else None), None


class _Reader:
    """Conversations in, canonical call fields out (or None: not a queue call)."""

    def __init__(self, queue_map: dict[str, str]) -> None:
        self._regions = queue_map
        self._folded = {queue.casefold(): region for queue, region in queue_map.items()}

    def row(self, position: int, conversation: object) -> RawRow | None:
        if not isinstance(conversation, dict):
            return RawRow(position, {}, f"conversations[{position - 1}] is not a JSON object")
        call_id = _text(conversation.get("conversationId"))
        if conversation.get("originatingDirection") != "inbound" or not conversation.get("conversationEnd"):
            return None
        try:
            segments = _voice_segments(conversation)
        except _Malformed as exc:
            return RawRow(position, {"call_id": call_id}, f"not a documented conversation: {exc}", key=call_id)
        acd = [s for s in segments if s.purpose == "acd"]
        if not acd:
            return None  # never queued (IVR only, a direct call): not a queue call
        fields: dict[str, str | None] = {"call_id": call_id}
        errors: dict[str, str] = {}
        # A segment whose start cannot be read cannot be ordered: it is the one the rejection names.
        first = next((s for s in acd if s.start is None), None) or min(acd, key=_start)
        _time(first.start_text, first.start, "arrived_at", fields, errors)
        fields["queue"] = first.queue_id
        self._region(first.queue_id, fields, errors)
        after = [s for s in segments if s.start is not None and (first.start is None or s.start >= first.start)]
        answers = sorted((s for s in after if s.purpose == "agent" and s.kind == "interact"), key=_start)
        if answers:
            fields["outcome"] = "answered"
            _time(answers[0].start_text, answers[0].start, "answered_at", fields, errors)
            # an agent segment whose start cannot be read is kept: its span fails, and the field says so
            agent = [s for s in segments if s.participant == answers[0].participant
                     and (s.start is None or first.start is None or s.start >= first.start)]
            for field, kind in (("talk_seconds", "interact"), ("wrap_seconds", "wrapup")):
                fields[field], error = _span_sum([s for s in agent if s.kind == kind], kind)
                if error is not None:
                    errors[field] = error
        else:
            fields["outcome"] = "abandoned"
            last = next((s for s in acd if s.end is None), None) or max(acd, key=lambda s: s.end or _EARLIEST)
            _time(last.end_text, last.end, "ended_at", fields, errors)
            if last.flow_out:
                errors["outcome"] = ("the call left the queue by a flow-out (flowOutType): Genesys counts it "
                                     "neither answered nor abandoned, and it has no canonical outcome")
        return RawRow(position, fields, field_errors=errors or None)

    def _region(self, queue_id: str | None, fields: dict[str, str | None], errors: dict[str, str]) -> None:
        if queue_id is None:
            errors["region"] = "the first acd segment has no queueId: its region cannot be known"
            return
        region = self._regions.get(queue_id) or self._folded.get(queue_id.casefold())
        if region is None:
            errors["region"] = f"queue {queue_id!r} is not in the queue map (VPT_QUEUE_MAP_FILE)"
        fields["region"] = region


def _conversations(stream: IO[str], cap: int) -> list[object]:
    """The conversations of one response, read whole (a JSON document cannot be read in part), so at most ``cap``
    characters of it: a query's page is far smaller (paging, [G1] ``ConversationQuery``)."""
    text = stream.read(cap + 1)
    if len(text) > cap:
        raise FileFormatError(f"the JSON document is longer than {cap} characters (VPT_MAX_UPLOAD_BYTES): deliver "
                              "the query's pages one by one")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}): expected "
                              f"{RESPONSE}") from None
    except RecursionError:
        raise FileFormatError("the JSON is nested too deeply") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise FileFormatError(f"not JSON: {str(exc).split(';')[0][:120]}") from None
    if not isinstance(document, dict) or not isinstance(document.get("conversations", []), list):
        raise FileFormatError(f"expected {RESPONSE}: an object with a list 'conversations'")
    if "conversations" not in document and "totalHits" not in document:
        raise FileFormatError(f"expected {RESPONSE}: no 'conversations' and no 'totalHits'")
    conversations: list[object] = document.get("conversations", [])
    return conversations


def genesys_parser(queue_map: dict[str, str], max_document: int = 100 * 1024 * 1024) -> Parser:
    reader = _Reader(queue_map)

    def parse(stream: IO[str], options: ParseOptions) -> Iterator[ParseResult]:
        rows = (row for position, conversation in enumerate(_conversations(stream, max_document), start=1)
                if (row := reader.row(position, conversation)) is not None)
        return parse_call_rows(rows, options)

    return parse


def _make(settings: Settings) -> Parser:
    """Queue ids mean nothing without the operator's map: no map, no parser (the delivery waits, as queue_log's)."""
    if not settings.queue_map_file:
        raise FormatUnavailable("VPT_QUEUE_MAP_FILE is not set: Genesys queue ids are mapped to regions by it")
    path = Path(settings.queue_map_file)
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            queue_map = read_queue_map(stream)
    except (OSError, QueueMapError) as exc:
        raise FormatUnavailable(f"queue map {path}: {exc}") from exc
    return genesys_parser(queue_map, settings.max_upload_bytes)


GENESYS_CONVERSATIONS = IngestFormat(
    name="genesys-conversations", record_kind="calls", make_parser=_make,
    summary="Genesys Cloud conversation details (analytics details query response), voice inbound, queue ids "
            "mapped to regions by VPT_QUEUE_MAP_FILE",
)
