"""The staffing tests' stored history (``tests/staffing/history.py``), on each database of ``settings``."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from tests.helpers import ingest_text
from tests.staffing.history import calls_csv


@pytest.fixture
def stored(settings: Settings, session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    report = ingest_text(session_factory, settings, "calls", calls_csv())
    assert report.rows_rejected == 0, report
    return session_factory
