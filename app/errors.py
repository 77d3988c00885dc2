"""The one base of every domain error: a condition the product expects (bad input, a busy lock, a conflict with
what is stored), not a bug.

A ``VptError`` carries what every entry point needs to answer it without knowing the class: a stable ``code``
(the API's ``error`` value, which clients and tests match on, so a code never changes once shipped), the HTTP
``status_code`` it means, and a message safe to show to whoever caused it: it names the input at fault and what
to do, never a secret, a statement or a server's internals. The API renders any of them as
``{"error": code, "detail": message}`` (``app.api.errors``); the CLI prints the message on one line and exits 1
(``app.cli.base``). Both pass the message through the sanitiser, since it may quote input.

A subclass may also derive from ``ValueError`` or ``LookupError`` where callers already catch those. Imports
nothing of the app: every layer may raise these.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, Self


class VptError(Exception):
    """A domain error; subclasses set ``code`` and ``status_code`` (or inherit their parent's)."""

    code: ClassVar[str]
    status_code: ClassVar[int]
    #: A sentence of the command line's catalogue (``app.cli.messages``) that says this error in the run's language,
    #: and its values (``keyed``); None: the command line shows the English ``message``, as the API always does.
    message_key: str | None = None
    message_params: Mapping[str, object] = MappingProxyType({})

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        code = getattr(cls, "code", None)
        status = getattr(cls, "status_code", None)
        if not isinstance(code, str) or not code:
            raise TypeError(f"{cls.__name__} needs an error code (the API's `error` value)")
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise TypeError(f"{cls.__name__} needs an HTTP error status, got {status!r}")

    def keyed(self, key: str, /, **params: object) -> Self:
        """Name the catalogue sentence that words this error (``raise UnknownScope(...).keyed("unknown_scope",
        code=code)``): a command line in Swedish then says it in Swedish. The English ``message`` is unchanged."""
        self.message_key, self.message_params = key, MappingProxyType(dict(params))
        return self

    @property
    def message(self) -> str:
        """What the user is told: the exception's text, written to be shown."""
        return str(self)
