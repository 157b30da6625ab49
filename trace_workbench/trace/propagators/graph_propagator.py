"""GraphPropagator: each node receives the subgraph between it and the output, with the user's
feedback — what OptoPrime reads to build its prompt.

A TraceGraph is built from shared parts, so adding two is O(1) and a backward pass over n nodes is
O(n); the flat, level-ordered list of nodes is assembled only when someone reads `.graph`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trace_workbench.trace.nodes import MessageNode, Node
from trace_workbench.trace.propagators.propagators import AbstractFeedback, Propagator


class TraceGraph(AbstractFeedback):
    """A set of nodes of the trace (as (level, node) pairs in `graph`) and the user's feedback."""

    __slots__ = ("_own", "_parts", "_feedbacks", "_flat")

    def __init__(self, graph: list[tuple[int, Node]] | None = None, user_feedback: Any = None,
                 _parts: tuple[TraceGraph, ...] = (), _nodes: tuple[Node, ...] = ()) -> None:
        self._own = _nodes or tuple(n for _, n in graph or ())
        self._parts = _parts
        self._feedbacks: tuple[Any, ...] = () if user_feedback is None else (user_feedback,)
        self._flat: list[tuple[int, Node]] | None = None

    @property
    def graph(self) -> list[tuple[int, Node]]:
        """The nodes, each once, ordered by level (then by creation)."""
        if self._flat is None:
            nodes: dict[int, Node] = {}
            seen: set[int] = set()
            stack: list[TraceGraph] = [self]
            while stack:
                tg = stack.pop()
                if id(tg) in seen:
                    continue
                seen.add(id(tg))
                for n in tg._own:
                    nodes.setdefault(id(n), n)
                stack.extend(tg._parts)
            ordered = sorted(nodes.values(), key=lambda n: (n.level, n._serial))
            self._flat = [(n.level, n) for n in ordered]
        return self._flat

    @property
    def user_feedback(self) -> Any:
        """The user's feedback; feedback of several outputs (a minibatch) is combined, one per line."""
        if not self._feedbacks:
            return None
        if len(self._feedbacks) == 1:
            return self._feedbacks[0]
        if all(isinstance(f, str) for f in self._feedbacks):
            return "\n".join(self._feedbacks)
        return list(self._feedbacks)

    def empty(self) -> bool:
        return not self.graph and not self._feedbacks

    def __add__(self, other: Any) -> TraceGraph:
        if not isinstance(other, TraceGraph):
            return NotImplemented
        result = TraceGraph(_parts=(self, other))
        result._feedbacks = _unique(self._feedbacks + other._feedbacks)
        return result

    def __len__(self) -> int:
        return len(self.graph)

    def __iter__(self) -> Iterator[tuple[int, Node]]:
        return iter(self.graph)

    def __repr__(self) -> str:
        return f"TraceGraph({len(self)} nodes, user_feedback={self.user_feedback!r})"

    @classmethod
    def expand(cls, node: MessageNode) -> TraceGraph:
        """The subgraph inside a traceable bundle's call (its own output's graph), with no feedback."""
        from trace_workbench.trace.utils import sum_feedback

        output = (node.info or {}).get("output")
        if not isinstance(output, MessageNode):
            return TraceGraph()
        inner = node.info["inputs"]
        roots = [*output.parameter_dependencies, *output.expandable_dependencies, *inner["args"],
                 *inner["kwargs"].values()]
        saved = {id(p): (p, p._feedback) for p in roots}
        for p, _ in saved.values():
            p.zero_feedback()
        output.backward("", retain_graph=True)
        subgraph = sum_feedback(p for p, _ in saved.values())
        for p, feedback in saved.values():
            p._feedback = feedback
        return subgraph if isinstance(subgraph, TraceGraph) else TraceGraph()

    def visualize(self, simple_visualization: bool = True, reverse_plot: bool = False,
                  print_limit: int = 100) -> Any:
        """A picture of these nodes and the edges between them (renders in notebooks)."""
        from trace_workbench.trace.picture import GraphPicture

        nodes = [n for _, n in self.graph]
        return GraphPicture.of_nodes(nodes, output=nodes[-1] if nodes else None, simple=simple_visualization,
                                     reverse=reverse_plot, print_limit=print_limit)


def _unique(feedbacks: tuple[Any, ...]) -> tuple[Any, ...]:
    """Each feedback once, in order: equal ones merge (unhashable ones, like dicts, when identical)."""
    try:
        return tuple(dict.fromkeys(feedbacks))
    except TypeError:
        return tuple({id(f): f for f in feedbacks}.values())


class GraphPropagator(Propagator):
    """Each parent receives its child's TraceGraph plus the child's parents."""

    def init_feedback(self, node: Node, feedback: Any) -> TraceGraph:
        return TraceGraph(graph=[(node.level, node)], user_feedback=feedback)

    def _propagate(self, child: MessageNode) -> dict[Node, Any]:
        received = [f for fs in child.feedback.values() for f in fs]
        feedback = TraceGraph(_nodes=child.parents)
        for f in received:
            feedback = f + feedback
        for param in child.hidden_dependencies:
            param._add_feedback(child, feedback)
        return {parent: feedback for parent in child.parents}
