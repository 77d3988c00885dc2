"""What becomes of a row that cannot be stored whole: a ``Rejection`` (not stored) or a ``FieldWarning`` (stored
without a bad optional field), each made safe once, when it is made, for every place it goes to.

Reading rows lives apart: splitting a stream into rows in app.ingest.lines, the checks of one value in
app.ingest.fields. The names below from those modules are re-exported because the import profiles
(app.ingest.profiles) import them from here; new code imports them from their homes.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.ingest.fields import EARLIEST_YEAR as EARLIEST_YEAR
from app.ingest.fields import LATEST_YEAR as LATEST_YEAR
from app.ingest.fields import bad_char_reason as bad_char_reason
from app.ingest.lines import BoundedLines as BoundedLines
from app.ingest.lines import FileFormatError as FileFormatError
from app.ingest.lines import LineTooLong as LineTooLong
from app.ingest.lines import RawRow as RawRow
from app.sanitize import clean, clean_optional

#: The widths of ``rejected_rows``' columns: a rejection is cut to them when it is made.
KEY_WIDTH, FIELD_WIDTH, REASON_WIDTH, RAW_WIDTH = 256, 64, 512, 4096


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row that could not be stored. Every text in it may hold what the input held, and goes on to a database,
    a JSON response, a report file and a log: it is made safe here, once, when the rejection is made."""

    position: int  # line number, header = 1
    record_key: str | None
    field: str | None
    reason: str
    raw: str = ""  # the canonical fields that could be read; never free text of a line that did not parse

    def __post_init__(self) -> None:
        object.__setattr__(self, "record_key", clean_optional(self.record_key, KEY_WIDTH))
        object.__setattr__(self, "field", clean_optional(self.field, FIELD_WIDTH))
        object.__setattr__(self, "reason", clean(self.reason, REASON_WIDTH))
        object.__setattr__(self, "raw", clean(self.raw, RAW_WIDTH))

    def describe(self) -> str:
        where = f"line {self.position}"
        if self.record_key:
            where += f" ({self.record_key})"
        return f"{where}, field {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class FieldWarning:
    """A bad optional field of a record that was stored without it (SPEC §3). Kept like a ``Rejection`` but with no
    raw text: the record itself is stored, and the reason quotes a bad value only as the field readers do (digit
    runs withheld). Made safe here, once, as a rejection is."""

    position: int  # line number, header = 1
    record_key: str | None
    field: str
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "record_key", clean_optional(self.record_key, KEY_WIDTH))
        object.__setattr__(self, "field", clean(self.field, FIELD_WIDTH))
        object.__setattr__(self, "reason", clean(self.reason, REASON_WIDTH))

    def describe(self) -> str:
        where = f"line {self.position}" + (f" ({self.record_key})" if self.record_key else "")
        return f"{where}, field {self.field}: {self.reason} (stored without it)"
