"""Reporting what is wrong with a profile: every error names the file, the dotted key and why."""

from __future__ import annotations

from typing import Any, NoReturn, cast

from app.ingest.profiles.model import ProfileError
from app.sanitize import clean

MAX_TEXT = 256


class Check:
    """Where errors are reported: ``fail`` raises a ``ProfileError`` naming the file and the key."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, key: str, why: str) -> NoReturn:
        raise ProfileError(clean(f"{self.origin}: {key}: {why}", 1000))

    def table(self, value: object, key: str, allowed: tuple[str, ...] | None = None) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(key, f"must be a table, not {kind_of(value)}")
        if allowed is not None:
            for name in value:
                if name not in allowed:
                    self.fail(f"{key}.{name}" if key else name, f"unknown key (allowed: {', '.join(allowed)})")
        return cast(dict[str, Any], value)

    def text(self, value: object, key: str, limit: int = MAX_TEXT, *, empty: bool = False) -> str:
        if not isinstance(value, str):
            self.fail(key, f"must be a string, not {kind_of(value)}")
        if not empty and not value.strip():
            self.fail(key, "must not be empty")
        if len(value) > limit:
            self.fail(key, f"longer than {limit} characters")
        return value

    def texts(self, value: object, key: str, *, empty: bool = False) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.fail(key, f"must be a list of strings, not {kind_of(value)}")
        if not value and not empty:
            self.fail(key, "must not be empty")
        return tuple(self.text(item, f"{key}[{i}]") for i, item in enumerate(value))


def kind_of(value: object) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def constant_text(value: object) -> str | None:
    """A TOML constant as the text a column would hold: booleans as true/false, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return None
