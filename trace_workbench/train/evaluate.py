"""evaluate: a program's score over a dataset, its forward passes run concurrently."""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from trace_workbench.trace.errors import ExecutionError
from trace_workbench.trace.nodes import Node
from trace_workbench.train.data import Example, as_examples
from trace_workbench.train.runner import run_concurrently

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
             num_threads: int | None = None, executor: Executor | None = None,
             min_score: float = 0.0, progress: bool = False) -> EvalResult:
    """Score `program` on every example: metric(output value, info), `min_score` where the program fails.

    Forward passes run concurrently (threads by default, `num_threads` of them, or on `executor`);
    the metric runs in this thread, in dataset order. progress=True shows a tqdm bar.
    """
    examples = as_examples(dataset)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(examples), desc="evaluate")

    def run(example: Example) -> tuple[Any, str | None]:
        result = forward(program, example)
        if bar is not None:
            bar.update(1)
        return result

    try:
        results = run_concurrently(run, examples, num_threads=num_threads, executor=executor)
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
