"""Work sent to another process or machine: the call goes out pickled, its graph comes back as data.

`pack(fn, item)` pickles the call with cloudpickle (so functions from notebooks and `__main__`, and
bundles with trained code, travel by value); every ParameterNode it reaches goes as a numbered copy.
`run_packed` runs it in the worker and pickles the result with each node it reaches turned into a
plain record (class, value, description, inputs by reference), the parameter copies into their
numbers. `unpack` rebuilds those nodes in the driver on its live parameters, in the worker's order
of creation, so backward from a shipped output gives the driver's parameters their feedback.

The worker also takes the driver's model settings (OPENAI_* and TRACE_WORKBENCH_* environment
variables) at each call, so a program calls the same model as it would in the driver, and the
program LLM's usage in the worker comes back to the driver's meter (token budgets count it).
"""

from __future__ import annotations

import dataclasses
import io
import os
import pickle
import traceback
from collections.abc import Callable
from typing import Any

from trace_workbench.extras import require
from trace_workbench.trace.nodes import Node, ParameterNode

__all__ = ["Packed", "Shipped", "pack", "run_packed", "unpack"]

SETTINGS_PREFIXES = ("OPENAI_", "TRACE_WORKBENCH_")


@dataclasses.dataclass(frozen=True)
class Packed:
    """One call ready to send: its pickle, and the driver's parameters its copies stand for (by number)."""

    payload: bytes
    parameters: tuple[ParameterNode, ...]


@dataclasses.dataclass(frozen=True)
class Shipped:
    """A call's outcome as data: the pickled result (or exception), the records of the nodes it reaches."""

    body: bytes
    nodes: tuple[bytes, ...]
    serials: tuple[int, ...]
    failed: bool
    usage: tuple[Any, ...] = ()


_PICKLER: type | None = None


