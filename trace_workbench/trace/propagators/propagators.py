"""The propagator interface, and SumPropagator, which adds up the feedback of a node's children."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trace_workbench.trace.nodes import MessageNode, Node, get_op_name


class AbstractPropagator:
    """Maps a node with feedback to the feedback each of its parents receives."""

    def __call__(self, child: MessageNode) -> dict[Node, Any]:
        propagated = self.propagate(child)
        missing = [p.name for p in child.parents if p not in propagated]
        if missing:
            raise ValueError(f"{type(self).__name__} gave no feedback to parents {missing} of {child.name}")
        return propagated

    def propagate(self, child: MessageNode) -> dict[Node, Any]:
        raise NotImplementedError


class AbstractFeedback:
    """Feedback that can be added up; 0 + feedback is the feedback (so `sum` works)."""

    __slots__ = ()

    def __add__(self, other: Any) -> Any:
        raise NotImplementedError

    def __radd__(self, other: Any) -> Any:
        return self if other == 0 else self.__add__(other)


class Propagator(AbstractPropagator):
    """A propagator with per-operator overrides: register(op_name, fn) uses fn for that operator."""

    def __init__(self) -> None:
        self.override: dict[str, Callable[[MessageNode], dict[Node, Any]]] = {}

    def register(self, operator_name: str, propagate_function: Callable[[MessageNode], dict[Node, Any]]) -> None:
        self.override[operator_name] = propagate_function

    def propagate(self, child: MessageNode) -> dict[Node, Any]:
        override = self.override.get(get_op_name(child.description)) if self.override else None
        return override(child) if override is not None else self._propagate(child)

    def init_feedback(self, node: Node, feedback: Any) -> Any:
        """The feedback the output itself holds when backward starts."""
        raise NotImplementedError

    def _propagate(self, child: MessageNode) -> dict[Node, Any]:
        raise NotImplementedError


class SumPropagator(Propagator):
    """Each parent receives the sum of its child's feedback (texts joined line by line)."""

    def init_feedback(self, node: Node, feedback: Any) -> Any:
        return feedback

    def _propagate(self, child: MessageNode) -> dict[Node, Any]:
        received = [f for fs in child.feedback.values() for f in fs]
        if not received:
            total: Any = ""
        elif all(isinstance(f, str) for f in received):
            total = "\n".join(dict.fromkeys(received))
        else:
            total = sum(received)
        return {parent: total for parent in child.parents}
