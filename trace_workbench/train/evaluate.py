"""evaluate: a program's score over a dataset, its forward passes run concurrently."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from trace_workbench.trace.errors import ExecutionError
from trace_workbench.trace.nodes import Node
from trace_workbench.train.data import Example, as_examples
from trace_workbench.utils.concurrency import ExecutorSpec, concurrent_map

__all__ = ["EvalResult", "evaluate", "forward"]


@dataclass
class EvalResult:
    """Scores per example (in dataset order), their mean, and the errors of failed forward passes by index."""

    scores: list[float]
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        """The mean score (nan for an empty dataset)."""
        return sum(self.scores) / len(self.scores) if self.scores else math.nan

    def __float__(self) -> float:
        return self.mean


def forward(program: Callable[[Any], Any], example: Example) -> tuple[Any, str | None]:
    """Run the program on one example: (output, None), or (the ExceptionNode, its message) if it failed."""
    try:
        return program(example.input), None
    except ExecutionError as e:
        return e.exception_node, str(e)


def value(output: Any) -> Any:
    """A node's value, or the plain value itself."""
    return output._data if isinstance(output, Node) else output


def evaluate(program: Callable[[Any], Any], dataset: Any, metric: Callable[[Any, Any], float], *,
             num_threads: int | None = None, executor: ExecutorSpec = None,
             min_score: float = 0.0, progress: bool = False) -> EvalResult:
    """Score `program` on every example: metric(output value, info), `min_score` where the program fails.

    Forward passes run concurrently (threads by default, `num_threads` of them, or on `executor`:
    an Executor, "process", "ray" or a RemoteExecutor, whose outputs come back as data); the metric
    runs in this thread, in dataset order. progress=True shows a tqdm bar.
    """
    examples = as_examples(dataset)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(examples), desc="evaluate")

    try:
        results = concurrent_map(partial(forward, program), examples, workers=num_threads, executor=executor,
                                 on_done=None if bar is None else partial(bar.update, 1), thread_name="trace-train")
    finally:
        if bar is not None:
            bar.close()
    scores: list[float] = []
    errors: dict[int, str] = {}
    for i, ((output, error), example) in enumerate(zip(results, examples, strict=True)):
        if error is not None:
            errors[i] = error
            scores.append(min_score)
        else:
            scores.append(float(metric(value(output), example.info)))
    return EvalResult(scores, errors)
