"""Where evaluation runs besides this process's threads: a local process pool, or a Ray cluster.

Both take a function and items, send each call pickled (see shipping.py) and return the outcomes
in input order, the graphs rebuilt in the driver. A worker that dies mid-task (killed, out of
memory) is retried (`retries` times); after that the whole map fails with `WorkerLost` and none of
its results are used, so nothing is half-applied.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from trace_workbench.extras import require
from trace_workbench.utils.shipping import Packed, Shipped, pack, run_packed, unpack

__all__ = ["ProcessExecutor", "RayExecutor", "RemoteExecutor", "WorkerLost", "remote_executor"]

Outcome = tuple[Any, bool]
"""A call's result, or the exception it raised, and whether it raised."""


class WorkerLost(RuntimeError):
    """A worker died while running tasks (killed, out of memory, its node gone) more often than retried."""


class RemoteExecutor:
    """Runs calls in other processes; subclasses say how (`_run`), this class packs and unpacks them."""

    retries: int = 1

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any],
            on_done: Callable[[], None] | None = None) -> list[Outcome]:
        """[fn(x) for x in items] in workers: each outcome (result or exception, raised?) in input order.

        `on_done()` is called in this process as each call finishes. Raises WorkerLost when a
        worker died during a call more than `retries` times.
        """
        packed = [pack(fn, item) for item in items]
        shipped = self._run(packed, on_done or (lambda: None))
        return [unpack(s, p.parameters) for s, p in zip(shipped, packed, strict=True)]

    def _run(self, packed: list[Packed], on_done: Callable[[], None]) -> list[Shipped]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the workers (the executor starts new ones if used again)."""

    def __enter__(self) -> RemoteExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lost(count: int, total: int, attempts: int, where: str) -> WorkerLost:
    return WorkerLost(f"{count} of {total} tasks were lost: {where} died while running them (killed, or out of "
                      f"memory), {attempts} attempt(s). Nothing was applied: none of this run's results are used.")


class ProcessExecutor(RemoteExecutor):
    """A pool of `workers` local processes (spawned: they share nothing but the pickled calls)."""

    def __init__(self, workers: int | None = None, *, retries: int = 1, start_method: str = "spawn") -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers or min(8, os.cpu_count() or 1)
        self.retries = retries
        self.start_method = start_method
        self._pool: Any = None
        self._lock = threading.Lock()

    def _executor(self) -> Any:
        with self._lock:
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                context = multiprocessing.get_context(self.start_method)
                self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
            return self._pool

    def _run(self, packed: list[Packed], on_done: Callable[[], None]) -> list[Shipped]:
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        shipped: list[Shipped | None] = [None] * len(packed)
        todo, attempts = list(range(len(packed))), 0
        while todo:
            attempts += 1
            pool = self._executor()
            futures = {pool.submit(run_packed, packed[i].payload): i for i in todo}
            lost = []
            for future in as_completed(futures):
                try:
                    shipped[futures[future]] = future.result()
                except BrokenProcessPool:
                    lost.append(futures[future])
                    continue
                on_done()
            if lost:
                self.close()  # a broken pool takes no more work: the next attempt starts a new one
                if attempts > self.retries:
                    raise _lost(len(lost), len(packed), attempts, "a worker process")
            todo = sorted(lost)
        return shipped  # type: ignore[return-value]

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __repr__(self) -> str:
        return f"ProcessExecutor(workers={self.workers}, retries={self.retries})"


class RayExecutor(RemoteExecutor):
    """Tasks on a Ray cluster: `address` as for `ray.init` (None: RAY_ADDRESS, else a local Ray).

    Each call is one task needing `num_cpus`; tasks are spread over the nodes by default. Ray
    re-runs a task whose worker died up to `retries` times. The nodes need trace-workbench
    installed (or a `runtime_env` passed through `init` options to ray.init).
    """

    def __init__(self, address: str | None = None, *, retries: int = 3, num_cpus: float = 1.0, spread: bool = True,
                 **init: Any) -> None:
        self.address = address
        self.retries = retries
        self.num_cpus = num_cpus
        self.spread = spread
        self.init = init
        self._task: Any = None

    def _remote(self) -> Any:
        ray = require("ray", "ray")
        if not ray.is_initialized():
            ray.init(address=self.address, **{"log_to_driver": False, **self.init})
        if self._task is None:
            strategy = "SPREAD" if self.spread else "DEFAULT"
            self._task = ray.remote(run_packed).options(max_retries=self.retries, num_cpus=self.num_cpus,
                                                        scheduling_strategy=strategy)
        return self._task

    def _run(self, packed: list[Packed], on_done: Callable[[], None]) -> list[Shipped]:
        ray = require("ray", "ray")
        task = self._remote()
        refs = [task.remote(p.payload) for p in packed]
        pending = list(refs)
        crashed = (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.ObjectLostError)
        lost = 0
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            try:
                ray.get(done[0])
            except crashed:
                lost += 1
                continue
            on_done()
        if lost:
            raise _lost(lost, len(packed), self.retries + 1, "a Ray worker")
        return ray.get(refs)

    def __repr__(self) -> str:
        return f"RayExecutor(address={self.address!r}, retries={self.retries})"


_SHARED: dict[tuple[str, int | None], RemoteExecutor] = {}


def remote_executor(kind: str, workers: int | None = None) -> RemoteExecutor:
    """The executor named "process" (a pool of `workers` processes) or "ray", made once and shared."""
    if kind not in ("process", "ray"):
        raise ValueError(f'executor must be "thread", "process", "ray" or an executor object, not {kind!r}')
    key = (kind, workers if kind == "process" else None)
    if key not in _SHARED:
        if not _SHARED:
            atexit.register(_close_shared)
        _SHARED[key] = ProcessExecutor(workers) if kind == "process" else RayExecutor()
    return _SHARED[key]


def _close_shared() -> None:
    for executor in _SHARED.values():
        executor.close()
