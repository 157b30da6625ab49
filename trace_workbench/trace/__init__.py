"""The Trace engine: nodes, operators, bundle, modules, the graph registry and propagators.

Faithful to Trace's API (`opto.trace`): a Trace program ports by importing from here instead.
"""

from trace_workbench.trace.nodes import ExceptionNode, MessageNode, Node, ParameterNode, node  # isort: skip
from trace_workbench.trace import operators, propagators
from trace_workbench.trace.broadcast import apply_op
from trace_workbench.trace.bundle import FunModule, bundle
from trace_workbench.trace.containers import Map, NodeContainer, Seq
from trace_workbench.trace.errors import ExecutionError, TraceMissingInputsError
from trace_workbench.trace.graph import GRAPH, Scope, stop_tracing
from trace_workbench.trace.modules import Module, model
from trace_workbench.trace.serialize import to_dict

__all__ = [
    "GRAPH", "ExceptionNode", "ExecutionError", "FunModule", "Map", "MessageNode", "Module", "Node",
    "NodeContainer", "ParameterNode", "Scope", "Seq", "TraceMissingInputsError", "apply_op", "bundle", "model",
    "node", "operators", "propagators", "stop_tracing", "to_dict",
]
