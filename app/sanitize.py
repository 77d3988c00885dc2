"""The one sanitiser for text that came from input, applied before it is stored, logged, printed or returned.

Input text reaches places that interpret characters: a database (PostgreSQL refuses NUL, neither driver encodes a
lone surrogate), a JSON response (a lone surrogate cannot be encoded as UTF-8), a log line (a newline forges a
second entry), a terminal (escape sequences, C1 controls such as U+009B CSI) and Rich markup (``[link=...]``).
``clean`` writes every such character as a visible backslash escape, so an auditor still sees what was sent and
nothing downstream can fail on it or be steered by it; ``for_terminal`` also escapes Rich markup.
"""

from __future__ import annotations

import re

from rich.markup import escape as _escape_markup

#: C0 controls but tab, DEL and the C1 range, lone surrogates, and the bidirectional overrides and isolates that
#: reorder what a reader sees (a "Trojan Source" reason or key).
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def clean(text: str, limit: int | None = None) -> str:
    """``text`` with every unsafe character written as ``\\xNN`` or ``\\uNNNN``, cut to ``limit`` characters."""
    if _UNSAFE.search(text) is not None:
        text = _UNSAFE.sub(_escaped, text)
    return text if limit is None else text[:limit]


#: Six or more digits, maybe spaced or dashed: could be a phone or personal identity number that slipped into a
#: field a rejection quotes. Never kept (SPEC §3), so a reason shows the value's shape without them.
_DIGIT_RUN = re.compile(r"\+?[0-9](?:[ -]?[0-9]){5,}")
WITHHELD = "[digits removed]"


def withhold_digits(text: str) -> str:
    """``text`` with every run of digits that could identify a caller replaced by ``[digits removed]``."""
    return _DIGIT_RUN.sub(WITHHELD, text)


def clean_optional(text: str | None, limit: int | None = None) -> str | None:
    return None if text is None else clean(text, limit)


def for_terminal(text: object) -> str:
    """Text from input as a Rich console prints it literally: no markup, no hyperlink, no escape sequence."""
    return _escape_markup(clean(str(text)))


def has_unsafe(text: str) -> bool:
    return _UNSAFE.search(text) is not None
