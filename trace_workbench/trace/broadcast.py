"""Broadcasting an operation over lists, tuples, dicts and NodeContainers of nodes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from trace_workbench.trace.containers import NodeContainer
from trace_workbench.trace.nodes import Node


def recursive_conversion(true_func: Callable[[Node], Any], false_func: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A function mapping nodes (inside tuples, lists, dicts, sets and NodeContainers) by true_func
    and every other leaf by false_func; bundled functions are leaves (their code stays a node)."""
    def func(obj: Any) -> Any:
        if isinstance(obj, Node):
            return true_func(obj)
        if isinstance(obj, tuple):
            return tuple(func(x) for x in obj)
        if isinstance(obj, list):
            return [func(x) for x in obj]
        if isinstance(obj, dict):
            return {k: func(v) for k, v in obj.items()}
        if isinstance(obj, set):
            return {func(x) for x in obj}
        if isinstance(obj, NodeContainer) and not _is_bundle(obj):
            output = copy.copy(obj)
            for k, v in obj.__dict__.items():
                setattr(output, k, func(v))
            return output
        return false_func(obj)

    return func


def _is_bundle(obj: Any) -> bool:
    from trace_workbench.trace.bundle import FunModule  # bundle imports this module

    return isinstance(obj, FunModule)


def apply_op(op: Callable[..., Any], output: Any, *args: Any, **kwargs: Any) -> Any:
    """Apply `op` elementwise over containers of nodes of the same shape, writing into `output`.

    Nodes among the inputs are broadcast (used for every element); lists, tuples, dicts and
    NodeContainers are walked in step with `output`, whose elements are replaced by the results.
    """
    inputs = [*args, *kwargs.values()]
    if all(isinstance(x, Node) for x in inputs):
        return op(*args, **kwargs)
    for x in inputs:
        if not isinstance(x, Node) and type(x) is not type(output):
            raise TypeError(f"apply_op: {type(x).__name__} input does not match the {type(output).__name__} output")

    def part(x: Any, key: Any, attribute: bool = False) -> Any:
        if isinstance(x, Node):
            return x
        return getattr(x, key) if attribute else x[key]

    if isinstance(output, (list, tuple)):
        for x in inputs:
            if not isinstance(x, Node) and len(x) != len(output):
                raise ValueError(f"apply_op: output {output} and input {x} have different lengths")
        items = [apply_op(op, output[k], *(part(a, k) for a in args), **{n: part(v, k) for n, v in kwargs.items()})
                 for k in range(len(output))]
        if isinstance(output, tuple):
            return tuple(items)
        output[:] = items
    elif isinstance(output, dict):
        for k in output:
            output[k] = apply_op(op, output[k], *(part(a, k) for a in args),
                                 **{n: part(v, k) for n, v in kwargs.items()})
    elif isinstance(output, NodeContainer):
        for k, v in list(output.__dict__.items()):
            setattr(output, k, apply_op(op, v, *(part(a, k, True) for a in args),
                                        **{n: part(x, k, True) for n, x in kwargs.items()}))
    return output
