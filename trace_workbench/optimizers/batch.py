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

from collections.abc import Callable, Iterable
from typing import TypeVar

from trace_workbench.utils.concurrency import ExecutorSpec, concurrent_map

__all__ = ["run_batch"]

T = TypeVar("T")
R = TypeVar("R")


def run_batch(fn: Callable[[T], R], inputs: Iterable[T], num_threads: int | None = None, *,
              return_exceptions: bool = False, executor: ExecutorSpec = None) -> list[R | BaseException]:
    """[fn(x) for x in inputs], run on up to `num_threads` threads (default: one per input, at most 8).

    The first exception (in input order) is raised once the running tasks are done, unless
    return_exceptions=True, which puts each exception in its input's place instead (useful when a
    failed forward pass's ExecutionError should become feedback). `executor` runs them elsewhere
    ("process", "ray"; see trace_workbench.utils.concurrency).
    """
    return concurrent_map(fn, inputs, workers=num_threads, executor=executor,
                          errors="return" if return_exceptions else "raise", thread_name="trace-batch")
