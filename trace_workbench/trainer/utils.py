"""OpenTrace's ``opto.trainer.utils``: ``async_run`` and ``DefaultLogger``, on trace_workbench.train's runner.

``async_run`` runs each function in a thread, in a copy of the caller's context (so graph scopes and
the tracing switch follow it), and returns the results in order, as OpenTrace's does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from trace_workbench.train.runner import run_concurrently

__all__ = ["DefaultLogger", "async_run"]


def async_run(runs: Sequence[Callable[..., Any]], args_list: Sequence[Sequence[Any]] | None = None,
              kwargs_list: Sequence[Mapping[str, Any]] | None = None, max_workers: int | None = None,
              description: str | None = None) -> list[Any]:
    """``[runs[i](*args_list[i], **kwargs_list[i]) for i ...]`` run on up to `max_workers` threads, results in
    order; with a `description`, a tqdm bar so labelled counts the finished runs. The first error is raised."""
    args_list = [()] * len(runs) if args_list is None else args_list
    kwargs_list = [{}] * len(runs) if kwargs_list is None else kwargs_list
    if not len(runs) == len(args_list) == len(kwargs_list):
        raise ValueError(f"async_run needs one args and kwargs entry per run: {len(runs)} runs, "
                         f"{len(args_list)} args, {len(kwargs_list)} kwargs")
    calls = list(zip(runs, args_list, kwargs_list, strict=True))
    if description is None:
        return run_concurrently(lambda call: call[0](*call[1], **call[2]), calls, num_threads=max_workers)
    from tqdm.auto import tqdm

    with tqdm(total=len(calls), desc=description) as bar:
        def run(call: tuple[Callable[..., Any], Sequence[Any], Mapping[str, Any]]) -> Any:
            try:
                return call[0](*call[1], **call[2])
            finally:
                bar.update(1)

        return run_concurrently(run, calls, num_threads=max_workers)


class DefaultLogger:
    """OpenTrace's console logger: ``log(name, data, step, color=None)`` prints ``[Step N] name: data``."""

    _COLORS = {"green": "\033[92m", "red": "\033[91m", "blue": "\033[94m"}

    def log(self, name: str, data: Any, step: int, **kwargs: Any) -> None:
        color = self._COLORS.get(kwargs.get("color") or "")
        text = f"{name}: {data}"
        print(f"[Step {step}] {color}{text}\033[0m" if color else f"[Step {step}] {text}")
