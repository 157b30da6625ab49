"""Nodes of the trace: values that record the operations applied to them.

A Node wraps a plain value; every traced operation on nodes returns a MessageNode whose parents
are its inputs, so the output of a program remembers how it was computed. ParameterNodes are the
trainable values; ExceptionNodes record an operation that raised. Feedback given to an output is
carried backward to the parameters by a propagator, the way AutoDiff carries gradients.
"""

from __future__ import annotations

import copy
import gc
import heapq
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType, MethodType
from typing import Any, Generic, TypeVar

from trace_workbench.trace.graph import _READS, _SERIAL, _TRACING, GRAPH
from trace_workbench.trace.text import shorten

T = TypeVar("T")

_KIND = re.compile(r"^\[([^\[\]]+)\]")
_CHILD_LOCK = threading.Lock()
IDENTITY_OPERATORS = ("identity", "clone")
_EMPTY: Mapping[Any, Any] = MappingProxyType({})  # shared by nodes without inputs or feedback
FEEDBACK_ORACLE = "FEEDBACK_ORACLE"
"""The key under which an output's own (user) feedback is stored in its `feedback` dict."""


def node(data: Any, name: str | None = None, trainable: bool = False, description: str | None = None,
         constraint: str | None = None) -> Node:
    """Wrap `data` in a Node (a ParameterNode when trainable); a node of a node is that node."""
    if description is not None and not isinstance(description, str):
        raise TypeError(f"description must be a str, not {type(description).__name__}")
    if trainable:
        if isinstance(data, Node):
            name = name or data.name.split(":")[0]
            data = data._data
        return ParameterNode(data, name=name, description=description, constraint=constraint)
    if isinstance(data, Node):
        return data
    return Node(data, name=name, description=description, constraint=constraint)


def get_op_name(description: str) -> str:
    """The operator name in a description "[name] what it does"."""
    match = _KIND.match(description)
    if match is None:
        raise ValueError(f"The description {description!r} must start with the operator name in brackets.")
    return match.group(1)


def _describe(kind: str, description: str | None, default: str) -> str:
    if not description:
        return f"[{kind}] {default}"
    return description if _KIND.match(description) else f"[{kind}] {description.strip()}"


def ancestors(nodes: Iterable[Node]) -> list[Node]:
    """`nodes` and every node they were computed from, each once, in order of creation."""
    seen: dict[int, Node] = {}
    stack = list(nodes)
    while stack:
        n = stack.pop()
        if id(n) not in seen:
            seen[id(n)] = n
            stack.extend(n._parents)
    return sorted(seen.values(), key=lambda n: n._serial)


class _UsedNodes:
    """Trace's USED_NODES, read-only: ``USED_NODES.get()`` is a list holding the set of nodes the running
    bundled function has read so far (those that existed before its call), or an empty list outside one."""

    def get(self) -> list[set[Node]]:
        reads = _READS.get()
        return [] if reads is None else [set(reads.nodes.values())]


USED_NODES = _UsedNodes()