def _dumps(value: Any, persistent_id: Callable[[Any], Any]) -> bytes:
    """`value` pickled by cloudpickle, `persistent_id` choosing what goes as a reference, bundles by value."""
    global _PICKLER
    if _PICKLER is None:
        cloudpickle = require("cloudpickle", "process")

        class Pickler(cloudpickle.CloudPickler):
            def reducer_override(self, obj: Any) -> Any:
                from trace_workbench.trace.bundle import FunModule

                if isinstance(obj, FunModule):  # by value: a notebook's or __main__'s bundle is not importable there
                    state = {k: v for k, v in vars(obj).items() if k != "_compiled"}
                    return _bundle, (type(obj), state)
                return super().reducer_override(obj)

        _PICKLER = Pickler
    buffer = io.BytesIO()
    pickler = _PICKLER(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.persistent_id = persistent_id
    pickler.dump(value)
    return buffer.getvalue()


def _bundle(cls: type, state: dict[str, Any]) -> Any:
    """A bundled function rebuilt from its state (its trainable code compiles again at first call)."""
    rebuilt = cls.__new__(cls)
    vars(rebuilt).update(state, _compiled=None)
    return rebuilt


def pack(fn: Callable[[Any], Any], item: Any) -> Packed:
    """`fn(item)` pickled for a worker, with the driver's model settings."""
    parameters: list[ParameterNode] = []
    numbers: dict[int, int] = {}

    def persistent_id(obj: Any) -> Any:
        if not isinstance(obj, ParameterNode):
            return None
        number = numbers.get(id(obj))
        if number is not None:
            return ("p", number)
        numbers[id(obj)] = len(parameters)
        parameters.append(obj)
        return ("p", len(parameters) - 1, type(obj), obj.__getstate__())

    payload = _dumps((fn, item, _settings()), persistent_id)
    return Packed(payload, tuple(parameters))


def run_packed(payload: bytes) -> Shipped:
    """In the worker: run the packed call and return its result (or the exception it raised) as data."""
    copies: list[ParameterNode] = []

    class Unpickler(pickle.Unpickler):
        def persistent_load(self, pid: Any) -> Any:
            if len(pid) == 2:
                return copies[pid[1]]
            copy = pid[2].__new__(pid[2])
            copy.__setstate__(pid[3])
            copies.append(copy)
            return copy

    fn, item, settings = Unpickler(io.BytesIO(payload)).load()
    _use_settings(settings)
    from trace_workbench.llm.program import program_llm

    with program_llm().meter.step("shipped call") as usage:
        try:
            result, failed = fn(item), False
        except Exception as e:
            result, failed = e, True
    shipped = _ship(result, failed, {id(c): i for i, c in enumerate(copies)})
    return dataclasses.replace(shipped, usage=tuple(usage.calls))


def _ship(result: Any, failed: bool, copies: dict[int, int]) -> Shipped:
    """The result pickled with nodes as references, and a record for each node reached from it."""
    found: list[Node] = []
    numbers: dict[int, int] = {}

    def persistent_id(obj: Any) -> Any:
        if not isinstance(obj, Node):
            return None
        if id(obj) in copies:
            return ("p", copies[id(obj)])
        if id(obj) not in numbers:
            numbers[id(obj)] = len(found)
            found.append(obj)
        return ("n", numbers[id(obj)])

    def dumps(value: Any) -> bytes:
        return _dumps(value, persistent_id)

    try:
        body = dumps(result)
    except Exception as e:  # an unpicklable result or error: its text, so the driver still learns what happened
        text = "".join(traceback.format_exception(result)) if failed else repr(result)
        body, failed = dumps(RuntimeError(f"the worker's result could not be pickled ({e}):\n{text}")), True
    records: list[bytes] = []
    while len(records) < len(found):  # each record may reach more nodes (its inputs, a bundle's inner graph)
        n = found[len(records)]
        records.append(dumps((type(n), n.__getstate__(), dict(n._inputs))))
    return Shipped(body, tuple(records), tuple(n._serial for n in found), failed)


def unpack(shipped: Shipped, parameters: tuple[ParameterNode, ...]) -> tuple[Any, bool]:
    """In the driver: (the result or exception, whether it failed), its nodes rebuilt on the live parameters.

    The program LLM's calls in the worker are recorded on this process's program LLM meter too.
    """
    built: dict[int, Node] = {}
    if shipped.usage:
        from trace_workbench.llm.program import program_llm

        meter = program_llm().meter
        for call in shipped.usage:
            meter.record(call)

    class Unpickler(pickle.Unpickler):
        def persistent_load(self, pid: Any) -> Any:
            kind, number = pid
            return parameters[number] if kind == "p" else build(number)

    def build(number: int) -> Node:
        if number not in built:
            cls, state, inputs = Unpickler(io.BytesIO(shipped.nodes[number])).load()
            built[number] = _rebuilt(cls, state, inputs)
        return built[number]

    for number in sorted(range(len(shipped.nodes)), key=shipped.serials.__getitem__):
        build(number)  # in the worker's order of creation, so the driver's serials keep it
    return Unpickler(io.BytesIO(shipped.body)).load(), shipped.failed


def _rebuilt(cls: type[Node], state: dict[str, Any], inputs: dict[str, Node]) -> Node:
    """A node made from its record, linked to its (already rebuilt or live) inputs as if traced here."""
    rebuilt = cls.__new__(cls)
    rebuilt.__setstate__(state)
    parents: list[Node] = []
    for parent in inputs.values():
        if not any(parent is p for p in parents):
            parents.append(parent)
            parent._add_child(rebuilt)
    if inputs:
        rebuilt._inputs = inputs
        rebuilt._parents = tuple(parents)
        rebuilt._level = 1 + max(p._level for p in parents)
    return rebuilt


def _settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(SETTINGS_PREFIXES)}


def _use_settings(settings: dict[str, str]) -> None:
    """Make the worker's model settings the driver's; the program LLM is rebuilt if they changed."""
    if settings == _settings():
        return
    for key in [k for k in os.environ if k.startswith(SETTINGS_PREFIXES)]:
        del os.environ[key]
    os.environ.update(settings)
    from trace_workbench.llm.program import set_program_llm

    set_program_llm(None)
