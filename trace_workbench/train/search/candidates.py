"""A search's candidates: parameter values, the proposal and parent they came from, their rollouts and scores."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from trace_workbench.train.search.objectives import Objective
from trace_workbench.workbench.history import decode_value, encode_value

__all__ = ["Candidate", "Rollout", "ucb_bounds"]

OPEN, EXPANDED, PRUNED, DROPPED = "open", "expanded", "pruned", "dropped"
STATUSES = (OPEN, EXPANDED, PRUNED, DROPPED)


@dataclass
class Rollout:
    """One run of a candidate on one example: the example's index and the metrics it scored."""

    example: int
    metrics: dict[str, float]
    error: str | None = None


@dataclass
class Candidate:
    """A parameter set the search has made. `values` are by the optimizer's names (py_name).

    status: "open" (may be expanded), "expanded" (children made; beam search does not expand it again),
    "pruned" (by a person: neither rolled out nor expanded again) or "dropped" (fell out of the beam).
    `promoted` puts it first in line to be expanded, once.
    """

    id: int
    parent: int | None
    values: dict[str, Any]
    proposal: dict[str, Any] = field(default_factory=dict)
    rollouts: list[Rollout] = field(default_factory=list)
    status: str = OPEN
    promoted: bool = False
    tokens: int = 0
    """Tokens the optimizer spent proposing this candidate."""
    history_step: int | None = None

    @property
    def n(self) -> int:
        return len(self.rollouts)

    def means(self) -> dict[str, float]:
        """Each metric's mean over the rollouts (empty before the first rollout)."""
        if not self.rollouts:
            return {}
        names = {name for r in self.rollouts for name in r.metrics}
        return {name: sum(r.metrics.get(name, 0.0) for r in self.rollouts) / self.n for name in sorted(names)}

    def scalar(self, objective: Objective) -> float | None:
        """The objective's weighted sum of the means (None before the first rollout)."""
        return objective.scalar(self.means()) if self.rollouts else None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the search's table (values through the history's exact encoding)."""
        return {"id": self.id, "parent": self.parent, "values": {k: encode_value(v) for k, v in self.values.items()},
                "proposal": self.proposal, "status": self.status, "promoted": self.promoted, "tokens": self.tokens,
                "history_step": self.history_step,
                "rollouts": [{"example": r.example, "metrics": r.metrics, "error": r.error} for r in self.rollouts]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        return cls(id=data["id"], parent=data["parent"],
                   values={k: decode_value(v) for k, v in data["values"].items()}, proposal=data["proposal"],
                   status=data["status"], promoted=data["promoted"], tokens=data["tokens"],
                   history_step=data["history_step"],
                   rollouts=[Rollout(r["example"], r["metrics"], r["error"]) for r in data["rollouts"]])


def ucb_bounds(candidates: list[Candidate], objective: Objective, exploration: float) -> dict[int, tuple[float, float]]:
    """(lower, upper) confidence bounds on each rolled-out candidate's objective value.

    mean ± exploration * sqrt(ln(N) / n) * range, N being all rollouts so far and range the spread of
    single rollouts' objective values (UCB1 scaled to the scores seen).
    """
    rolled = [c for c in candidates if c.rollouts]
    singles = [objective.scalar(r.metrics) for c in rolled for r in c.rollouts]
    finite = [s for s in singles if math.isfinite(s)]
    spread = (max(finite) - min(finite)) if finite else 0.0
    total = sum(c.n for c in rolled)
    bounds = {}
    for c in rolled:
        mean = c.scalar(objective) or 0.0
        width = exploration * math.sqrt(math.log(total + 1) / c.n) * (spread or 1.0)
        bounds[c.id] = (mean - width, mean + width)
    return bounds
