"""What traced cells registered with a session: parameters and trainable functions by name, outputs by cell.

A parameter has two names: the session's (the variable the person wrote, "prompt") and the
optimizer's (the node's py_name, "prompt0"); `name_of` and `py_name` translate. A value the person
edits in a cell's text wins over the accepted one, and that edit is a history step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from trace_workbench.trace.bundle import FunModule, function_source
from trace_workbench.trace.graph import Scope
from trace_workbench.trace.nodes import Node, ParameterNode
from trace_workbench.trace.values import same_value, value_kind
from trace_workbench.workbench.errors import SessionError
from trace_workbench.workbench.events import Event
from trace_workbench.workbench.history import ValueChange
from trace_workbench.workbench.journal import Journal

__all__ = ["Registry"]


class Registry:
    """Parameters, trainable functions, outputs and cell scopes, by name; changes go through the journal."""

    def __init__(self, journal: Journal, emit: Callable[..., None]) -> None:
        self._journal = journal
        self._emit = emit
        self.parameters: dict[str, ParameterNode] = {}
        """Trainable values by variable name (a trainable function's name maps to its code parameter)."""
        self.functions: dict[str, FunModule] = {}
        """Trainable functions by name."""
        self.owners: dict[str, str] = {}
        """The label of the cell that defined each parameter."""
        self.outputs: dict[str, Node] = {}
        """The node that receives feedback, by cell label."""
        self.scopes: dict[str, Scope] = {}
        """Each traced cell's subgraph, by label."""
        self.last_label: str | None = None
        self.pending_restore: dict[str, Any] = {}
        """Restored values of parameters no cell has defined yet: given to them when a cell does."""
        self._sources: dict[str, str | None] = {}

    # -- parameters and functions ----------------------------------------------------------------
    def parameter(self, name: str, value: Any, *, source: str | None = None, cell: str | None = None) -> ParameterNode:
        """The trainable parameter `name` (see Session.parameter)."""
        if isinstance(value, Node):
            value = value._data
        node = self.parameters.get(name)
        if node is None:
            if name in self.functions:
                raise SessionError(f"{name} is already a trainable function")
            if name in self.pending_restore:
                value = self.pending_restore.pop(name)
            node = ParameterNode(value, name=name)
            self._register(name, node, source, cell)
            return node
        if source is not None and source != self._sources.get(name):
            self._sources[name] = source
            if not same_value(node._data, value):
                self._person_edit(name, node, value, cell)
        return node

    def function(self, name: str, fun: Callable[..., Any], *, source: str | None = None,
                 cell: str | None = None) -> FunModule:
        """The trainable function `name` (see Session.function)."""
        module = self.functions.get(name)
        if module is not None and (source is None or source == self._sources.get(name)):
            return module
        new = FunModule(fun, trainable=True)
        assert new.parameter is not None
        if module is None:
            if name in self.parameters:
                raise SessionError(f"{name} is already a trainable value")
            if name in self.pending_restore:
                new.parameter._set(self.pending_restore.pop(name))
            self.functions[name] = new
            self._register(name, new.parameter, source, cell)
            return new
        parameter = self.parameters[name]
        self._sources[name] = source
        code = function_source(fun)[0]
        new.parameter = parameter
        self.functions[name] = new
        if not same_value(parameter._data, code):
            self._person_edit(name, parameter, code, cell)
        return new

    def adopt(self, parameters: Iterable[ParameterNode]) -> None:
        """Know parameters no cell defined (a script's, a training run's) by their py_name."""
        for parameter in parameters:
            if not any(known is parameter for known in self.parameters.values()):
                self.parameters.setdefault(parameter.py_name, parameter)

    def _register(self, name: str, node: ParameterNode, source: str | None, cell: str | None) -> None:
        self.parameters[name] = node
        self._sources[name] = source
        if cell is not None:
            self.owners[name] = cell
        self._emit(Event.PARAMETER, name=name, node=node, cell=cell)

    def _person_edit(self, name: str, node: ParameterNode, value: Any, cell: str | None) -> None:
        change = ValueChange(name, value_kind(node), node._data, value, cell)
        step = self._journal.assign(Event.EDITED, {name: node}, [change], cell=cell, undoable=False,
                                    note="the person edited the value in the cell; their value wins")
        self._emit(Event.EDITED, step=step, values={name: value})

    def changes_to(self, values: Mapping[str, Any]) -> list[ValueChange]:
        """What setting registered parameters to `values` would change (from their current values)."""
        return [ValueChange(name, value_kind(self.parameters[name]), self.parameters[name]._data, value,
                            self.owners.get(name)) for name, value in values.items()]

    # -- outputs ---------------------------------------------------------------------------------
    def add_output(self, label: str, output: Node, scope: Scope | None = None) -> None:
        """Make `output` the node of cell `label` that receives feedback (the last one is the default)."""
        self.outputs[label] = output
        if scope is not None:
            self.scopes[label] = scope
            scope.output = output
        self.last_label = label
        self._emit(Event.CELL, label=label, output=output, scope=scope)

    def output(self, label: str | Node | None = None) -> tuple[str, Node]:
        """(label, node) of the output called `label` (a label, a node, or None for the last cell)."""
        if isinstance(label, Node):
            for key, value in self.outputs.items():
                if value is label:
                    return key, value
            return label.py_name, label
        if label is None:
            if self.last_label is None:
                raise SessionError("no traced output yet: run a %%trace cell first")
            label = self.last_label
        if label not in self.outputs:
            known = ", ".join(self.outputs) or "none yet"
            raise SessionError(f"no traced cell is labelled {label!r} (traced cells: {known})")
        return label, self.outputs[label]

    # -- names -----------------------------------------------------------------------------------
    def name_of(self, py_name: str) -> str:
        """The session name ("prompt", "f") of a parameter the optimizer calls `py_name` ("prompt0", "__code0")."""
        for name, node in self.parameters.items():
            if node.py_name == py_name:
                return name
        return py_name

    def py_name(self, name: str) -> str:
        """The optimizer's name of the parameter the session calls `name` (either name is accepted)."""
        node = self.parameters.get(name)
        if node is not None:
            return node.py_name
        if any(node.py_name == name for node in self.parameters.values()):
            return name
        raise SessionError(f"no parameter called {name!r}; the parameters are {', '.join(self.parameters) or 'none'}")
