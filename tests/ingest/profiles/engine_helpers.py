"""Helpers of the engine tests: a profile from TOML text, and a delivery read through it as the loader reads one."""

from __future__ import annotations

import io
import tomllib
from datetime import UTC, datetime

from app.config import Settings
from app.ingest.parsers import Parsed, ParseOptions, ParseResult
from app.ingest.profiles import Profile, ProfileParser, profile_parser
from app.ingest.profiles.validate import build_profile
from app.ingest.rows import Rejection
from app.kpi.records import CallRecord, IntervalRecord
from app.kpi.reference import REGIONS

OPTIONS = ParseOptions(frozenset(code for code, _, _ in REGIONS), now=datetime(2030, 1, 1, tzinfo=UTC))
SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]

CALLS_HEAD = """
[profile]
name = "test-calls"
title = "Test calls"
record = "calls"
"""
INTERVALS_HEAD = """
[profile]
name = "test-intervals"
title = "Test intervals"
record = "intervals"
"""


def profile(text: str, origin: str = "test.toml") -> Profile:
    return build_profile(tomllib.loads(text), origin=origin, builtin=False)


def calls_profile(body: str) -> Profile:
    return profile(CALLS_HEAD + body)


def intervals_profile(body: str) -> Profile:
    return profile(INTERVALS_HEAD + body)


def run(chosen: Profile, content: str | bytes, settings: Settings = SETTINGS,
        options: ParseOptions = OPTIONS) -> tuple[list[ParseResult], ProfileParser]:
    """The results of a delivery read as ``ingest_stream`` reads it: bytes through a UTF-8 text stream."""
    data = content.encode() if isinstance(content, str) else content
    stream = io.TextIOWrapper(io.BufferedReader(io.BytesIO(data)), encoding="utf-8-sig", errors="replace", newline="")
    parser = profile_parser(chosen, settings)
    return list(parser(stream, options)), parser


def calls(results: list[ParseResult]) -> list[CallRecord]:
    out = []
    for result in results:
        assert isinstance(result, Parsed), result
        assert isinstance(result.record, CallRecord)
        out.append(result.record)
    return out


def intervals(results: list[ParseResult]) -> list[IntervalRecord]:
    out = []
    for result in results:
        assert isinstance(result, Parsed), result
        assert isinstance(result.record, IntervalRecord)
        out.append(result.record)
    return out


def rejections(results: list[ParseResult]) -> list[Rejection]:
    return [r for r in results if isinstance(r, Rejection)]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
