"""Iterating over a node: each element is a traced getitem, so it remembers where it came from."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from trace_workbench.trace import operators as ops
from trace_workbench.trace.nodes import Node


def iterate(x: Node) -> Iterator[Any]:
    """Iterate a node like its value: sequences by index, dicts by key, other iterables as a list."""
    data = x._data
    if isinstance(data, Mapping):
        return SeqIterable(ops.keys(x))
    if hasattr(data, "__len__") and hasattr(data, "__getitem__"):
        return SeqIterable(x)
    try:
        iter(data)
    except TypeError as e:
        ops.raise_execution_error("iterate", {"x": x}, e)
    return SeqIterable(ops.to_list(x))


class SeqIterable:
    """Yields x[0], x[1], ... as traced getitem nodes."""

    def __init__(self, wrapped_list: Node) -> None:
        self.wrapped_list = wrapped_list
        self._index = 0

    def __iter__(self) -> SeqIterable:
        self._index = 0
        return self

    def __next__(self) -> Node:
        if self._index >= len(self.wrapped_list._data):
            raise StopIteration
        result = self.wrapped_list[self._index]
        self._index += 1
        return result


class DictIterable:
    """Yields (key, value) node pairs of a dict node; keys come from a traced keys() list."""

    def __init__(self, wrapped_dict: Node) -> None:
        self.wrapped_dict = wrapped_dict
        self.keys = ops.keys(wrapped_dict)
        self._index = 0

    def __iter__(self) -> DictIterable:
        self._index = 0
        return self

    def __next__(self) -> tuple[Node, Node]:
        if self._index >= len(self.keys._data):
            raise StopIteration
        key = self.keys[self._index]
        self._index += 1
        return key, self.wrapped_dict[key]
