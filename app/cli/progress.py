"""A progress bar for an ingest that takes a while: shown only on a terminal, and only once the file has been
read for ``after`` seconds, so a small file prints its one-line report and nothing flickers before it."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

#: An ingest shorter than this shows no bar (a progress bar for a blink is noise).
PROGRESS_AFTER_SECONDS = 2.0


class IngestProgress:
    """``with IngestProgress(console, name, size) as advance: ingest_file(..., on_progress=advance)``."""

    def __init__(self, console: Console, name: str, size: int, *, after: float = PROGRESS_AFTER_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = console.is_terminal and size > 0
        self.progress = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                                 TimeRemainingColumn(), console=console, transient=True)
        self.task = self.progress.add_task(name, total=size)
        self.after, self.clock = after, clock
        self.started_at = clock()
        self.shown = False

    def advance(self, n: int) -> None:
        if not self.enabled:
            return
        self.progress.advance(self.task, n)
        if not self.shown and self.clock() - self.started_at >= self.after:
            self.progress.start()
            self.shown = True

    def __enter__(self) -> Callable[[int], None]:
        self.started_at = self.clock()
        return self.advance

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.shown:
            self.progress.stop()
