"""Proposal: what an optimizer step would change, shown before anything changes.

A Proposal lists, for each parameter it would change (by py_name, e.g. "x0" or "__code0"), the
old and new value and a unified diff, with the optimizer's reasoning, the raw reply, the tokens
the step used, and why the reply (or a suggestion in it) could not be used.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from trace_workbench.llm.usage import UsageSummary
from trace_workbench.trace.values import to_jsonable, unified_diff

__all__ = ["ParameterChange", "Proposal"]


@dataclass(frozen=True)
class ParameterChange:
    """One parameter's proposed change. `kind` is "code" or the value's type name ("int", "str", ...)."""

    name: str
    kind: str
    old: Any
    new: Any
    diff: str
    reasoning: str | None = None
    """Reasoning about this parameter alone, when the optimizer gives one (TextGrad's feedback)."""

    @classmethod
    def make(cls, name: str, kind: str, old: Any, new: Any, reasoning: str | None = None) -> ParameterChange:
        """A change with its diff computed."""
        return cls(name=name, kind=kind, old=old, new=new, diff=unified_diff(name, old, new), reasoning=reasoning)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields (values as JSON data; tuples and sets as lists, other objects as repr)."""
        return {"name": self.name, "kind": self.kind, "old": to_jsonable(self.old), "new": to_jsonable(self.new),
                "diff": self.diff, "reasoning": self.reasoning}


@dataclass
class Proposal:
    """The changes an optimizer step proposes; nothing has changed until `optimizer.apply(proposal)`.

    `changes` maps parameter names to their change (only parameters whose value would change).
    `rejected` maps names (as the model wrote them) to why that suggestion was refused.
    `error` is set when the reply was unusable as a whole (then `changes` is empty).
    `usage` holds the tokens and cost of the LLM calls made for this step (None without a meter).
    """

    optimizer: str
    changes: dict[str, ParameterChange] = field(default_factory=dict)
    reasoning: str = ""
    answer: Any = None
    rejected: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    raw: str = ""
    usage: UsageSummary | None = None
    step: int = 0
    labels: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    """The person's name of each parameter by py_name ("prompt" for "prompt0"), as the optimizer knows them:
    what the text and HTML of the proposal show."""

    @property
    def names(self) -> list[str]:
        """Names of the parameters that would change."""
        return list(self.changes)

    def reasoning_for(self, name: str) -> str:
        """The reasoning behind one parameter's change (its own, else the step's)."""
        change = self.changes[name]
        return change.reasoning if change.reasoning is not None else self.reasoning

    def edit(self, name: str, value: Any) -> Proposal:
        """A copy in which parameter `name` would get `value` instead (checked again when applied)."""
        if name not in self.changes:
            raise KeyError(f"{name!r} is not in this proposal; it proposes changes to {self.names}")
        change = self.changes[name]
        edited = ParameterChange.make(name, change.kind, change.old, value, change.reasoning)
        return dataclasses.replace(self, changes={**self.changes, name: edited})

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, e.g. for a history file: every field, usage as its totals."""
        usage = None
        if self.usage is not None:
            usage = {**dataclasses.asdict(self.usage), "total_tokens": self.usage.total_tokens}
        return {
            "optimizer": self.optimizer,
            "step": self.step,
            "changes": {name: change.to_dict() for name, change in self.changes.items()},
            "reasoning": self.reasoning,
            "answer": to_jsonable(self.answer),
            "rejected": dict(self.rejected),
            "error": self.error,
            "raw": self.raw,
            "usage": usage,
        }

    def __str__(self) -> str:
        from trace_workbench.optimizers.rendering import as_text, proposal_view

        return as_text(proposal_view(self))

    def __repr__(self) -> str:
        """One line (a notebook's text/plain): the optimizer, the step and what would change."""
        changes = ", ".join(self.labels.get(k, k) for k in self.changes) or "no change"
        return f"<{type(self).__name__} of {self.optimizer}, step {self.step}: {changes}>"

    def _repr_html_(self) -> str:
        """A notebook's rich view: the diffs under the person's names, with the reasoning."""
        from trace_workbench.optimizers.rendering import as_html, proposal_view

        return f'<div class="trace-workbench-proposal">{as_html(proposal_view(self))}</div>'
