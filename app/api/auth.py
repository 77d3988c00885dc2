"""Who is calling, and may they? The seam for API keys and scopes.

**For now there is no authentication: every request is admitted as the anonymous principal holding all
scopes.** Anyone who can reach the API can push data and read everything. A later issue adds API keys that
map to a principal with its own scopes; the endpoints already declare the scope they need through
``require_scope``, so only this module will change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Scope = Literal["read", "ingest", "admin"]
ALL_SCOPES: frozenset[Scope] = frozenset({"read", "ingest", "admin"})


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    scopes: frozenset[Scope]


ANONYMOUS = Principal(name="anonymous", scopes=ALL_SCOPES)


def require_scope(scope: Scope) -> Callable[[], Principal]:
    """A dependency admitting callers that hold ``scope``. Today it admits everyone (see the module docstring)."""

    def dependency() -> Principal:
        # The later issue: read the API key, look up its principal, answer 401 without one and 403 when
        # ``scope not in principal.scopes``.
        return ANONYMOUS

    dependency.__name__ = f"require_scope_{scope}"
    return dependency
