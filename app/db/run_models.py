"""What an ingest run keeps besides its records and rejected rows: the warnings of records stored without a bad
optional field (SPEC §3). Apart from ``models`` so that module stays readable; registered on the same metadata."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models import Base, BigId


class IngestWarning(Base):
    """An optional field left out of a stored record, and why: the record is stored, the run counts the warning.

    Unlike a rejected row it keeps no text of the row: the record itself is stored, and the reason quotes a bad
    value only as the parsers' rejections do (digit runs withheld).
    """

    __tablename__ = "ingest_warnings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("ingest_runs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # line number, header = 1
    record_key: Mapped[str | None] = mapped_column(String(256))  # call_id, or region/queue/interval_start
    field: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(512))
