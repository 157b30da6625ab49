"""What a rewritten %%trace cell calls while it runs: traced calls, methods, attributes, f-strings,
its parameters and its result (see rewrite.py for the transform that makes the calls).

A call with traced values among its arguments is recorded as one operation named after the function,
its docstring as the description; builtins that only inspect, print or iterate get plain values.
No IPython here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from trace_workbench.trace import operators as ops
from trace_workbench.trace.bundle import FunModule, to_data
from trace_workbench.trace.containers import NodeContainer
from trace_workbench.trace.nodes import Node, node

if TYPE_CHECKING:
    from trace_workbench.workbench.session import Session

__all__ = ["PLAIN_CALLS", "CellRuntime", "collect_nodes", "traced_call"]

PLAIN_CALLS: frozenset[Any] = frozenset({print, isinstance, issubclass, type, id, callable, hasattr, repr, range,
                                         enumerate, zip, iter, next, reversed, map, filter, hash})
"""Builtins called on the plain values and not recorded: they inspect, print or iterate."""

_STORAGE = (list, dict, set, bytearray)
_STORING = frozenset({"append", "extend", "insert", "add", "update", "setdefault", "remove", "discard"})
"""Methods of plain containers that store (or compare) their arguments, e.g. `items.append(x)`: a node
is passed as it is, so the container holds the node and later cells' graphs reach it."""


def _has_node(value: Any, depth: int = 0) -> bool:
    """Whether `value` is a node or holds one (in containers nested at most four deep)."""
    if isinstance(value, Node):
        return True
    if depth > 3:
        return False
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_has_node(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_has_node(v, depth + 1) for v in value.values())
    return False


def collect_nodes(value: Any, key: str, inputs: dict[str, Node], depth: int = 0) -> None:
    """Record the nodes in `value` (and in containers inside it) as inputs named after `key`."""
    if isinstance(value, Node):
        name = key
        if name in inputs and inputs[name] is not value:
            name = f"{key}_{len(inputs)}"
        inputs[name] = value
    elif depth <= 3 and isinstance(value, (list, tuple, set, frozenset)):
        for i, v in enumerate(value):
            collect_nodes(v, f"{key}_{i}", inputs, depth + 1)
    elif depth <= 3 and isinstance(value, dict):
        for k, v in value.items():
            collect_nodes(v, f"{key}_{k}" if isinstance(k, str) and k.isidentifier() else f"{key}_{len(inputs)}",
                     inputs, depth + 1)


def _description(func: Any, name: str) -> str:
    """The operation's description: the function's name and the first paragraph of its docstring."""
    doc = inspect.getdoc(func) if not isinstance(func, type) or func.__doc__ else None
    summary = " ".join((doc or "").split("\n\n")[0].split())
    return f"[{name}] {summary}" if summary else f"[{name}] This calls {name}(...)."


@functools.lru_cache(maxsize=1024)
def _known(func: Any, name: str) -> tuple[str, inspect.Signature | None]:
    """(description, signature or None) of a hashable `func`, looked up once per function."""
    try:
        signature: inspect.Signature | None = inspect.signature(func)
    except (TypeError, ValueError):
        signature = None
    return _description(func, name), signature


def _about(func: Any, name: str) -> tuple[str, inspect.Signature | None]:
    """(description, signature or None) of `func`: cached, unless the callable cannot be hashed."""
    try:
        hash(func)
    except TypeError:
        return _known.__wrapped__(func, name)
    return _known(func, name)


def _argument_names(signature: inspect.Signature | None, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, argument) pairs: the function's parameter names when its signature can be bound."""
    try:
        if signature is None:
            raise TypeError("no signature")
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return [*((f"args_{i}", a) for i, a in enumerate(args)), *kwargs.items()]
    pairs: list[tuple[str, Any]] = []
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            pairs.extend((f"{name}_{i}", v) for i, v in enumerate(value))
        elif kind is inspect.Parameter.VAR_KEYWORD:
            pairs.extend(value.items())
        else:
            pairs.append((name, value))
    return pairs


