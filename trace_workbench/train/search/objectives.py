"""What a search maximises: one score, a weighted sum of named metrics, or a Pareto front over them.

Metrics named in `minimize` (tokens, cost, latency...) count with the opposite sign, so every
comparison below is "higher is better" after `signed()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Objective", "as_objective", "dominates", "pareto_layers"]


@dataclass(frozen=True)
class Objective:
    """Named metrics, their weights, which are minimised, and whether candidates are ranked by Pareto layers.

    `scalar()` (the weighted, signed sum) orders candidates for a weighted objective, breaks ties inside
    a Pareto layer, and is what UCB's confidence bounds are taken on.
    """

    metrics: tuple[str, ...] = ("score",)
    weights: Mapping[str, float] = field(default_factory=dict)
    minimize: frozenset[str] = frozenset()
    pareto: bool = False

    def __post_init__(self) -> None:
        if not self.metrics:
            raise ValueError("an objective needs at least one metric")
        unknown = (set(self.weights) | set(self.minimize)) - set(self.metrics)
        if unknown:
            raise ValueError(f"weights or minimize name metrics {sorted(unknown)} that are not among "
                             f"the objective's metrics {list(self.metrics)}")
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("weights must be non-negative (name a metric in minimize= to minimise it)")

    @classmethod
    def weighted(cls, weights: Mapping[str, float], minimize: Iterable[str] = ()) -> Objective:
        """Maximise sum(weight * metric), metrics in `minimize` counted negatively."""
        return cls(metrics=tuple(weights), weights=dict(weights), minimize=frozenset(minimize))

    @classmethod
    def front(cls, metrics: Sequence[str], minimize: Iterable[str] = (),
              weights: Mapping[str, float] | None = None) -> Objective:
        """Rank by Pareto layers over `metrics` (ties broken by the weighted sum, weights 1 by default)."""
        return cls(metrics=tuple(metrics), weights=dict(weights or {}), minimize=frozenset(minimize), pareto=True)

    def signed(self, metrics: Mapping[str, float]) -> tuple[float, ...]:
        """The metric values in order, minimised ones negated (a missing metric counts as -inf)."""
        out = []
        for name in self.metrics:
            value = metrics.get(name)
            if value is None:
                out.append(float("-inf"))
            else:
                out.append(-float(value) if name in self.minimize else float(value))
        return tuple(out)

    def scalar(self, metrics: Mapping[str, float]) -> float:
        """The weighted signed sum of the metrics (weight 1 for a metric without one)."""
        return sum(self.weights.get(name, 1.0) * v for name, v in zip(self.metrics, self.signed(metrics),
                                                                         strict=True))

    def describe(self) -> str:
        """One line, e.g. "pareto(score↑, tokens↓)"."""
        parts = [f"{self.weights[m]:g}·" if self.weights.get(m, 1.0) != 1.0 and not self.pareto else ""
                 for m in self.metrics]
        names = [f"{p}{m}{'↓' if m in self.minimize else '↑'}" for p, m in zip(parts, self.metrics, strict=True)]
        return f"{'pareto' if self.pareto else 'max'}({', '.join(names)})"

    def to_dict(self) -> dict[str, Any]:
        return {"metrics": list(self.metrics), "weights": dict(self.weights), "minimize": sorted(self.minimize),
                "pareto": self.pareto}


def as_objective(objective: Objective | str | Mapping[str, float] | None) -> Objective:
    """None or "score": maximise the metric "score"; another name: that metric; a dict: weights."""
    if objective is None:
        return Objective()
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, str):
        return Objective(metrics=(objective,))
    if isinstance(objective, Mapping):
        return Objective.weighted(objective)
    raise TypeError(f"objective: an Objective, a metric name or a dict of weights, not {type(objective).__name__}")


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Signed vector `a` is at least as good as `b` everywhere and better somewhere."""
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(x > y for x, y in zip(a, b, strict=True))


def pareto_layers(points: Mapping[Any, Sequence[float]]) -> dict[Any, int]:
    """Each key's non-dominated layer: 0 for the front, 1 for the front once that is removed, and so on."""
    left = dict(points)
    layers: dict[Any, int] = {}
    layer = 0
    while left:
        front = [k for k, p in left.items() if not any(dominates(q, p) for j, q in left.items() if j != k)]
        for k in front:
            layers[k] = layer
            del left[k]
        layer += 1
    return layers
