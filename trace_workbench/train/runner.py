"""Run one function over many items on a concurrent.futures Executor, results in input order.

Each task runs in a copy of the submitting thread's context (contextvars), so graph scopes,
listeners and the tracing switch follow it into worker threads. Threads are the
default; any Executor may be given instead.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["run_concurrently"]

T = TypeVar("T")
R = TypeVar("R")


def run_concurrently(fn: Callable[[T], R], items: Sequence[T], num_threads: int | None = None,
                     executor: Executor | None = None) -> list[R]:
    """[fn(x) for x in items], each in a copy of the current context, on `executor` or up to `num_threads` threads.

    With num_threads=1 and no executor, the items run one after another in this thread (still
    each in its own context copy). The first exception, in input order, is raised after all finish.
    """
    if not items:
        return []
    if num_threads is not None and num_threads < 1:
        raise ValueError(f"num_threads must be at least 1, got {num_threads}")
    if executor is None and num_threads == 1:
        return [contextvars.copy_context().run(fn, x) for x in items]
    if executor is not None:
        return _gather([executor.submit(contextvars.copy_context().run, fn, x) for x in items])
    workers = num_threads if num_threads is not None else min(8, len(items))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trace-train") as pool:
        futures = [pool.submit(contextvars.copy_context().run, fn, x) for x in items]
        return _gather(futures)


def _gather(futures: list[Future[R]]) -> list[R]:
    """The futures' results in order; on the first failure the pending ones are cancelled and it is raised."""
    try:
        return [future.result() for future in futures]
    except BaseException:
        for future in futures:
            future.cancel()
        raise
