"""What a test leaves behind in its worker process, checked after every test (tests/conftest.py).

A test that changes process-wide state and does not put it back breaks a *later* test, in whichever order xdist
happens to run them that day: CI failed on such leaks twice (import-linter's ``dictConfig`` disabled every existing
logger; ``vpt serve``'s logging set-up outlived its test). The check names the test that leaked and puts the state
back, so the failure points at the cause and the tests after it still run as written."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

#: pytest's own capture handlers come and go with each phase of a test; they are not the test's doing
PYTEST_HANDLERS = ("LogCaptureHandler", "_LiveLoggingNullHandler", "_FileHandler", "_LiveLoggingStreamHandler")


def _our_loggers() -> list[logging.Logger]:
    return [logger for name, logger in logging.root.manager.loggerDict.items()
            if isinstance(logger, logging.Logger) and (name == "app" or name.startswith("app."))]


def _own(handlers: list[logging.Handler]) -> tuple[logging.Handler, ...]:
    return tuple(h for h in handlers if type(h).__name__ not in PYTEST_HANDLERS)


@dataclass(frozen=True)
class ProcessState:
    root_level: int
    root_handlers: tuple[logging.Handler, ...]
    app_loggers: tuple[tuple[logging.Logger, int, bool, tuple[logging.Handler, ...]], ...]
    environment: tuple[tuple[str, str], ...]
    cwd: str

    @classmethod
    def now(cls) -> ProcessState:
        return cls(
            root_level=logging.getLogger().level,
            root_handlers=_own(logging.getLogger().handlers),
            app_loggers=tuple((lg, lg.level, lg.propagate, _own(lg.handlers)) for lg in _our_loggers()),
            environment=tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("VPT_") or k == "TZ")),
            cwd=os.getcwd(),
        )

    def leaks_since(self, before: ProcessState) -> list[str]:
        """What differs from ``before``, put back as it was; a logger created during the test must be as created."""
        leaks = []
        disabled = sorted(name for name, lg in logging.root.manager.loggerDict.items()
                          if isinstance(lg, logging.Logger) and lg.disabled)
        for name in disabled:
            logging.getLogger(name).disabled = False
        if disabled:
            leaks.append(f"disabled loggers {disabled[:5]}")
        root = logging.getLogger()
        if self.root_level != before.root_level:
            leaks.append(f"root logger level {before.root_level} -> {self.root_level}")
            root.setLevel(before.root_level)
        if self.root_handlers != before.root_handlers:
            leaks.append(f"root handlers {before.root_handlers} -> {self.root_handlers}")
            for handler in self.root_handlers:
                root.removeHandler(handler)
            for handler in before.root_handlers:
                root.addHandler(handler)
        known = {entry[0] for entry in before.app_loggers}
        created = [(lg, logging.NOTSET, True, ()) for lg, *_ in self.app_loggers if lg not in known]
        for logger, level, propagate, handlers in (*before.app_loggers, *created):
            now = (logger.level, logger.propagate, _own(logger.handlers))
            if now != (level, propagate, handlers):
                was = (level, propagate, handlers)
                leaks.append(f"logger {logger.name} (level, propagate, handlers): {was} -> {now}")
                logger.setLevel(level)
                logger.propagate = propagate
                logger.handlers[:] = [*handlers, *(h for h in logger.handlers if h not in _own(logger.handlers))]
        if self.environment != before.environment:
            changed = sorted(set(self.environment) ^ set(before.environment))
            leaks.append(f"environment {[name for name, _ in changed]}")
            for name, _ in self.environment:
                os.environ.pop(name, None)
            os.environ.update(dict(before.environment))
        if self.cwd != before.cwd:
            leaks.append(f"working directory {before.cwd} -> {self.cwd}")
            os.chdir(before.cwd)
        return leaks
