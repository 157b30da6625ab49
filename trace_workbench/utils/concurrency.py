"""The one concurrent map the loops use: [fn(x) for x in items], results in input order.

On threads (the default) each call runs in a copy of the caller's context (contextvars), so graph
scopes, listeners and the tracing switch follow it. A concurrent.futures Executor runs the calls
the same way; "process", "ray" or a RemoteExecutor (executors.py) run them in other processes,
the calls pickled and the graphs they built rebuilt here on the live parameters.

Failures: errors="raise" raises the first exception in input order (calls not yet started are
cancelled; running ones finish first); errors="return" puts each exception in its item's place.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Literal

from trace_workbench.utils.executors import Outcome, RemoteExecutor, remote_executor

__all__ = ["ExecutorSpec", "concurrent_map"]

ExecutorSpec = Executor | RemoteExecutor | Literal["thread", "process", "ray"] | None
"""Where calls run: None or "thread" (threads here), an Executor, "process", "ray" or a RemoteExecutor."""


def concurrent_map(fn: Callable[[Any], Any], items: Iterable[Any], *, workers: int | None = None,
                   executor: ExecutorSpec = None, errors: Literal["raise", "return"] = "raise",
                   on_done: Callable[[], None] | None = None, thread_name: str = "trace-map") -> list[Any]:
    """[fn(x) for x in items] on `executor` (see the module's notes), in input order.

    workers: threads (default one per item, at most 8) or processes for "process"; with workers=1
    and no executor the calls run one after another in this thread. on_done() is called as each
    call finishes.
    """
    if errors not in ("raise", "return"):
        raise ValueError(f'errors must be "raise" or "return", not {errors!r}')
    items = list(items)
    if workers is not None and workers < 1:
        raise ValueError(f"num_threads must be at least 1, got {workers}")
    if not items:
        return []
    if isinstance(executor, str) and executor != "thread":
        executor = remote_executor(executor, workers)
    if isinstance(executor, RemoteExecutor):
        return _settle(executor.map(fn, items, on_done), errors)
    if isinstance(executor, ProcessPoolExecutor):
        raise TypeError('a ProcessPoolExecutor cannot run calls in copies of this context: pass executor="process" '
                        "or a trace_workbench.utils.executors.ProcessExecutor, which pickle the calls and rebuild "
                        "their graphs here")
    if isinstance(executor, Executor):
        return _settle(_in_context(executor, fn, items, on_done, errors), errors)
    if workers == 1:
        return _settle([_called(contextvars.copy_context().run, fn, x, on_done) for x in items], errors)
    with ThreadPoolExecutor(max_workers=workers or min(8, len(items)), thread_name_prefix=thread_name) as pool:
        return _settle(_in_context(pool, fn, items, on_done, errors), errors)


def _called(run: Callable[..., Any], fn: Callable[[Any], Any], item: Any,
            on_done: Callable[[], None] | None) -> Outcome:
    """run(fn, item)'s outcome: (result, False) or (exception, True)."""
    try:
        return run(fn, item), False
    except Exception as e:
        return e, True
    finally:
        if on_done is not None:
            on_done()


def _in_context(pool: Executor, fn: Callable[[Any], Any], items: list[Any], on_done: Callable[[], None] | None,
                errors: str) -> list[Outcome]:
    """Each call submitted in a copy of this context; with errors="raise" the first failure in order cancels
    the calls not yet started, and the outcomes end with it."""
    futures: list[Future[Outcome]] = [pool.submit(_called, contextvars.copy_context().run, fn, x, on_done)
                                      for x in items]
    outcomes = []
    for future in futures:
        outcomes.append(future.result())
        if outcomes[-1][1] and errors == "raise":
            for later in futures:
                later.cancel()
            break
    return outcomes


def _settle(outcomes: list[Outcome], errors: str) -> list[Any]:
    """The results; with errors="raise" the first exception is raised instead."""
    if errors == "raise":
        for value, failed in outcomes:
            if failed:
                raise value
    return [value for value, _ in outcomes]
