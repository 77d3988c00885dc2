"""A profile's effective document (after ``extends``) written back as TOML, for ``vpt profiles show``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from app.ingest.profiles.model import Profile

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key(key: str) -> str:
    return key if _BARE.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def to_toml(document: Mapping[str, Any]) -> str:
    """TOML for a document of scalars, tables (one level as sections, deeper ones inline) and arrays of tables."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in document.items()
             if not isinstance(v, Mapping) and not _is_tables(v)]
    for key, value in document.items():
        if isinstance(value, Mapping):
            lines += ["", f"[{_key(key)}]"] + [f"{_key(k)} = {_value(v)}" for k, v in value.items()]
        elif _is_tables(value):
            for table in value:
                lines += ["", f"[[{_key(key)}]]"] + [f"{_key(k)} = {_value(v)}" for k, v in table.items()]
    return "\n".join(lines).strip() + "\n"


def profile_toml(profile: Profile) -> str:
    return to_toml(profile.document)
