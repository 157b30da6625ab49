"""Propagators: how feedback given to an output is passed from each node to its parents."""

from trace_workbench.trace.propagators.graph_propagator import GraphPropagator, TraceGraph
from trace_workbench.trace.propagators.propagators import (
    AbstractFeedback,
    AbstractPropagator,
    Propagator,
    SumPropagator,
)

__all__ = ["AbstractFeedback", "AbstractPropagator", "GraphPropagator", "Propagator", "SumPropagator", "TraceGraph"]
