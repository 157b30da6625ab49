"""Objectives of a search: signs of minimised metrics, weighted sums, Pareto layers, bad configurations."""

from __future__ import annotations

import pytest

from trace_workbench.train.search.objectives import Objective, as_objective, dominates, pareto_layers


def test_minimised_metrics_count_negatively() -> None:
    objective = Objective.weighted({"score": 2.0, "tokens": 0.01}, minimize=["tokens"])
    assert objective.signed({"score": 0.5, "tokens": 300}) == (0.5, -300.0)
    assert objective.scalar({"score": 0.5, "tokens": 300}) == pytest.approx(1.0 - 3.0)
    assert objective.signed({"score": 0.5}) == (0.5, float("-inf"))  # a missing metric is worst


def test_pareto_layers() -> None:
    points = {"a": (1.0, -5.0), "b": (0.5, -1.0), "c": (0.4, -2.0), "d": (1.0, -5.0), "e": (0.1, -9.0)}
    assert pareto_layers(points) == {"a": 0, "b": 0, "d": 0, "c": 1, "e": 2}
    assert dominates((1, 1), (1, 0)) and not dominates((1, 1), (1, 1)) and not dominates((2, 0), (1, 1))


def test_as_objective_and_bad_configurations() -> None:
    assert as_objective(None).metrics == ("score",)
    assert as_objective("accuracy").metrics == ("accuracy",)
    assert as_objective({"score": 1, "cost": 2}).weights == {"score": 1, "cost": 2}
    assert Objective.front(["score", "cost"], minimize=["cost"]).describe() == "pareto(score↑, cost↓)"
    with pytest.raises(ValueError, match="not among"):
        Objective(metrics=("score",), minimize=frozenset({"tokens"}))
    with pytest.raises(ValueError, match="non-negative"):
        Objective.weighted({"score": -1.0})
    with pytest.raises(TypeError):
        as_objective(3)
