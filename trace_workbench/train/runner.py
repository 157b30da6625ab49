"""run_concurrently: one function over many items, results in input order, for the training loops.

It is trace_workbench.utils.concurrency's map with the failure handling the loops want: the
first exception, in input order, is raised. Threads by default, each call in a copy of the
caller's context; `executor` may be a concurrent.futures Executor, "process", "ray" or a
RemoteExecutor (the calls pickled, their graphs rebuilt here on the live parameters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from trace_workbench.utils.concurrency import ExecutorSpec, concurrent_map

__all__ = ["run_concurrently"]

T = TypeVar("T")
R = TypeVar("R")


def run_concurrently(fn: Callable[[T], R], items: Sequence[T], num_threads: int | None = None,
                     executor: ExecutorSpec = None) -> list[R]:
    """[fn(x) for x in items], each in a copy of the current context, on `executor` or up to `num_threads` threads.

    With num_threads=1 and no executor, the items run one after another in this thread (still
    each in its own context copy). The first exception, in input order, is raised.
    """
    return concurrent_map(fn, items, workers=num_threads, executor=executor, thread_name="trace-train")
