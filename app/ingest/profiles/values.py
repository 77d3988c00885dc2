"""The typed values a profile's sources produce, and their canonical text.

A value is text (what a column held, or a map gave), a number (seconds of a duration, a scaled or computed
number) or a ``Stamp``. Text passes on as it was read, so the canonical parser checks exactly what the source
held; only what a conversion made is written anew here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from app.kpi.localtime import NonexistentLocalTime, local_to_utc, resolve_after
from app.sanitize import withhold_digits


class ConversionError(ValueError):
    """A value a conversion could not make: the reason becomes the field's error (``RawRow.field_errors``)."""


@dataclass(frozen=True, slots=True)
class Stamp:
    """A moment: aware, or naive meaning Europe/Stockholm wall time, which the canonical parser resolves by SPEC §3
    (the repeated autumn hour in file order)."""

    moment: datetime

    @property
    def local(self) -> bool:
        return self.moment.tzinfo is None

    def instant(self, not_before: datetime | None = None) -> datetime:
        """The UTC instant; a naive time in the repeated hour is read as its first occurrence, or, given
        ``not_before``, as the first reading at or after it (as the canonical parser reads an answer or a hang-up)."""
        if not self.local:
            return self.moment.astimezone(UTC)
        try:
            if not_before is not None:
                return resolve_after(self.moment, not_before)
            return local_to_utc(self.moment)
        except NonexistentLocalTime:
            raise ConversionError(
                f"local time does not exist (spring-forward gap): {self.moment.isoformat()}") from None

    def text(self) -> str:
        return self.moment.isoformat()


Value = str | float | Stamp

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]*,[0-9]+")


def quoted(text: str) -> str:
    """A source value as an error quotes it: it may be a caller's number in the wrong column."""
    return repr(withhold_digits(text.strip()[:64]))


def parse_number(text: str, decimal_comma: bool) -> float:
    """A number as exports write it (ASCII digits; a decimal comma where the profile's decimal is ",")."""
    value = text.strip()
    if decimal_comma and _DECIMAL_COMMA.fullmatch(value) is not None:
        value = value.replace(",", ".")
    if _DECIMAL.fullmatch(value) is None:
        point = "a decimal point or comma" if decimal_comma else "a decimal point"
        raise ConversionError(f"not a number: {quoted(text)} (digits 0-9 and {point})")
    number = float(value)
    if not math.isfinite(number):
        raise ConversionError(f"not a finite number: {quoted(text)}")
    return number


def number_text(number: float) -> str:
    """A number as canonical text: whole numbers without a fraction (counts stay counts), others exactly."""
    if not math.isfinite(number):
        raise ConversionError("not a finite number")
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


def value_text(value: Value) -> str:
    if isinstance(value, Stamp):
        return value.text()
    if isinstance(value, float):
        return number_text(value)
    return value


def as_number(value: Value, decimal_comma: bool) -> float:
    if isinstance(value, Stamp):
        raise ConversionError("a timestamp where a number is needed")
    if isinstance(value, float):
        return value
    return parse_number(value, decimal_comma)
