"""One source row in, the canonical fields of one record out (a ``RawRow``), as the profile says.

Values are computed on demand and remembered for the row, so a field may use an input or another field (``expr``,
a case's ``when``) in any order the profile writes them; the loader refused cycles. A field whose conversion
fails carries the reason in ``RawRow.field_errors`` and the canonical parser rejects or (optional fields, once
warnings exist) drops it as it would a bad canonical value. Only mapped canonical fields enter the row: nothing
else the source held (a caller's number in another column) goes further.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from app.ingest.profiles.containers import CsvRecord, Record
from app.ingest.profiles.convert import Step, compiled, typed
from app.ingest.profiles.expr import evaluate
from app.ingest.profiles.fastpaths import stockholm_reader, stockholm_text
from app.ingest.profiles.model import (
    INTERVAL_DEFAULTS,
    STOCKHOLM_ZONE,
    TIMESTAMP_FIELDS,
    Condition,
    Convert,
    Profile,
    Source,
)
from app.ingest.profiles.values import ConversionError, Stamp, Value, number_text, value_text
from app.ingest.rows import RawRow

_PENDING = object()
_Getter = Callable[[Record], str | None]


class Mapper:
    """Maps the rows of one delivery; ``decimal_comma`` is the file's (a ``;`` CSV's by default).

    What can be decided once is decided here, not per row: each convert's steps (``convert.compiled``), and for a
    field read from one column a getter that needs no memo (nothing refers to a column's value but through its
    field or input, which the memo of ``_Row`` computes on its own). Fields of other sources, and filters on inputs,
    go through ``_Row``, made only for a row that needs one."""

    def __init__(self, profile: Profile, decimal_comma: bool) -> None:
        self.profile = profile
        self.decimal_comma = decimal_comma
        self.sources: Mapping[str, Source] = {**profile.inputs, **profile.fields}
        self.defaults = {f: v for f, v in INTERVAL_DEFAULTS.items()
                         if profile.record_kind == "intervals" and f not in profile.fields}
        self.required_inputs = [name for name, s in profile.inputs.items() if s.convert.required]
        self.steps: dict[int, Step] = {}
        self.identity: set[int] = set()
        for source in self.sources.values():
            self._compile(source)
        #: fields read from one column as they are (an identity profile's every field), by column name
        self.plain = {f: s.names[0] for f, s in profile.fields.items() if s.kind == "column" and s.convert.is_identity}
        self.generic: list[tuple[str, int | None, _Getter | None]] = [
            (name, None, self._getter(name, source)) for name, source in profile.fields.items()]
        self._plan_index: dict[str, int] | None = None
        self._csv_plan = self.generic
        self.filter_inputs = any(c.name in profile.inputs for c in profile.filters)

    def _compile(self, source: Source) -> None:
        self.steps[id(source.convert)] = compiled(source.convert, self.decimal_comma)
        if source.convert.is_identity:
            self.identity.add(id(source.convert))
        for case in source.cases:
            self._compile(case.source)

    def _getter(self, name: str, source: Source) -> _Getter | None:
        """A field read from one column: the column's text as it is (no conversion), or converted; None: the field
        needs ``_Row``."""
        if source.kind != "column":
            return None
        column = source.names[0]
        if source.convert.is_identity:  # an identity profile's every field: no computing at all
            def plain(record: Record) -> str | None:
                return record.get(column)

            return plain
        step = self.steps[id(source.convert)]
        timestamp = name in TIMESTAMP_FIELDS

        def converted(record: Record) -> str | None:
            text = record.get(column)
            if text is None or not text.strip():
                return None
            value = step(text)
            if isinstance(value, str):
                return value
            if isinstance(value, Stamp):
                return stockholm_text(value.moment) if timestamp and value.local else value.text()
            if timestamp:
                raise ConversionError("a number where a timestamp is expected")
            return number_text(value)

        convert = source.convert
        if convert.map is not None and convert.timestamp in (None, "iso") and convert.zone == STOCKHOLM_ZONE \
                and convert.duration in (None, "s") and convert.scale is None:
            return _mapped_getter(column, convert, converted)  # a map alone: its text passes on as it is
        fast = stockholm_reader(convert.timestamp) if (
            timestamp and convert.timestamp not in (None, "iso", "epoch_s", "epoch_ms")
            and convert.zone == STOCKHOLM_ZONE and convert.map is None and convert.duration is None
            and convert.scale is None) else None
        if fast is None:
            return converted
        read = fast

        def wall_time(record: Record) -> str | None:
            """A Stockholm wall time of the pattern's strict shape read from its digits (fastpaths), else as above."""
            text = record.get(column)
            if text is None:
                return None
            trimmed = text.strip()
            if not trimmed:
                return None
            found = read(trimmed)
            return found if found is not None else converted(record)

        return wall_time

    def keep(self, record: Record) -> bool:
        """Whether the row passes every filter (a row that does not is skipped, not rejected). A filter's
        ``column`` may name an input: its text as converted (a channel mapped to one word, say)."""
        if not self.profile.filters:
            return True
        text_of: Callable[[str], str]
        if self.filter_inputs:
            row = _Row(self, record)
            inputs = self.profile.inputs

            def text_of(name: str) -> str:
                return row.text(name) if name in inputs else _column_text(record, name)
        else:
            def text_of(name: str) -> str:
                return _column_text(record, name)

        for condition in self.profile.filters:
            try:
                if not _holds(condition, record, text_of):
                    return False
            except ConversionError:  # an object where a text is tested, or an input that cannot be read: no match
                return False
        return True

    def _plan(self, record: Record) -> list[tuple[str, int | None, _Getter | None]]:
        """The getters, a CSV file's plain columns as their positions (one per file: its rows share one index)."""
        if not isinstance(record, CsvRecord):
            return self.generic
        if record.index is not self._plan_index:
            index = self._plan_index = record.index
            plan: list[tuple[str, int | None, _Getter | None]] = []
            for name, _at, getter in self.generic:
                at = index.get(self.plain[name]) if name in self.plain else None  # a missing column: its getter
                plan.append((name, at, None if at is not None else getter))
            self._csv_plan = plan
        return self._csv_plan

    def map(self, position: int, record: Record) -> RawRow:
        row: _Row | None = None
        fields: dict[str, str | None] = {}
        errors: dict[str, str] | None = None
        values = record.values if isinstance(record, CsvRecord) else []
        for name, at, getter in self._plan(record):
            if at is not None:
                fields[name] = values[at]
                continue
            try:
                if getter is not None:
                    fields[name] = getter(record)
                    continue
                if row is None:
                    row = _Row(self, record)
                value = row.value(name)
                fields[name] = None if value is None else _field_text(name, value)
            except ConversionError as exc:
                fields[name] = None
                if errors is None:
                    errors = {}
                errors[name] = str(exc)
        if self.defaults:
            fields.update(self.defaults)
        minutes = fields.get("interval_minutes")
        if minutes is not None and minutes.strip().lower() in ("day", "month"):
            fields["interval_minutes"] = "1440" if minutes.strip().lower() == "day" else "month"
        for name in self.required_inputs:
            if row is None:
                row = _Row(self, record)
            try:
                value = row.value(name)
                missing = value is None or (isinstance(value, str) and not value.strip())
                reason = f"{name} is required (an input of profile {self.profile.name})"
            except ConversionError as exc:
                missing, reason = True, f"{name}: {exc}"
            if missing:
                return RawRow(position, fields, reason, name, decimal_comma=self.decimal_comma,
                              field_errors=errors)
        return RawRow(position, fields, decimal_comma=self.decimal_comma, field_errors=errors)

    def text(self, record: Record, name: str) -> str:
        """The trimmed text of a column (chain links, dedupe keys); "" when it has none."""
        try:
            return (record.get(name) or "").strip()
        except ConversionError:
            return ""


