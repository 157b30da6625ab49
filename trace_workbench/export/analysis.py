"""to_networkx: a trace graph as a networkx.DiGraph, for analysis."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from trace_workbench.extras import require
from trace_workbench.trace.graph import Scope
from trace_workbench.trace.nodes import Node
from trace_workbench.trace.serialize import to_dict

if TYPE_CHECKING:
    import networkx

__all__ = ["to_networkx"]


def to_networkx(obj: Node | Scope | Iterable[Node], max_chars: int = 200) -> networkx.DiGraph:
    """The graph of a node (it and all it was computed from), of a scope, or of some nodes.

    Nodes are keyed by `to_dict`'s ids ("n12") and carry its other fields as attributes (`name`,
    `kind`, `trainable`, `type`, `data`, `description`, `level`, `feedback`, `output`, `external`);
    edges point from a parent to the node computed from it. A scope's label is the graph's `label`.
    Needs the `export` extra (networkx).
    """
    networkx = require("networkx", "export")

    graph_dict = to_dict(obj, max_chars)
    graph = networkx.DiGraph()
    if "label" in graph_dict:
        graph.graph["label"] = graph_dict["label"]
    for fields in graph_dict["nodes"]:
        attributes: dict[str, Any] = {k: v for k, v in fields.items() if k != "id"}
        graph.add_node(fields["id"], **attributes)
    graph.add_edges_from((edge["source"], edge["target"]) for edge in graph_dict["edges"])
    return graph
