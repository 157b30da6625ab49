"""Running traced cells in a namespace: rewrite, bind nodes, record one subgraph, unbind to plain values.

After a traced cell, the namespace holds plain values (untraced cells see ordinary Python); the
nodes are kept here and bound again when the next traced cell runs, so its subgraph reaches back
to the parameters and results of earlier cells. Accepted, undone and restored values are written
back to the namespace (a trainable function is redefined). No IPython here.
"""

from __future__ import annotations

import asyncio
import itertools
import linecache
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from trace_workbench.jupyter.cell_runtime import CellRuntime, collect_nodes
from trace_workbench.jupyter.rewrite import RUNTIME_NAME, rewrite_cell
from trace_workbench.trace import operators as ops
from trace_workbench.trace.bundle import FunModule, to_data
from trace_workbench.trace.graph import GRAPH, Scope
from trace_workbench.trace.nodes import ExceptionNode, Node, node
from trace_workbench.workbench.events import Event
from trace_workbench.workbench.session import Session

__all__ = ["CellOptions", "CellRun", "TracedCells"]

_NUMBERS = itertools.count(1)


@dataclass(frozen=True)
class CellOptions:
    """The options of one %%trace cell."""

    train: tuple[str, ...] = ()
    train_code: tuple[str, ...] = ()
    output: str | None = None
    name: str | None = None
    optimizer: str | None = None
    widget: bool = True


@dataclass
class CellRun:
    """What running a traced cell gave: its subgraph, the output node, its plain value, and the error if any."""

    label: str
    scope: Scope
    output: Node | None
    value: Any
    error: BaseException | None = None


@dataclass
class _Binding:
    traced: Any
    plain: Any


@dataclass(frozen=True)
class _Cell:
    source: str
    options: CellOptions
    filename: str
    first_line: int


def _cache_in_linecache(text: str, number: int) -> str:
    filename = f"<traced cell {number}-{next(_NUMBERS)}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    return filename


def _as_output(result: Any) -> Node:
    """The node that receives feedback: the result itself, one operation over the nodes in a container
    (e.g. a tuple of nodes), or a plain value wrapped."""
    if isinstance(result, Node):
        return result
    inputs: dict[str, Node] = {}
    collect_nodes(result, "item", inputs)
    if not inputs:
        return node(result, name="output")
    plain = to_data(result)
    return ops.apply("output", "[output] The cell's output, built from the values listed as inputs.", inputs,
                     lambda: plain, [], {})


class TracedCells:
    """Runs %%trace cells for one Session in one namespace (an IPython user namespace, or any dict)."""

    def __init__(self, session: Session, namespace: dict[str, Any],
                 cache_source: Callable[[str, int], str] = _cache_in_linecache,
                 run_coroutine: Callable[[Coroutine[Any, Any, Any]], Any] = asyncio.run) -> None:
        self.session = session
        self.namespace = namespace
        self.cache_source = cache_source
        self.run_coroutine = run_coroutine
        """Runs a cell that awaits at its top level to its end (the magics run it as IPython does)."""
        self.bindings: dict[str, _Binding] = {}
        self.cells: dict[str, _Cell] = {}
        session.subscribe(self._on_event)

    def close(self) -> None:
        """Stop following the session's events."""
        self.session.unsubscribe(self._on_event)

    def run(self, source: str, options: CellOptions, label: str, filename: str | None = None,
            first_line: int = 1) -> CellRun:
        """Run `source` traced as cell `label`; errors in the cell are returned, not raised (see CellRun).

        SyntaxError (and RewriteError, a SyntaxError) is raised before anything runs.
        """
        if filename is None:
            filename = self.cache_source(source, len(self.cells) + 1)
        rewritten = rewrite_cell(source, filename, train=options.train, train_code=options.train_code,
                                 output=options.output, first_line=first_line)
        if options.optimizer is not None:
            self.session.use_optimizer(options.optimizer)
        self.cells[label] = _Cell(source, options, filename, first_line)
        runtime = CellRuntime(self.session, label)
        namespace = self.namespace
        output: Node | None = None
        value: Any = None
        error: BaseException | None = None
        self._bind()
        namespace[RUNTIME_NAME] = runtime
        with GRAPH.scope(label) as scope:
            scope.nodes.extend(self._own_parameters(options))
            self.session.scopes[label] = scope
            self.session.emit(Event.CELL_STARTED, label=label, scope=scope, options=options)
            try:
                if rewritten.awaits:
                    self.run_coroutine(eval(rewritten.code, namespace))
                else:
                    exec(rewritten.code, namespace)
                if rewritten.output is not None:
                    result, has_result = eval(rewritten.output, namespace), True
                else:
                    result, has_result = runtime.result_value, runtime.has_result
                if has_result:
                    output = _as_output(result)
                    value = output._data
            except Exception as e:
                error = e
                output = getattr(e, "exception_node", None)
                if not isinstance(output, Node):
                    inputs = {p.py_name: p for p in runtime.parameters}
                    output = ExceptionNode(e, inputs=inputs, name=f"exception_{label}",
                                           description=f"[exception] The cell {label} raised an exception.")
            finally:
                namespace.pop(RUNTIME_NAME, None)
                self._unbind()
        if output is not None:
            self.session.add_output(label, output, scope)
        return CellRun(label, scope, output, value, error)

    def _own_parameters(self, options: CellOptions) -> list[Node]:
        """The parameters this cell trains that exist already (it ran before): they are this cell's, not
        nodes from an earlier cell, though they were made before its scope."""
        session = self.session
        found = [session.parameters.get(name) for name in options.train]
        found += [session.functions[name].parameter for name in options.train_code if name in session.functions]
        return [p for p in found if p is not None]

    def rerun(self, label: str) -> Node | None:
        """Run cell `label` again as it was last run (the automatic loop does this after each change)."""
        cell = self.cells.get(label)
        if cell is None:
            return None
        return self.run(cell.source, cell.options, label, cell.filename, cell.first_line).output

    # -- namespace ------------------------------------------------------------------------------------
    def _plain(self, traced: Any) -> Any:
        if isinstance(traced, Node):
            return traced._data
        try:
            return traced.fun
        except Exception:  # code that does not compile stays the bundled function
            return traced

    def _bind(self) -> None:
        """Put the nodes back where the namespace still holds the plain values this runner left there."""
        namespace = self.namespace
        for name, binding in list(self.bindings.items()):
            if name in namespace and namespace[name] is binding.plain:
                namespace[name] = binding.traced
            else:
                del self.bindings[name]

    def _unbind(self) -> None:
        """Replace nodes (and the session's trainable functions) in the namespace by their plain values."""
        functions = self.session.functions.values()
        for name, value in list(self.namespace.items()):
            if isinstance(value, Node) or (isinstance(value, FunModule) and any(value is f for f in functions)):
                plain = self._plain(value)
                self.bindings[name] = _Binding(value, plain)
                self.namespace[name] = plain

    def _on_event(self, event: str, payload: dict[str, Any]) -> None:
        values = payload.get("values")
        if not values:
            return
        for name in values:
            binding = self.bindings.get(name)
            if binding is None or self.namespace.get(name) is not binding.plain:
                continue
            traced = self.session.functions.get(name, binding.traced)
            binding.traced = traced
            binding.plain = self._plain(traced)
            self.namespace[name] = binding.plain
