"""Reading ahead: a delivery's parser runs in a thread of its own while the ingest stores what it already gave.

On the fast path most of the reading is pyarrow (CSV blocks, column checks), which lets go of the GIL, and most of
the storing is the database's (SQLite's ``executemany`` steps without the GIL; PostgreSQL's server works apart).
In one thread each waits for the other; here, on two cores, they overlap (issue 15). The reader is bounded: it is at
most ``depth`` batches ahead, so memory stays flat in file size, and a batch holds at most ``batch_items`` items
(rows the reference parser read one by one travel together, not one queue hand-over each).

The reader must not touch the database or anything else the consumer uses: parsers only read their stream.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Final, TypeVar

T = TypeVar("T")

_DONE: Final = object()
#: How long a blocked hand-over waits before it looks again whether the other side has gone.
_POLL_SECONDS = 0.1


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(items: Iterator[T], *, depth: int = 2, batch_items: int = 1024,
               is_large: type | tuple[type, ...] = ()) -> Iterator[T]:
    """The items of ``items`` in their order, read by a thread ahead of the consumer. An item that is an instance of
    ``is_large`` (a block of rows) ends the batch it is in. An error of the reader is raised here, at the place of
    the item it failed on. Closing this generator early (the consumer stops or fails) stops the reader."""
    hand_over: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                hand_over.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def read() -> None:
        batch: list[T] = []
        try:
            for item in items:
                batch.append(item)
                if len(batch) >= batch_items or isinstance(item, is_large):
                    if not put(batch):
                        return
                    batch = []
            if batch and not put(batch):
                return
            put(_DONE)
        except BaseException as error:  # handed to the consumer, which raises it
            if batch:
                put(batch)
            put(_Failed(error))
        finally:
            close = getattr(items, "close", None)
            if close is not None and stop.is_set():
                close()

    reader = threading.Thread(target=read, name="ingest-reader", daemon=True)
    reader.start()
    try:
        while True:
            got = hand_over.get()
            if got is _DONE:
                return
            if isinstance(got, _Failed):
                raise got.error
            yield from got  # type: ignore[misc]
    finally:
        stop.set()
        reader.join()


__all__ = ["prefetched"]
