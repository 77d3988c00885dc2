"""A profile that reads UTF-16 (as some Windows exports are saved) is not refused by the loader's byte-order-mark
check, which still refuses UTF-16 for every reader that reads UTF-8 (app.ingest.loader.check_encoding)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.models import Call
from app.ingest.loader import IngestError
from app.ingest.profiles import profile_parser
from app.ingest.service import ingest_file
from tests.ingest.profiles.engine_helpers import calls_profile

PROFILE = calls_profile("""
[container]
type = "csv"
delimiter = ";"
encoding = "utf-16"
[fields]
call_id = "Id"
region = "Region"
arrived_at = "Ankomst"
outcome = { column = "Utfall", map = { "Besvarad" = "answered", "Avbruten" = "abandoned" } }
answered_at = "Besvarad"
ended_at = "Slut"
""")
TEXT = ("Id;Region;Ankomst;Utfall;Besvarad;Slut\r\n"
        "u1;SE-Z;2025-10-01T08:00:00+02:00;Besvarad;2025-10-01T08:04:00+02:00;\r\n"
        "u2;SE-Z;2025-10-01T08:10:00+02:00;Avbruten;;2025-10-01T08:11:30+02:00\r\n")


def test_a_utf16_profile_ingests_a_utf16_file(session_factory, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(TEXT.encode("utf-16"))  # with its byte-order mark
    report = ingest_file(session_factory, settings, "calls", path, parser=profile_parser(PROFILE, settings))
    assert (report.rows_read, report.rows_stored, report.rows_rejected) == (2, 2, 0)
    with session_factory() as session:
        calls = {c.call_id: c for c in session.scalars(select(Call))}
    assert calls["u1"].outcome == "answered" and calls["u2"].outcome == "abandoned"
    assert calls["u2"].wait_ms == 90_000


def test_a_utf8_reader_still_refuses_a_utf16_file(session_factory, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_bytes("call_id,region,arrived_at,outcome\n".encode("utf-16"))
    with pytest.raises(IngestError, match="UTF-16-encoded"):
        ingest_file(session_factory, settings, "calls", path)
