"""Small helpers of Trace's public surface: identity membership, feedback sums, class decoration."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable
from typing import Any


def contain(container_of_nodes: Iterable[Any], node: Any) -> bool:
    """Whether `node` itself (not an equal value) is in the container."""
    return any(node is n for n in container_of_nodes)


def sum_feedback(nodes: Iterable[Any]) -> Any:
    """All the feedback the nodes received, added up (TraceGraphs merge into one graph); 0 if none."""
    received = [f for n in nodes for fs in n.feedback.values() for f in fs]
    return functools.reduce(operator.add, received) if received else 0


def for_all_methods(decorator: Callable[[Any], Any]) -> Callable[[type], type]:
    """Class decorator that applies `decorator` to each public method of the class."""

    def decorate(cls: type) -> type:
        for name, attr in list(cls.__dict__.items()):
            if callable(attr) and not name.startswith("__"):
                setattr(cls, name, decorator(attr))
        return cls

    return decorate