def _mapped_getter(column: str, convert: Convert, converted: _Getter) -> _Getter:
    """A column through a map and nothing that changes the mapped text (``timestamp = "iso"`` in Stockholm time,
    ``duration = "s"``): a text the map has is the field's text; any other goes the general way (``converted``),
    which keeps it, gives the default or words the error."""
    assert convert.map is not None
    table = dict(convert.map)
    insensitive = convert.map_insensitive

    def mapped(record: Record) -> str | None:
        text = record.get(column)
        if text is None:
            return None
        key = text.strip()
        found = table.get(key.lower() if insensitive else key) if key else None
        return found if found is not None else converted(record)

    return mapped


def _field_text(name: str, value: Value) -> str:
    if name in TIMESTAMP_FIELDS:
        if isinstance(value, float):
            raise ConversionError("a number where a timestamp is expected")
        if isinstance(value, Stamp) and value.local:
            return stockholm_text(value.moment)
    return value_text(value)


def _column_text(record: Record, name: str) -> str:
    return (record.get(name) or "").strip()


def _holds(condition: Condition, record: Record, text_of: Callable[[str], str]) -> bool:
    if condition.test == "present":
        return record.present(condition.name)
    if condition.test == "absent":
        return not record.present(condition.name)
    text = text_of(condition.name)
    if condition.test == "in":
        return text in condition.values
    if condition.test == "not_in":
        return text not in condition.values
    assert condition.pattern is not None
    return condition.pattern.fullmatch(text) is not None


