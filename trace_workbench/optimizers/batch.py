"""run_batch: the forward passes of a minibatch, concurrently in threads, results in input order.

Each task runs in a copy of the submitting thread's context (contextvars), so graph scopes,
listeners and the tracing switch follow it. A minibatch step then reads the combined feedback:

    outputs = run_batch(agent, questions, num_threads=8)
    optimizer.zero_feedback()
    for output, answer in zip(outputs, answers):
        optimizer.backward(output, grade(output.data, answer))  # each output its own feedback
    optimizer.step()                                            # one step, the feedback combined
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["run_batch"]

T = TypeVar("T")
R = TypeVar("R")


def run_batch(fn: Callable[[T], R], inputs: Iterable[T], num_threads: int | None = None, *,
              return_exceptions: bool = False) -> list[R | BaseException]:
    """[fn(x) for x in inputs], run on up to `num_threads` threads (default: one per input, at most 8).

    The first exception (in input order) is raised once the batch is done, unless
    return_exceptions=True, which puts each exception in its input's place instead (useful when a
    failed forward pass's ExecutionError should become feedback).
    """
    items = list(inputs)
    if not items:
        return []
    workers = num_threads if num_threads is not None else min(8, len(items))
    if workers < 1:
        raise ValueError(f"num_threads must be at least 1, got {num_threads}")
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trace-batch") as pool:
        futures: list[Future[R]] = [pool.submit(contextvars.copy_context().run, fn, x) for x in items]
    results: list[R | BaseException] = []
    for future in futures:
        error = future.exception()
        if error is None:
            results.append(future.result())
        elif return_exceptions:
            results.append(error)
        else:
            raise error
    return results