class Node(Generic[T]):
    """A value in the traced computation, with its parents, children and received feedback."""

    __slots__ = ("_data", "_name", "_parents", "_children", "_level", "trainable", "_feedback",
                 "_description", "_constraint", "_backwarded", "_info", "_serial", "_scopes", "_inputs",
                 "__weakref__")
    _KIND = "Node"
    _DEFAULT = "This is a node in a computational graph."

    def __init__(self, value: Any, *, name: str | None = None, trainable: bool = False,
                 description: str | None = None, constraint: str | None = None,
                 info: dict[str, Any] | None = None, inputs: dict[str, Node] | None = None) -> None:
        if isinstance(value, Node):
            base = value._name.split(":")[0] if name is None else name
            value = value._data
        else:
            base = type(value).__name__ if name is None else name
        self._data = value
        self.trainable = trainable
        self._description = description if description and _KIND.match(description) else _describe(
            self._KIND, description, self._DEFAULT)
        self._constraint = constraint
        self._info = info
        self._feedback = _EMPTY
        self._backwarded = False
        self._children: list[weakref.ref[Node]] | None = None
        self._scopes: tuple = ()
        self._serial = next(_SERIAL)
        level = 0
        if inputs:
            parents: list[Node] = []
            for parent in inputs.values():
                if not isinstance(parent, Node):
                    raise TypeError(f"an input of a MessageNode must be a Node, not {type(parent).__name__}")
                for p in parents:
                    if p is parent:
                        break
                else:
                    parents.append(parent)
                    parent._add_child(self)
                    if parent._level >= level:
                        level = parent._level + 1
            self._inputs = inputs
            self._parents = tuple(parents)
        else:
            self._inputs = _EMPTY
            self._parents = ()
        self._level = level
        GRAPH.register(self, base.replace(":", "_"))

    # -- the value and its place in the graph -------------------------------------------------
    @property
    def data(self) -> T:
        """The wrapped value (reading it inside a bundle records a dependency)."""
        reads = _READS.get()
        if reads is not None:
            reads.add(self)
        return self._data

    @property
    def parents(self) -> tuple[Node, ...]:
        """The nodes this one was computed from (its inputs, each once)."""
        return self._parents

    @property
    def children(self) -> list[Node]:
        """The live nodes computed from this one, in order of creation."""
        alive = [c for r in list(self._children or ()) if (c := r()) is not None]
        return sorted(alive, key=lambda c: c._serial)

    def _add_child(self, child: Node) -> None:
        with _CHILD_LOCK:
            children = self._children
            if children is None:
                children = self._children = []
            children.append(weakref.ref(child))
            n = len(children)
            if n >= 64 and n & (n - 1) == 0:  # prune dead references, amortized O(1)
                children[:] = [r for r in children if r() is not None]

    @property
    def name(self) -> str:
        return self._name

    @property
    def py_name(self) -> str:
        return self._name.replace(":", "")

    @property
    def id(self) -> str:
        return self._name.split(":")[1]

    @property
    def level(self) -> int:
        return self._level

    @property
    def is_root(self) -> bool:
        return not self._parents

    @property
    def is_leaf(self) -> bool:
        return not self.children

    @property
    def description(self) -> str:
        return self._description

    @property
    def op_name(self) -> str:
        return get_op_name(self._description)

    @property
    def info(self) -> dict[str, Any] | None:
        return self._info

    @property
    def type(self) -> type:
        return type(self._data)

    @property
    def inputs(self) -> dict[str, Node]:
        return dict(self._inputs)

    @property
    def parameter_dependencies(self) -> set[Node]:
        """The ParameterNodes this node was computed from (itself included)."""
        return {n for n in ancestors([self]) if isinstance(n, ParameterNode)}

    @property
    def expandable_dependencies(self) -> set[Node]:
        """MessageNodes this node depends on (itself included) whose inner computation hides parameters."""
        own = {self} if self.hidden_dependencies else set()
        return own | self._expandable_above()

    def _expandable_above(self) -> set[Node]:
        return {n for n in ancestors(self._parents) if isinstance(n, MessageNode) and n.hidden_dependencies}

    @property
    def hidden_dependencies(self) -> set[Node]:
        return set()

    def _set(self, value: Any) -> None:
        """Replace the value (e.g. when an optimizer updates a parameter) and tell the listeners."""
        self._data = value._data if isinstance(value, Node) else value
        if self._scopes or GRAPH._listeners:
            GRAPH.emit("data", self, self._data)

    # -- feedback ------------------------------------------------------------------------------
    @property
    def feedback(self) -> Mapping[Any, list[Any]]:
        """Feedback received, keyed by the child it came from (FEEDBACK_ORACLE for the user's)."""
        return self._feedback

    @property
    def constraint(self) -> str | None:
        return self._constraint

    def zero_feedback(self) -> None:
        self._feedback = _EMPTY

    def _add_feedback(self, child: Any, feedback: Any) -> None:
        if self._feedback is _EMPTY:
            self._feedback = {}
        self._feedback.setdefault(child, []).append(feedback)
        if self._scopes or GRAPH._listeners:
            GRAPH.emit("feedback", self, feedback)

    def backward(self, feedback: Any = "", propagator: Any = None, retain_graph: bool = True,
                 visualize: bool = False, simple_visualization: bool = True, reverse_plot: bool = False,
                 print_limit: int = 100) -> Any:
        """Give `feedback` to this node and carry it back to every node it was computed from.

        Nodes are visited children before parents (by level), each once, so the cost is linear in
        the size of the graph. Returns a picture of the graph when `visualize` is true.
        """
        if propagator is None:
            from trace_workbench.trace.propagators import GraphPropagator

            propagator = GraphPropagator()
        if self._backwarded:
            raise AttributeError(f"{self} has been backwarded (use retain_graph=True to allow it twice).")
        self._add_feedback(FEEDBACK_ORACLE, propagator.init_feedback(self, feedback))
        visited: list[Node] = [self]
        queue = [(-self._level, self._serial, self)] if self._parents else []
        queued = {id(self)}
        collecting = gc.isenabled()
        gc.disable()  # the pass allocates many small objects and frees none: full collections are wasted work
        try:
            while queue:
                _, _, child = heapq.heappop(queue)
                if child._backwarded:
                    raise AttributeError(f"{child} has been backwarded.")
                propagated = propagator(child)
                child.zero_feedback()
                for parent in child._parents:
                    if parent in propagated:
                        parent._add_feedback(child, propagated[parent])
                    if id(parent) not in queued:
                        queued.add(id(parent))
                        visited.append(parent)
                        if parent._parents:
                            heapq.heappush(queue, (-parent._level, parent._serial, parent))
                child._backwarded = not retain_graph
        finally:
            if collecting:
                gc.enable()
        if not visualize:
            return None
        from trace_workbench.trace.picture import GraphPicture

        return GraphPicture.of_nodes(visited, output=self, simple=simple_visualization,
                                     reverse=reverse_plot, print_limit=print_limit)

    # -- copies ----------------------------------------------------------------------------------
    def clone(self) -> MessageNode:
        """A traced copy (an operation whose parent is this node)."""
        return _ops.clone(self)

    def detach(self) -> Node:
        """An untraced deep copy with no parents."""
        return copy.deepcopy(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Node:
        result = self.__class__.__new__(self.__class__)
        memo[id(self)] = result
        result.__setstate__({k: copy.deepcopy(v, memo) for k, v in self.__getstate__().items()})
        return result

    def __copy__(self) -> Node:
        result = self.__class__.__new__(self.__class__)
        result.__setstate__(self.__getstate__())
        return result

    def __getstate__(self) -> dict[str, Any]:
        """The node without its graph links: a copy or an unpickled node starts a new graph."""
        return {"data": self._data, "name": self._name.split(":")[0], "trainable": self.trainable,
                "description": self._description, "constraint": self._constraint, "info": self._info}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._data = state["data"]
        self.trainable = state["trainable"]
        self._description = state["description"]
        self._constraint = state["constraint"]
        self._info = state["info"]
        self._feedback = _EMPTY
        self._backwarded = False
        self._children = None
        self._scopes = ()
        self._serial = next(_SERIAL)
        self._inputs = _EMPTY
        self._parents = ()
        self._level = 0
        GRAPH.register(self, state["name"])

    # -- display -------------------------------------------------------------------------------
    def __str__(self) -> str:
        return f"{type(self).__name__}: ({self._name}, dtype={type(self._data)}, data={_shown(self._data, str)})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name}, data={shorten(_shown(self._data, repr), 77, mark='...')})"

    # -- Python's data model: plain where plain Python returns plain values -------------------
    def __eq__(self, other: object) -> bool:
        """The data compared as plain Python would (as in Trace); data whose == raises is equal only to itself."""
        if other is self:
            return True
        theirs = other._data if isinstance(other, Node) else other
        try:
            return self._data == theirs
        except Exception:
            return self._data is theirs

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        return bool(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __index__(self) -> int:
        return self._data.__index__()

    def __int__(self) -> int:
        return int(self._data)

    def __float__(self) -> float:
        return float(self._data)

    def __complex__(self) -> complex:
        return complex(self._data)

    def __iter__(self) -> Iterator[Node]:
        from trace_workbench.trace.iterators import iterate

        return iterate(self)

    # -- traced operations (see operators.py; the dunders are attached at the end of this file) -
    def eq(self, other: Any) -> MessageNode:
        """Traced `==` (the `==` operator itself returns a plain bool, as in Trace)."""
        return _ops.eq(self, node(other))

    def neq(self, other: Any) -> MessageNode:
        return _ops.neq(self, node(other))

    def len(self) -> MessageNode:
        """Traced `len` (`len(node)` itself returns a plain int)."""
        return _ops.len_(self)

    def getattr(self, key: str) -> MessageNode:
        """Traced attribute access on the wrapped object."""
        return _ops.node_getattr(self, node(key))

    def call(self, fun: str, /, *args: Any, **kwargs: Any) -> MessageNode:
        """Traced call of the wrapped object's method `fun`."""
        return self.getattr(fun)(*(node(a) for a in args), **{k: node(v) for k, v in kwargs.items()})

    def __call__(self, /, *args: Any, **kwargs: Any) -> MessageNode:
        return _ops.call(self, *args, **kwargs)

    def __getitem__(self, key: Any) -> MessageNode:
        return _ops.getitem(self, node(key))

    def __contains__(self, item: Any) -> bool:
        return bool(_ops.in_(node(item), self))

    def __round__(self, n: Any = None) -> MessageNode:
        return _ops.round(self, node(n) if n is not None else None)

    def __add__(self, other: Any) -> MessageNode:
        op = _ops.concat if type(self._data) is str else _ops.add
        return op(self, node(other))

    def __radd__(self, other: Any) -> MessageNode:
        return node(other) + self

    # The methods below exist on a node only when its value has them (see _DataMethod at the end).
    def join(self, seq: Iterable[Any]) -> MessageNode:
        """Traced str.join; every element becomes an input."""
        try:
            items = list(seq)
        except TypeError as e:  # not iterable: str.join fails, recorded as a failed join of both
            _ops.raise_execution_error("join", {"x": self, "seq": node(seq)}, e)
        return _ops.join(self, *items)

    def split(self, sep: Any = None, maxsplit: int = -1) -> MessageNode:
        return _ops.split(self, sep, maxsplit)

    def strip(self, chars: Any = None) -> MessageNode:
        return _ops.strip(self, chars)

    def replace(self, old: Any, new: Any, count: int = -1) -> MessageNode:
        return _ops.replace(self, node(old), node(new), count)

    def items(self) -> Any:
        """(key node, value node) pairs of a dict, each traced back to this node."""
        from trace_workbench.trace.iterators import DictIterable

        return DictIterable(self)

    def keys(self) -> MessageNode:
        return _ops.keys(self)

    def values(self) -> MessageNode:
        return _ops.values(self)


def _require(n: Node, method: str) -> None:
    if not hasattr(n._data, method):
        raise AttributeError(f"{type(n._data).__name__!r} object has no attribute {method!r}")


class _DataMethod:
    """A method of the wrapped value (str.lower, list.index, set.union ...) exposed as a traced call:
    `own(node, ...)` when given (Node.join, Node.items ...), else a call of the value's method.

    Looking it up raises AttributeError exactly when the plain value has no such method.
    """

    def __init__(self, method: str, own: Callable[..., Any] | None = None) -> None:
        self.method = method
        self.own = own

    def __get__(self, obj: Node | None, owner: type) -> Any:
        if obj is None:
            return self
        _require(obj, self.method)
        if self.own is not None:
            return MethodType(self.own, obj)
        method = self.method

        def traced(*args: Any, **kwargs: Any) -> MessageNode:
            return _ops.method_call(obj, node(method), *args, **kwargs)

        traced.__name__ = method
        return traced


class ParameterNode(Node[T]):
    """A trainable value: what an optimizer reads and updates."""

    __slots__ = ()
    _KIND = "ParameterNode"
    _DEFAULT = "This is a ParameterNode in a computational graph."

    def __init__(self, value: Any, *, name: str | None = None, trainable: bool = True,
                 description: str | None = None, constraint: str | None = None,
                 info: dict[str, Any] | None = None) -> None:
        super().__init__(value, name=name, trainable=trainable, description=description,
                         constraint=constraint, info=info)


class MessageNode(Node[T]):
    """The result of a traced operation; its inputs (by argument name) are its parents."""

    __slots__ = ()
    _KIND = "MessageNode"

    def __init__(self, value: Any, *, inputs: dict[str, Node] | list[Node], description: str,
                 constraint: str | None = None, name: str | None = None,
                 info: dict[str, Any] | None = None) -> None:
        if isinstance(inputs, list):
            inputs = {v.name: v for v in inputs}
        elif not isinstance(inputs, dict):
            raise TypeError("inputs of a MessageNode must be a list or a dict of nodes")
        if not _TRACING.get():
            inputs = {}
        super().__init__(value, name=name, description=description, constraint=constraint, info=info,
                         inputs=inputs)

    @property
    def hidden_dependencies(self) -> set[Node]:
        """Parameters used inside a traceable bundle's own graph that its inputs do not show."""
        info = self._info
        if not isinstance(info, dict) or not isinstance(info.get("output"), Node):
            return set()
        inner = info["inputs"]
        if not all(isinstance(i, Node) for i in (*inner["args"], *inner["kwargs"].values())):
            return set()
        output = info["output"]
        hidden = output.parameter_dependencies - self.parameter_dependencies
        for n in output.expandable_dependencies - self._expandable_above():
            hidden |= n.hidden_dependencies
        return hidden


class ExceptionNode(MessageNode[T]):
    """Records that an operation raised: its value is "(ErrorType) message"."""

    __slots__ = ()
    _KIND = "ExceptionNode"

    def __init__(self, value: BaseException, *, inputs: dict[str, Node] | list[Node],
                 description: str = "[ExceptionNode] This is node containing the error of execution.",
                 constraint: str | None = None, name: str | None = None,
                 info: dict[str, Any] | None = None) -> None:
        value = getattr(value, "original", None) or value  # an ExecutionError stands for its original
        error_type = type(value)
        qualified = error_type.__qualname__ if error_type.__module__ == "builtins" else (
            f"{error_type.__module__}.{error_type.__qualname__}")
        super().__init__(f"({qualified}) {value}", inputs=inputs, description=description,
                         constraint=constraint, name=name, info=info)

    def create_feedback(self, style: str = "simple") -> str:
        """Feedback text for an optimizer: the error, or with style="full" the commented code."""
        if style not in ("simple", "full"):
            raise ValueError("style must be 'simple' or 'full'")
        if style == "full" and isinstance(self._info, dict) and self._info.get("error_comment"):
            return self._info["error_comment"]
        return self._data


from trace_workbench.trace import operators as _ops  # noqa: E402 -- operators build on the classes above


def _binary(op: Any) -> tuple[Any, Any]:
    def forward(self: Node, other: Any) -> MessageNode:
        return op(self, node(other))

    def reflected(self: Node, other: Any) -> MessageNode:
        return op(node(other), self)

    return forward, reflected


for _dunder, _op in [("sub", _ops.subtract), ("mul", _ops.multiply), ("truediv", _ops.divide),
                     ("floordiv", _ops.floor_divide), ("mod", _ops.mod), ("divmod", _ops.node_divmod),
                     ("matmul", _ops.matmul), ("lshift", _ops.lshift),
                     ("rshift", _ops.rshift), ("and", _ops.and_), ("or", _ops.or_), ("xor", _ops.xor)]:
    _forward, _reflected = _binary(_op)
    setattr(Node, f"__{_dunder}__", _forward)
    setattr(Node, f"__r{_dunder}__", _reflected)


def _pow(self: Node, other: Any, modulo: Any = None) -> MessageNode:
    """`node ** y`, and `pow(node, y, z)` as one modular-power operation."""
    if modulo is None:
        return _ops.power(self, node(other))
    return _ops.power_mod(self, node(other), node(modulo))


Node.__pow__ = _pow
Node.__rpow__ = _binary(_ops.power)[1]

for _dunder, _op in [("lt", _ops.lt), ("le", _ops.le), ("gt", _ops.gt), ("ge", _ops.ge)]:
    setattr(Node, f"__{_dunder}__", _binary(_op)[0])


def _unary(op: Any) -> Any:
    """Operators are not descriptors: a plain function makes `-node` call op(node)."""

    def method(self: Node) -> MessageNode:
        return op(self)

    return method


for _dunder, _op in [("neg", _ops.neg), ("pos", _ops.pos), ("abs", _ops.abs), ("invert", _ops.invert),
                     ("floor", _ops.floor), ("ceil", _ops.ceil), ("trunc", _ops.trunc)]:
    setattr(Node, f"__{_dunder}__", _unary(_op))

for _method in ("join", "split", "strip", "replace", "items", "keys", "values"):
    setattr(Node, _method, _DataMethod(_method, vars(Node)[_method]))

for _method in sorted({m for t in (str, list, dict, set, tuple, frozenset, bytes)
                       for m in dir(t) if not m.startswith("_")} - set(vars(Node))):
    setattr(Node, _method, _DataMethod(_method))


def _shown(data: Any, show: Callable[[Any], str]) -> str:
    """str or repr of a node's data; a description instead when the data's own __str__/__repr__ raises."""
    try:
        return show(data)
    except Exception as e:
        return f"<{type(data).__name__} object ({show.__name__} raised {type(e).__name__}: {e})>"