class _Row:
    """One row's values, computed once each."""

    def __init__(self, mapper: Mapper, record: Record) -> None:
        self.mapper = mapper
        self.record = record
        self.memo: dict[str, tuple[Value | None, Convert] | ConversionError | object] = {}

    def value(self, name: str) -> Value | None:
        return self._get(name)[0]

    def _get(self, name: str) -> tuple[Value | None, Convert]:
        found = self.memo.get(name)
        if isinstance(found, ConversionError):
            raise found
        if found is _PENDING:  # refused when the profile was loaded; a guard all the same
            raise ConversionError(f"{name} refers to itself")
        if found is not None:
            return found  # type: ignore[return-value]
        self.memo[name] = _PENDING
        try:
            result = self._source(self.mapper.sources[name])
        except ConversionError as exc:
            self.memo[name] = exc
            raise
        self.memo[name] = result
        return result

    def _typed(self, name: str) -> Value | None:
        try:
            value, convert = self._get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                return None  # an empty column has no value: neither has the expression
            return typed(value, convert, self.mapper.decimal_comma)
        except ConversionError as exc:
            raise ConversionError(f"{name}: {exc}") from None

    def text(self, name: str) -> str:
        """What a ``when`` tests: a field's or input's value, else a column's text."""
        if name in self.mapper.sources:
            value = self.value(name)
            return "" if value is None else value_text(value).strip()
        return _column_text(self.record, name)

    def _source(self, source: Source) -> tuple[Value | None, Convert]:
        convert = source.convert
        if source.kind == "cases":
            for case in source.cases:
                if all(_holds(c, self.record, self.text) for c in case.conditions):
                    return self._source(case.source)
            return None, convert
        value: Value | None
        if source.kind == "column":
            value = self.record.get(source.names[0])
            if value is not None and id(convert) in self.mapper.identity:
                return value, convert  # as it was written, blanks too: the canonical parser reads it
        elif source.kind == "columns":
            texts = [t for t in (_column_text(self.record, n) for n in source.names) if t]
            value = " ".join(texts) if texts else None
        elif source.kind == "first_of":
            value = next((t for t in (_column_text(self.record, n) for n in source.names) if t), None)
        elif source.kind == "value":
            value = source.constant
        else:
            assert source.expr is not None
            value = evaluate(source.expr, self._typed, self.mapper.decimal_comma)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None, convert
        return self.mapper.steps[id(convert)](value), convert

