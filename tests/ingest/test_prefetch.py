"""The ingest's read-ahead thread (app.ingest.prefetch): same items in the same order, errors where they happened,
bounded read-ahead, and no reader left running when the consumer stops early."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from app.ingest import fastcsv
from app.ingest.loader import TooManyRows
from app.ingest.prefetch import prefetched
from app.ingest.service import ingest_bytes
from tests.ingest.test_fast_path import _plain_file


class Block(list[int]):
    """A large item: ends its batch."""


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ingest-reader" and t.is_alive()]


@hypothesis_settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.integers(), st.builds(Block, st.lists(st.integers(), max_size=3))), max_size=60),
       st.integers(1, 4), st.integers(1, 7))
def test_every_item_comes_through_in_its_order(items: list[object], depth: int, batch_items: int) -> None:
    assert list(prefetched(iter(items), depth=depth, batch_items=batch_items, is_large=Block)) == items


def test_an_error_of_the_reader_is_raised_after_the_items_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("line 3: broken")

    got: list[int] = []
    with pytest.raises(ValueError, match="line 3: broken"):
        for item in prefetched(source(), batch_items=10):
            got.append(item)
    assert got == [1, 2]
    assert not _readers()


def test_the_reader_stays_at_most_depth_batches_ahead() -> None:
    pulled: list[int] = []

    def source() -> Iterator[int]:
        for i in range(1000):
            pulled.append(i)
            yield i

    items = prefetched(source(), depth=2, batch_items=10)
    assert next(items) == 0
    time.sleep(0.3)
    # one batch handed over and taken, two waiting in the queue, one being filled
    assert len(pulled) <= 4 * 10 + 1
    items.close()


def test_closing_early_stops_the_reader_and_closes_its_source() -> None:
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            yield from range(10**9)
        finally:
            closed.set()

    items = prefetched(source(), depth=1, batch_items=5)
    assert [next(items) for _ in range(7)] == list(range(7))
    items.close()
    assert closed.wait(5)
    assert not _readers()


def test_an_ingest_refused_midway_leaves_no_reader_running(session_factory, settings, monkeypatch) -> None:
    monkeypatch.setattr(fastcsv, "BLOCK_BYTES", 4096)  # many blocks: the reader is still reading when it is refused
    with pytest.raises(TooManyRows) as refused:
        ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(_plain_file(3000)), fmt="csv",
                     origin="big.csv", max_rows=100)
    assert not _readers()  # stopped by the loader itself, not by the collection of its frame
    assert refused.traceback  # which the kept traceback holds alive until here


def test_the_fast_path_reads_with_an_allocator_that_returns_memory_across_threads(session_factory, settings,
                                                                                     monkeypatch) -> None:
    """mimalloc, pyarrow's default, kept blocks freed by the writer thread: a 1 M-row ingest peaked at 304 MB."""
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(_plain_file(20)), fmt="csv",
                 origin="lean.csv")
    assert pa.default_memory_pool().backend_name in {"jemalloc", "system"}
