"""The graph registry: node names, tracing on/off, scopes that collect nodes, and listeners.

Per-thread and per-task state (tracing flag, open scopes, the nodes a bundle reads) lives in
contextvars, so two threads or asyncio tasks can trace at once without seeing each other's state.
The registry holds no nodes: a node lives as long as something (an output, a parameter's
feedback, a scope) refers to it, so a training loop does not grow memory without bound.
"""

from __future__ import annotations

import gc
import itertools
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trace_workbench.trace.nodes import Node

Listener = Callable[[str, "Node", Any], None]
"""Called as listener(event, node, payload); event is "node" (created), "feedback" or "data" (changed)."""

_TRACING: ContextVar[bool] = ContextVar("trace_workbench_tracing", default=True)
_SCOPES: ContextVar[tuple[Scope, ...]] = ContextVar("trace_workbench_scopes", default=())
_READS: ContextVar[Reads | None] = ContextVar("trace_workbench_reads", default=None)
_SERIAL = itertools.count()


class Reads:
    """The nodes whose `.data` a bundled function read while it ran (for external dependencies)."""

    __slots__ = ("nodes", "first_serial")

    def __init__(self) -> None:
        self.nodes: dict[int, Node] = {}
        self.first_serial = next(_SERIAL)

    def add(self, node: Node) -> None:
        if node._serial < self.first_serial:  # nodes made during the call are internal, not external
            self.nodes[id(node)] = node


class Scope:
    """The nodes created while a `with GRAPH.scope(label)` block ran (e.g. one notebook cell)."""

    def __init__(self, label: str, listeners: tuple[Listener, ...] = ()) -> None:
        self.label = label
        self.nodes: list[Node] = []
        self.output: Node | None = None
        self._listeners: list[Listener] = list(listeners)

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(event, node, payload)` for nodes of this scope from now on."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def parameters(self) -> list[Node]:
        """Trainable parameters that reach any node of this scope, in order of creation."""
        from trace_workbench.trace.nodes import ancestors

        return [n for n in ancestors(self.nodes) if n.trainable]

    def to_dict(self, max_chars: int = 200) -> dict[str, Any]:
        """JSON-safe nodes and edges of this scope (and the nodes outside it that feed it)."""
        from trace_workbench.trace.serialize import to_dict

        return to_dict(self, max_chars=max_chars)

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __repr__(self) -> str:
        return f"Scope({self.label!r}, {len(self.nodes)} nodes)"


def _notify(listeners: list[Listener], event: str, node: Node, payload: Any) -> None:
    for listener in listeners:
        try:
            listener(event, node, payload)
        except Exception as e:  # a broken view must not break the traced program
            warnings.warn(f"trace listener {listener!r} failed on {event}: {e!r}", stacklevel=3)


class Graph:
    """The registry of nodes: unique names, scopes and listeners (one instance: GRAPH).

    It keeps no reference to nodes: `len`, `get` and `roots` look among the live objects, which is
    slow but rare, so that creating a node stays cheap and dropped graphs are freed.
    """

    def __init__(self) -> None:
        self._counters: dict[str, itertools.count] = {}
        self._listeners: list[Listener] = []
        self._since = 0

    @property
    def TRACE(self) -> bool:  # noqa: N802 -- Trace's public name
        """Whether operations are being recorded in the current context."""
        return _TRACING.get()

    @TRACE.setter
    def TRACE(self, value: bool) -> None:  # noqa: N802
        _TRACING.set(bool(value))

    def register(self, node: Node, base: str) -> None:
        """Give `node` a unique name `base:N` and announce it to open scopes and listeners."""
        counter = self._counters.get(base)
        if counter is None:
            counter = self._counters.setdefault(base, itertools.count())
        node._name = f"{base}:{next(counter)}"
        scopes = _SCOPES.get()
        if scopes:
            node._scopes = scopes
            for scope in scopes:
                scope.nodes.append(node)
        if scopes or self._listeners:
            self.emit("node", node, None)

    def emit(self, event: str, node: Node, payload: Any) -> None:
        """Tell the listeners of `node`'s scopes, and the global ones, that something happened to it."""
        for scope in node._scopes:
            if scope._listeners:
                _notify(scope._listeners, event, node, payload)
        if self._listeners:
            _notify(self._listeners, event, node, payload)

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(event, node, payload)` for every node, in every thread, from now on."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    @contextmanager
    def scope(self, label: str, listener: Listener | None = None) -> Iterator[Scope]:
        """Collect the nodes created inside the block (nested scopes all collect them)."""
        scope = Scope(label, (listener,) if listener is not None else ())
        token = _SCOPES.set((*_SCOPES.get(), scope))
        try:
            yield scope
        finally:
            _SCOPES.reset(token)

    def clear(self) -> None:
        """Restart the numbering of names; nodes made before are no longer counted or found here."""
        self._counters = {}
        self._since = next(_SERIAL)

    def _live(self) -> list[Node]:
        from trace_workbench.trace.nodes import Node

        # type(), not isinstance(): a lazy proxy (e.g. openai's for pandas) imports on `__class__` and may raise
        return [o for o in gc.get_objects() if issubclass(type(o), Node) and o._serial >= self._since]

    def get(self, name: str) -> Node:
        """The live node called `name` (e.g. "x:0"); KeyError if none."""
        for n in self._live():
            if n._name == name:
                return n
        raise KeyError(name)

    @property
    def roots(self) -> list[Node]:
        """Live nodes without parents."""
        return [n for n in self._live() if n.is_root]

    def __len__(self) -> int:
        return len(self._live())

    def __str__(self) -> str:
        return f"Graph({len(self)} live nodes)"


class stop_tracing:  # noqa: N801 -- Trace's public name
    """Context manager: operations inside run on plain values and record no parents."""

    def __enter__(self) -> None:
        self._token = _TRACING.set(False)

    def __exit__(self, *exc: object) -> None:
        _TRACING.reset(self._token)


GRAPH = Graph()