def traced_call(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call `func`; when nodes are among the arguments, run it on their values and record one operation."""
    if isinstance(func, (FunModule, Node)):
        return func(*args, **kwargs)
    if not (_has_node(args) or _has_node(kwargs)):
        return func(*args, **kwargs)
    try:
        plain = func in PLAIN_CALLS or (getattr(func, "__module__", None) or "").startswith("IPython.")
    except TypeError:  # an unhashable callable
        plain = False
    if plain:
        return func(*to_data(args), **to_data(kwargs))
    name = getattr(func, "__name__", None) or type(func).__name__
    description, signature = _about(func, name)
    inputs: dict[str, Node] = {}
    for key, value in _argument_names(signature, args, kwargs):
        collect_nodes(value, key, inputs)
    plain_args, plain_kwargs = to_data(args), to_data(kwargs)
    return ops.apply(name, description, inputs, lambda: func(*plain_args, **plain_kwargs), [], {})


class CellRuntime:
    """What the rewritten cell calls: traced calls, attributes and f-strings, parameters and the result."""

    def __init__(self, session: Session, label: str) -> None:
        self.session = session
        self.label = label
        self.result_value: Any = None
        self.has_result = False
        self.parameters: list[Node] = []

    def call(self, func: Any, /, *args: Any, **kwargs: Any) -> Any:
        """`func(*args, **kwargs)`, recorded as an operation when traced values are among the arguments."""
        __tracebackhide__ = True  # noqa: F841 -- IPython hides this frame in tracebacks
        return traced_call(func, args, kwargs)

    def method(self, obj: Any, name: str, /, *args: Any, **kwargs: Any) -> Any:
        """`obj.name(*args, **kwargs)`: traced on a node's value, or as a call with traced arguments."""
        __tracebackhide__ = True  # noqa: F841
        if isinstance(obj, Node):
            own = getattr(type(obj), name, None)
            if own is not None and not hasattr(obj._data, name):
                return getattr(obj, name)(*args, **kwargs)  # the Node API itself (backward, clone ...)
            if hasattr(obj._data, name) and own is not None and getattr(own, "own", None) is not None:
                return getattr(obj, name)(*args, **kwargs)  # Node's own traced version (join, items ...)
            return ops.method_call(obj, node(name), *args, **kwargs)
        bound = getattr(obj, name)
        if (isinstance(obj, _STORAGE) and name in _STORING) or isinstance(obj, NodeContainer):
            return bound(*args, **kwargs)
        return traced_call(bound, args, kwargs)

    def item(self, obj: Any, key: Any) -> Any:
        """`obj[key]`: traced on a node; with a node as the key of a plain container, looked up by its value."""
        __tracebackhide__ = True  # noqa: F841
        if isinstance(obj, Node) or not isinstance(key, Node):
            return obj[key]
        return ops.getitem(obj, key)

    def contains(self, container: Any, item: Any) -> bool:
        """`item in container`, by value when either is a node (a plain bool, as `in` is in Trace)."""
        __tracebackhide__ = True  # noqa: F841
        if isinstance(container, Node):
            return item in container
        return (item._data if isinstance(item, Node) else item) in container

    def attr(self, obj: Any, name: str) -> Any:
        """`obj.name`: a traced attribute access when obj is a node whose value has that attribute."""
        __tracebackhide__ = True  # noqa: F841
        if isinstance(obj, Node) and hasattr(obj._data, name):
            return ops.node_getattr(obj, node(name))
        return getattr(obj, name)

    def fstring(self, *parts: Any) -> Any:
        """An f-string: plain text, or a traced `format` operation when a formatted value is a node."""
        __tracebackhide__ = True  # noqa: F841
        values = [p[0] for p in parts if isinstance(p, tuple)]
        if not any(isinstance(v, Node) for v in values):
            return "".join(p if isinstance(p, str) else _format_one(*p) for p in parts)
        template: list[str] = []
        for part in parts:
            if isinstance(part, str):
                template.append(part.replace("{", "{{").replace("}", "}}"))
                continue
            _, conversion, spec = part
            field_text = "{" + (f"!{chr(conversion)}" if conversion != -1 else "")
            spec = to_data(spec)
            field_text += (f":{spec}" if spec else "") + "}"
            template.append(field_text)
        return ops.format(node("".join(template), name="template"), *values)

    def param(self, name: str, value: Any, source: str | None) -> Node:
        """The trainable parameter `name` (its accepted value, unless the person edited `source`)."""
        parameter = self.session.parameter(name, value, source=source, cell=self.label)
        self.parameters.append(parameter)
        return parameter

    def code(self, name: str, fun: Callable[..., Any], source: str | None) -> FunModule:
        """The trainable function `name` (its accepted code, unless the person edited its `def`)."""
        module = self.session.function(name, fun, source=source, cell=self.label)
        assert module.parameter is not None
        self.parameters.append(module.parameter)
        return module

    async def awaited(self, value: Any) -> Any:
        """`await value` at the cell's top level: a node holding an awaitable (a traced call of an async
        function) gives a node of the result, computed from it, so the trace goes on through the await."""
        if not (isinstance(value, Node) and inspect.isawaitable(value._data)):
            return await value
        result = await value._data
        return ops.apply("await", "[await] The result of awaiting its input.", {"awaitable": value},
                         lambda: result, [], {})

    def result(self, value: Any) -> Any:
        """Keep the cell's last expression: the output that receives feedback."""
        self.result_value = value
        self.has_result = True
        return value


def _format_one(value: Any, conversion: int, spec: Any) -> str:
    """One `{value!conversion:spec}` field of an f-string, on plain values."""
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("s"):
        value = str(value)
    elif conversion == ord("a"):
        value = ascii(value)
    return format(value, to_data(spec) or "")
