"""to_dict: a JSON-safe description of a node's graph or a scope, the form widgets and exports read."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from trace_workbench.trace.graph import Scope
from trace_workbench.trace.nodes import ExceptionNode, MessageNode, Node, ParameterNode, ancestors
from trace_workbench.trace.text import shorten


def short(value: Any, max_chars: int = 200) -> str:
    """A readable text of `value`, cut to `max_chars` with a visible mark saying how much was left out."""
    return shorten(value if isinstance(value, str) else repr(value), max_chars, mark="… [{cut} more characters]")


def node_kind(n: Node) -> str:
    """"parameter", "exception", "operation" or "value"."""
    if isinstance(n, ParameterNode):
        return "parameter"
    if isinstance(n, ExceptionNode):
        return "exception"
    if isinstance(n, MessageNode):
        return "operation"
    return "value"


def node_id(n: Node) -> str:
    """An id unique in this process (names may repeat after GRAPH.clear())."""
    return f"n{n._serial}"


def _feedback_text(feedback: Any, max_chars: int) -> str:
    return short(getattr(feedback, "user_feedback", feedback), max_chars)


def node_dict(n: Node, max_chars: int = 200) -> dict[str, Any]:
    """One node as JSON-safe fields."""
    return {
        "id": node_id(n), "name": n.name, "kind": node_kind(n), "trainable": bool(n.trainable),
        "type": type(n._data).__name__, "data": short(n._data, max_chars), "description": n.description,
        "level": n.level,
        "feedback": [_feedback_text(f, max_chars) for fs in n.feedback.values() for f in fs],
    }


def to_dict(obj: Node | Scope | Iterable[Node], max_chars: int = 200) -> dict[str, Any]:
    """Nodes and edges of a node's graph (it and all it was computed from), of a scope (its nodes
    and the outside nodes feeding them, marked external), or of a collection of nodes."""
    outputs: list[Node]
    if isinstance(obj, Node):
        nodes, outputs, inside = ancestors([obj]), [obj], None
    elif isinstance(obj, Scope):
        inside = {id(n) for n in obj.nodes}
        feeding = [p for n in obj.nodes for p in n.parents if id(p) not in inside]
        nodes = sorted({id(n): n for n in [*obj.nodes, *feeding]}.values(), key=lambda n: n._serial)
        outputs = [obj.output] if obj.output is not None else [n for n in obj.nodes if not any(
            id(c) in inside for c in n.children)]
    else:
        nodes, outputs, inside = list(obj), [], None
    members = {id(n) for n in nodes}
    output_ids = {id(n) for n in outputs}
    node_dicts = []
    for n in nodes:
        d = node_dict(n, max_chars)
        d["output"] = id(n) in output_ids
        d["external"] = inside is not None and id(n) not in inside
        node_dicts.append(d)
    edges = [{"source": node_id(p), "target": node_id(n)} for n in nodes for p in n.parents if id(p) in members]
    result: dict[str, Any] = {"nodes": node_dicts, "edges": edges}
    if isinstance(obj, Scope):
        result["label"] = obj.label
    return result
