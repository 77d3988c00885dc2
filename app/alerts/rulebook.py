"""Which thresholds apply to which scope: rule defaults, overridden per rule and per scope from a TOML file.

    [rules.fast_slip]            # every scope
    min_calls = 30
    [rules.fast_slip.scopes.SE-Z]   # Jämtland Härjedalen: fewer calls, so a smaller minimum
    min_calls = 15
    [rules.data_stale.scopes.platform]   # for data_stale the scope is a source name
    max_age_minutes = 20

Unknown rules and keys are errors naming the table, not silently ignored settings.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from app.alerts.rules import RULE_SETTINGS, RuleSettings


class RuleConfigError(ValueError):
    pass


@dataclass(frozen=True)
class RuleBook:
    defaults: dict[str, RuleSettings] = field(default_factory=lambda: {r: cls() for r, cls in RULE_SETTINGS.items()})
    overrides: dict[tuple[str, str], RuleSettings] = field(default_factory=dict)

    def settings(self, rule: str, scope: str) -> Any:
        return self.overrides.get((rule, scope)) or self.defaults[rule]

    def __call__(self, rule: str, scope: str) -> Any:
        return self.settings(rule, scope)


def _apply(base: RuleSettings, values: dict[str, Any], where: str) -> RuleSettings:
    known = {f.name: f for f in fields(base)}
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if name not in known:
            raise RuleConfigError(f"{where}: unknown setting {name!r} (known: {', '.join(sorted(known))})")
        current = getattr(base, name)
        if isinstance(current, bool) or name == "enabled":
            if not isinstance(value, bool):
                raise RuleConfigError(f"{where}.{name}: expected true or false")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise RuleConfigError(f"{where}.{name}: expected a number")
        elif value < 0:
            raise RuleConfigError(f"{where}.{name}: must not be negative")
        if name in ("hours", "min_calls") and (not isinstance(value, int) or value < 1):
            raise RuleConfigError(f"{where}.{name}: expected a whole number of at least 1")
        if name == "min_offered" and not isinstance(value, int):
            raise RuleConfigError(f"{where}.{name}: expected a whole number")
        changes[name] = value
    return replace(base, **changes)


def rulebook_from_mapping(data: dict[str, Any]) -> RuleBook:
    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        raise RuleConfigError("rules: expected a table")
    defaults = {rule: cls() for rule, cls in RULE_SETTINGS.items()}
    scoped: dict[tuple[str, str], dict[str, Any]] = {}
    for rule, table in rules.items():
        where = f"rules.{rule}"
        if rule not in RULE_SETTINGS:
            raise RuleConfigError(f"{where}: unknown rule (known: {', '.join(sorted(RULE_SETTINGS))})")
        if not isinstance(table, dict):
            raise RuleConfigError(f"{where}: expected a table")
        own = {k: v for k, v in table.items() if k != "scopes"}
        defaults[rule] = _apply(defaults[rule], own, where)
        scopes = table.get("scopes", {})
        if not isinstance(scopes, dict):
            raise RuleConfigError(f"{where}.scopes: expected a table of scopes")
        for scope, values in scopes.items():
            if not isinstance(values, dict):
                raise RuleConfigError(f"{where}.scopes.{scope}: expected a table")
            scoped[(rule, scope)] = values
    overrides = {(rule, scope): _apply(defaults[rule], values, f"rules.{rule}.scopes.{scope}")
                 for (rule, scope), values in scoped.items()}
    return RuleBook(defaults, overrides)


def load_rulebook(path: str | Path | None) -> RuleBook:
    if path is None:
        return RuleBook()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RuleConfigError(f"{path}: {exc}") from exc
    return rulebook_from_mapping(data)
