"""Which allocator pyarrow's buffers come from while an ingest reads ahead (issue 15's peak RSS ≤ 300 MB).

The fast path allocates blocks in the reader thread (app.ingest.prefetch) and frees them in the writer's. With
pyarrow's default mimalloc, memory freed by another thread than the one that allocated it stays with the allocating
thread's heap for a while: a 1 M-row ingest peaked at 304 MB (282 MB with one thread). Measured on the same file,
jemalloc peaked at 227 MB and the system allocator at 244 MB, at the same speed. jemalloc is taken where the wheel has
it, else the system allocator. An operator's own ``ARROW_DEFAULT_MEMORY_POOL`` is left alone.
"""

from __future__ import annotations

import os

import pyarrow as pa

_chosen = False


def use_lean_pool() -> None:
    """Make pyarrow's default pool jemalloc (or the system's), once per process."""
    global _chosen
    if _chosen or os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow built without it
        pool = pa.system_memory_pool()
    pa.set_memory_pool(pool)
    _chosen = True


__all__ = ["use_lean_pool"]
