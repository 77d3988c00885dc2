"""The formats vpt-monitor reads itself (SPEC §3), registered like a plugin's through their ``vpt.formats`` entry
points (app.ingest.formats): the canonical call and interval records as CSV and as JSON Lines, and Asterisk
queue_log with its queue → region map.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from app.config import Settings
from app.ingest.formats import FormatUnavailable, IngestFormat, ParserFactory
from app.ingest.loader import Parser
from app.ingest.parsers import Format, Parsed, ParseOptions, ParseResult, parse_calls, parse_intervals
from app.ingest.queue_log import QueueLogOptions, parse_queue_log
from app.ingest.queue_map import QueueMapError, read_queue_map
from app.ingest.rows import Rejection

CSV_SUFFIXES = (".csv",)
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
CSV_MEDIA_TYPES = ("text/csv", "application/csv")
JSONL_MEDIA_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/json-lines")

CanonicalParse = Callable[[IO[str], Format, ParseOptions], Iterator[ParseResult]]


def _canonical(parse: CanonicalParse, fmt: Format) -> ParserFactory:
    def make(_: Settings) -> Parser:
        def parser(stream: IO[str], options: ParseOptions) -> Iterator[ParseResult]:
            return parse(stream, fmt, options)

        parser.canonical = (parse, fmt)  # type: ignore[attr-defined]  # app.ingest.loader.is_calls_csv reads it
        return parser

    return make


CALLS_CSV = IngestFormat(
    name="calls-csv", record_kind="calls", make_parser=_canonical(parse_calls, "csv"),
    summary="Call records, canonical columns, CSV with a header", suffixes=CSV_SUFFIXES,
    media_types=CSV_MEDIA_TYPES, drop_folder="calls", cli_command="calls",
    example="call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,"
            "wrap_seconds\nc001,SE-AC,vpt,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:05:00+02:00,"
            "2025-10-01T08:11:40+02:00,SE-AC,400,120\n",
)
CALLS_JSONL = IngestFormat(
    name="calls-jsonl", record_kind="calls", make_parser=_canonical(parse_calls, "jsonl"),
    summary="Call records, canonical fields, JSON Lines", suffixes=JSONL_SUFFIXES,
    media_types=JSONL_MEDIA_TYPES, drop_folder="calls", cli_command="calls",
    example='{"call_id": "c001", "region": "SE-AC", "queue": "vpt", "arrived_at": "2025-10-01T08:00:00+02:00", '
            '"outcome": "abandoned", "ended_at": "2025-10-01T08:04:00+02:00"}\n',
)
INTERVALS_CSV = IngestFormat(
    name="intervals-csv", record_kind="intervals", make_parser=_canonical(parse_intervals, "csv"),
    summary="Interval records, canonical columns, CSV with a header", suffixes=CSV_SUFFIXES,
    media_types=CSV_MEDIA_TYPES, drop_folder="intervals", cli_command="intervals",
    example="region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
            "answered_within_sl,sl_seconds,wait_answered_seconds_sum\n"
            "SE-Z,vpt,2025-10-01T08:00:00+02:00,15,4,3,1,0,0,2,600,900\n",
)
INTERVALS_JSONL = IngestFormat(
    name="intervals-jsonl", record_kind="intervals", make_parser=_canonical(parse_intervals, "jsonl"),
    summary="Interval records, canonical fields, JSON Lines", suffixes=JSONL_SUFFIXES,
    media_types=JSONL_MEDIA_TYPES, drop_folder="intervals", cli_command="intervals",
    example='{"region": "SE-Z", "queue": "vpt", "interval_start": "2025-10-01T08:15:00+02:00", '
            '"interval_minutes": 15, "offered": 2, "answered": 2, "abandoned": 0, "abandoned_short": 0, '
            '"rejected": 0, "answered_within_sl": 2, "sl_seconds": 600}\n',
)


def queue_log_parser(map_path: Path) -> Parser:
    """Asterisk queue_log with queue names mapped to regions by a ``queue,region`` CSV (SPEC §3). An unreadable
    map is ``FormatUnavailable``: no log can be read until it is fixed, whatever the log."""
    try:
        with map_path.open(encoding="utf-8-sig", newline="") as stream:
            queue_map = read_queue_map(stream)
    except (OSError, QueueMapError) as exc:
        raise FormatUnavailable(f"queue map {map_path}: {exc}") from exc

    def parse(stream: IO[str], options: ParseOptions) -> Iterator[Parsed | Rejection]:
        return parse_queue_log(stream, QueueLogOptions(
            queue_map, options.known_regions, options.max_field_length, options.max_line_length))

    return parse


def _queue_log(settings: Settings) -> Parser:
    if not settings.queue_map_file:
        raise FormatUnavailable("VPT_QUEUE_MAP_FILE is not set")
    return queue_log_parser(Path(settings.queue_map_file))


QUEUE_LOG = IngestFormat(
    name="queue-log", record_kind="calls", make_parser=_queue_log,
    summary="Asterisk queue_log, queues mapped to regions by VPT_QUEUE_MAP_FILE (vpt ingest queue-log: --queue-map)",
    suffixes=(".log", ".txt", ""), drop_folder="queue-log", cli_command="queue-log",
)
